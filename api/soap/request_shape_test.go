package soap

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"
)

// Regression tests for issue 10 (defects 6 and 10): what the SOAP face
// echoes of its input, mustUnderstand headers, the envelope's shape, body
// encodings, and bodies declared over the limit. They go through
// ServeHTTP only, so that each fails on the code before the fix.

// serveOne posts body to a fresh test handler and returns the recorder,
// the one exchange logged, and how many operations ran.
func serveOne(t *testing.T, body []byte, hdr map[string]string) (*httptest.ResponseRecorder, Exchange, int) {
	t.Helper()
	h, log := newTestHandler(fakeAuth{})
	h.Logger = discardLogger()
	var ran atomic.Int32
	h.Handle("Perform", func(ctx context.Context, r *Request) (*Response, error) {
		ran.Add(1)
		return &Response{Body: []byte(`<PerformResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><OverallStatus>OK</OverallStatus></PerformResponseMsg>`), Status: "OK"}, nil
	})
	req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if len(log.xs) != 1 {
		t.Fatalf("%d exchanges logged, want 1", len(log.xs))
	}
	return rec, log.xs[0], int(ran.Load())
}

const (
	env11Open = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">`
	env12Open = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">`
	performEl = `<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>cancel</Action></PerformRequestMsg>`
)

// TestFaultsDoNotEchoInput: a malformed request used to be answered with
// encoding/xml's error text, which quotes the input — the tail of a
// password holding an unescaped '&' went back in the faultstring, to the
// server log and into the request log's Reason. Neither the response nor
// the Reason may hold any of the marker.
func TestFaultsDoNotEchoInput(t *testing.T) {
	const marker = "S3CRETTAIL"
	header := func(pw string) string {
		return env11Open + `<soap:Header><wsse:Security xmlns:wsse="` + NSWSSE + `"><wsse:UsernameToken><wsse:Username>alice</wsse:Username><wsse:Password>` + pw +
			`</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>` + performEl + `</soap:Body></soap:Envelope>`
	}
	tests := []struct {
		name string
		body string
		want string // in the faultstring
	}{
		{"unescaped & in a password", header("pa&" + marker), "There is an error in XML document (1, "},
		{"unescaped & with a semicolon", header("pa&" + marker + ";x"), "There is an error in XML document (1, "},
		{"< in a password", header("pa<" + marker), "There is an error in XML document (1, "},
		{"control character", header("pa\x01" + marker), "There is an error in XML document (1, "},
		{"unquoted attribute", env11Open + `<soap:Body><PerformRequestMsg a=` + marker + `/></soap:Body></soap:Envelope>`, "There is an error in XML document (1, "},
		{"XML version", `<?xml version="` + marker + `"?>` + env11Open + `<soap:Body>` + performEl + `</soap:Body></soap:Envelope>`, "There is an error in XML document (1, "},
		{"second line", env11Open + "\n<soap:Body>\n<a>&" + marker + "</a></soap:Body></soap:Envelope>", "There is an error in XML document (3, "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, x, ran := serveOne(t, []byte(tc.body), nil)
			if rec.Code != 500 || ran != 0 || !strings.Contains(rec.Body.String(), "<faultcode>soap:Client</faultcode>") {
				t.Fatalf("HTTP %d, %d operations ran: %s", rec.Code, ran, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("faultstring lacks %q: %s", tc.want, rec.Body)
			}
			if strings.Contains(rec.Body.String(), marker) || strings.Contains(x.Reason, marker) {
				t.Errorf("input echoed:\nresponse %s\nreason %q", rec.Body, x.Reason)
			}
			if !strings.Contains(x.Reason, "line") {
				t.Errorf("the log's Reason %q does not say where", x.Reason)
			}
		})
	}
}

// maxEchoTest is how much of a name a fault may repeat.
const maxEchoTest = 64

