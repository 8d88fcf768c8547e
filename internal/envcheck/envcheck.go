// Package envcheck validates requests offline, before they are sent:
// `partnerd check`. A SOAP envelope is checked for what makes partnerd (or
// the real service) refuse it — well-formed XML, the SOAP 1.1 or 1.2
// envelope and its parts, an operation partnerd serves, the shape of the
// security header or of the token header (fueloauth, oAuth/oAuthToken) — and its Body against the schema of a WSDL; a REST
// request against an OpenAPI document. Every problem is one line with its
// position in the file (line:col). Nothing printed ever holds a password.
//
// The rules are the server's own where it has them in a form that runs
// offline (wsse.Parse for the UsernameToken, soap.FindToken for the token
// headers, the operation table of package soap); schema validation shells out to xmllint
// (internal/xsdcheck), which a check without it says it skipped.
package envcheck

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/api/soap/wsse"
	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/xsdcheck"
)

// Problem is one thing wrong with a request, at a position of its file
// (line and column from 1; 0 when the problem has no one place).
type Problem struct {
	Line, Col int
	Msg       string
}

func (p Problem) String() string { return fmt.Sprintf("%d:%d: %s", p.Line, p.Col, p.Msg) }

// WSDL is a service description whose schema request bodies are checked
// against, named in the problems it finds ("partnerd", "reference").
type WSDL struct {
	Name string
	Src  []byte
}

// Options say what an envelope is checked against.
type Options struct {
	// Served are the operations partnerd serves (soap.Handler.Operations);
	// an operation the Partner API knows but partnerd does not serve is a
	// problem.
	Served []string
	// WSDLs are the schemas the Body is validated against, in order.
	WSDLs []WSDL
	// Validate runs the schema check of a standalone body element; nil is
	// xsdcheck.Violations (xmllint). Tests replace it to run without
	// xmllint.
	Validate func(wsdl, doc []byte) ([]string, error)
}

// Result is what a check found: the problems, notes on what could not be
// checked, and a summary of what the request is (for a clean one).
type Result struct {
	Problems []Problem
	Notes    []string
	Summary  string
}

// node is an element with its position and raw extent in the file.
type node struct {
	name       xml.Name // Space is the namespace URI
	attrs      []xml.Attr
	kids       []*node
	parent     *node
	line, col  int
	start, end int64 // raw offsets: '<' of the start tag, after the end tag
	hasText    bool  // it holds text other than white space (never kept)
}

// positions converts byte offsets to line:col.
type positions []int // offsets of line starts

func newPositions(raw []byte) positions {
	p := positions{0}
	for i, b := range raw {
		if b == '\n' {
			p = append(p, i+1)
		}
	}
	return p
}

func (p positions) at(off int64) (int, int) {
	i := sort.Search(len(p), func(i int) bool { return int64(p[i]) > off }) - 1
	if i < 0 {
		i = 0
	}
	return i + 1, int(off) - p[i] + 1
}

// parse reads raw into a tree with positions; a syntax error is a
// problem at its position. Text is not kept: no problem quotes it.
func parse(raw []byte, pos positions) (*node, *Problem) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	var root, cur *node
	depth := 0
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, col := pos.at(d.InputOffset())
			msg := "not well-formed XML"
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				msg += ": " + syntaxPhrase(se.Msg)
			}
			if cur != nil {
				msg += fmt.Sprintf(" (inside <%s>)", cur.name.Local)
			}
			return nil, &Problem{line, col, msg}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > soap.MaxDepth {
				line, col := pos.at(off)
				return nil, &Problem{line, col, fmt.Sprintf("elements nested deeper than %d: partnerd refuses the document", soap.MaxDepth)}
			}
			n := &node{name: t.Name, attrs: t.Attr, parent: cur, start: off}
			n.line, n.col = pos.at(off)
			if cur == nil {
				if root != nil {
					return nil, &Problem{n.line, n.col, "not well-formed XML: a second root element"}
				}
				root = n
			} else {
				cur.kids = append(cur.kids, n)
			}
			cur = n
		case xml.EndElement:
			depth--
			cur.end = d.InputOffset()
			cur = cur.parent
		case xml.CharData:
			if cur != nil && len(bytes.TrimSpace(t)) > 0 {
				cur.hasText = true
			}
		case xml.Directive:
			line, col := pos.at(off)
			return nil, &Problem{line, col, "a DOCTYPE or other directive: partnerd refuses documents with one"}
		}
	}
	if root == nil {
		return nil, &Problem{1, 1, "not well-formed XML: no root element"}
	}
	return root, nil
}

