package soap

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReadBody(t *testing.T) {
	xml := []byte(perform("<Action>x</Action>"))
	random := make([]byte, 1<<20)
	rand.Read(random)
	random[0] = 0x80 // neither '<', white space, a BOM nor NUL
	tests := []struct {
		name     string
		body     []byte
		declared int64 // -1: unknown (chunked)
		limit    int64
		sniff    bool
		want     string // "" ok, else an error substring
		maxRead  int    // bytes read at most (0: all)
	}{
		{name: "declared", body: xml, declared: int64(len(xml)), limit: 4096, sniff: true},
		{name: "chunked", body: xml, declared: -1, limit: 4096, sniff: true},
		{name: "chunked and large", body: append(bytes.Repeat([]byte(" "), 100_000), xml...), declared: -1, limit: 1 << 20, sniff: true},
		{name: "BOM and white space", body: append([]byte("\xEF\xBB\xBF \r\n\t"), xml...), declared: -1, limit: 4096, sniff: true},
		{name: "UTF-16 BOM", body: []byte("\xFF\xFE<\x00"), declared: 4, limit: 4096, sniff: true},
		{name: "UTF-16 without BOM", body: []byte("<\x00?\x00"), declared: 4, limit: 4096, sniff: true},
		{name: "empty", body: nil, declared: 0, limit: 4096, sniff: true},
		{name: "only white space", body: []byte("   "), declared: -1, limit: 4096, sniff: true},
		{name: "random bytes", body: random, declared: int64(len(random)), limit: 4 << 20, sniff: true, want: "not valid UTF-8", maxRead: sniffLen},
		{name: "random bytes chunked", body: random, declared: -1, limit: 4 << 20, sniff: true, want: "not valid UTF-8", maxRead: sniffLen},
		{name: "JSON", body: []byte(`{"a":"` + strings.Repeat("b", 100_000) + `"}`), declared: -1, limit: 1 << 20, sniff: true, want: "not an XML document", maxRead: sniffLen},
		{name: "gzip is not sniffed", body: []byte("\x1f\x8b\x08\x00"), declared: 4, limit: 4096, sniff: false},
		{name: "a split UTF-8 rune at the sniff boundary", body: []byte("x" + strings.Repeat("é", 600)), declared: -1, limit: 4096, sniff: true, want: "not an XML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, half := range []bool{false, true} {
				var r io.Reader = bytes.NewReader(tt.body)
				if half {
					r = iotest.HalfReader(r) // short reads
				}
				c := &countingReader{r: r}
				got, err := readBody(http.MaxBytesReader(nil, io.NopCloser(c), tt.limit), tt.declared, tt.limit, tt.sniff)
				if tt.want == "" {
					if err != nil || !bytes.Equal(got, tt.body) {
						t.Fatalf("half %v: %d bytes, %v", half, len(got), err)
					}
					continue
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, errParse) {
					t.Fatalf("half %v: err %v, want %q", half, err, tt.want)
				}
				if tt.maxRead > 0 && c.n > tt.maxRead {
					t.Errorf("half %v: read %d bytes before refusing, want at most %d", half, c.n, tt.maxRead)
				}
			}
		})
	}
	// Over the limit: the reader's error.
	big := bytes.Repeat([]byte("<"), 5000)
	if _, err := readBody(http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(big)), 4096), -1, 4096, true); err == nil {
		t.Error("a body over the limit was read")
	}
}

// TestReadBodyAllocatesOnce is issue 10 defect 4a: io.ReadAll grew its
// buffer by doubling, allocating about twice a 4 MiB body along the way.
// A declared length is read into one buffer of that size.
func TestReadBodyAllocatesOnce(t *testing.T) {
	body := []byte(perform(strings.Repeat("A", 4<<20-1000)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := readBody(http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(body)), 4<<20), int64(len(body)), 4<<20, true)
	runtime.ReadMemStats(&after)
	if err != nil || len(got) != len(body) {
		t.Fatal(len(got), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(body))+64<<10 {
		t.Errorf("reading a %d-byte body allocated %d bytes", len(body), alloc)
	}
}

// TestHandlerRefusesNonXMLEarly is issue 10 defect 4c: a body whose first
// bytes cannot begin an XML document is answered without being held (it
// was read whole, logged whole and parsed).
func TestHandlerRefusesNonXMLEarly(t *testing.T) {
	h, log := newTestHandler(fakeAuth{})
	h.MaxBodyBytes = 4 << 20
	random := make([]byte, 4<<20)
	rand.Read(random)
	random[0] = 'x'
	req := httptest.NewRequest("POST", "/Service.asmx", bytes.NewReader(random))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "<faultcode>soap:Client</faultcode>") {
		t.Fatalf("HTTP %d %s", rec.Code, rec.Body.String())
	}
	if len(log.xs) != 1 || len(log.xs[0].Request) > sniffLen {
		t.Fatalf("the exchange holds %d bytes of the body", len(log.xs[0].Request))
	}
	// A declared length over the limit is refused before any read.
	c := &countingReader{r: bytes.NewReader(random)}
	req = httptest.NewRequest("POST", "/Service.asmx", c)
	req.ContentLength = int64(len(random)) + 1
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	rec = httptest.NewRecorder()
	h.MaxBodyBytes = 1 << 20
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || c.n != 0 {
		t.Errorf("declared over the limit: HTTP %d after reading %d bytes", rec.Code, c.n)
	}
}

// TestHandlerAnswersReadFaults: a limit that refuses a body while it is
// read (the bytes in flight) answers with its own fault.
func TestHandlerAnswersReadFaults(t *testing.T) {
	h, _ := newTestHandler(fakeAuth{})
	busy := &Fault{Kind: Server, String: "busy", APICode: CodeRateLimited, HTTPStatus: http.StatusServiceUnavailable}
	req := httptest.NewRequest("POST", "/Service.asmx", io.MultiReader(strings.NewReader("<a"), iotest.ErrReader(busy)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "<Code>17</Code>") {
		t.Errorf("HTTP %d %s", rec.Code, rec.Body.String())
	}
}
