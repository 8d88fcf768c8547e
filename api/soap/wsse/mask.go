package wsse

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// mask replaces the content of a secret element.
const mask = "****"

// MaskSecrets returns a copy of a raw request with the content of every
// Password and Nonce element (any prefix, any letter case) replaced by
// "****", for the request log. It works on bytes, not on a parse tree, so
// that requests which are not well-formed XML, and are logged precisely
// because they failed, are masked too.
//
// It never panics and runs in time linear in len(envelope). On input that
// is not well-formed it errs towards masking too much: an unterminated
// CDATA section or comment inside a secret element masks to the end of the
// input, and one elsewhere is not trusted to hide markup.
func MaskSecrets(envelope []byte) []byte {
	m := masker{in: envelope}
	m.out.Grow(len(envelope))
	m.run()
	return m.out.Bytes()
}

type masker struct {
	in      []byte
	out     bytes.Buffer
	copied  int  // in[:copied] has been written to out
	collect bool // keep what was masked in secrets, for Redact
	secrets [][]byte

	// The scan positions only move forwards, so the next occurrence of
	// each terminator, once found, serves every later search until the
	// scan passes it; that keeps the masker linear on input crafted with
	// many unterminated constructs.
	cdataEnd, commentEnd, piEnd memo
	// noDirectives is set once a directive runs to the end of the input:
	// later ones are then not trusted to end either, which would otherwise
	// make the scan quadratic.
	noDirectives bool
}

// memo remembers where a terminator was found at or after from; at is -1
// when it does not occur at or after from.
type memo struct {
	from, at int
	valid    bool
}

func (m *masker) find(mm *memo, term string, pos int) int {
	if mm.valid && mm.from <= pos && (mm.at == -1 || mm.at >= pos) {
		return mm.at
	}
	at := bytes.Index(m.in[pos:], []byte(term))
	if at >= 0 {
		at += pos
	}
	*mm = memo{from: pos, at: at, valid: true}
	return at
}

func (m *masker) run() {
	in := m.in
	i := 0
	for i < len(in) {
		j := bytes.IndexByte(in[i:], '<')
		if j < 0 {
			break
		}
		i += j
		if end, ok := m.skipOpaque(i); ok {
			i = end
			continue
		}
		if i+1 < len(in) && (in[i+1] == '!' || in[i+1] == '?') {
			// Unterminated: read on as if it were text, so that no
			// markup hides behind it.
			i++
			continue
		}
		if i+1 < len(in) && in[i+1] == '/' {
			// An end tag: nothing in it to mask.
			_, k := m.name(i + 2)
			i = k
			continue
		}
		name, k := m.name(i + 1)
		end, selfClosing, ok := m.tagEnd(k)
		if !ok {
			i = end // at the '<' that broke the tag, or the end of input
			if end == len(in) {
				// An unterminated tag at the end (a cut excerpt): its
				// attributes are masked as far as they go.
				m.maskAttrs(k, end)
			}
			continue
		}
		m.maskAttrs(k, end)
		if !isSecret(name) {
			i = end + 1
			continue
		}
		if selfClosing {
			i = end + 1
			continue
		}
		start := end + 1
		stop := m.contentEnd(start)
		if stop > start {
			m.out.Write(in[m.copied:start])
			m.out.WriteString(mask)
			m.copied = stop
			if m.collect {
				m.secrets = append(m.secrets, in[start:stop])
			}
		}
		i = stop
	}
	m.out.Write(in[m.copied:])
}

// maskAttrs masks the values of the secret attributes (token="…") of the
// tag whose attributes are in[p:end].
func (m *masker) maskAttrs(p, end int) {
	for _, r := range secretAttrs(m.in[p:end]) {
		m.out.Write(m.in[m.copied : p+r[0]])
		m.out.WriteString(mask)
		m.copied = p + r[1]
		if m.collect {
			m.secrets = append(m.secrets, m.in[p+r[0]:p+r[1]])
		}
	}
}