// TestFaultsBoundEchoedNames: names the faults do repeat (element names,
// the SOAPAction, the Content-Type, an envelope namespace) are cut short
// and free of control characters, however long or strange the input.
func TestFaultsBoundEchoedNames(t *testing.T) {
	long := strings.Repeat("N", 1800) // under the test handler's 2048-byte limit
	tests := []struct {
		name string
		body string
		hdr  map[string]string
	}{
		{"root element", `<` + long + `/>`, nil},
		{"envelope namespace", `<Envelope xmlns="urn:` + long + `"><Body><x/></Body></Envelope>`, nil},
		{"body element", env11Open + `<soap:Body><` + long + `/></soap:Body></soap:Envelope>`, nil},
		{"SOAPAction", env11Open + `<soap:Body>` + performEl + `</soap:Body></soap:Envelope>`, map[string]string{"SOAPAction": "\x1b[31m" + long}},
		{"SOAPAction mismatch", env11Open + `<soap:Body><` + long + `/></soap:Body></soap:Envelope>`, map[string]string{"SOAPAction": "Create"}},
		{"Content-Type", env11Open + `<soap:Body>` + performEl + `</soap:Body></soap:Envelope>`, map[string]string{"Content-Type": "text/" + long}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, x, _ := serveOne(t, []byte(tc.body), tc.hdr)
			if rec.Code == 200 {
				t.Fatalf("accepted: %s", rec.Body)
			}
			if cut := strings.Repeat("N", 2*maxEchoTest); strings.Contains(rec.Body.String(), cut) || strings.Contains(x.Reason, cut) {
				t.Errorf("the name is echoed whole:\n%s\nreason %q", rec.Body, x.Reason)
			}
			if strings.ContainsAny(rec.Body.String()+x.Reason, "\x1b\x00\x01") {
				t.Errorf("control characters echoed: %q", x.Reason)
			}
		})
	}
}

// TestMustUnderstand: an unknown header block marked mustUnderstand used to
// be ignored; SOAP requires a MustUnderstand fault. Headers not so marked,
// or addressed to another role, are still ignored.
func TestMustUnderstand(t *testing.T) {
	env11 := func(hdr string) string {
		return env11Open + `<soap:Header>` + hdr + `</soap:Header><soap:Body>` + performEl + `</soap:Body></soap:Envelope>`
	}
	env12 := func(hdr string) string {
		return env12Open + `<s:Header>` + hdr + `</s:Header><s:Body>` + performEl + `</s:Body></s:Envelope>`
	}
	tests := []struct {
		name     string
		body     string
		ctype    string
		status   int
		contains []string
	}{
		{name: "1.1 mustUnderstand=1", body: env11(`<x:Tx xmlns:x="urn:tx" soap:mustUnderstand="1">1</x:Tx>`), status: 500,
			contains: []string{"<faultcode>soap:MustUnderstand</faultcode>", "<faultstring>SOAP header Tx was not understood.</faultstring>"}},
		{name: "1.1 mustUnderstand=true", body: env11(`<x:Tx xmlns:x="urn:tx" soap:mustUnderstand="true"/>`), status: 500,
			contains: []string{"<faultcode>soap:MustUnderstand</faultcode>"}},
		{name: "1.1 after understood ones", body: env11(`<wsse:Security xmlns:wsse="` + NSWSSE + `" soap:mustUnderstand="1"/><Tx xmlns="http://exacttarget.com" soap:mustUnderstand="1">tok</Tx>`), status: 500,
			contains: []string{"<faultcode>soap:MustUnderstand</faultcode>", "Tx"}},
		{name: "1.2 mustUnderstand=true", ctype: "application/soap+xml", body: env12(`<x:Tx xmlns:x="urn:tx" s:mustUnderstand="true"/>`), status: 500,
			contains: []string{"<soap:Value>soap:MustUnderstand</soap:Value>", `<soap:NotUnderstood qname="q1:Tx" xmlns:q1="urn:tx" />`, "SOAP header Tx was not understood."}},
		{name: "1.2 mustUnderstand=1 to ultimateReceiver", ctype: "application/soap+xml", body: env12(`<x:Tx xmlns:x="urn:tx" s:mustUnderstand="1" s:role="http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"/>`), status: 500,
			contains: []string{"<soap:Value>soap:MustUnderstand</soap:Value>"}},
		// Still ignored:
		{name: "1.1 mustUnderstand=0", body: env11(`<x:Tx xmlns:x="urn:tx" soap:mustUnderstand="0"/>`), status: 200},
		{name: "1.1 no mustUnderstand", body: env11(`<x:Tx xmlns:x="urn:tx"/>`), status: 200},
		{name: "1.1 unqualified mustUnderstand", body: env11(`<x:Tx xmlns:x="urn:tx" mustUnderstand="1"/>`), status: 200},
		{name: "1.1 other actor", body: env11(`<x:Tx xmlns:x="urn:tx" soap:mustUnderstand="1" soap:actor="urn:someone-else"/>`), status: 200},
		{name: "1.1 1.2 attribute in a 1.1 envelope", body: env11(`<x:Tx xmlns:x="urn:tx" xmlns:s="http://www.w3.org/2003/05/soap-envelope" s:mustUnderstand="1"/>`), status: 200},
		{name: "1.2 mustUnderstand=false", ctype: "application/soap+xml", body: env12(`<x:Tx xmlns:x="urn:tx" s:mustUnderstand="false"/>`), status: 200},
		{name: "1.2 role none", ctype: "application/soap+xml", body: env12(`<x:Tx xmlns:x="urn:tx" s:mustUnderstand="true" s:role="http://www.w3.org/2003/05/soap-envelope/role/none"/>`), status: 200},
		{name: "understood: fueloauth", body: env11(`<wsse:Security xmlns:wsse="` + NSWSSE + `" soap:mustUnderstand="1"/><fueloauth xmlns="http://exacttarget.com" soap:mustUnderstand="1">tok</fueloauth>`), status: 200},
		{name: "understood: wsse:Security", body: env11(`<wsse:Security xmlns:wsse="` + NSWSSE + `" soap:mustUnderstand="1"/>`), status: 200},
		{name: "understood: WS-Addressing", ctype: "application/soap+xml", body: env12(`<a:Action xmlns:a="` + NSAddressing5 + `" s:mustUnderstand="1">Perform</a:Action><a:To xmlns:a="` + NSAddressing5 + `" s:mustUnderstand="1">http://partnerd.test/Service.asmx</a:To>`), status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.ctype != "" {
				hdr["Content-Type"] = tc.ctype
			}
			rec, _, ran := serveOne(t, []byte(tc.body), hdr)
			if rec.Code != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.status == 200]; ran != want {
				t.Errorf("%d operations ran, want %d", ran, want)
			}
			for _, c := range tc.contains {
				if !strings.Contains(rec.Body.String(), c) {
					t.Errorf("response lacks %q:\n%s", c, rec.Body)
				}
			}
		})
	}
}

