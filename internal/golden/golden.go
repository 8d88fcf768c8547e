// Package golden runs golden-file tests of partnerd's HTTP faces: a case
// file (NAME.txt) seeds a store and sends requests to a server under a
// manual clock; the responses, written in one stable form, must equal
// NAME.golden byte for byte, but for GUIDs (and any other IDs a face names),
// which are numbered in order of appearance. `go test -update` rewrites the
// .golden files instead.
//
// Two kinds of exchange share one case format (see
// testdata/golden/README.md): the default, which records a response's
// status, Content-Type and body as written (SOAP), and "kind=json", which
// also records response headers the request line names and indents a JSON
// body, for REST faces.
//
// The harness knows nothing of a face: the test supplies the server
// (Harness.Start) and any check of the responses (Harness.Check). It is
// test support; only _test files import it.
package golden

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// update is -update: rewrite the .golden files from what the server answers
// now. Registered here, so every test binary that runs golden cases takes
// it (and none may define its own).
var update = flag.Bool("update", false, "rewrite golden files")

// Kind is how an exchange's response is recorded.
type Kind string

// Exchange kinds.
const (
	// KindRaw records the status, the Content-Type and the body as the
	// server wrote it: the SOAP face's kind, and the default.
	KindRaw Kind = "raw"
	// KindJSON records the status, the Content-Type, the response
	// headers the request names (Exchange.Record) and the body, indented
	// when it is JSON. A REST face's kind.
	KindJSON Kind = "json"
)

// Exchange is one request of a case, and how to record its response.
type Exchange struct {
	Method, Path string
	// Advance moves the manual clock forward before the request.
	Advance time.Duration
	Kind    Kind
	Header  http.Header
	Body    string
	// Record names the response headers KindJSON records, in this order.
	Record []string
}

// Case is one golden case file: set-up lines, then exchanges.
type Case struct {
	// Setup holds the lines before the first request, trimmed, without
	// blank lines and comments (#). The test applies them (see Fixture).
	Setup     []string
	Exchanges []Exchange
}

// Parse reads a case file.
func Parse(path string) (Case, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Case{}, err
	}
	return ParseCase(string(raw))
}

