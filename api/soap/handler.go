package soap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/ids"
	"github.com/partnerd/partnerd/internal/xmlw"
)

// Authenticator checks the security headers of an envelope. Any error is
// answered with the one "Login failed" security fault; the error's text is
// logged only.
type Authenticator interface {
	Authenticate(ctx context.Context, env *Envelope) (Principal, error)
}

// Request is one authenticated operation call.
type Request struct {
	RequestID string // fresh lower-case GUID, echoed in the response
	Operation string // "Perform", "Create" …
	Envelope  *Envelope
	Body      *etree.Element // the request wrapper element, e.g. PerformRequestMsg
	Principal Principal
	Endpoint  string // the URL the request came in on
}

// Response is what an operation answers: the response wrapper element,
// serialized with its own xmlns declaration, and the OverallStatus for the
// request log.
type Response struct {
	Body   []byte
	Status string
}

// OperationFunc serves one operation. A returned error becomes a fault
// (see AsFault); a *Fault keeps its kind and text.
type OperationFunc func(ctx context.Context, req *Request) (*Response, error)

// Exchange is one request/response pair, handed to the ExchangeLogger after
// the response has been written.
type Exchange struct {
	RequestID  string
	Principal  Principal // zero when authentication failed
	Operation  string
	Status     string // OverallStatus, or "Fault"
	HTTPStatus int
	Reason     string // why a fault happened
	Remote     string
	Request    []byte // the body as UTF-8 XML (Content-Encoding and charset undone), nil if undecoded; the logger masks secrets
	// RequestSize is the body's size as sent, which Request may fall short
	// of: a body refused after its first bytes is not read to its end.
	RequestSize int64
	Response    []byte
	Received    time.Time
	Duration    time.Duration
}

// ExchangeLogger records exchanges (the request log).
type ExchangeLogger interface {
	LogExchange(ctx context.Context, x Exchange)
}

// DefaultMaxBodyBytes is the default request size limit.
const DefaultMaxBodyBytes = 4 << 20

// Handler is the SOAP endpoint (POST /Service.asmx). Register operations
// with Handle before serving.
type Handler struct {
	Auth  Authenticator
	Clock clock.Clock
	// WSDL answers GET requests with a ?wsdl query; nil answers 404.
	WSDL http.Handler
	// Log receives every exchange; nil logs nothing.
	Log ExchangeLogger
	// Logger receives operational log lines; nil uses slog.Default().
	Logger       *slog.Logger
	MaxBodyBytes int64
	// Admit, when set, is asked after authentication whether the caller
	// may go on (the per-account request rate); an error is answered as a
	// fault, a *Fault keeping its kind, status and Retry-After.
	Admit func(ctx context.Context, p Principal) error
	// IDs draws RequestIDs, WS-Addressing MessageIDs and Timestamp IDs
	// (nil: random); a deterministic server passes a seeded source.
	IDs ids.Source

	ops map[string]OperationFunc
}

// Handle registers fn for the operation named op (the SOAPAction, e.g.
// "Perform").
func (h *Handler) Handle(op string, fn OperationFunc) {
	if h.ops == nil {
		h.ops = make(map[string]OperationFunc)
	}
	h.ops[op] = fn
}