// TestEnvelopeShape: a second Body used to replace the first (the last one
// ran), and content after the root element was accepted.
func TestEnvelopeShape(t *testing.T) {
	other := `<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"/>`
	tests := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"two Bodies", env11Open + `<soap:Body>` + other + `</soap:Body><soap:Body>` + performEl + `</soap:Body></soap:Envelope>`, 500, "more than one Body"},
		{"two Body children", env11Open + `<soap:Body>` + other + performEl + `</soap:Body></soap:Envelope>`, 500, "exactly one element"},
		{"two Headers", env11Open + `<soap:Header/><soap:Header/><soap:Body>` + performEl + `</soap:Body></soap:Envelope>`, 500, "more than one Header"},
		{"Headers before and after Body", env11Open + `<soap:Header/><soap:Body>` + performEl + `</soap:Body><soap:Header/></soap:Envelope>`, 500, "more than one Header"},
		{"element after the root", env11Open + `<soap:Body>` + performEl + `</soap:Body></soap:Envelope>` + env11Open + `<soap:Body>` + other + `</soap:Body></soap:Envelope>`, 500, "content after the root element"},
		{"text after the root", env11Open + `<soap:Body>` + performEl + `</soap:Body></soap:Envelope>garbage`, 500, "content after the root element"},
		{"text before the root", `garbage` + env11Open + `<soap:Body>` + performEl + `</soap:Body></soap:Envelope>`, 500, "soap:Client"},
		// Still accepted:
		// The Node SDKs (fuel-soap, sfmc-sdk) write the Body first (issue 14).
		{"Header after Body", env11Open + `<soap:Body>` + performEl + `</soap:Body><soap:Header/></soap:Envelope>`, 200, "OK"},
		{"comment, PI and white space after the root", env11Open + `<soap:Body>` + performEl + `</soap:Body></soap:Envelope>` + "\r\n<!-- c --><?pi x?>\n", 200, "OK"},
		{"UTF-8 byte order mark", "\xef\xbb\xbf" + env11Open + `<soap:Body>` + performEl + `</soap:Body></soap:Envelope>`, 200, "OK"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, _, ran := serveOne(t, []byte(tc.body), nil)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("HTTP %d, want %d with %q: %s", rec.Code, tc.status, tc.want, rec.Body)
			}
			if tc.status != 200 && (ran != 0 || !strings.Contains(rec.Body.String(), "<faultcode>soap:Client</faultcode>")) {
				t.Errorf("%d operations ran, or not a Client fault: %s", ran, rec.Body)
			}
		})
	}
}

