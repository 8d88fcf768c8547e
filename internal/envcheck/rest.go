package envcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/partnerd/partnerd/internal/oascheck"
)

// REST is a recorded REST request: Body starts at BodyLine:BodyCol of its
// file, where problems inside it are placed.
type REST struct {
	Method, Path, ContentType string
	Body                      []byte
	BodyLine, BodyCol         int
}

// CheckREST checks a REST request against an OpenAPI document: the
// operation exists, and its body is there when required, of a declared
// media type and valid against the schema, each schema problem at the
// position of the value it concerns.
func CheckREST(doc *oascheck.Document, r REST) Result {
	var res Result
	at := Problem{Line: max(r.BodyLine, 1), Col: max(r.BodyCol, 1)}
	path := r.Path
	if u, err := url.Parse(path); err == nil {
		path = u.Path
	}
	err := doc.ValidateRequest(r.Method, path, r.ContentType, r.Body)
	if err == nil {
		res.Summary = "REST " + r.Method + " " + path
		return res
	}
	if errors.Is(err, oascheck.ErrNoRoute) {
		res.Problems = append(res.Problems, Problem{at.Line, at.Col, fmt.Sprintf("unknown operation %s %s: the OpenAPI document declares none (%v)", r.Method, path, err)})
		return res
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		// Not JSON, no body, an undeclared media type: one problem at
		// the body, or where the syntax error is.
		var se *json.SyntaxError
		p := at
		if errors.As(err, &se) {
			// Offset counts the bytes read, the bad one included.
			p.Line, p.Col = offsetIn(r, max(se.Offset-1, 0))
		}
		p.Msg = err.Error()
		res.Problems = append(res.Problems, p)
		return res
	}
	index := pointerIndex(r.Body)
	var leaves func(e *jsonschema.ValidationError)
	leaves = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				leaves(c)
			}
			return
		}
		// A leaf's text ends "at '/pointer': what is wrong".
		text := e.Error()
		m := leafRE.FindStringSubmatch(text)
		if m == nil {
			return
		}
		p := at
		if off, ok := index[m[1]]; ok {
			p.Line, p.Col = offsetIn(r, off)
		}
		loc := m[1]
		if loc == "" {
			loc = "/"
		}
		p.Msg = fmt.Sprintf("schema (OpenAPI): at %s: %s", loc, m[2])
		res.Problems = append(res.Problems, p)
	}
	leaves(ve)
	if len(res.Problems) == 0 {
		res.Problems = append(res.Problems, Problem{at.Line, at.Col, "schema (OpenAPI): " + strings.Join(strings.Fields(err.Error()), " ")})
	}
	return res
}

var leafRE = regexp.MustCompile(`at '([^']*)': ([^\n]*)$`)

// offsetIn is the file position of byte off of the body.
func offsetIn(r REST, off int64) (int, int) {
	line, col := max(r.BodyLine, 1), max(r.BodyCol, 1)
	for i := int64(0); i < off && i < int64(len(r.Body)); i++ {
		if r.Body[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// pointerIndex maps the JSON pointer of every value in body to its offset.
func pointerIndex(body []byte) map[string]int64 {
	index := map[string]int64{}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	// start finds where the value read next begins: past white space and
	// the ':' or ',' before it.
	start := func() int64 {
		off := d.InputOffset()
		for off < int64(len(body)) && strings.IndexByte(" \t\r\n:,", body[off]) >= 0 {
			off++
		}
		return off
	}
	var value func(ptr string) error
	value = func(ptr string) error {
		index[ptr] = start()
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				key = strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
				if err := value(ptr + "/" + key); err != nil {
					return err
				}
			}
			_, err = d.Token()
			return err
		case json.Delim('['):
			for i := 0; d.More(); i++ {
				if err := value(ptr + "/" + strconv.Itoa(i)); err != nil {
					return err
				}
			}
			_, err = d.Token()
			return err
		}
		return nil
	}
	if err := value(""); err != nil && err != io.EOF {
		return index
	}
	return index
}

// MemberOffset is the offset of the value of top-level member name in the
// JSON object raw, or -1: where a recorded request's body starts in its
// file.
func MemberOffset(raw []byte, name string) int64 {
	d := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return -1
	}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return -1
		}
		off := d.InputOffset()
		for off < int64(len(raw)) && strings.IndexByte(" \t\r\n:", raw[off]) >= 0 {
			off++
		}
		if k == name {
			return off
		}
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return -1
		}
	}
	return -1
}