// ParseCase reads a case from its text.
func ParseCase(raw string) (Case, error) {
	var c Case
	// The newline lets a case without set-up start with its first request.
	parts := strings.Split("\n"+raw, "\n=== ")
	for _, line := range strings.Split(parts[0], "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			c.Setup = append(c.Setup, line)
		}
	}
	for _, p := range parts[1:] {
		head, rest, _ := strings.Cut(p, "\n")
		f := strings.Fields(head)
		if len(f) < 2 {
			return Case{}, fmt.Errorf("bad request line %q: want === METHOD PATH [option=value …]", head)
		}
		x := Exchange{Method: f[0], Path: f[1], Kind: KindRaw, Header: http.Header{}}
		for _, opt := range f[2:] {
			k, v, _ := strings.Cut(opt, "=")
			switch k {
			case "advance":
				d, err := time.ParseDuration(v)
				if err != nil {
					return Case{}, fmt.Errorf("request line %q: %w", head, err)
				}
				x.Advance = d
			case "kind":
				switch Kind(v) {
				case KindRaw, KindJSON:
					x.Kind = Kind(v)
				default:
					return Case{}, fmt.Errorf("request line %q: kind %q: want raw or json", head, v)
				}
			case "headers":
				for _, h := range strings.Split(v, ",") {
					x.Record = append(x.Record, http.CanonicalHeaderKey(h))
				}
			default:
				return Case{}, fmt.Errorf("request line %q: unknown option %q", head, opt)
			}
		}
		if len(x.Record) > 0 && x.Kind != KindJSON {
			return Case{}, fmt.Errorf("request line %q: headers= needs kind=json", head)
		}
		hdrs, body, _ := strings.Cut(rest, "\n\n")
		for _, h := range strings.Split(hdrs, "\n") {
			if k, v, ok := strings.Cut(h, ":"); ok {
				x.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		x.Body = strings.TrimRight(body, "\n")
		c.Exchanges = append(c.Exchanges, x)
	}
	return c, nil
}

// Numbering replaces every match of Pattern in the recorded responses by
// Format(n), n counting distinct matches (compared case-insensitively)
// from 1 in order of appearance within a case. When Pattern has a
// parenthesised group, only the group's text is the ID (and replaced): the
// rest of the match is context that keeps the pattern from numbering text
// that merely looks like an ID, e.g. the quotes around a JSON string.
type Numbering struct {
	Pattern *regexp.Regexp
	Format  func(n int) string
	// Skip, when set, leaves a match it reports true for as it is: a
	// word of the protocol that has an ID's shape.
	Skip func(id string) bool
}

// GUIDs numbers GUIDs as 00000000-0000-0000-0000-00000000000N.
var GUIDs = Numbering{
	Pattern: regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`),
	Format:  func(n int) string { return fmt.Sprintf("00000000-0000-0000-0000-%012d", n) },
}

// Normalizer applies Numberings, keeping the numbers a case has given.
type Normalizer struct {
	numberings []Numbering
	seen       []map[string]string
}

// NewNormalizer numbers GUIDs and then each of extra, in that order.
func NewNormalizer(extra ...Numbering) *Normalizer {
	n := &Normalizer{numberings: append([]Numbering{GUIDs}, extra...)}
	n.seen = make([]map[string]string, len(n.numberings))
	for i := range n.seen {
		n.seen[i] = map[string]string{}
	}
	return n
}

// Normalize replaces the IDs in s by their numbers.
func (n *Normalizer) Normalize(s string) string {
	for i, nb := range n.numberings {
		seen := n.seen[i]
		number := func(id string) string {
			if nb.Skip != nil && nb.Skip(id) {
				return id
			}
			id = strings.ToLower(id)
			if _, ok := seen[id]; !ok {
				seen[id] = nb.Format(len(seen) + 1)
			}
			return seen[id]
		}
		if nb.Pattern.NumSubexp() == 0 {
			s = nb.Pattern.ReplaceAllStringFunc(s, number)
			continue
		}
		var b strings.Builder
		last := 0
		for _, m := range nb.Pattern.FindAllStringSubmatchIndex(s, -1) {
			if m[2] < 0 {
				continue
			}
			b.WriteString(s[last:m[2]])
			b.WriteString(number(s[m[2]:m[3]]))
			last = m[3]
		}
		b.WriteString(s[last:])
		s = b.String()
	}
	return s
}

// Harness runs golden cases against the server a test builds.
type Harness struct {
	// Start builds the server a case runs against, after the case's
	// set-up lines were applied to f.
	Start func(t *testing.T, f *Fixture) http.Handler
	// Check, when set, looks at each response before it is recorded
	// (schema validation, say); n counts from 1.
	Check func(t *testing.T, n int, rec *httptest.ResponseRecorder)
	// Numberings are IDs to number beyond GUIDs (a face's own IDs).
	Numberings []Numbering
	// Fixture, when set, opens the fixture a case starts from; by
	// default NewFixture.
	Fixture func(t *testing.T) *Fixture
}

// RunDir runs every NAME.txt in dir as a parallel subtest NAME.
func (h Harness) RunDir(t *testing.T, dir string) {
	t.Helper()
	cases, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases in %s (%v)", dir, err)
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".txt")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h.Run(t, path)
		})
	}
}

var (
	nowRE       = regexp.MustCompile(`\{\{NOW([+-][0-9a-z.]+)?\}\}`)
	unixRE      = regexp.MustCompile(`\{\{UNIX([+-][0-9a-z.]+)?\}\}`)
	digestRE    = regexp.MustCompile(`\{\{DIGEST:([^}]*)\}\}`)
	nonceRE     = regexp.MustCompile(`<(?:\w+:)?Nonce[^>]*>([^<]*)<`)
	createdRE   = regexp.MustCompile(`<(?:\w+:)?UsernameToken[\s\S]*?<(?:\w+:)?Created[^>]*>([^<]*)<`)
	requestIDRE = regexp.MustCompile(`<RequestID>([^<]*)</RequestID>`)
	jsonRE      = regexp.MustCompile(`\{\{JSON:([A-Za-z0-9_]+)\}\}`)
	padRE       = regexp.MustCompile(`\{\{PAD:([0-9]+)\}\}`)
)

// Run runs the case in path (NAME.txt) and compares its record with
// NAME.golden, or writes it there under -update.
func (h Harness) Run(t *testing.T, path string) {
	t.Helper()
	c, err := Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	newFixture := h.Fixture
	if newFixture == nil {
		newFixture = NewFixture
	}
	f := newFixture(t)
	for _, line := range c.Setup {
		f.Apply(line)
	}
	srv := h.Start(t, f)
	norm := NewNormalizer(h.Numberings...)

	var out bytes.Buffer
	st := &state{json: map[string]string{}}
	for i, x := range c.Exchanges {
		if x.Advance != 0 {
			f.Clock.Advance(x.Advance)
		}
		body, err := st.expand(x.Body, f.Clock.Now())
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		// Paths and header values take the placeholders that name an
		// earlier answer's IDs ({{JSON:…}}): a batch made by one
		// request is addressed by the next.
		path, err := st.expand(x.Path, f.Clock.Now())
		if err != nil {
			t.Fatalf("request %d: path: %v", i+1, err)
		}
		req := httptest.NewRequest(x.Method, "http://partnerd.test"+path, strings.NewReader(body))
		req.Header = http.Header{}
		for k, vs := range x.Header {
			for _, v := range vs {
				v, err := st.expand(v, f.Clock.Now())
				if err != nil {
					t.Fatalf("request %d: header %s: %v", i+1, k, err)
				}
				req.Header.Add(k, v)
			}
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		st.remember(rec.Body.Bytes())
		if h.Check != nil {
			h.Check(t, i+1, rec)
		}
		fmt.Fprintf(&out, "=== response %d\n%s", i+1, norm.Normalize(record(x, rec)))
	}

	golden := strings.TrimSuffix(path, ".txt") + ".golden"
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("responses differ from %s (the test's -update rewrites it):\n%s", golden, LineDiff(string(want), out.String()))
	}
}

// record is how x's response is written into the .golden file, before
// normalisation.
func record(x Exchange, rec *httptest.ResponseRecorder) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d\nContent-Type: %s\n", rec.Code, rec.Header().Get("Content-Type"))
	body := rec.Body.String()
	if x.Kind == KindJSON {
		for _, name := range x.Record {
			for _, v := range rec.Header().Values(name) {
				fmt.Fprintf(&b, "%s: %s\n", name, v)
			}
		}
		body = indentJSON(rec.Body.Bytes())
	}
	fmt.Fprintf(&b, "\n%s\n", body)
	return b.String()
}

// indentJSON is a JSON body indented by two spaces, members in the order
// the server wrote them (that order is part of what is pinned); a body
// that is not JSON is kept as it is.
func indentJSON(body []byte) string {
	var b bytes.Buffer
	if len(bytes.TrimSpace(body)) == 0 || json.Indent(&b, bytes.TrimSpace(body), "", "  ") != nil {
		return string(body)
	}
	return b.String()
}

// state is what a case's later requests may quote of the earlier answers.
type state struct {
	// requestID is the <RequestID> of the latest SOAP answer holding one.
	requestID string
	// json holds, by member name, the latest string (or number) value
	// of each top-level member of a JSON answer — or of the objects of a
	// top-level array, or of a "result" array — as the server wrote it.
	json map[string]string
}

// remember notes what later requests may quote of an answer.
func (st *state) remember(body []byte) {
	if m := requestIDRE.FindSubmatch(body); m != nil {
		st.requestID = string(m[1])
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return
	}
	var objects []any
	switch v := v.(type) {
	case map[string]any:
		objects = append(objects, v)
		if r, ok := v["result"].([]any); ok {
			objects = append(objects, r...)
		}
	case []any:
		objects = v
	}
	for _, o := range objects {
		m, _ := o.(map[string]any)
		for k, val := range m {
			switch val := val.(type) {
			case string:
				st.json[k] = val
			case float64:
				st.json[k] = strconv.FormatFloat(val, 'f', -1, 64)
			}
		}
	}
}

// expand fills a request's placeholders: {{NOW}} and {{NOW±D}} (RFC 3339),
// {{UNIX}} and {{UNIX±D}} (Unix seconds, as JSON faces take times),
// {{REQUEST_ID}} (the RequestID of the previous SOAP response),
// {{JSON:name}} (member name of the latest JSON answer that had one, see
// state), {{PAD:N}} (N bytes of "x", for size limits) and
// {{DIGEST:password}} (the WS-Security PasswordDigest of the body's Nonce
// and Created).
func (st *state) expand(body string, now time.Time) (string, error) {
	var err error
	body = jsonRE.ReplaceAllStringFunc(body, func(m string) string {
		name := jsonRE.FindStringSubmatch(m)[1]
		v, ok := st.json[name]
		if !ok && err == nil {
			err = fmt.Errorf("%s: no earlier JSON answer has a member %q", m, name)
		}
		return v
	})
	body = padRE.ReplaceAllStringFunc(body, func(m string) string {
		n, _ := strconv.Atoi(padRE.FindStringSubmatch(m)[1])
		return strings.Repeat("x", n)
	})
	lastRequestID := st.requestID
	offset := func(re *regexp.Regexp, m string) time.Time {
		sub := re.FindStringSubmatch(m)
		if sub[1] == "" {
			return now
		}
		d, e := time.ParseDuration(sub[1])
		if e != nil && err == nil {
			err = fmt.Errorf("bad %s: %w", m, e)
		}
		return now.Add(d)
	}
	body = nowRE.ReplaceAllStringFunc(body, func(m string) string { return offset(nowRE, m).Format(time.RFC3339) })
	body = unixRE.ReplaceAllStringFunc(body, func(m string) string { return strconv.FormatInt(offset(unixRE, m).Unix(), 10) })
	body = strings.ReplaceAll(body, "{{REQUEST_ID}}", lastRequestID)
	body = digestRE.ReplaceAllStringFunc(body, func(m string) string {
		pw := digestRE.FindStringSubmatch(m)[1]
		nonce, created := nonceRE.FindStringSubmatch(body), createdRE.FindStringSubmatch(body)
		if nonce == nil || created == nil {
			if err == nil {
				err = fmt.Errorf("{{DIGEST}} needs a Nonce and a Created in the request")
			}
			return m
		}
		n, e := base64.StdEncoding.DecodeString(nonce[1])
		if e != nil && err == nil {
			err = fmt.Errorf("{{DIGEST}}: Nonce: %w", e)
		}
		h := sha1.New()
		h.Write(n)
		io.WriteString(h, created[1])
		io.WriteString(h, pw)
		return base64.StdEncoding.EncodeToString(h.Sum(nil))
	})
	return body, err
}

// LineDiff shows the first differing line, with XML split at tags so that a
// one-line envelope still points at the element that changed.
func LineDiff(want, got string) string {
	split := func(s string) []string {
		var lines []string
		sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(s, "><", ">\n<")))
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		return lines
	}
	w, g := split(want), split(got)
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, wl, gl)
		}
	}
	return "(same lines, different bytes)"
}