// syntaxPhrase keeps encoding/xml's description of a syntax error but not
// the input it may quote (the tail of a password with an unescaped '&').
var quotedRE = regexp.MustCompile(`("[^"]*"|&[^ ;]*;?|<[^ >]*>?)`)

func syntaxPhrase(msg string) string {
	return quotedRE.ReplaceAllString(msg, "…")
}

func (n *node) child(space, local string) []*node {
	var out []*node
	for _, k := range n.kids {
		if k.name.Space == space && k.name.Local == local {
			out = append(out, k)
		}
	}
	return out
}

// CheckEnvelope checks a SOAP request envelope.
func CheckEnvelope(raw []byte, opts Options) Result {
	var res Result
	pos := newPositions(raw)
	problem := func(n *node, format string, args ...any) {
		p := Problem{Msg: fmt.Sprintf(format, args...)}
		if n != nil {
			p.Line, p.Col = n.line, n.col
		}
		res.Problems = append(res.Problems, p)
	}
	root, perr := parse(raw, pos)
	if perr != nil {
		res.Problems = append(res.Problems, *perr)
		return res
	}

	// The envelope and its parts.
	var version string
	switch {
	case root.name.Local == "Envelope" && root.name.Space == soap.NSEnvelope11:
		version = "SOAP 1.1"
	case root.name.Local == "Envelope" && root.name.Space == soap.NSEnvelope12:
		version = "SOAP 1.2"
	case root.name.Local == "Envelope":
		problem(root, "Envelope in namespace %q: want %s (SOAP 1.1) or %s (SOAP 1.2)", root.name.Space, soap.NSEnvelope11, soap.NSEnvelope12)
		return res
	default:
		problem(root, "root element is <%s>, not a SOAP Envelope", root.name.Local)
		return res
	}
	ns := root.name.Space
	var header, body *node
	for _, k := range root.kids {
		switch {
		case k.name.Local == "Header" && k.name.Space == ns:
			// A Header after the Body is no problem: SOAP puts it first,
			// but SDKs (fuel-soap, sfmc-sdk) write it after, and partnerd
			// reads it there as the real service does.
			if header != nil {
				problem(k, "a second Header")
			}
			header = k
		case k.name.Local == "Body" && k.name.Space == ns:
			if body != nil {
				problem(k, "a second Body")
				continue
			}
			body = k
		case k.name.Local == "Header" || k.name.Local == "Body":
			problem(k, "%s in namespace %q inside a %s Envelope: want %s", k.name.Local, k.name.Space, version, ns)
		default:
			problem(k, "<%s> inside the Envelope: only Header and Body belong there", k.name.Local)
		}
	}
	if body == nil {
		problem(root, "no Body")
		return res
	}

	// The operation.
	op := ""
	var payload *node
	switch len(body.kids) {
	case 0:
		problem(body, "empty Body: want one request element, e.g. <PerformRequestMsg>")
	case 1:
		payload = body.kids[0]
	default:
		problem(body.kids[1], "Body has %d elements: want exactly one request", len(body.kids))
	}
	if payload != nil {
		op = checkOperation(payload, opts, problem)
	}

	// The security header.
	token := checkSecurity(raw, header, root, problem)

	// The body against the schemas.
	if payload != nil && op != "" {
		for _, w := range opts.WSDLs {
			validate := opts.Validate
			if validate == nil {
				validate = xsdcheck.Violations
			}
			found, err := validate(w.Src, standalone(raw, payload))
			if err != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("body not checked against the %s WSDL: %v", w.Name, err))
				continue
			}
			for _, v := range found {
				line, msg := schemaMessage(v)
				p := Problem{Line: payload.line + line - 1, Msg: fmt.Sprintf("schema (%s WSDL): %s", w.Name, msg)}
				p.Col = colOf(payload, p.Line, msg)
				res.Problems = append(res.Problems, p)
			}
		}
	}
	if len(res.Problems) == 0 {
		res.Summary = strings.TrimSpace(version + " " + op + " " + token)
	}
	return res
}

// checkOperation resolves the request element to an operation partnerd
// serves; it returns "" when it cannot.
func checkOperation(payload *node, opts Options, problem func(*node, string, ...any)) string {
	name := payload.name.Local
	op, known := soap.OperationOfBody(&etree.Element{Tag: name})
	if !known {
		problem(payload, "unknown operation: <%s> is no Partner API request element (partnerd serves %s)", name, servedList(opts.Served))
		return ""
	}
	if payload.name.Space != soap.NSPartnerAPI {
		problem(payload, "<%s> in namespace %q: want %s", name, payload.name.Space, soap.NSPartnerAPI)
		return ""
	}
	if len(opts.Served) > 0 {
		served := false
		for _, s := range opts.Served {
			served = served || s == op
		}
		if !served {
			problem(payload, "operation %s (<%s>) is not served by partnerd: it answers with a fault (partnerd serves %s)", op, name, servedList(opts.Served))
			return ""
		}
	}
	return op
}