// Operations lists the operations registered with Handle, sorted: what
// the handler serves (partnerd check names them).
func (h *Handler) Operations() []string {
	ops := make([]string, 0, len(h.ops))
	for op := range h.ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func (h *Handler) ids() ids.Source { return ids.OrRandom(h.IDs) }

func (h *Handler) now() time.Time {
	if h.Clock != nil {
		return h.Clock.Now()
	}
	return time.Now().UTC()
}

// Endpoint returns the URL a request came in on, for soap:address and
// faultactor.
func Endpoint(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path
}

func hasWSDLQuery(r *http.Request) bool {
	for k := range r.URL.Query() {
		if strings.EqualFold(k, "wsdl") {
			return true
		}
	}
	return false
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet, http.MethodHead:
		if hasWSDLQuery(r) && h.WSDL != nil {
			h.WSDL.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Allow", "POST")
		http.Error(w, "This is a SOAP 1.1/1.2 endpoint: POST an envelope, or GET ?wsdl for the service description.", http.StatusMethodNotAllowed)
		return
	default:
		w.Header().Set("Allow", "POST, GET")
		http.Error(w, "method not allowed: POST a SOAP envelope", http.StatusMethodNotAllowed)
		return
	}

	x := &Exchange{RequestID: h.newRequestID(), Remote: r.RemoteAddr, Received: received}
	version, env, resp, f := h.serve(r, x)
	status := http.StatusOK
	if f != nil {
		status = f.status()
		x.Status = "Fault"
		x.Reason = f.Reason
		if x.Reason == "" {
			x.Reason = f.String
		}
	} else {
		x.Status = resp.Status
	}
	var addr *Addressing
	if env != nil {
		addr = env.Addressing
	}
	out := h.writeEnvelope(version, addr, x.Operation, resp, f, Endpoint(r))
	w.Header().Set("Content-Type", version.ContentType())
	if f != nil {
		f.setRetryAfter(w)
		f.setHeaders(w)
	}
	w.WriteHeader(status)
	w.Write(out)

	x.HTTPStatus = status
	x.Response = out
	x.Duration = time.Since(received)
	if f != nil {
		h.logger().Info("soap fault", "request_id", x.RequestID, "operation", x.Operation,
			"user", x.Principal.Username, "reason", x.Reason, "remote", x.Remote)
	}
	if h.Log != nil {
		h.Log.LogExchange(context.WithoutCancel(r.Context()), *x)
	}
}

// Refuse answers r with the fault f without reading its body, for a request
// turned away before any work is done (overload): the SOAP version comes
// from the Content-Type alone. Nothing goes to the request log, which would
// be one more store write at the worst moment.
func (h *Handler) Refuse(w http.ResponseWriter, r *http.Request, f *Fault) {
	version := V11
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/soap+xml" {
		version = V12
	}
	out := h.writeEnvelope(version, nil, "", nil, f, Endpoint(r))
	w.Header().Set("Content-Type", version.ContentType())
	f.setRetryAfter(w)
	w.WriteHeader(f.status())
	w.Write(out)
}

// setRetryAfter sends f.RetryAfter in whole seconds, rounded up: a client
// told 0 would retry at once.
func (f *Fault) setRetryAfter(w http.ResponseWriter) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
	}
}