func encodeUTF16(s string, bigEndian, bom bool) []byte {
	var b []byte
	if bom {
		s = "\ufeff" + s
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

func compress(t testing.TB, coding string, b []byte) []byte {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "raw deflate":
		w, _ = flate.NewWriter(&buf, flate.DefaultCompression)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes()
}

// TestBodyEncodings: UTF-16 (which ASMX accepts) and gzip or deflate
// bodies used to get a misleading "not valid UTF-8" fault, and went to the
// request log as bytes the masker cannot read. They are now decoded, and
// the request log gets the UTF-8 XML.
func TestBodyEncodings(t *testing.T) {
	const pw = `<soap:Header><wsse:Security xmlns:wsse="` + NSWSSE + `"><wsse:UsernameToken><wsse:Username>alice</wsse:Username><wsse:Password>pw-é</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header>`
	plain := env11Open + pw + `<soap:Body>` + performEl + `</soap:Body></soap:Envelope>`
	decl := func(enc string) string { return `<?xml version="1.0" encoding="` + enc + `"?>` }
	latin1 := []byte(strings.ReplaceAll(decl("ISO-8859-1")+plain, "é", "\xe9"))
	// As many euro signs as fit the 2048-byte limit in UTF-16 (two bytes
	// each), which take three bytes each in UTF-8.
	euros := 2046/2 - len([]rune(plain)) + len("cancel")
	wide := strings.Replace(plain, "cancel", strings.Repeat("€", euros), 1)
	tests := []struct {
		name   string
		body   []byte
		hdr    map[string]string
		status int
		want   string // in the response
		logged string // the Exchange's Request, when the request is accepted
	}{
		{name: "UTF-16LE with BOM", body: encodeUTF16(plain, false, true), status: 200, logged: plain},
		{name: "UTF-16BE with BOM", body: encodeUTF16(plain, true, true), status: 200, logged: plain},
		{name: "UTF-16LE declared, no BOM", body: encodeUTF16(decl("utf-16")+plain, false, false), status: 200, logged: decl("utf-8") + plain},
		{name: "UTF-16BE declared, no BOM", body: encodeUTF16(decl("UTF-16")+plain, true, false), status: 200, logged: decl("utf-8") + plain},
		{name: "UTF-16 with BOM and declaration", body: encodeUTF16(decl("utf-16")+plain, false, true), status: 200, logged: decl("utf-8") + plain},
		{name: "ISO-8859-1 declared", body: latin1, status: 200, logged: decl("utf-8") + plain},
		{name: "gzip", body: compress(t, "gzip", []byte(plain)), hdr: map[string]string{"Content-Encoding": "gzip"}, status: 200, logged: plain},
		{name: "x-gzip", body: compress(t, "gzip", []byte(plain)), hdr: map[string]string{"Content-Encoding": "x-gzip"}, status: 200, logged: plain},
		{name: "deflate", body: compress(t, "deflate", []byte(plain)), hdr: map[string]string{"Content-Encoding": "deflate"}, status: 200, logged: plain},
		{name: "raw deflate", body: compress(t, "raw deflate", []byte(plain)), hdr: map[string]string{"Content-Encoding": "deflate"}, status: 200, logged: plain},
		{name: "gzip of UTF-16", body: compress(t, "gzip", encodeUTF16(plain, false, true)), hdr: map[string]string{"Content-Encoding": "gzip"}, status: 200, logged: plain},
		{name: "identity", body: []byte(plain), hdr: map[string]string{"Content-Encoding": "identity"}, status: 200, logged: plain},
		// Refused, saying why:
		{name: "unknown Content-Encoding", body: []byte(plain), hdr: map[string]string{"Content-Encoding": "br"}, status: 415, want: "gzip"},
		{name: "two Content-Encodings", body: compress(t, "gzip", compress(t, "gzip", []byte(plain))), hdr: map[string]string{"Content-Encoding": "gzip, gzip"}, status: 415, want: "more than one Content-Encoding"},
		{name: "corrupt gzip", body: []byte("\x1f\x8b\x08\x00garbage" + plain), hdr: map[string]string{"Content-Encoding": "gzip"}, status: 400, want: "could not be decompressed"},
		{name: "truncated gzip", body: compress(t, "gzip", []byte(plain))[:60], hdr: map[string]string{"Content-Encoding": "gzip"}, status: 400, want: "could not be decompressed"},
		{name: "windows-1252 declared", body: []byte(decl("windows-1252") + plain), status: 415, want: "Unsupported encoding"},
		{name: "odd-length UTF-16", body: append(encodeUTF16(plain, false, true), '<'), status: 500, want: "not valid UTF-16"},
		{name: "gzip bomb", body: compress(t, "gzip", []byte(plain+strings.Repeat(" ", 1<<20))), hdr: map[string]string{"Content-Encoding": "gzip"}, status: 413, want: "once decompressed"},
		{name: "UTF-16 over the limit once UTF-8", body: encodeUTF16(wide, false, true), status: 413, want: "converted to UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, x, ran := serveOne(t, tc.body, tc.hdr)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("HTTP %d, want %d with %q: %s", rec.Code, tc.status, tc.want, rec.Body)
			}
			if tc.status == 200 {
				if ran != 1 || string(x.Request) != tc.logged {
					t.Errorf("%d operations ran; logged request:\n%q\nwant\n%q", ran, x.Request, tc.logged)
				}
				return
			}
			if ran != 0 || !strings.Contains(rec.Body.String(), "<faultcode>soap:Client</faultcode>") {
				t.Errorf("%d operations ran, or not a Client fault", ran)
			}
			if tc.status == 415 && tc.hdr["Content-Encoding"] != "" && rec.Header().Get("Accept-Encoding") == "" {
				t.Errorf("a 415 for a Content-Encoding without Accept-Encoding")
			}
			// What could not be decoded is not logged as received: its
			// bytes may hide a password from the masker.
			if tc.hdr["Content-Encoding"] != "" && bytes.Equal(x.Request, tc.body) {
				t.Errorf("the undecoded body went to the request log")
			}
		})
	}
}