// secretAttrs returns the ranges of the values of the secret attributes in
// attrs, the text of a start tag after its name. Malformed text errs
// towards masking: an unquoted value runs to the next space, an unclosed
// quote to the end.
func secretAttrs(attrs []byte) [][2]int {
	var out [][2]int
	isSpace := func(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }
	p := 0
	for p < len(attrs) {
		for p < len(attrs) && (isSpace(attrs[p]) || attrs[p] == '/') {
			p++
		}
		start := p
		for p < len(attrs) && !isSpace(attrs[p]) && attrs[p] != '=' && attrs[p] != '/' {
			p++
		}
		name := attrs[start:p]
		for p < len(attrs) && isSpace(attrs[p]) {
			p++
		}
		if p >= len(attrs) || attrs[p] != '=' {
			if p == start {
				p++ // a stray byte: step over it
			}
			continue
		}
		p++
		for p < len(attrs) && isSpace(attrs[p]) {
			p++
		}
		var vs, ve int
		if p < len(attrs) && (attrs[p] == '"' || attrs[p] == '\'') {
			q := attrs[p]
			vs = p + 1
			ve = bytes.IndexByte(attrs[vs:], q)
			if ve < 0 {
				ve = len(attrs)
			} else {
				ve += vs
			}
			p = ve + 1
		} else {
			vs = p
			for p < len(attrs) && !isSpace(attrs[p]) {
				p++
			}
			ve = p
		}
		if ve > vs && isSecret(name) {
			out = append(out, [2]int{vs, ve})
		}
	}
	return out
}

// skipOpaque returns the index after the CDATA section, comment, processing
// instruction or directive starting at in[i] (a '<'), if it is terminated.
func (m *masker) skipOpaque(i int) (int, bool) {
	in := m.in[i:]
	switch {
	case bytes.HasPrefix(in, []byte("<![CDATA[")):
		if end := m.find(&m.cdataEnd, "]]>", i+9); end >= 0 {
			return end + 3, true
		}
	case bytes.HasPrefix(in, []byte("<!--")):
		if end := m.find(&m.commentEnd, "-->", i+4); end >= 0 {
			return end + 3, true
		}
	case bytes.HasPrefix(in, []byte("<?")):
		if end := m.find(&m.piEnd, "?>", i+2); end >= 0 {
			return end + 2, true
		}
	case bytes.HasPrefix(in, []byte("<!")) && len(in) > 2:
		// encoding/xml takes the byte after "<!" as part of the
		// directive's name without looking at it (a quote there opens
		// nothing), so the scan starts one byte later.
		if end, ok := m.directiveEnd(i + 3); ok {
			return end, true
		}
	}
	return 0, false
}

// directiveEnd finds the end of a <!DOCTYPE …> style directive the way
// encoding/xml (and so etree) does: quoted text and comments do not count,
// nested angle brackets do.
func (m *masker) directiveEnd(p int) (int, bool) {
	if m.noDirectives {
		return 0, false
	}
	in := m.in
	var quote byte
	depth := 0
	for p < len(in) {
		b := in[p]
		switch {
		case quote != 0:
			if b == quote {
				quote = 0
			}
		case b == '\'' || b == '"':
			quote = b
		case b == '>':
			if depth == 0 {
				return p + 1, true
			}
			depth--
		case b == '<':
			if bytes.HasPrefix(in[p:], []byte("<!--")) {
				end := m.find(&m.commentEnd, "-->", p+4)
				if end < 0 {
					p = len(in)
					continue
				}
				p = end + 3
				continue
			}
			depth++
		}
		p++
	}
	m.noDirectives = true
	return 0, false
}

// name returns the tag name starting at in[p] and the index after it.
func (m *masker) name(p int) ([]byte, int) {
	in := m.in
	k := p
	for k < len(in) {
		switch in[k] {
		case ' ', '\t', '\r', '\n', '/', '>', '<':
			return in[p:k], k
		}
		k++
	}
	return in[p:k], k
}

