package console

import (
	"html"
	"html/template"
	"strings"
)

// Syntax highlighting of the exchange inspector's bodies, done here on the
// server so that the page needs no script (and the CSP stays strict).
//
// A lexer cuts the (already pretty-printed) text into runs, each of one
// class; every run is HTML-escaped on its own and wrapped in
// <span class="hl-CLASS">, so the markup added is only those spans and the
// text content of the result is the input, byte for byte, whatever the
// input: a body is shown as text even when it holds markup. The lexers
// never fail: what they do not recognise is plain text.

// The classes of the runs (console.css colours them).
const (
	hlPlain = ""
	hlTag   = "tag"  // an XML element name
	hlAttr  = "attr" // an XML attribute name
	hlVal   = "val"  // an XML attribute value, quotes included
	hlCom   = "com"  // an XML comment, processing instruction, DOCTYPE or CDATA
	hlEnt   = "ent"  // an XML character or entity reference
	hlKey   = "key"  // a JSON object key, quotes included
	hlStr   = "str"  // a JSON string value, quotes included
	hlNum   = "num"  // a JSON number
	hlLit   = "lit"  // JSON's true, false and null
	hlPunct = "p"    // brackets, braces, =, :, commas, < > </ />
)

// highlighter collects runs, merging neighbours of one class.
type highlighter struct {
	b     strings.Builder
	class string
	run   strings.Builder
}

func (h *highlighter) add(class, text string) {
	if text == "" {
		return
	}
	if class != h.class {
		h.flush()
		h.class = class
	}
	h.run.WriteString(text)
}

func (h *highlighter) flush() {
	if h.run.Len() == 0 {
		return
	}
	// html.EscapeString escapes exactly < > & ' " and leaves every other
	// byte as it is, so the text unescapes back to the input.
	text := html.EscapeString(h.run.String())
	if h.class == hlPlain {
		h.b.WriteString(text)
	} else {
		h.b.WriteString(`<span class="hl-` + h.class + `">` + text + `</span>`)
	}
	h.run.Reset()
}

func (h *highlighter) html() template.HTML {
	h.flush()
	return template.HTML(h.b.String()) // every run was escaped by flush
}

// highlight marks up body (as pretty returns it) by its kind: JSON when it
// opens with { or [, XML when it opens with <, else plain escaped text.
func highlight(body string) template.HTML {
	var h highlighter
	t := strings.TrimSpace(body)
	switch {
	case isJSON(t):
		lexJSON(&h, body)
	case strings.HasPrefix(t, "<"):
		lexXML(&h, body)
	default:
		h.add(hlPlain, body)
	}
	return h.html()
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// upto is the index just past the first sep in s at or after i, or len(s)
// when there is none (a body cut short ends inside a token).
func upto(s string, i int, sep string) int {
	if j := strings.Index(s[i:], sep); j >= 0 {
		return i + j + len(sep)
	}
	return len(s)
}

// lexXML marks up XML. It reads markup as XML's grammar lays it out but
// checks nothing: a body cut short or not well formed is marked up as far
// as it reads, the rest as text.
func lexXML(h *highlighter, s string) {
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '&':
			j := i + 1
			for j < len(s) && j-i <= 32 && s[j] != ';' && s[j] != '&' && s[j] != '<' && !isSpace(s[j]) {
				j++
			}
			if j < len(s) && s[j] == ';' {
				h.add(hlEnt, s[i:j+1])
				i = j + 1
			} else {
				h.add(hlPlain, s[i:j])
				i = j
			}
		case c != '<':
			j := i + 1
			for j < len(s) && s[j] != '<' && s[j] != '&' {
				j++
			}
			h.add(hlPlain, s[i:j])
			i = j
		default:
			if j, ok := markupDecl(s, i); ok {
				h.add(hlCom, s[i:j])
				i = j
			} else {
				i = lexTag(h, s, i)
			}
		}
	}
}

// markupDecls are what starts with '<' but is no tag: a comment, CDATA, a
// processing instruction, a declaration (the longer opening first), each
// with what ends it.
var markupDecls = []struct{ open, close string }{{"<!--", "-->"}, {"<![CDATA[", "]]>"}, {"<?", "?>"}, {"<!", ">"}}

// markupDecl answers the index after the markup declaration at s[i], if
// one starts there.
func markupDecl(s string, i int) (int, bool) {
	for _, d := range markupDecls {
		if strings.HasPrefix(s[i:], d.open) {
			return upto(s, i+len(d.open), d.close), true
		}
	}
	return 0, false
}

// lexTag marks up the start or end tag at s[i] ('<') and answers the
// index after it.
func lexTag(h *highlighter, s string, i int) int {
	open := "<"
	if strings.HasPrefix(s[i:], "</") {
		open = "</"
	}
	h.add(hlPunct, open)
	i += len(open)
	name := func(j int) int {
		for j < len(s) && !isSpace(s[j]) && !strings.ContainsRune("<>/=\"'", rune(s[j])) {
			j++
		}
		return j
	}
	j := name(i)
	h.add(hlTag, s[i:j])
	i = j
	for i < len(s) {
		c := s[i]
		switch {
		case c == '>':
			h.add(hlPunct, ">")
			return i + 1
		case c == '/' && strings.HasPrefix(s[i:], "/>"):
			h.add(hlPunct, "/>")
			return i + 2
		case c == '<':
			return i // not a tag after all: the next token starts here
		case isSpace(c):
			j := i + 1
			for j < len(s) && isSpace(s[j]) {
				j++
			}
			h.add(hlPlain, s[i:j])
			i = j
		case c == '=':
			h.add(hlPunct, "=")
			i++
		case c == '"' || c == '\'':
			j := upto(s, i+1, string(c))
			h.add(hlVal, s[i:j])
			i = j
		default:
			j := name(i)
			if j == i { // a lone '/' or the like
				j++
			}
			h.add(hlAttr, s[i:j])
			i = j
		}
	}
	return i
}

// lexJSON marks up JSON: keys apart from string values, numbers, literals,
// punctuation; anything else (a body cut short, bad JSON) as plain text.
func lexJSON(h *highlighter, s string) {
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case isSpace(c):
			j := i + 1
			for j < len(s) && isSpace(s[j]) {
				j++
			}
			h.add(hlPlain, s[i:j])
			i = j
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			k := j
			for k < len(s) && isSpace(s[k]) {
				k++
			}
			if k < len(s) && s[k] == ':' {
				h.add(hlKey, s[i:j])
			} else {
				h.add(hlStr, s[i:j])
			}
			i = j
		case strings.IndexByte("{}[],:", c) >= 0:
			h.add(hlPunct, s[i:i+1])
			i++
		case c == '-' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(s) && strings.IndexByte("0123456789.eE+-", s[j]) >= 0 {
				j++
			}
			h.add(hlNum, s[i:j])
			i = j
		default:
			j := i + 1
			for j < len(s) && !isSpace(s[j]) && strings.IndexByte("{}[],:\"", s[j]) < 0 {
				j++
			}
			switch w := s[i:j]; w {
			case "true", "false", "null":
				h.add(hlLit, w)
			default:
				h.add(hlPlain, w)
			}
			i = j
		}
	}
}