// TestGzipBombBounded: a small gzip body that inflates to 64 MiB is
// answered 413 after inflating no more than the limit and a little: the
// bytes allocated stay a small multiple of the limit.
func TestGzipBombBounded(t *testing.T) {
	const limit = 1 << 20
	bomb := compress(t, "gzip", make([]byte, 64<<20))
	h := newHostileHandler(limit)
	req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", bytes.NewReader(bomb))
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("Content-Encoding", "gzip")
	rec := httptest.NewRecorder()
	_, allocated, _ := measure(func() { h.ServeHTTP(rec, req) })
	t.Logf("%d-byte gzip of 64 MiB: HTTP %d, %.1f MiB allocated", len(bomb), rec.Code, float64(allocated)/(1<<20))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	if allocated > 8*limit {
		t.Errorf("allocated %d MiB for a %d MiB limit", allocated>>20, limit>>20)
	}
}

// countingBody records whether the handler read the body.
type countingBody struct {
	r    io.Reader
	read atomic.Bool
}

func (c *countingBody) Read(p []byte) (int, error) { c.read.Store(true); return c.r.Read(p) }
func (c *countingBody) Close() error               { return nil }

// TestOverLimitUnread: a Content-Length over the limit used to be read (and
// "100 Continue" sent for it) before the 413; it is now refused from the
// header, the body unread, and the connection closed.
func TestOverLimitUnread(t *testing.T) {
	h, _ := newTestHandler(fakeAuth{}) // MaxBodyBytes 2048
	h.Logger = discardLogger()
	body := &countingBody{r: strings.NewReader(strings.Repeat("x", 4096))}
	req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", body)
	req.ContentLength = 4096
	req.Header.Set("Content-Type", "text/xml")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "larger than the limit of 2048 bytes") {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	if body.read.Load() {
		t.Error("the body was read")
	}
	if rec.Header().Get("Connection") != "close" {
		t.Errorf("Connection: %q, want close", rec.Header().Get("Connection"))
	}
	// An unknown Content-Encoding is refused unread too.
	body = &countingBody{r: strings.NewReader("x")}
	req = httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", body)
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("Content-Encoding", "compress")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnsupportedMediaType || body.read.Load() {
		t.Errorf("HTTP %d, body read %v", rec.Code, body.read.Load())
	}
}

// TestOverLimitNo100Continue speaks HTTP over a real connection: a client
// that declares a body over the limit and asks "Expect: 100-continue" gets
// the 413 first, no "100 Continue", and the server closes the connection.
func TestOverLimitNo100Continue(t *testing.T) {
	h, _ := newTestHandler(fakeAuth{})
	h.Logger = discardLogger()
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(hostileTimeout)) // only so that a bug cannot hang the test
	fmt.Fprintf(conn, "POST /Service.asmx HTTP/1.1\r\nHost: partnerd.test\r\nContent-Type: text/xml\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", 1<<30)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("first response HTTP %d, want 413: %s", resp.StatusCode, out)
	}
	if !resp.Close {
		t.Error("the response does not close the connection")
	}
	if n, err := br.Read(make([]byte, 1)); err == nil {
		t.Errorf("the connection stayed open (read %d bytes)", n)
	}
}
