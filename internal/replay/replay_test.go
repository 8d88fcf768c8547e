package replay

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/goldencase"
)

const envelope = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>` +
	`<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">` +
	`<wsse:UsernameToken><wsse:Username>u</wsse:Username><wsse:Password>p</wsse:Password>` +
	`<wsse:Nonce>AAAA</wsse:Nonce><wsu:Created>2011-03-24T15:23:47Z</wsu:Created></wsse:UsernameToken></wsse:Security>` +
	`</soap:Header><soap:Body><VersionInfoRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"/></soap:Body></soap:Envelope>`

// echo answers every request with a fixed status and body, remembering
// what it was sent.
type echo struct {
	status int
	body   string
	got    []*http.Request
}

func (e *echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.got = append(e.got, r)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(e.status)
	fmt.Fprint(w, e.body)
}

// refusedURL is a loopback address where nothing listens.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// TestFailures: each failure replay explains, in its one line.
func TestFailures(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	okAnswer := "<ok/>"
	write("same.golden", "=== response 1\nHTTP 200\nContent-Type: text/xml; charset=utf-8\n\n<ok/>\n")
	write("differs.golden", "=== response 1\nHTTP 200\nContent-Type: text/xml; charset=utf-8\n\n<ok><n>1</n></ok>\n")
	write("short.golden", "=== response 1\nHTTP 200\nContent-Type: text/xml; charset=utf-8\n\n<ok/>\n=== response 2\nHTTP 200\nContent-Type: text/xml; charset=utf-8\n\n<ok/>\n")
	tests := []struct {
		name   string
		file   string // written under this name
		text   string
		status int
		body   string
		url    string // "" is the echo server
		admin  bool
		expect bool
		want   []string // the failure lines, in order ("" none)
		out    string   // printed
	}{
		{name: "ok", file: "same.xml", text: envelope, status: 200, body: okAnswer, expect: true},
		{name: "printed", file: "printed.xml", text: envelope, status: 200, body: okAnswer, out: "=== printed response 1 (POST /Service.asmx)\nHTTP 200"},
		{name: "connection refused", file: "same.xml", text: envelope, url: "refused",
			want: []string{"request 1: unreachable: POST /Service.asmx: connection refused: nothing listens there"}},
		{name: "non-2xx", file: "fault.xml", text: envelope, status: 500,
			body: `<soap:Envelope xmlns:soap="x"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>Login failed</faultstring></soap:Fault></soap:Body></soap:Envelope>`,
			want: []string{"request 1: status: POST /Service.asmx: HTTP 500: Login failed"}},
		{name: "non-2xx JSON", file: "rest.json", text: `{"method":"GET","path":"/v3/x"}`, status: 404, body: `{"errors":[{"message":"not found"}]}`,
			want: []string{`request 1: status: GET /v3/x: HTTP 404: {"errors":[{"message":"not found"}]}`}},
		{name: "difference", file: "differs.xml", text: envelope, status: 200, body: "<ok><n>2</n></ok>", expect: true,
			want: []string{"request 1: difference: the answer differs from"},
			out:  "-<n>1</n>\n+<n>2</n>"},
		{name: "difference in status", file: "differs.xml", text: envelope, status: 500, body: "<ok><n>1</n></ok>", expect: true,
			want: []string{"request 1: difference: the answer differs from " + filepath.Join(dir, "differs.golden") + " (diff above): HTTP 500, recorded HTTP 200"}},
		{name: "fewer answers than recorded", file: "short.xml", text: envelope, status: 200, body: okAnswer, expect: true,
			want: []string{"request 2: difference: " + filepath.Join(dir, "short.golden") + " records an answer the replay did not get"}},
		{name: "nothing recorded", file: "unrecorded.xml", text: envelope, status: 200, body: okAnswer, expect: true,
			want: []string{"expected: no recorded answers to compare with"}},
		{name: "advance without admin", file: "moves.txt", text: "=== POST /Service.asmx advance=1h\n\n" + envelope, status: 200, body: okAnswer,
			want: []string{"request 1: clock: the case moves the clock (advance=1h0m0s) and replay cannot without the manual clock's admin endpoint"}},
		{name: "clock line without admin", file: "clockline.txt", text: "clock 2011-03-24T15:23:47Z\n=== POST /Service.asmx\n\n" + envelope, status: 200, body: okAnswer,
			want: []string{"clock: the case sets the clock (2011-03-24T15:23:47Z) and replay cannot"}},
		{name: "admin unreachable", file: "moves2.txt", text: "=== POST /Service.asmx\n\n" + envelope, status: 200, body: okAnswer, admin: true,
			want: []string{"clock: setting the clock to the case's start 2026-01-15T12:00:00Z: admin clock"}},
		{name: "placeholder without answer", file: "json.txt", text: "=== GET /v3/x/{{JSON:batch_id}} kind=json\n\n", status: 200, body: okAnswer,
			want: []string{`request 1: request: path: {{JSON:batch_id}}: no earlier JSON answer has a member "batch_id"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &echo{status: tc.status, body: tc.body}
			srv := httptest.NewServer(e)
			defer srv.Close()
			url := srv.URL
			if tc.url == "refused" {
				url = refusedURL(t)
			}
			srcs, err := Load(write(tc.file, tc.text), DefaultSOAPPath)
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{URL: url, Client: &http.Client{Timeout: 10 * time.Second}}
			if tc.expect {
				opts.Expect = dir
			}
			if tc.admin {
				opts.Admin = &Admin{URL: refusedURL(t), Token: "x"}
			}
			var out bytes.Buffer
			opts.Out = &out
			rep := Run(context.Background(), opts, srcs)
			if len(rep.Failures) != len(tc.want) {
				t.Fatalf("failures %v, want %d like %q\n%s", rep.Failures, len(tc.want), tc.want, out.String())
			}
			for i, f := range rep.Failures {
				if !strings.Contains(f.String(), tc.want[i]) {
					t.Errorf("failure %d:\n  %s\nwant it to contain\n  %s", i+1, f, tc.want[i])
				}
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("printed:\n%s\nwant it to contain\n%s", out.String(), tc.out)
			}
		})
	}
}

// TestEnvelopeHeaders: a bare envelope is posted with the headers of its
// SOAP version and operation.
func TestEnvelopeHeaders(t *testing.T) {
	v12 := strings.ReplaceAll(envelope, "http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope")
	tests := []struct {
		name, body, ctype, action string
	}{
		{"1.1", envelope, "text/xml; charset=utf-8", `"VersionInfo"`},
		{"1.2", v12, `application/soap+xml; charset=utf-8; action="VersionInfo"`, ""},
		{"not XML", "<soap:Env", "text/xml; charset=utf-8", ""},
	}
	for _, tc := range tests {
		x := EnvelopeExchange([]byte(tc.body), "/Service.asmx")
		if got := x.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tc.name, got, tc.ctype)
		}
		if got := x.Header.Get("SOAPAction"); got != tc.action {
			t.Errorf("%s: SOAPAction %q, want %q", tc.name, got, tc.action)
		}
	}
}

// TestRefresh: --refresh gives the token a new Nonce and Created, and with
// the password a digest that verifies; without it a digest token is sent
// as recorded.
func TestRefresh(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	digestEnv := strings.Replace(envelope, "<wsse:Password>p</wsse:Password>",
		`<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">old</wsse:Password>`, 1)
	got := Refresh(envelope, now)
	if strings.Contains(got, "<wsse:Nonce>AAAA<") || !strings.Contains(got, "<wsu:Created>2026-05-01T10:00:00Z<") {
		t.Errorf("Refresh kept the recorded Nonce or Created:\n%s", got)
	}
	if Refresh(envelope, now) == got {
		t.Error("two refreshes gave the same Nonce")
	}
	d := Redigest(Refresh(digestEnv, now), "pw")
	nonce := nonceRE.FindStringSubmatch(d)[2]
	raw, _ := base64Decode(nonce)
	want := goldencase.PasswordDigest(raw, "2026-05-01T10:00:00Z", "pw")
	if !strings.Contains(d, ">"+want+"</wsse:Password>") {
		t.Errorf("Redigest: want digest %s in\n%s", want, d)
	}

	// Through Run: the server sees what was sent.
	for _, tc := range []struct {
		name, body, password string
		wantNonceKept        bool
	}{
		{"text token", envelope, "", false},
		{"digest without password", digestEnv, "", true},
		{"digest with password", digestEnv, "pw", false},
	} {
		e := &echo{status: 200, body: "<ok/>"}
		srv := httptest.NewServer(e)
		bodies := []string{}
		srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var b bytes.Buffer
			b.ReadFrom(r.Body)
			bodies = append(bodies, b.String())
			e.ServeHTTP(w, r)
		})
		src := Source{Path: "x.xml", Name: "x", Case: goldencase.Case{Exchanges: []goldencase.Exchange{EnvelopeExchange([]byte(tc.body), "/Service.asmx")}}}
		var log bytes.Buffer
		rep := Run(context.Background(), Options{URL: srv.URL, Refresh: true, Password: tc.password, Log: &log}, []Source{src})
		srv.Close()
		if len(rep.Failures) > 0 || len(bodies) != 1 {
			t.Fatalf("%s: %v", tc.name, rep.Failures)
		}
		if kept := strings.Contains(bodies[0], "<wsse:Nonce>AAAA<"); kept != tc.wantNonceKept {
			t.Errorf("%s: nonce kept %v, want %v (log %q)", tc.name, kept, tc.wantNonceKept, log.String())
		}
		if tc.wantNonceKept && !strings.Contains(log.String(), "give --password") {
			t.Errorf("%s: no note on the digest: %q", tc.name, log.String())
		}
	}
}

func base64Decode(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(s)
}

func TestParseJSONRequest(t *testing.T) {
	tests := []struct {
		name, in string
		method   string
		body     string
		ctype    string
		err      string
	}{
		{name: "object body", in: `{"method":"post","path":"/v3/mail/batch","headers":{"Authorization":"Bearer k"},"body":{"a":1}}`,
			method: "POST", body: `{"a":1}`, ctype: "application/json"},
		{name: "string body", in: `{"method":"PUT","path":"/x","headers":{"Content-Type":"text/plain"},"body":"hi"}`,
			method: "PUT", body: "hi", ctype: "text/plain"},
		{name: "no body", in: `{"method":"GET","path":"/x"}`, method: "GET"},
		{name: "not JSON", in: `{"method":`, err: "a recorded REST request is"},
		{name: "unknown member", in: `{"method":"GET","path":"/x","url":"y"}`, err: `unknown field "url"`},
		{name: "two values", in: `{"method":"GET","path":"/x"} {}`, err: "more than one JSON value"},
		{name: "no method", in: `{"path":"/x"}`, err: "method"},
		{name: "relative path", in: `{"method":"GET","path":"x"}`, err: "absolute path"},
		{name: "bad header", in: `{"method":"GET","path":"/x","headers":{"A\nB":"v"}}`, err: "not a valid HTTP header"},
	}
	for _, tc := range tests {
		x, err := ParseJSONRequest([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || x.Method != tc.method || x.Body != tc.body || x.Header.Get("Content-Type") != tc.ctype || x.Kind != goldencase.KindJSON {
			t.Errorf("%s: %+v, %v", tc.name, x, err)
		}
	}
}

func FuzzParseJSONRequest(f *testing.F) {
	f.Add([]byte(`{"method":"post","path":"/v3/mail/batch","headers":{"Authorization":"Bearer k"},"body":{"a":1},"record":["Location"]}`))
	f.Add([]byte(`{"method":"GET","path":"/x","body":"s"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		x, err := ParseJSONRequest(raw)
		if err != nil {
			return
		}
		// What it accepts can be sent: a request line and headers
		// net/http takes.
		if _, err := http.NewRequest(x.Method, "http://h"+x.Path, strings.NewReader(x.Body)); err != nil {
			t.Errorf("accepted %q but it is no request: %v", raw, err)
		}
	})
}

func TestNormalization(t *testing.T) {
	tests := []struct {
		list, in, want, err string
	}{
		{list: "times", in: "<Created>2026-01-15T12:00:00Z</Created> 2026-01-15T12:00:00.5+01:00", want: "<Created>(time)</Created> (time)"},
		{list: "RequestID,NewID", in: `<RequestID>abc</RequestID><p:NewID a="1">7</p:NewID><NewIDs>8</NewIDs> {"NewID": 12, "RequestID": "x\"y"}`,
			want: `<RequestID>(RequestID)</RequestID><p:NewID a="1">(NewID)</p:NewID><NewIDs>8</NewIDs> {"NewID": "(NewID)", "RequestID": "(RequestID)"}`},
		{list: "none", in: "2026-01-15T12:00:00Z", want: "2026-01-15T12:00:00Z"},
		{list: "none,times", err: "none stands alone"},
		{list: "a b", err: "not an element or member name"},
	}
	for _, tc := range tests {
		n, err := ParseNormalization(tc.list)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.list, err, tc.err)
			}
			continue
		}
		if got := n.Apply(tc.in); err != nil || got != tc.want {
			t.Errorf("%q: %s, %v\nwant %s", tc.list, got, err, tc.want)
		}
	}
}

func TestUnifiedDiff(t *testing.T) {
	want := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n"
	got := "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\nl\n"
	d := UnifiedDiff("want", "got", want, got)
	wantDiff := "--- want\n+++ got\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n@@ -9,3 +9,4 @@\n i\n j\n k\n+l\n"
	if d != wantDiff {
		t.Errorf("diff:\n%s\nwant:\n%s", d, wantDiff)
	}
	if UnifiedDiff("a", "b", "x", "x") != "" {
		t.Error("equal texts have a diff")
	}
	if d := UnifiedDiff("w", "g", "<a><b>1</b></a>", "<a><b>2</b></a>"); !strings.Contains(d, "-<b>1</b>\n+<b>2</b>\n") {
		t.Errorf("one-line XML is not split at tags:\n%s", d)
	}
}
