// Package soap is partnerd's SOAP 1.1/1.2 endpoint: it reads envelopes,
// finds the operation, authenticates the WS-Security header, dispatches to a
// registered operation and writes the response envelope or fault the way the
// real Partner API does. It knows nothing of sends or storage: operations are
// functions registered with Handler.Handle.
package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// Namespaces partnerd reads and writes.
const (
	NSEnvelope11  = "http://schemas.xmlsoap.org/soap/envelope/"
	NSEnvelope12  = "http://www.w3.org/2003/05/soap-envelope"
	NSPartnerAPI  = "http://exacttarget.com/wsdl/partnerAPI"
	NSXSI         = "http://www.w3.org/2001/XMLSchema-instance"
	NSXSD         = "http://www.w3.org/2001/XMLSchema"
	NSWSSE        = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	NSWSU         = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	NSAddressing4 = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	NSAddressing5 = "http://www.w3.org/2005/08/addressing"
	NSFault       = "urn:fault.partner.exacttarget.com"
)

// Version is a SOAP version.
type Version int

// The SOAP versions partnerd speaks.
const (
	V11 Version = 11
	V12 Version = 12
)

// EnvelopeNS returns the envelope namespace of v.
func (v Version) EnvelopeNS() string {
	if v == V12 {
		return NSEnvelope12
	}
	return NSEnvelope11
}

// ContentType returns the response Content-Type for v.
func (v Version) ContentType() string {
	if v == V12 {
		return "application/soap+xml; charset=utf-8"
	}
	return "text/xml; charset=utf-8"
}

// Addressing holds the WS-Addressing headers of a request.
type Addressing struct {
	NS        string // the namespace the client used (2004/08 or 2005/08)
	Action    string
	MessageID string
	ReplyTo   string
}

// Envelope is a parsed request envelope.
type Envelope struct {
	Version    Version
	Header     *etree.Element // nil when absent
	Body       *etree.Element // the element inside soap:Body
	Addressing *Addressing    // nil when the request had no WS-Addressing headers
}

// bodyOperations maps request wrapper elements to operation names; the
// wrapper names are not uniform in the WSDL (CreateRequest vs
// RetrieveRequestMsg), so this table is the one place that knows them.
var bodyOperations = map[string]string{
	"CreateRequest":          "Create",
	"RetrieveRequestMsg":     "Retrieve",
	"UpdateRequest":          "Update",
	"DeleteRequest":          "Delete",
	"QueryRequestMsg":        "Query",
	"DefinitionRequestMsg":   "Describe",
	"ExecuteRequestMsg":      "Execute",
	"PerformRequestMsg":      "Perform",
	"ConfigureRequestMsg":    "Configure",
	"ScheduleRequestMsg":     "Schedule",
	"VersionInfoRequestMsg":  "VersionInfo",
	"ExtractRequestMsg":      "Extract",
	"SystemStatusRequestMsg": "GetSystemStatus",
}

// ResponseElement returns the response wrapper element of an operation.
func ResponseElement(op string) string {
	switch op {
	case "Create", "Update", "Delete":
		return op + "Response"
	case "GetSystemStatus":
		return "SystemStatusResponseMsg"
	}
	return op + "ResponseMsg"
}

// OperationOfBody returns the operation a request wrapper element names.
func OperationOfBody(el *etree.Element) (string, bool) {
	op, ok := bodyOperations[el.Tag]
	return op, ok
}

// MaxDepth bounds element nesting: the deepest legitimate Partner API
// request (a ComplexFilterPart tree) is far shallower, and a bound keeps a
// hostile document from costing unbounded stack and memory.
const MaxDepth = 100

// errParse marks envelope problems; they become Client faults.
var errParse = errors.New("soap: bad envelope")

func parseErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errParse, fmt.Sprintf(format, args...))
}

// syntaxError is a document that is not well-formed XML. Its text names a
// position only: encoding/xml's messages quote the input ("invalid
// character entity &x"), and the input may be the tail of a password with
// an unescaped '&'. Detail is a fixed phrase for the log, never input.
type syntaxError struct {
	Line, Column int
	Detail       string
}