// tagEnd finds the '>' ending a start tag whose attributes begin at in[p].
// A '<' cannot occur in a well-formed tag, even quoted, so it ends the
// search with ok false: an unbalanced quote then cannot hide what follows.
func (m *masker) tagEnd(p int) (end int, selfClosing, ok bool) {
	in := m.in
	for ; p < len(in); p++ {
		switch b := in[p]; b {
		case '<':
			return p, false, false
		case '"', '\'':
			// Every start tag is looked at, and the envelope's first
			// ones hold long namespace URIs: the quoted value is
			// skipped with IndexByte rather than byte by byte.
			q := bytes.IndexByte(in[p+1:], b)
			if q < 0 {
				q = len(in) - p - 1
			}
			if lt := bytes.IndexByte(in[p+1:p+1+q], '<'); lt >= 0 {
				return p + 1 + lt, false, false
			}
			if p+1+q >= len(in) {
				return len(in), false, false
			}
			p += 1 + q // at the closing quote
		case '>':
			return p, p > 0 && in[p-1] == '/', true
		}
	}
	return len(in), false, false
}

// contentEnd returns where the content of a secret element that starts at
// in[p] ends: at its end tag, found by counting nested elements, or at the
// end of the input when the element never closes.
func (m *masker) contentEnd(p int) int {
	in := m.in
	depth := 0
	for p < len(in) {
		j := bytes.IndexByte(in[p:], '<')
		if j < 0 {
			return len(in)
		}
		p += j
		if end, ok := m.skipOpaque(p); ok {
			p = end
			continue
		}
		if p+1 < len(in) && (in[p+1] == '!' || in[p+1] == '?') {
			// An unterminated CDATA section or comment would run to
			// the end: mask all of it.
			return len(in)
		}
		if p+1 < len(in) && in[p+1] == '/' {
			if depth == 0 {
				return p
			}
			depth--
			gt := bytes.IndexByte(in[p:], '>')
			if gt < 0 {
				return len(in)
			}
			p += gt + 1
			continue
		}
		_, k := m.name(p + 1)
		end, selfClosing, ok := m.tagEnd(k)
		switch {
		case !ok && end == len(in):
			return len(in)
		case !ok:
			p = end // a '<' after the one at p: the scan advances
		case selfClosing:
			p = end + 1
		default:
			depth++
			p = end + 1
		}
	}
	return len(in)
}

// isSecret reports whether a tag or attribute name's local part names a
// secret: a password, nonce, token, key or secret, as SOAP stacks and OAuth
// spell them (fueloauth, oAuthToken, access_token, refreshToken,
// clientSecret …). Case, '_' and '-' are ignored, so that every spelling of
// one name counts: masking a look-alike too costs nothing, missing a
// spelling leaks a credential. UsernameToken is the one container excepted:
// its Password and Nonce are masked one by one, and its Username is what
// a failed login is debugged by.
func isSecret(name []byte) bool {
	if i := bytes.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	if len(name) > maxSecretName {
		return false // no name below is this long, even with separators
	}
	var buf [maxSecretName]byte
	n := 0
	for _, b := range name {
		switch {
		case b == '_' || b == '-':
			continue
		case 'A' <= b && b <= 'Z':
			b += 'a' - 'A'
		}
		buf[n] = b
		n++
	}
	norm := string(buf[:n]) // does not escape: no allocation
	switch norm {
	case "password", "passwd", "pwd", "passphrase", "nonce", "secret", "token", "fueloauth", "apikey",
		"privatekey", "authorization", "credential", "credentials":
		return true
	case "usernametoken":
		return false
	}
	for _, suffix := range secretSuffixes {
		if strings.HasSuffix(norm, suffix) {
			return true
		}
	}
	return false
}

// secretSuffixes catch the compound names: oAuthToken, accessToken,
// refresh_token, BinarySecurityToken, clientSecret, adminPassword, apiKey is
// listed whole above because "key" alone (CustomerKey) is no secret.
var secretSuffixes = []string{"token", "secret", "password", "passwd", "apikey"}