// serve reads, authenticates and dispatches one request. It returns the
// SOAP version to answer in and either a response or a fault.
func (h *Handler) serve(r *http.Request, x *Exchange) (Version, *Envelope, *Response, *Fault) {
	var env *Envelope
	ctype := r.Header.Get("Content-Type")
	version := V11
	mediaType, _, err := mime.ParseMediaType(ctype)
	switch {
	case err != nil && ctype != "":
		return version, env, nil, &Fault{Kind: Client, String: fmt.Sprintf("Unsupported Content-Type %s: use text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2).", QuoteInput(ctype)), HTTPStatus: http.StatusUnsupportedMediaType}
	case mediaType == "application/soap+xml":
		version = V12
	case mediaType == "text/xml", mediaType == "application/xml":
	default:
		return version, env, nil, &Fault{Kind: Client, String: fmt.Sprintf("Unsupported Content-Type %s: use text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2).", QuoteInput(ctype)), HTTPStatus: http.StatusUnsupportedMediaType}
	}

	// A declared length over the limit, or a coding we cannot read, is
	// refused before a byte is read (and before any 100 Continue).
	limit := h.maxBody()
	if f := refuseUnread(r, limit); f != nil {
		return version, env, nil, f
	}
	encoded := r.Header.Get("Content-Encoding")
	body := http.MaxBytesReader(nil, r.Body, limit)
	raw, err := readBody(body, r.ContentLength, limit, encoded == "" || strings.EqualFold(encoded, "identity"))
	if err != nil {
		var tooBig *http.MaxBytesError
		var refused *Fault
		switch {
		case errors.As(err, &refused):
			// A limit refused the body as it grew (the bytes in flight).
			return version, env, nil, refused
		case errors.As(err, &tooBig):
			return version, env, nil, tooLarge(limit, "")
		case errors.Is(err, errParse):
			// Its first bytes cannot begin an XML document: the rest is
			// discarded, never held, and drained so that the client reads
			// this fault rather than a connection reset.
			drained, _ := io.Copy(io.Discard, body)
			x.Request, x.RequestSize = raw, int64(len(raw))+drained
			msg := strings.TrimPrefix(err.Error(), errParse.Error()+": ")
			return version, env, nil, &Fault{Kind: Client, String: "Server was unable to read request. ---> " + strings.ToUpper(msg[:1]) + msg[1:]}
		}
		return version, env, nil, &Fault{Kind: Client, String: "The request body could not be read.", Reason: err.Error(), HTTPStatus: http.StatusBadRequest}
	}
	x.Request, x.RequestSize = raw, int64(len(raw))
	if raw, err = h.decodeRequest(r, x, raw); err != nil {
		return version, env, nil, AsFault(err)
	}

	// A large envelope is authenticated from its Header alone before the
	// whole of it is parsed: parsing costs a few times the body's size, so
	// a stranger's 4 MiB envelope then costs only its reading. Small ones,
	// every ordinary request, are parsed first and their faults come in
	// the usual order.
	var preauth *Principal
	var head *Envelope
	if len(raw) > preauthSize {
		var ok bool
		if head, ok = readHead(raw); ok {
			p, f := h.authenticate(r.Context(), head)
			if f != nil {
				return head.Version, head, nil, f
			}
			preauth = &p
		}
	}

	// The shape check bounds what the tree builder may allocate before it
	// runs (see MaxElements).
	if err = checkShape(raw); err == nil {
		env, err = ReadEnvelope(raw)
	}
	if err != nil {
		return version, env, nil, envelopeFault(err)
	}
	version = env.Version
	if preauth != nil && !sameHeader(head.Header, env.Header) {
		// Only a Header after the Body, with a Body end tag hidden in a
		// comment behind it, is read differently (see readTail): the
		// credentials checked must be the ones the request carries.
		return version, env, nil, ClientFault("Server was unable to read request. ---> The SOAP Header could not be read.")
	}
	if f := mustUnderstandFault(env); f != nil {
		return version, env, nil, f
	}

	op, f := resolveOperation(r, ctype, env)
	if f != nil {
		return version, env, nil, f
	}
	x.Operation = op
	fn, ok := h.ops[op]
	if !ok {
		return version, env, nil, ClientFault(fmt.Sprintf("Server did not recognize the value of HTTP Header SOAPAction: %s.", op))
	}

	var p Principal
	if preauth != nil {
		p = *preauth
	} else if p, f = h.authenticate(r.Context(), env); f != nil {
		return version, env, nil, f
	}
	x.Principal = p
	if h.Admit != nil {
		if err := h.Admit(r.Context(), p); err != nil {
			return version, env, nil, AsFault(err)
		}
	}

	req := &Request{RequestID: x.RequestID, Operation: op, Envelope: env, Body: env.Body, Principal: p, Endpoint: Endpoint(r)}
	resp, err := h.call(r.Context(), fn, req)
	if err != nil {
		f := AsFault(err)
		if f.Kind == Server && f.Reason != "" {
			h.logger().Error("operation failed", "request_id", x.RequestID, "operation", op, "err", f.Reason)
		}
		return version, env, nil, f
	}
	return version, env, resp, nil
}