// Error is worded as ASMX words it (XmlException positions, no text).
func (e *syntaxError) Error() string {
	return fmt.Sprintf("%v: There is an error in XML document (%d, %d).", errParse, e.Line, e.Column)
}

func (e *syntaxError) Unwrap() error { return errParse }

// ReadEnvelope parses raw as a SOAP envelope. It refuses DTDs outright
// (entity expansion attacks never reach the parser) and invalid UTF-8; a
// UTF-8 byte order mark is skipped. No error it returns quotes the input
// beyond a bounded element name or namespace.
func ReadEnvelope(raw []byte) (*Envelope, error) { return readEnvelope(raw, true) }

// readEnvelope is ReadEnvelope; without needBody an envelope with no Body
// is read too (readHead's prefix).
func readEnvelope(raw []byte, needBody bool) (*Envelope, error) {
	raw = bytes.TrimPrefix(raw, utf8BOM)
	if !utf8.Valid(raw) {
		return nil, parseErr("the request is not valid UTF-8")
	}
	if bytes.Contains(raw, []byte("<!DOCTYPE")) || bytes.Contains(raw, []byte("<!ENTITY")) {
		return nil, parseErr("DTDs are not allowed in SOAP messages")
	}
	root := parseCommon(string(raw), MaxDepth)
	if root == nil {
		// Not the common shape, or not well-formed: etree decides.
		var err error
		if root, err = readTree(raw); err != nil {
			return nil, err
		}
	}
	env := &Envelope{}
	switch ns := root.NamespaceURI(); {
	case root.Tag != "Envelope":
		return nil, parseErr("the root element is %s, not a SOAP Envelope", clampName(root.Tag))
	case ns == NSEnvelope11:
		env.Version = V11
	case ns == NSEnvelope12:
		env.Version = V12
	default:
		return nil, parseErr("unknown SOAP envelope namespace %s", QuoteInput(ns))
	}
	envNS := env.Version.EnvelopeNS()
	for _, c := range root.ChildElements() {
		if c.NamespaceURI() != envNS {
			continue
		}
		switch c.Tag {
		case "Header":
			// One Header: a second one would let what is authenticated
			// and what is logged differ. It may come after the Body,
			// although SOAP 1.1 §4.2 puts it first: fuel-soap and
			// sfmc-sdk (the Node SDKs) build the envelope from an object
			// whose keys come out Body first.
			if env.Header != nil {
				return nil, parseErr("the envelope has more than one Header")
			}
			env.Header = c
		case "Body":
			// A second Body used to replace the first: the operation run
			// was not the one a reader of the first Body would expect.
			if env.Body != nil {
				return nil, parseErr("the envelope has more than one Body")
			}
			kids := c.ChildElements()
			if len(kids) != 1 {
				return nil, parseErr("the SOAP Body must hold exactly one element, it holds %d", len(kids))
			}
			env.Body = kids[0]
		}
	}
	if env.Body == nil && needBody {
		return nil, parseErr("the envelope has no Body")
	}
	if env.Header != nil {
		env.Addressing = readAddressing(env.Header)
	}
	return env, nil
}

var utf8BOM = []byte("\xef\xbb\xbf")

// headSearch is how far into a body readHead looks for the Body start tag:
// every real client's Header fits in a few KB.
const headSearch = 64 << 10

// readHead reads an envelope's Header from the bytes before its Body: the
// prefix up to the Body's start tag, closed after the Header, parsed as an
// envelope of its own. The Header is the same element the whole envelope
// would give, since it is the same bytes. ok is false when no Body start
// tag is found in the first headSearch bytes, or the prefix is not an
// envelope: then only the whole envelope says what is wrong. The Envelope
// returned has no Body.
//
// When no Header comes before the Body, it is looked for after the Body
// (the order the Node SDKs write): see readTail. The handler checks the
// Header read here against the whole envelope's once that is parsed.
func readHead(raw []byte) (env *Envelope, ok bool) {
	raw = bytes.TrimPrefix(raw, utf8BOM)
	d := xml.NewDecoder(bytes.NewReader(raw[:min(len(raw), headSearch)]))
	depth := 0
	var rootStart, rootEnd int64
	var rootNS string
	for {
		offset := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			return nil, false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				rootStart, rootEnd, rootNS = offset, d.InputOffset(), t.Name.Space
			}
			// The Body is the envelope's own: an element of another
			// namespace named Body may come before the Header.
			if depth == 2 && t.Name.Local == "Body" && t.Name.Space == rootNS {
				closing := rawName(raw[rootStart:offset])
				head := make([]byte, 0, int(offset)+len(closing)+3)
				head = append(append(append(append(head, raw[:offset]...), "</"...), closing...), '>')
				env, err := readEnvelope(head, false)
				if err != nil {
					return nil, false
				}
				if env.Header == nil {
					return readTail(raw, raw[:rootEnd], rawName(raw[offset:]))
				}
				return env, true
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			return nil, false // a DTD: the whole envelope is refused for it
		}
	}
}