func servedList(ops []string) string {
	if len(ops) == 0 {
		return "the operations of its WSDL"
	}
	s := append([]string(nil), ops...)
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// checkSecurity checks the header's credential as the SOAP face reads it:
// a token header first, as soap.FindToken finds it (fueloauth, or the
// legacy oAuth/oAuthToken; a UsernameToken beside one is then not
// checked), otherwise a wsse:Security with a UsernameToken as wsse.Parse
// reads it (the server's own rules). It returns a description without the
// password or the token.
func checkSecurity(raw []byte, header, root *node, problem func(*node, string, ...any)) string {
	const want = "want wsse:Security with a UsernameToken (Username, Password), or a token in fueloauth or oAuth/oAuthToken"
	if header == nil {
		problem(root, "no Header, so no credentials: %s", want)
		return ""
	}
	// FindToken and wsse.Parse read etree elements: the header is read
	// again as one.
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw[header.start:header.end]); err != nil {
		problem(header, "Header cannot be read: %v", syntaxPhrase(err.Error()))
		return ""
	}
	hdr := doc.Root()
	// The prefixes the header uses may be declared on the Envelope.
	for _, a := range root.attrs {
		if name := declName(a); name != "" && hdr.SelectAttr(name) == nil {
			hdr.CreateAttr(name, a.Value)
		}
	}
	var sec *node
	for _, k := range header.kids {
		if k.name.Local == "Security" && k.name.Space == wsse.NSSecExt {
			sec = k
		}
	}
	if desc, found := checkToken(hdr, header, problem); found {
		if desc != "" && sec != nil {
			desc += " (the UsernameToken beside it is not checked)"
		}
		return desc
	}
	for _, k := range header.kids {
		if k.name.Local == "Security" && k.name.Space != wsse.NSSecExt {
			problem(k, "Security in namespace %q: want %s", k.name.Space, wsse.NSSecExt)
			return ""
		}
	}
	if sec == nil {
		problem(header, "no security header: %s", want)
		return ""
	}
	tok, err := wsse.Parse(wsse.Find(hdr))
	if err != nil {
		at := sec
		for _, k := range sec.kids {
			if k.name.Local == "UsernameToken" {
				at = k
			}
		}
		problem(at, "security header: %s", securityPhrase(err))
		return ""
	}
	kind := "PasswordText"
	if tok.Type == wsse.PasswordDigest {
		kind = "PasswordDigest"
		if tok.Nonce == "" || !tok.HasCreated {
			problem(sec, "security header: a PasswordDigest needs a Nonce and a Created (the digest covers them)")
		}
	}
	return "UsernameToken " + kind + " (user " + strconv.Quote(tok.Username) + ")"
}

// checkToken checks the token headers of hdr (header's etree copy) by the
// face's rule, soap.FindToken. found is whether the face would log in by a
// token; desc names the header ("" when it is refused). A fueloauth or
// oAuth in another namespace is no token header to the face, which then
// looks for a password: that is a problem of its own.
func checkToken(hdr *etree.Element, header *node, problem func(*node, string, ...any)) (desc string, found bool) {
	var heads []*node // the token headers as the face reads them
	for _, k := range header.kids {
		if k.name.Local != "fueloauth" && k.name.Local != "oAuth" {
			continue
		}
		if !isTokenSpace(k) {
			problem(k, "%s in namespace %q is no token header to partnerd, which ignores it: want %s or no namespace", k.name.Local, k.name.Space, soap.NSExactTarget)
			continue
		}
		heads = append(heads, k)
	}
	token, found, err := soap.FindToken(hdr)
	if !found {
		return "", false
	}
	if err != nil {
		at, why := tokenHeaderProblem(heads)
		if at == nil {
			at = header
		}
		problem(at, "%s: partnerd refuses the request with Login Failed (one token must log in)", why)
		return "", true
	}
	if len(token) > auth.MaxTokenLength {
		problem(heads[0], "a token of %d characters: partnerd refuses tokens longer than %d with Login Failed", len(token), auth.MaxTokenLength)
		return "", true
	}
	if heads[0].name.Local == "oAuth" {
		return "oAuth/oAuthToken token", true
	}
	return "fueloauth token", true
}

