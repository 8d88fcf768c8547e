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
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/goldencase"
)

// update is -update: rewrite the .golden files from what the server answers
// now. Registered here, so every test binary that runs golden cases takes
// it (and none may define its own).
var update = flag.Bool("update", false, "rewrite golden files")

// The case format lives in package goldencase, which commands may import
// too (partnerd replay); these names keep the harness's callers unchanged.
type (
	Kind       = goldencase.Kind
	Exchange   = goldencase.Exchange
	Case       = goldencase.Case
	Numbering  = goldencase.Numbering
	Normalizer = goldencase.Normalizer
)

// Exchange kinds (goldencase).
const (
	KindRaw  = goldencase.KindRaw
	KindJSON = goldencase.KindJSON
)

// GUIDs numbers GUIDs (goldencase.GUIDs).
var GUIDs = goldencase.GUIDs

// Parse reads a case file (goldencase.Parse).
func Parse(path string) (Case, error) { return goldencase.Parse(path) }

// ParseCase reads a case from its text (goldencase.ParseCase).
func ParseCase(raw string) (Case, error) { return goldencase.ParseCase(raw) }

// NewNormalizer numbers GUIDs and then each of extra (goldencase.NewNormalizer).
func NewNormalizer(extra ...Numbering) *Normalizer { return goldencase.NewNormalizer(extra...) }

// record is how x's response is written into the .golden file, before
// normalisation (goldencase.Record of the recorder's answer).
func record(x Exchange, rec *httptest.ResponseRecorder) string {
	return goldencase.Record(x, rec.Code, rec.Header(), rec.Body.Bytes())
}

// Start is the clock every case starts from (goldencase.Start).
var Start = goldencase.Start

// when parses a set-up line's time (goldencase.When), for Fixture.When.
func when(v string, now time.Time) (time.Time, error) { return goldencase.When(v, now) }

// LineDiff shows the first differing line (goldencase.LineDiff).
func LineDiff(want, got string) string { return goldencase.LineDiff(want, got) }

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
	// Raw, when set, receives each case's record before normalisation
	// (name is the case's NAME), and the .golden file is neither
	// compared nor written: for tests that compare runs with each other
	// byte for byte (deterministic mode).
	Raw func(t *testing.T, name string, raw []byte)
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

	var out, raw bytes.Buffer
	st := goldencase.NewState()
	for i, x := range c.Exchanges {
		if x.Advance != 0 {
			f.Clock.Advance(x.Advance)
		}
		body, err := st.Expand(x.Body, f.Clock.Now())
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		// Paths and header values take the placeholders that name an
		// earlier answer's IDs ({{JSON:…}}): a batch made by one
		// request is addressed by the next.
		path, err := st.Expand(x.Path, f.Clock.Now())
		if err != nil {
			t.Fatalf("request %d: path: %v", i+1, err)
		}
		req := httptest.NewRequest(x.Method, "http://"+goldencase.Host+path, strings.NewReader(body))
		req.Header = http.Header{}
		for k, vs := range x.Header {
			for _, v := range vs {
				v, err := st.Expand(v, f.Clock.Now())
				if err != nil {
					t.Fatalf("request %d: header %s: %v", i+1, k, err)
				}
				req.Header.Add(k, v)
			}
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		st.Remember(rec.Body.Bytes())
		if h.Check != nil {
			h.Check(t, i+1, rec)
		}
		r := record(x, rec)
		fmt.Fprintf(&raw, "=== response %d\n%s", i+1, r)
		fmt.Fprintf(&out, "=== response %d\n%s", i+1, norm.Normalize(r))
	}
	if h.Raw != nil {
		h.Raw(t, strings.TrimSuffix(filepath.Base(path), ".txt"), raw.Bytes())
		return
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