// readTail reads the Header of an envelope whose Body comes first: the
// bytes after the last end tag named body (the Body's qualified name as
// written), behind the envelope's start tag (prolog, the root's start
// tag), parsed as an envelope of their own. It costs a search of raw and a
// parse of the tail, never a parse of the Body. A Body end tag inside a
// comment after the Body can mislead the search; the handler's check
// against the whole envelope refuses what was misread. ok is false when
// the tail is not an envelope, or holds a Body.
func readTail(raw, rootStart, body []byte) (env *Envelope, ok bool) {
	end := []byte("</" + string(body))
	rest := raw
	for {
		i := bytes.LastIndex(rest, end)
		if i < 0 {
			return nil, false
		}
		after := raw[i+len(end):]
		after = bytes.TrimLeft(after, " \t\r\n")
		if len(after) > 0 && after[0] == '>' {
			tail := make([]byte, 0, len(rootStart)+len(after)-1)
			tail = append(append(tail, rootStart...), after[1:]...)
			env, err := readEnvelope(tail, false)
			if err != nil || env.Body != nil {
				return nil, false
			}
			return env, true
		}
		rest = raw[:i]
	}
}

// sameHeader reports whether two parsed Headers are the same element:
// both absent, or equal in name, attributes and content, in order.
func sameHeader(a, b *etree.Element) bool {
	if a == nil || b == nil {
		return a == b
	}
	return sameElement(a, b)
}

func sameElement(a, b *etree.Element) bool {
	if a.Space != b.Space || a.Tag != b.Tag || len(a.Attr) != len(b.Attr) || len(a.Child) != len(b.Child) {
		return false
	}
	for i := range a.Attr {
		if a.Attr[i].Space != b.Attr[i].Space || a.Attr[i].Key != b.Attr[i].Key || a.Attr[i].Value != b.Attr[i].Value {
			return false
		}
	}
	for i := range a.Child {
		switch ca := a.Child[i].(type) {
		case *etree.Element:
			cb, ok := b.Child[i].(*etree.Element)
			if !ok || !sameElement(ca, cb) {
				return false
			}
		case *etree.CharData:
			cb, ok := b.Child[i].(*etree.CharData)
			if !ok || ca.Data != cb.Data {
				return false
			}
		default:
			// Comments and processing instructions carry nothing
			// partnerd reads, but must stand in the same places.
			if fmt.Sprintf("%T", a.Child[i]) != fmt.Sprintf("%T", b.Child[i]) {
				return false
			}
		}
	}
	return true
}

// rawName is the qualified name of the start tag at the beginning of tag,
// as written (prefix and all).
func rawName(tag []byte) []byte {
	tag = bytes.TrimPrefix(tag, []byte("<"))
	if i := bytes.IndexAny(tag, " \t\r\n/>"); i >= 0 {
		tag = tag[:i]
	}
	return tag
}

// readTree parses raw with etree and checks what etree lets through at the
// document level: one root element, and outside it only white space,
// comments and processing instructions. encoding/xml reads a second root
// element or trailing text without complaint.
func readTree(raw []byte) (*etree.Element, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.MaxDepth = MaxDepth
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, xmlError(raw, err)
	}
	var root *etree.Element
	before, after := false, false // content other than markup and white space
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			if root != nil {
				after = true
			} else {
				root = t
			}
		case *etree.CharData:
			if !isXMLSpace(t.Data) {
				before, after = before || root == nil, after || root != nil
			}
		}
	}
	switch {
	case root == nil:
		return nil, parseErr("the request has no root element")
	case before:
		return nil, parseErr("the request has content before the root element")
	case after:
		return nil, parseErr("the request has content after the root element")
	}
	return root, nil
}