// maxSecretName bounds the names isSecret looks at: secret names are
// short, and the bound keeps the check free of allocation.
const maxSecretName = 64

// Kept is what the request log may keep of a body: ForLog's answer.
type Kept struct {
	// Body is the body with its secrets masked: all of it, a prefix
	// (Cut), or nothing (Why says why).
	Body []byte
	// Cut is set when the body was longer than the log keeps: Body is
	// masked from its first max bytes only.
	Cut bool
	// Why, when set, says why Body is not all of the body (up to the
	// cut): the body was not UTF-8, not XML, or not well-formed. It never
	// quotes the body.
	Why string
}

// ForLog returns what the request log may keep of body: at most max bytes
// of it (max > 0), every secret masked. "Keep what was understood, or
// nothing": a secret can only be recognised in a body read as XML, so
// bytes that are not read as XML are not kept.
//
// parsed says the body was already read as a well-formed UTF-8 XML
// document (the request authenticated, so the SOAP layer parsed it). The
// byte masker (MaskSecrets) then finds exactly the elements a parser
// finds, at a fraction of a parser's cost, which matters on every request.
//
// Otherwise the first max bytes are read with encoding/xml, and only the
// tokens it read before it stopped are kept, each secret element's content
// replaced: a password with an unescaped '&' stops the reading inside its
// element, after the mask. Bytes that are not UTF-8 (gzip, UTF-16, binary)
// keep nothing, only a description. Reading is bounded by max, however
// large the body.
func ForLog(body []byte, max int, parsed bool) Kept {
	var k Kept
	prefix := body
	if len(body) > max {
		prefix = body[:runeCut(body, max)]
		k.Cut = true
	}
	if len(prefix) == 0 {
		return k
	}
	if bad := invalidUTF8(prefix); bad >= 0 {
		k.Why = describeUndecodable(body, bad)
		return k
	}
	if parsed {
		k.Body = MaskSecrets(prefix)
		return k
	}
	k.Body, k.Why = maskDecoded(prefix, k.Cut)
	return k
}

// runeCut returns n, or less so that body[:n] does not end inside a UTF-8
// sequence.
func runeCut(body []byte, n int) int {
	for j := n - 1; j >= 0 && j >= n-utf8.UTFMax; j-- {
		if utf8.RuneStart(body[j]) {
			if !utf8.FullRune(body[j:n]) {
				return j
			}
			break
		}
	}
	return n
}

// invalidUTF8 returns the offset of the first byte of b that is not UTF-8,
// or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// describeUndecodable says what a body that is not UTF-8 looks like, so
// the log's reader knows what the client sent without its bytes.
func describeUndecodable(body []byte, bad int) string {
	const notKept = "; not kept"
	switch {
	case bytes.HasPrefix(body, []byte{0x1f, 0x8b}):
		return "gzip-compressed data" + notKept
	case bytes.HasPrefix(body, []byte{0, 0, 0xfe, 0xff}), bytes.HasPrefix(body, []byte{0xff, 0xfe, 0, 0}):
		return "UTF-32 text" + notKept
	case bytes.HasPrefix(body, []byte{0xfe, 0xff}), bytes.HasPrefix(body, []byte{0xff, 0xfe}):
		return "UTF-16 text (with a byte-order mark)" + notKept
	case len(body) >= 2 && (body[0] == '<' && body[1] == 0 || body[0] == 0 && body[1] == '<'):
		return "UTF-16 text (without a byte-order mark)" + notKept
	}
	return fmt.Sprintf("not UTF-8: byte 0x%02x at offset %d", body[bad], bad) + notKept
}

