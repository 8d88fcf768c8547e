// Package soap is partnerd's SOAP 1.1/1.2 endpoint: it reads envelopes,
// finds the operation, authenticates the WS-Security header, dispatches to a
// registered operation and writes the response envelope or fault the way the
// real Partner API does. It knows nothing of sends or storage: operations are
// functions registered with Handler.Handle.
package soap

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
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

// ReadEnvelope parses raw as a SOAP envelope. It refuses DTDs outright
// (entity expansion attacks never reach the parser) and invalid UTF-8.
func ReadEnvelope(raw []byte) (*Envelope, error) {
	if !utf8.Valid(raw) {
		return nil, parseErr("the request is not valid UTF-8")
	}
	if bytes.Contains(raw, []byte("<!DOCTYPE")) || bytes.Contains(raw, []byte("<!ENTITY")) {
		return nil, parseErr("DTDs are not allowed in SOAP messages")
	}
	root := parseCommon(string(raw), MaxDepth)
	if root == nil {
		// Not the common shape, or not well-formed: etree decides.
		doc := etree.NewDocument()
		doc.ReadSettings.MaxDepth = MaxDepth
		if err := doc.ReadFromBytes(raw); err != nil {
			return nil, parseErr("the request is not well-formed XML: %v", err)
		}
		if root = doc.Root(); root == nil {
			return nil, parseErr("the request has no root element")
		}
	}
	env := &Envelope{}
	switch ns := root.NamespaceURI(); {
	case root.Tag != "Envelope":
		return nil, parseErr("the root element is %s, not a SOAP Envelope", root.Tag)
	case ns == NSEnvelope11:
		env.Version = V11
	case ns == NSEnvelope12:
		env.Version = V12
	default:
		return nil, parseErr("unknown SOAP envelope namespace %q", ns)
	}
	envNS := env.Version.EnvelopeNS()
	for _, c := range root.ChildElements() {
		if c.NamespaceURI() != envNS {
			continue
		}
		switch c.Tag {
		case "Header":
			env.Header = c
		case "Body":
			kids := c.ChildElements()
			if len(kids) != 1 {
				return nil, parseErr("the SOAP Body must hold exactly one element, it holds %d", len(kids))
			}
			env.Body = kids[0]
		}
	}
	if env.Body == nil {
		return nil, parseErr("the envelope has no Body")
	}
	if env.Header != nil {
		env.Addressing = readAddressing(env.Header)
	}
	return env, nil
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