// xmlError turns a parse failure into an error that quotes nothing of the
// input. etree's own sentinels are fixed texts and keep their wording; an
// encoding/xml syntax error becomes a position, found by tokenizing again
// (only failed requests pay for it), with the message's fixed phrase for
// the log.
func xmlError(raw []byte, err error) error {
	if errors.Is(err, etree.ErrXML) || errors.Is(err, etree.ErrMaxDepth) {
		return parseErr("the request is not well-formed XML: %v", err)
	}
	detail := "not well-formed"
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		detail = syntaxPhrase(se.Msg)
	}
	line, col := errorPosition(raw)
	return &syntaxError{Line: line, Column: col, Detail: detail}
}

// errorPosition returns the line and column (in bytes, from 1) where
// encoding/xml, tokenizing raw as etree does, stops with an error.
func errorPosition(raw []byte) (line, col int) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	for {
		if _, err := d.RawToken(); err != nil {
			return d.InputPos()
		}
	}
}

// syntaxPhrases are encoding/xml's syntax error messages up to where they
// start quoting the input.
var syntaxPhrases = []string{
	"unexpected EOF in CDATA section",
	"unexpected EOF",
	"unexpected end element",
	"element closed by another",
	"expected element name after",
	"invalid characters between",
	"expected target name after <?",
	"invalid sequence",
	"invalid <![ sequence",
	"expected /> in element",
	"expected attribute name in element",
	"attribute name without = in element",
	"unquoted or missing attribute value in element",
	"unescaped ]]> not in CDATA section",
	"unescaped < inside quoted string",
	"invalid character entity",
	"invalid UTF-8",
	"illegal character code",
	"invalid XML name",
}

func syntaxPhrase(msg string) string {
	if strings.HasPrefix(msg, "element <") && strings.Contains(msg, "> closed by </") {
		return "element closed by another"
	}
	for _, p := range syntaxPhrases {
		if strings.HasPrefix(msg, p) {
			return p
		}
	}
	return "syntax error"
}

func isXMLSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// maxEcho bounds what a fault or a log line repeats of a client-supplied
// name or value: enough to recognize it, too little to flood anything.
const maxEcho = 64

// clampName prepares a client-supplied name (an element name, a SOAPAction)
// for a faultstring: control characters become '?' and it is cut to
// maxEcho bytes, on a rune boundary, with an ellipsis.
func clampName(s string) string {
	cut := false
	if len(s) > maxEcho {
		i := maxEcho
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s, cut = s[:i], true
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (0x80 <= r && r < 0xa0) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
	if cut {
		s += "…"
	}
	return s
}

// QuoteInput quotes a client-supplied value for a faultstring, escaped as
// a Go string and cut to maxEcho bytes.
func QuoteInput(s string) string {
	if len(s) > maxEcho {
		i := maxEcho
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return strconv.Quote(s[:i]) + "…"
	}
	return strconv.Quote(s)
}

func readAddressing(h *etree.Element) *Addressing {
	var a *Addressing
	for _, c := range h.ChildElements() {
		ns := c.NamespaceURI()
		if ns != NSAddressing4 && ns != NSAddressing5 {
			continue
		}
		if a == nil {
			a = &Addressing{NS: ns}
		}
		switch c.Tag {
		case "Action":
			a.Action = strings.TrimSpace(c.Text())
		case "MessageID":
			a.MessageID = strings.TrimSpace(c.Text())
		case "ReplyTo":
			if addr := c.FindElement("./Address"); addr != nil {
				a.ReplyTo = strings.TrimSpace(addr.Text())
			}
		}
	}
	return a
}

// Child returns the first child element of el with the local name name,
// whatever its namespace prefix. Partner API clients disagree on prefixes and
// default namespaces, so bodies are matched by local name.
func Child(el *etree.Element, name string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == name {
			return e
		}
	}
	return nil
}