func isTokenSpace(n *node) bool { return n.name.Space == soap.NSExactTarget || n.name.Space == "" }

// tokenHeaderProblem says why the token headers heads hold no single
// token (FindToken refused them), and where.
func tokenHeaderProblem(heads []*node) (*node, string) {
	if len(heads) == 0 {
		return nil, "unreadable token header"
	}
	if len(heads) > 1 {
		return heads[1], fmt.Sprintf("a second token header (<%s> after <%s>)", heads[1].name.Local, heads[0].name.Local)
	}
	h := heads[0]
	el, name := h, "fueloauth"
	if h.name.Local == "oAuth" {
		var toks []*node
		for _, k := range h.kids {
			if k.name.Local == "oAuthToken" && isTokenSpace(k) {
				toks = append(toks, k)
			}
		}
		switch len(toks) {
		case 0:
			return h, "oAuth without an oAuthToken"
		case 1:
			el, name = toks[0], "oAuthToken"
		default:
			return toks[1], "a second oAuthToken"
		}
	} else if len(h.kids) == 1 && h.kids[0].name.Local == "fueloauth" && isTokenSpace(h.kids[0]) {
		el = h.kids[0] // nested, as FuelSDK-Ruby writes it
	}
	if len(el.kids) > 0 {
		return el, fmt.Sprintf("%s holds elements, not a token", name)
	}
	return el, fmt.Sprintf("empty %s token", name)
}

// securityPhrase is wsse.Parse's reason without the prefixes of the
// error kinds it wraps (the server's fault wording, not the reason).
func securityPhrase(err error) string {
	msg := err.Error()
	for _, prefix := range []string{wsse.ErrNoToken.Error() + ": ", wsse.ErrMalformed.Error() + ": ", wsse.ErrLoginFailed.Error() + ": "} {
		for strings.HasPrefix(msg, prefix) {
			msg = strings.TrimPrefix(msg, prefix)
		}
	}
	return msg
}

// standalone is the payload element's raw text with every namespace
// declaration of its ancestors added to its start tag (on its first line,
// so that line numbers within it still match the file's).
func standalone(raw []byte, payload *node) []byte {
	own := map[string]bool{}
	for _, a := range payload.attrs {
		own[declName(a)] = true
	}
	var decls strings.Builder
	for p := payload.parent; p != nil; p = p.parent {
		for _, a := range p.attrs {
			name := declName(a)
			if name == "" || own[name] {
				continue
			}
			own[name] = true
			fmt.Fprintf(&decls, " %s=%q", name, a.Value)
		}
	}
	text := raw[payload.start:payload.end]
	i := bytes.IndexAny(text, " \t\r\n/>")
	if i < 0 {
		return text
	}
	out := append([]byte{}, text[:i]...)
	out = append(out, decls.String()...)
	return append(out, text[i:]...)
}

// declName is "xmlns" or "xmlns:p" for a namespace declaration, "" for
// another attribute.
func declName(a xml.Attr) string {
	switch {
	case a.Name.Space == "xmlns":
		return "xmlns:" + a.Name.Local
	case a.Name.Space == "" && a.Name.Local == "xmlns":
		return "xmlns"
	}
	return ""
}

var xmllintRE = regexp.MustCompile(`^-:([0-9]+):(?:[^:]*:)?\s*(?:Schemas validity error|parser error)\s*:\s*(.*)$`)

// schemaMessage reads one of xmllint's complaints: its line in the
// standalone document and its message, namespaces of the Partner API left
// out for reading.
func schemaMessage(v string) (int, string) {
	m := xmllintRE.FindStringSubmatch(v)
	if m == nil {
		return 1, v
	}
	line, _ := strconv.Atoi(m[1])
	msg := strings.ReplaceAll(m[2], "{"+soap.NSPartnerAPI+"}", "")
	return line, msg
}

var elementRE = regexp.MustCompile(`^Element '(?:\{[^}]*\})?([^']+)'`)

// colOf is the column of the element a schema message names on line
// (counted as the payload's lines are), or of the first element starting
// on that line, or the payload's.
func colOf(payload *node, line int, msg string) int {
	name := ""
	if m := elementRE.FindStringSubmatch(msg); m != nil {
		name = m[1]
	}
	first, named := 0, 0
	var walk func(n *node)
	walk = func(n *node) {
		if n.line == line {
			if first == 0 {
				first = n.col
			}
			if named == 0 && n.name.Local == name {
				named = n.col
			}
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(payload)
	switch {
	case named != 0:
		return named
	case first != 0:
		return first
	}
	return payload.col
}
