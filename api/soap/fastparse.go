package soap

import (
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// parseCommon builds the element tree of an envelope written the way SOAP
// clients write them (elements, attributes, text, the five predefined
// entities, an XML declaration) straight from the bytes, about three times
// faster than etree's reader, whose encoding/xml tokenizer copies every
// token. It returns nil, and ReadEnvelope falls back to etree, on anything
// else: comments, CDATA, processing instructions, character references,
// carriage returns (which XML turns into line feeds), non-ASCII names,
// duplicate attributes, nesting deeper than maxDepth — and on every error,
// so that etree alone decides what is malformed and how the fault says so.
//
// The contract, checked by FuzzParseCommon: whenever parseCommon returns a
// tree, etree accepts the same input and builds an identical tree.
func parseCommon(src string, maxDepth int) *etree.Element {
	p := commonParser{src: src}
	p.skipSpace()
	if strings.HasPrefix(p.src[p.pos:], "<?xml") {
		if !p.declaration() {
			return nil
		}
		p.skipSpace()
	}
	document := etree.NewDocument()
	doc := &document.Element // the root's parent, as in etree's own tree
	stack := []*etree.Element{doc}
	for p.pos < len(p.src) {
		top := stack[len(stack)-1]
		if p.src[p.pos] != '<' {
			text, ok := p.text()
			if !ok || (len(stack) == 1 && !isSpace(text)) {
				return nil // text outside the root is left to etree
			}
			if len(stack) > 1 {
				top.CreateText(text).SetData(text) // SetData marks whitespace as etree does
			}
			continue
		}
		if p.pos+1 >= len(p.src) {
			return nil
		}
		switch c := p.src[p.pos+1]; {
		case c == '/':
			p.pos += 2
			name, ok := p.name()
			if !ok || len(stack) == 1 {
				return nil
			}
			p.skipSpace()
			if !p.consume('>') || qualifiedName(top) != name {
				return nil
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 1 {
				// The root is closed: only whitespace may follow.
				p.skipSpace()
				if p.pos != len(p.src) {
					return nil
				}
				return doc.ChildElements()[0]
			}
		case isNameStart(c):
			if len(stack) == 1 && len(doc.Child) > 0 {
				return nil // a second root element
			}
			if len(stack) > maxDepth {
				return nil
			}
			p.pos++
			name, ok := p.name()
			if !ok {
				return nil
			}
			el := top.CreateElement(name)
			closed, ok := p.attributes(el)
			if !ok {
				return nil
			}
			if !closed {
				stack = append(stack, el)
			} else if len(stack) == 1 {
				p.skipSpace()
				if p.pos != len(p.src) {
					return nil
				}
				return el
			}
		default:
			return nil // comment, CDATA, PI, DOCTYPE or a stray '<'
		}
	}
	return nil // ran out before the root was closed
}

type commonParser struct {
	src string
	pos int
}

func (p *commonParser) consume(c byte) bool {
	if p.pos < len(p.src) && p.src[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *commonParser) skipSpace() int {
	start := p.pos
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n':
			p.pos++
		default:
			return p.pos - start
		}
	}
	return p.pos - start
}

// name reads an ASCII XML name with at most one colon, not at either end:
// the names encoding/xml and etree split the same way.
func (p *commonParser) name() (string, bool) {
	start := p.pos
	if p.pos >= len(p.src) || !isNameStart(p.src[p.pos]) {
		return "", false
	}
	colons := 0
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ':' {
			colons++
		} else if !isNameStart(c) && !('0' <= c && c <= '9') && c != '-' && c != '.' {
			break
		}
		p.pos++
	}
	name := p.src[start:p.pos]
	if colons > 1 || (colons == 1 && (name[0] == ':' || name[len(name)-1] == ':')) {
		return "", false
	}
	return name, true
}

