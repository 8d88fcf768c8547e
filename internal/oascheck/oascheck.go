// Package oascheck validates JSON responses against the response schemas of
// OpenAPI 3.1 documents, for tests: partnerd's own document of its SendGrid
// face (served at /v3/openapi.json) and the official SendGrid excerpt in
// ../shared/reference/sendgrid-oai-subset.json. OpenAPI 3.1 schemas are JSON
// Schema 2020-12, so the validation itself is a JSON Schema library's; this
// package only finds the schema of an answer (path template, method,
// status, media type) and follows the $refs OpenAPI puts around it.
package oascheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Document is one OpenAPI 3.1 document.
type Document struct {
	name string
	raw  map[string]any

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

// ErrNoSchema: the document declares no response (or no schema) for the
// operation and status asked about.
var ErrNoSchema = errors.New("no response schema declared")

// Parse reads a document. name identifies it in errors and as its base URL.
func Parse(name string, doc []byte) (*Document, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a JSON object", name)
	}
	if ver, _ := raw["openapi"].(string); !strings.HasPrefix(ver, "3.1") {
		return nil, fmt.Errorf("%s: openapi %q, want 3.1.x", name, ver)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	url := "mem:///" + name
	if err := c.AddResource(url, raw); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Document{name: name, raw: raw, compiler: c, schemas: map[string]*jsonschema.Schema{}}, nil
}

// ParseSubset reads the reference excerpt: an object whose "files" member
// maps each source file's name to a whole OpenAPI document. With
// nullableAsTypes, a schema's OpenAPI 3.0 "nullable": true (which
// SendGrid's 3.1 files still use, and a JSON Schema 2020-12 validator
// ignores) is read as its 3.1 spelling, "type": [T, "null"]; without it
// every null the excerpt means to allow (subject, sender_id …) fails.
func ParseSubset(data []byte, nullableAsTypes bool) (map[string]*Document, error) {
	var wrapper struct {
		Files map[string]json.RawMessage `json:"files"`
	}
	if err := json.Unmarshal(data, &wrapper); err != nil {
		return nil, err
	}
	docs := make(map[string]*Document, len(wrapper.Files))
	for name, doc := range wrapper.Files {
		if nullableAsTypes {
			var err error
			if doc, err = rewriteNullable(doc); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		d, err := Parse(name, doc)
		if err != nil {
			return nil, err
		}
		docs[name] = d
	}
	return docs, nil
}

// Template returns the document's path template that path (a concrete
// request path, without query) matches, e.g. /v3/mail/batch/{batch_id} for
// /v3/mail/batch/abc, and false when none does. A literal segment beats a
// parameter where two templates match.
func (d *Document) Template(path string) (string, bool) {
	paths, _ := d.raw["paths"].(map[string]any)
	want := strings.Split(strings.Trim(path, "/"), "/")
	best, bestLiterals := "", -1
	for tmpl := range paths {
		segs := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(segs) != len(want) {
			continue
		}
		literals, ok := 0, true
		for i, s := range segs {
			switch {
			case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			case s == want[i]:
				literals++
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok && (literals > bestLiterals || literals == bestLiterals && tmpl < best) {
			best, bestLiterals = tmpl, literals
		}
	}
	return best, bestLiterals >= 0
}

// Operations lists "METHOD template" for every operation the document
// declares, sorted.
func (d *Document) Operations() []string {
	paths, _ := d.raw["paths"].(map[string]any)
	var ops []string
	for tmpl, item := range paths {
		m, _ := item.(map[string]any)
		for method := range m {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options":
				ops = append(ops, strings.ToUpper(method)+" "+tmpl)
			}
		}
	}
	sort.Strings(ops)
	return ops
}

// Declares reports whether the document declares status for method on the
// path's template (or a "default" or "4XX"-style range).
func (d *Document) Declares(method, path string, status int) bool {
	_, _, err := d.response(method, path, status)
	return err == nil
}

// response finds the response object for the call and its JSON pointer.
func (d *Document) response(method, path string, status int) (map[string]any, string, error) {
	tmpl, ok := d.Template(path)
	if !ok {
		return nil, "", fmt.Errorf("%s: no path matches %s", d.name, path)
	}
	op, ok := lookup(d.raw, "paths", tmpl, strings.ToLower(method)).(map[string]any)
	if !ok {
		return nil, "", fmt.Errorf("%s: %s %s is not declared", d.name, method, tmpl)
	}
	responses, _ := op["responses"].(map[string]any)
	code := strconv.Itoa(status)
	for _, key := range []string{code, code[:1] + "XX", code[:1] + "xx", "default"} {
		r, ok := responses[key].(map[string]any)
		if !ok {
			continue
		}
		ptr := pointer("paths", tmpl, strings.ToLower(method), "responses", key)
		// A response may be a $ref to components/responses (and so on).
		for i := 0; i < 8; i++ {
			ref, ok := r["$ref"].(string)
			if !ok {
				break
			}
			if !strings.HasPrefix(ref, "#/") {
				return nil, "", fmt.Errorf("%s: external $ref %q", d.name, ref)
			}
			target, ok := lookupPointer(d.raw, ref[1:]).(map[string]any)
			if !ok {
				return nil, "", fmt.Errorf("%s: dangling $ref %q", d.name, ref)
			}
			r, ptr = target, ref[1:]
		}
		return r, ptr, nil
	}
	return nil, "", fmt.Errorf("%s: %s %s declares no %d response: %w", d.name, method, tmpl, status, ErrNoSchema)
}

// Validate checks body, the answer to method path with status and the
// given Content-Type, against the document. An answer the document declares
// without content (204) must have an empty body.
func (d *Document) Validate(method, path string, status int, contentType string, body []byte) error {
	r, ptr, err := d.response(method, path, status)
	if err != nil {
		return err
	}
	content, _ := r["content"].(map[string]any)
	if len(content) == 0 {
		if len(bytes.TrimSpace(body)) != 0 {
			return fmt.Errorf("%s: %s %s %d declares no body, got %d bytes", d.name, method, path, status, len(body))
		}
		return nil
	}
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.TrimSpace(mediaType)
	mt, ok := content[mediaType].(map[string]any)
	if !ok {
		return fmt.Errorf("%s: %s %s %d: Content-Type %q not declared", d.name, method, path, status, contentType)
	}
	if _, ok := mt["schema"]; !ok {
		return nil
	}
	schema, err := d.compile(ptr + "/content/" + escape(mediaType) + "/schema")
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s %d: body is not JSON: %w", method, path, status, err)
	}
	if err := schema.Validate(inst); err != nil {
		return fmt.Errorf("%s: %s %s %d: %w", d.name, method, path, status, err)
	}
	return nil
}

func (d *Document) compile(ptr string) (*jsonschema.Schema, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.schemas[ptr]; ok {
		return s, nil
	}
	s, err := d.compiler.Compile("mem:///" + d.name + "#" + ptr)
	if err != nil {
		return nil, fmt.Errorf("%s: schema at %s: %w", d.name, ptr, err)
	}
	d.schemas[ptr] = s
	return s, nil
}

func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func pointer(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(escape(p))
	}
	return b.String()
}

func lookup(v any, parts ...string) any {
	for _, p := range parts {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func lookupPointer(v any, ptr string) any {
	if ptr == "" {
		return v
	}
	var parts []string
	for _, p := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		parts = append(parts, strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~"))
	}
	return lookup(v, parts...)
}

// rewriteNullable turns every {"nullable": true, "type": T} into
// {"type": [T, "null"]}.
func rewriteNullable(doc []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["nullable"] == true {
				if typ, ok := v["type"].(string); ok {
					v["type"] = []any{typ, "null"}
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(v)
	return json.Marshal(v)
}

// ErrNoRoute: the document declares no operation for a request's method
// and path.
var ErrNoRoute = errors.New("no such operation")

// ValidateRequest checks a request (method, path without query,
// Content-Type, body) against the operation the document declares for it:
// the operation exists, a required body is there, its media type is
// declared and it matches the schema. An error wrapping ErrNoRoute means
// the document declares no such operation.
func (d *Document) ValidateRequest(method, path, contentType string, body []byte) error {
	tmpl, ok := d.Template(path)
	if !ok {
		return fmt.Errorf("%w: no path of %s matches %s", ErrNoRoute, d.name, path)
	}
	op, ok := lookup(d.raw, "paths", tmpl, strings.ToLower(method)).(map[string]any)
	if !ok {
		return fmt.Errorf("%w: %s declares no %s %s", ErrNoRoute, d.name, method, tmpl)
	}
	rb, ok := op["requestBody"].(map[string]any)
	if !ok {
		return nil // no body declared: whatever is sent is ignored
	}
	ptr := pointer("paths", tmpl, strings.ToLower(method), "requestBody")
	if len(bytes.TrimSpace(body)) == 0 {
		if required, _ := rb["required"].(bool); required {
			return fmt.Errorf("%s %s: the request needs a body", method, tmpl)
		}
		return nil
	}
	content, _ := rb["content"].(map[string]any)
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.TrimSpace(mediaType)
	if _, ok := content[mediaType].(map[string]any); !ok {
		declared := make([]string, 0, len(content))
		for k := range content {
			declared = append(declared, k)
		}
		sort.Strings(declared)
		return fmt.Errorf("%s %s: Content-Type %q, want %s", method, tmpl, contentType, strings.Join(declared, " or "))
	}
	schema, err := d.compile(ptr + "/content/" + escape(mediaType) + "/schema")
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: body is not JSON: %w", method, tmpl, err)
	}
	if err := schema.Validate(inst); err != nil {
		return fmt.Errorf("%s %s: %w", method, tmpl, err)
	}
	return nil
}
