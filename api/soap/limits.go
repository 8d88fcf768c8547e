package soap

import (
	"bytes"
)

// Shape limits, checked on the raw bytes before any tree is built. The
// largest legitimate request — a Create of a few thousand Sends in a 4 MiB
// body — has some tens of thousands of elements and a handful of attributes
// per object. Without these bounds a 4 MiB body of a million empty elements
// or attributes would cost the tree builder 100-250 MiB, and a few such
// requests in flight would exhaust the process.
const (
	MaxElements   = 100_000
	MaxAttributes = 100_000
)

// checkShape counts the elements and attributes of raw in one linear pass
// that allocates nothing, and refuses a document over MaxElements or
// MaxAttributes. It understands comments, CDATA sections, processing
// instructions and quoted attribute values well enough not to count what
// is inside them; on input that is not well-formed it may count too much,
// which only matters for documents the parser would refuse anyway.
func checkShape(raw []byte) error {
	elements, attrs := 0, 0
	for i := 0; i < len(raw); {
		lt := bytes.IndexByte(raw[i:], '<')
		if lt < 0 {
			break
		}
		i += lt + 1
		rest := raw[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("!--")):
			i = skipPast(raw, i+3, "-->")
			continue
		case bytes.HasPrefix(rest, []byte("![CDATA[")):
			i = skipPast(raw, i+8, "]]>")
			continue
		case len(rest) > 0 && (rest[0] == '?' || rest[0] == '!'):
			i = skipPast(raw, i+1, ">")
			continue
		case len(rest) > 0 && rest[0] == '/':
			i = skipPast(raw, i+1, ">")
			continue
		}
		elements++
		if elements > MaxElements {
			return parseErr("the request has more than %d elements", MaxElements)
		}
		// Inside a start tag: each '=' outside a quoted value is one
		// attribute (namespace declarations included).
		var quote byte
	tag:
		for ; i < len(raw); i++ {
			c := raw[i]
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '=':
				attrs++
				if attrs > MaxAttributes {
					return parseErr("the request has more than %d attributes", MaxAttributes)
				}
			case c == '>':
				i++
				break tag
			case c == '<':
				// A '<' inside a tag is malformed; let the parser say so.
				break tag
			}
		}
	}
	return nil
}

// skipPast returns the index just after the first term at or after from, or
// len(raw) when there is none.
func skipPast(raw []byte, from int, term string) int {
	if from > len(raw) {
		return len(raw)
	}
	j := bytes.Index(raw[from:], []byte(term))
	if j < 0 {
		return len(raw)
	}
	return from + j + len(term)
}
