package soap

import (
	"errors"
	"net/http"
	"time"

	"github.com/partnerd/partnerd/internal/xmlw"
)

// FaultKind is the class of a SOAP fault.
type FaultKind int

// Fault kinds, as the real service sends them.
const (
	// Client: the request is wrong (soap:Client / env:Sender).
	Client FaultKind = iota
	// Server: partnerd could not process a valid request (soap:Server /
	// env:Receiver), with an apifault detail.
	Server
	// Security: authentication failed (q0:Security, "Login failed").
	Security
	// MustUnderstand: a header block marked mustUnderstand that partnerd
	// does not process (soap:MustUnderstand / env:MustUnderstand).
	MustUnderstand
)

// QName is a namespace-qualified XML name.
type QName struct {
	Space string // namespace URI
	Local string
}

// apifault codes (partner-api-notes §5).
const (
	CodeUnexpectedError      = 2
	CodeUnsupportedObject    = 8
	CodeInMaintenance        = 9
	CodeAuthorizationFailure = 11
	CodeRateLimited          = 17
)

// Fault is an error that is answered with a SOAP fault.
type Fault struct {
	Kind    FaultKind
	String  string // faultstring
	APICode int    // apifault Code for Server faults; 0 omits the detail
	// HTTPStatus overrides the default 500 (413 for oversized bodies …).
	HTTPStatus int
	// RetryAfter, when positive, is sent as the Retry-After header
	// (throttled logins and rates over HTTP 500, overload over 503),
	// rounded up to whole seconds.
	RetryAfter time.Duration
	// Reason is logged but never sent: it says why, where the client is
	// only told "Login failed". It must not quote the request either: it
	// goes to the server log and the request log.
	Reason string
	// NotUnderstood lists, for a MustUnderstand fault, the header blocks
	// named in SOAP 1.2 env:NotUnderstood response headers.
	NotUnderstood []QName
	// Header holds extra response headers (Connection: close when the
	// body was left unread, Accept-Encoding with a 415).
	Header http.Header
}

func (f *Fault) Error() string {
	if f.Reason != "" {
		return f.String + ": " + f.Reason
	}
	return f.String
}

// ClientFault returns a Client fault with the given faultstring.
func ClientFault(msg string) *Fault { return &Fault{Kind: Client, String: msg} }

// ServerFault returns a Server fault with an apifault detail.
func ServerFault(code int, msg string) *Fault {
	return &Fault{Kind: Server, String: msg, APICode: code}
}

// LoginFailed is the one security fault for every authentication failure;
// reason goes to the log only.
func LoginFailed(reason string) *Fault {
	return &Fault{Kind: Security, String: "Login failed", Reason: reason}
}

// AsFault converts any error into a Fault: a *Fault is kept, anything else is
// an unexpected Server error whose text is not shown to the client.
func AsFault(err error) *Fault {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	return &Fault{Kind: Server, String: "Unexpected Error", APICode: CodeUnexpectedError, Reason: err.Error()}
}

func (f *Fault) status() int {
	if f.HTTPStatus != 0 {
		return f.HTTPStatus
	}
	return http.StatusInternalServerError
}

// writeFault appends the soap:Fault element for version v.
func (f *Fault) write(w *xmlw.Writer, v Version, actor string) {
	if v == V12 {
		f.write12(w, actor)
		return
	}
	w.Start("soap:Fault")
	switch f.Kind {
	case Security:
		w.Start("faultcode", "xmlns:q0", NSWSSE)
		w.Text("q0:Security")
		w.End("faultcode")
	case Server:
		w.Elem("faultcode", "soap:Server")
	case MustUnderstand:
		w.Elem("faultcode", "soap:MustUnderstand")
	default:
		w.Elem("faultcode", "soap:Client")
	}
	w.Elem("faultstring", f.String)
	if actor != "" {
		w.Elem("faultactor", actor)
	}
	switch {
	case f.Kind == Server && f.APICode != 0:
		w.Start("detail")
		f.writeAPIFault(w)
		w.End("detail")
	case f.Kind == Client:
		w.Empty("detail")
	}
	w.End("soap:Fault")
}

func (f *Fault) write12(w *xmlw.Writer, actor string) {
	w.Start("soap:Fault")
	w.Start("soap:Code")
	switch f.Kind {
	case Server:
		w.Elem("soap:Value", "soap:Receiver")
	case MustUnderstand:
		w.Elem("soap:Value", "soap:MustUnderstand")
	case Security:
		w.Elem("soap:Value", "soap:Sender")
		w.Start("soap:Subcode")
		w.Start("soap:Value", "xmlns:q0", NSWSSE)
		w.Text("q0:Security")
		w.End("soap:Value")
		w.End("soap:Subcode")
	default:
		w.Elem("soap:Value", "soap:Sender")
	}
	w.End("soap:Code")
	w.Start("soap:Reason")
	w.Start("soap:Text", "xml:lang", "en")
	w.Text(f.String)
	w.End("soap:Text")
	w.End("soap:Reason")
	if actor != "" {
		w.Elem("soap:Role", actor)
	}
	if f.Kind == Server && f.APICode != 0 {
		w.Start("soap:Detail")
		f.writeAPIFault(w)
		w.End("soap:Detail")
	}
	w.End("soap:Fault")
}

// writeNotUnderstood appends one SOAP 1.2 env:NotUnderstood header block
// per header f names (SOAP 1.2 part 1 §5.4.8).
func (f *Fault) writeNotUnderstood(w *xmlw.Writer) {
	for _, q := range f.NotUnderstood {
		if q.Space == "" {
			w.Empty("soap:NotUnderstood", "qname", q.Local)
			continue
		}
		w.Empty("soap:NotUnderstood", "qname", "q1:"+q.Local, "xmlns:q1", q.Space)
	}
}

// setHeaders adds f's extra response headers.
func (f *Fault) setHeaders(w http.ResponseWriter) {
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
}

func (f *Fault) writeAPIFault(w *xmlw.Writer) {
	w.Start("apifault", "xmlns", NSFault)
	w.Int("Code", int64(f.APICode))
	w.Elem("Message", f.String)
	w.End("apifault")
}