// maskDecoded reads prefix with encoding/xml and returns the raw text of
// the tokens it read, with the content of every secret element (and the
// value of every secret attribute) masked, and why it stopped early if it
// did. cut says prefix was cut from a longer body: running out of input is
// then expected.
func maskDecoded(prefix []byte, cut bool) ([]byte, string) {
	d := xml.NewDecoder(bytes.NewReader(prefix))
	d.Strict = true
	var out bytes.Buffer
	out.Grow(len(prefix))
	depth := 0
	secret := 0 // > 0 inside a secret element: how deep in it
	root := false
	var why string
read:
	for {
		start := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			why = stopReason(err, cut, root)
			break
		}
		raw := prefix[start:d.InputOffset()]
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && root {
				why = "not XML: an element after the root element; kept what was read before it"
				break read
			}
			root = true
			depth++
			if secret > 0 {
				secret++
				continue
			}
			writeMaskedTag(&out, raw)
			if isSecret([]byte(t.Name.Local)) {
				secret = 1
				if !bytes.HasSuffix(raw, []byte("/>")) {
					out.WriteString(mask)
				}
			}
		case xml.EndElement:
			depth--
			if secret > 0 {
				if secret--; secret > 0 {
					continue
				}
			}
			out.Write(raw)
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				why = "not XML: text outside the root element; kept what was read before it"
				break read
			}
			if secret == 0 {
				out.Write(raw)
			}
		default: // comments, processing instructions, directives
			if secret == 0 {
				out.Write(raw)
			}
		}
	}
	if !root {
		// Comments and blanks alone say nothing worth keeping, and a
		// comment could hold anything.
		return nil, why
	}
	return out.Bytes(), why
}

// stopReason says why reading stopped at err; "" when it is the end of
// the input, or of a cut prefix. It never quotes the input: a syntax
// error's message can (an unescaped '&' in a password is reported with
// the text after it).
func stopReason(err error, cut, root bool) string {
	var se *xml.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		if !root {
			return "not XML: no element; not kept"
		}
		return ""
	case errors.As(err, &se):
		if cut && strings.HasPrefix(se.Msg, "unexpected EOF") {
			return ""
		}
		return fmt.Sprintf("not well-formed XML at line %d; kept what was read before it", se.Line)
	default:
		// The XML declaration names an encoding other than UTF-8.
		return "not read as XML (it declares an encoding other than UTF-8); kept what was read before it"
	}
}

// writeMaskedTag writes a start tag as read, secret attribute values
// masked.
func writeMaskedTag(out *bytes.Buffer, tag []byte) {
	// The tag is well-formed (the decoder read it): its name ends at the
	// first space, '/' or '>'.
	p := bytes.IndexAny(tag, " \t\r\n/>")
	if p < 0 {
		out.Write(tag)
		return
	}
	attrs := tag[p : len(tag)-1] // without the closing '>'
	copied := 0
	for _, r := range secretAttrs(attrs) {
		out.Write(tag[copied : p+r[0]])
		out.WriteString(mask)
		copied = p + r[1]
	}
	out.Write(tag[copied:])
}

// redactScan bounds how much of a body Redact reads for secrets: a
// WS-Security header comes first, within the first few KB of any client's
// envelope, and a stranger's 4 MiB body must not cost a full scan.
const redactScan = 64 << 10

// Redact returns text (a fault's reason, an answer) with every word of
// every secret in body replaced by "****". It is for text that may quote
// the body without knowing it: a parser's error names the entity an
// unescaped '&' in a password starts ("&Tail"), and so hands out the
// password's tail. A word is a run of at least 4 bytes between XML's
// delimiters (any character an XML name cannot hold), so the quoted part
// is found however the text escaped the rest; shorter runs are too common
// to redact.
func Redact(text string, body []byte) string {
	if text == "" {
		return text
	}
	if len(body) > redactScan {
		body = body[:redactScan]
	}
	m := masker{in: body, collect: true}
	m.run()
	const maxWords = 64
	words := 0
	for _, secret := range m.secrets {
		for _, w := range bytes.FieldsFunc(secret, isDelimiter) {
			if len(w) < 4 {
				continue
			}
			if words++; words > maxWords {
				return text
			}
			text = strings.ReplaceAll(text, string(w), mask)
		}
	}
	return text
}

// isDelimiter splits a secret into the runs an XML name can hold: a
// parser quoting a bad entity quotes such a run.
func isDelimiter(r rune) bool {
	return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_')
}