// decodeRequest turns the body as read into the UTF-8 XML the parser reads
// (see decodeBody), and makes that the Exchange's Request: the request log
// then holds readable XML its masker understands, and a body that could
// not be decoded is not stored at all (its compressed or UTF-16 bytes may
// hold a password the masker cannot see).
func (h *Handler) decodeRequest(r *http.Request, x *Exchange, raw []byte) ([]byte, error) {
	out, f := decodeBody(raw, r.Header.Values("Content-Encoding"), h.maxBody())
	if f != nil {
		x.Request = nil
		return nil, f
	}
	x.Request = out
	return out, nil
}

// envelopeFault is the Client fault for an envelope ReadEnvelope refused,
// worded as ASMX words it. Its texts quote no more of the input than a
// bounded element name (see syntaxError); the log's Reason adds, for a
// syntax error, encoding/xml's fixed phrase for what was wrong.
func envelopeFault(err error) *Fault {
	msg := strings.TrimPrefix(err.Error(), errParse.Error()+": ")
	f := &Fault{Kind: Client, String: "Server was unable to read request. ---> " + strings.ToUpper(msg[:1]) + msg[1:]}
	var se *syntaxError
	if errors.As(err, &se) {
		f.Reason = fmt.Sprintf("the request is not well-formed XML at line %d, column %d: %s", se.Line, se.Column, se.Detail)
	}
	return f
}

// maxNotUnderstood bounds the env:NotUnderstood blocks of one answer.
const maxNotUnderstood = 8

// mustUnderstandFault is the MustUnderstand fault for env's header blocks
// that partnerd must understand and does not (see NotUnderstood), or nil.
// The faultstring names the first, as ASMX does.
func mustUnderstandFault(env *Envelope) *Fault {
	blocks := env.NotUnderstood()
	if len(blocks) == 0 {
		return nil
	}
	f := &Fault{Kind: MustUnderstand, String: fmt.Sprintf("SOAP header %s was not understood.", clampName(blocks[0].Tag))}
	names := make([]string, 0, maxNotUnderstood)
	for _, c := range blocks {
		if len(names) == maxNotUnderstood {
			break
		}
		names = append(names, clampName(c.Tag))
		// A name or namespace too long to echo whole is left out of the
		// NotUnderstood blocks rather than echoed cut (a wrong QName).
		if ns := c.NamespaceURI(); len(c.Tag) <= maxEcho && len(ns) <= 4*maxEcho {
			f.NotUnderstood = append(f.NotUnderstood, QName{Space: ns, Local: c.Tag})
		}
	}
	f.Reason = fmt.Sprintf("%s (mustUnderstand headers not understood: %s)", f.String, strings.Join(names, ", "))
	return f
}

// preauthSize is the body size above which the caller is authenticated
// from the envelope's Header before the whole envelope is parsed.
const preauthSize = 64 << 10

// authenticate turns env's security header into a principal, or the fault
// to answer: the authenticator's own, or "Login failed".
func (h *Handler) authenticate(ctx context.Context, env *Envelope) (Principal, *Fault) {
	if h.Auth == nil {
		return Principal{}, LoginFailed("no authenticator configured")
	}
	p, err := h.Auth.Authenticate(ctx, env)
	if err != nil {
		var af *Fault
		if errors.As(err, &af) {
			return Principal{}, af
		}
		return Principal{}, LoginFailed(err.Error())
	}
	return p, nil
}

// call runs an operation, turning a panic into a Server fault so that one bad
// request cannot take the process down.
func (h *Handler) call(ctx context.Context, fn OperationFunc, req *Request) (resp *Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in %s: %v", req.Operation, p)
		}
	}()
	return fn(ctx, req)
}

