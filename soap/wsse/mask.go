package wsse

import (
	"bytes"
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
	in     []byte
	out    bytes.Buffer
	copied int // in[:copied] has been written to out

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
		name, k := m.name(i + 1)
		if !isSecret(name) {
			i = k // k > i: the scan always advances
			continue
		}
		end, selfClosing, ok := m.tagEnd(k)
		if !ok {
			i = end // at the '<' that broke the tag, or the end of input
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
		}
		i = stop
	}
	m.out.Write(in[m.copied:])
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
	var quote byte
	for ; p < len(in); p++ {
		b := in[p]
		switch {
		case b == '<':
			return p, false, false
		case quote != 0:
			if b == quote {
				quote = 0
			}
		case b == '"' || b == '\'':
			quote = b
		case b == '>':
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

// isSecret reports whether a tag name's local part is Password or Nonce.
// Case is ignored: masking a look-alike element too costs nothing.
func isSecret(name []byte) bool {
	if i := bytes.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	return bytes.EqualFold(name, []byte("Password")) || bytes.EqualFold(name, []byte("Nonce"))
}