// attributes reads el's attributes up to and including '>' or "/>"; closed
// reports the latter.
func (p *commonParser) attributes(el *etree.Element) (closed, ok bool) {
	for {
		spaced := p.skipSpace() > 0
		if p.pos >= len(p.src) {
			return false, false
		}
		switch p.src[p.pos] {
		case '>':
			p.pos++
			return false, true
		case '/':
			p.pos++
			return true, p.consume('>')
		}
		if !spaced {
			return false, false
		}
		name, ok := p.name()
		if !ok {
			return false, false
		}
		p.skipSpace()
		if !p.consume('=') {
			return false, false
		}
		p.skipSpace()
		value, ok := p.quoted()
		if !ok {
			return false, false
		}
		for _, a := range el.Attr {
			if a.FullKey() == name {
				return false, false // etree merges duplicates; leave that to it
			}
		}
		el.CreateAttr(name, value)
	}
}

// quoted reads a quoted attribute value and decodes its entities.
func (p *commonParser) quoted() (string, bool) {
	if p.pos >= len(p.src) || (p.src[p.pos] != '"' && p.src[p.pos] != '\'') {
		return "", false
	}
	quote := p.src[p.pos]
	p.pos++
	end := strings.IndexByte(p.src[p.pos:], quote)
	if end < 0 {
		return "", false
	}
	raw := p.src[p.pos : p.pos+end]
	p.pos += end + 1
	if strings.IndexByte(raw, '<') >= 0 {
		return "", false
	}
	return decodeText(raw)
}

// text reads character data up to the next '<' and decodes its entities.
func (p *commonParser) text() (string, bool) {
	end := strings.IndexByte(p.src[p.pos:], '<')
	if end < 0 {
		end = len(p.src) - p.pos
	}
	raw := p.src[p.pos : p.pos+end]
	p.pos += end
	if strings.Contains(raw, "]]>") {
		return "", false
	}
	return decodeText(raw)
}

// decodeText replaces the five predefined entities and checks that every
// character is one XML allows; anything else is left to etree.
func decodeText(raw string) (string, bool) {
	amp := -1
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '&':
			if amp < 0 {
				amp = i
			}
		case c == '\r':
			return "", false
		case c < 0x20 && c != '\t' && c != '\n':
			return "", false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(raw[i:])
			if r == utf8.RuneError || r == 0xFFFE || r == 0xFFFF {
				return "", false
			}
			i += size - 1
		}
	}
	if amp < 0 {
		return raw, true
	}
	var b strings.Builder
	b.Grow(len(raw))
	b.WriteString(raw[:amp])
	for i := amp; i < len(raw); {
		if raw[i] != '&' {
			j := strings.IndexByte(raw[i:], '&')
			if j < 0 {
				j = len(raw) - i
			}
			b.WriteString(raw[i : i+j])
			i += j
			continue
		}
		semi := strings.IndexByte(raw[i:], ';')
		if semi < 0 {
			return "", false
		}
		switch raw[i+1 : i+semi] {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "apos":
			b.WriteByte('\'')
		case "quot":
			b.WriteByte('"')
		default:
			return "", false // a character reference or an unknown entity
		}
		i += semi + 1
	}
	return b.String(), true
}

// declaration reads an XML declaration that encoding/xml accepts: version
// 1.0 and, if an encoding is named, UTF-8.
func (p *commonParser) declaration() bool {
	end := strings.Index(p.src[p.pos:], "?>")
	if end < 0 {
		return false
	}
	decl := commonParser{src: p.src[p.pos+len("<?xml") : p.pos+end]}
	p.pos += end + 2
	if decl.src != "" && decl.skipSpace() == 0 {
		return false // "<?xml-stylesheet" and the like
	}
	version := false
	for decl.pos < len(decl.src) {
		name, ok := decl.name()
		if !ok {
			return false
		}
		decl.skipSpace()
		if !decl.consume('=') {
			return false
		}
		decl.skipSpace()
		value, ok := decl.quoted()
		if !ok {
			return false
		}
		switch {
		case name == "version" && value == "1.0":
			version = true
		case name == "encoding" && strings.EqualFold(value, "utf-8"):
		case name == "standalone" && (value == "yes" || value == "no"):
		default:
			return false
		}
		if decl.skipSpace() == 0 && decl.pos < len(decl.src) {
			return false
		}
	}
	return version
}

func isNameStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func isSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '\t' && c != '\n' {
			return false
		}
	}
	return true
}

func qualifiedName(el *etree.Element) string {
	if el.Space == "" {
		return el.Tag
	}
	return el.Space + ":" + el.Tag
}