// Children returns every child element of el with the local name name.
func Children(el *etree.Element, name string) []*etree.Element {
	if el == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range el.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == name {
			out = append(out, e)
		}
	}
	return out
}

// IsNil reports whether el carries xsi:nil="true".
func IsNil(el *etree.Element) bool {
	for _, a := range el.Attr {
		if a.Key == "nil" && a.NamespaceURI() == NSXSI {
			v := strings.TrimSpace(a.Value)
			return v == "true" || v == "1"
		}
	}
	return false
}

// XSIType returns the local name of el's xsi:type ("ns1:Send" and "Send" both
// give "Send") and whether the attribute was present.
func XSIType(el *etree.Element) (string, bool) {
	for _, a := range el.Attr {
		if a.Key == "type" && a.NamespaceURI() == NSXSI {
			v := strings.TrimSpace(a.Value)
			if i := strings.IndexByte(v, ':'); i >= 0 {
				v = v[i+1:]
			}
			return v, true
		}
	}
	return "", false
}

// actionFromHeader extracts the operation name from a SOAPAction header value
// or a WS-Addressing Action: quotes are stripped, and a URI form
// ("http://exacttarget.com/wsdl/partnerAPI/Perform") gives its last segment.
func actionName(v string) string {
	v = strings.TrimSpace(v)
	v = strings.Trim(v, `"'`)
	v = strings.TrimSpace(v)
	if i := strings.LastIndexAny(v, "/#:"); i >= 0 && strings.Contains(v, "/") {
		v = v[i+1:]
	}
	return v
}

// contentTypeAction returns the action= parameter of a SOAP 1.2 content type.
func contentTypeAction(ct string) string {
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return params["action"]
}

// The SOAP roles (actors) partnerd acts in: the next node and the ultimate
// receiver. A header block targeted at any other role is not for partnerd,
// mustUnderstand or not.
const (
	actorNext11        = "http://schemas.xmlsoap.org/soap/actor/next"
	roleNext12         = "http://www.w3.org/2003/05/soap-envelope/role/next"
	roleUltimateRecv12 = "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"
)

// understoodHeader reports whether partnerd processes the header block c:
// wsse:Security, the token headers (fueloauth, oAuth), and the WS-Addressing headers it reads or whose meaning
// it honours by answering on the same connection.
func understoodHeader(c *etree.Element) bool {
	switch c.NamespaceURI() {
	case NSWSSE:
		return c.Tag == "Security"
	case NSAddressing4, NSAddressing5:
		switch c.Tag {
		case "Action", "MessageID", "ReplyTo", "To", "From":
			return true
		}
	case NSExactTarget, "":
		return c.Tag == "fueloauth" || c.Tag == "oAuth" // fueloauth.go
	}
	return false
}

// NotUnderstood returns the header blocks of env that are targeted at
// partnerd, carry mustUnderstand="1" (or "true") in the envelope's own
// namespace, and that partnerd does not process. SOAP 1.1 §4.2.3 and 1.2
// §5.2.3 require a MustUnderstand fault for them before anything else of
// the message is processed: a client that marks a header mandatory relies
// on it being honoured, and silently ignoring it breaks that promise.
func (env *Envelope) NotUnderstood() []*etree.Element {
	if env == nil || env.Header == nil {
		return nil
	}
	envNS := env.Version.EnvelopeNS()
	var out []*etree.Element
	for _, c := range env.Header.ChildElements() {
		must, targeted := false, true
		for _, a := range c.Attr {
			if a.Space == "" || a.NamespaceURI() != envNS {
				continue
			}
			v := strings.TrimSpace(a.Value)
			switch {
			case a.Key == "mustUnderstand":
				must = v == "1" || v == "true"
			case a.Key == "actor" && env.Version == V11:
				targeted = v == "" || v == actorNext11
			case a.Key == "role" && env.Version == V12:
				targeted = v == "" || v == roleNext12 || v == roleUltimateRecv12
			}
		}
		if must && targeted && !understoodHeader(c) {
			out = append(out, c)
		}
	}
	return out
}