// resolveOperation finds the operation from the SOAPAction header, the
// action= content-type parameter and wsa:Action, and checks that each one
// given agrees with the body element.
func resolveOperation(r *http.Request, ctype string, env *Envelope) (string, *Fault) {
	bodyOp, bodyKnown := OperationOfBody(env.Body)
	check := func(source, value string) *Fault {
		name := actionName(value)
		if name == "" {
			return nil
		}
		if !isOperation(name) {
			return ClientFault(fmt.Sprintf("Server did not recognize the value of HTTP Header SOAPAction: %s.", clampName(strings.Trim(strings.TrimSpace(value), `"`))))
		}
		if bodyKnown && name != bodyOp {
			return ClientFault(fmt.Sprintf("The %s %s does not match the request element %s in the SOAP Body.", source, QuoteInput(name), clampName(env.Body.Tag)))
		}
		return nil
	}
	if vals, ok := r.Header["Soapaction"]; ok && len(vals) > 0 {
		if f := check("SOAPAction", vals[0]); f != nil {
			return "", f
		}
	}
	if f := check("action parameter of the Content-Type", contentTypeAction(ctype)); f != nil {
		return "", f
	}
	if env.Addressing != nil {
		if f := check("WS-Addressing Action", env.Addressing.Action); f != nil {
			return "", f
		}
	}
	if !bodyKnown {
		return "", ClientFault(fmt.Sprintf("Server did not recognize the request element %s in the SOAP Body.", clampName(env.Body.Tag)))
	}
	return bodyOp, nil
}

func isOperation(name string) bool {
	for _, op := range bodyOperations {
		if op == name {
			return true
		}
	}
	return false
}

// writeEnvelope builds the response envelope: WS-Addressing headers when the
// request used them, and always a wsse:Security header with a wsu:Timestamp
// valid for five minutes, as the real service sends (WCF clients with a
// security binding reject responses without it).
func (h *Handler) writeEnvelope(v Version, addr *Addressing, op string, resp *Response, f *Fault, endpoint string) []byte {
	now := h.now().Truncate(time.Second)
	w := &xmlw.Writer{Buf: make([]byte, 0, 1024+len(respBody(resp)))}
	w.Raw([]byte(`<?xml version="1.0" encoding="utf-8"?>`))
	attrs := []string{"xmlns:soap", v.EnvelopeNS(), "xmlns:xsi", NSXSI, "xmlns:xsd", NSXSD}
	if addr != nil {
		attrs = append(attrs, "xmlns:wsa", addr.NS)
	}
	attrs = append(attrs, "xmlns:wsse", NSWSSE, "xmlns:wsu", NSWSU)
	w.Start("soap:Envelope", attrs...)
	w.Start("soap:Header")
	if addr != nil {
		action := op + "Response"
		if f != nil {
			action = addr.NS + "/fault"
		}
		w.Elem("wsa:Action", action)
		w.Elem("wsa:MessageID", "urn:uuid:"+h.ids().UUID())
		if addr.MessageID != "" {
			w.Elem("wsa:RelatesTo", addr.MessageID)
		}
		if addr.NS == NSAddressing4 {
			w.Elem("wsa:To", NSAddressing4+"/role/anonymous")
		} else {
			w.Elem("wsa:To", NSAddressing5+"/anonymous")
		}
	}
	if f != nil && v == V12 {
		f.writeNotUnderstood(w)
	}
	w.Start("wsse:Security")
	w.Start("wsu:Timestamp", "wsu:Id", "Timestamp-"+h.ids().UUID())
	w.Time("wsu:Created", now)
	w.Time("wsu:Expires", now.Add(5*time.Minute))
	w.End("wsu:Timestamp")
	w.End("wsse:Security")
	w.End("soap:Header")
	w.Start("soap:Body")
	if f != nil {
		f.write(w, v, endpoint)
	} else {
		w.Raw(resp.Body)
	}
	w.End("soap:Body")
	w.End("soap:Envelope")
	return w.Buf
}

func respBody(r *Response) []byte {
	if r == nil {
		return nil
	}
	return r.Body
}

// newRequestID is a fresh lower-case GUID for one exchange. It is a version 7
// UUID, which starts with the time: the request log's index on RequestID
// then grows at its end instead of taking each insert on a random page. The
// remaining 74 bits are random, so IDs are as unguessable as version 4's
// for what they identify (a log entry, never an authority). A seeded
// source makes it from the server's clock and the seed instead.
func (h *Handler) newRequestID() string { return h.ids().TimeUUID(h.now()) }
