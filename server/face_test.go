package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/reqinfo"
)

// echoFace is a face of the tests' own, the way the SendGrid face will
// mount: JSON over "POST /echo", a secret in its bodies that its Mask
// hides, an account it names, and (when block is set) a request that holds
// its in-flight slot until released.
type echoFace struct {
	entered chan struct{}
	block   chan struct{}
}

func (*echoFace) Name() string { return "echo" }

func (f *echoFace) Mount(mux interface {
	Handle(pattern string, handler http.Handler)
}) {
	mux.Handle("POST /echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := reqinfo.From(r.Context())
		in.SetOperation("echo.post")
		in.SetPrincipal(7, "acme")
		in.SetMask(func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("secret-key"), []byte("****")) })
		body, _ := io.ReadAll(r.Body)
		if f.block != nil {
			f.entered <- struct{}{}
			<-f.block
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(map[string]string{"id": in.ID, "face": in.Face, "echo": string(body)})
	}))
}

type faceServer struct {
	f    *fixture
	h    *Server
	logs *syncBuffer
}

func newFaceServer(t *testing.T, limits Limits, faces ...Face) *faceServer {
	credential.DefaultIterations = 1000
	f := newFixture(t)
	logs := &syncBuffer{}
	h := New(Config{Store: f.db, Clock: f.clock, Sealer: f.sealer, Policy: f.policy, Version: "test", Limits: limits,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Faces: faces})
	return &faceServer{f: f, h: h, logs: logs}
}

func (s *faceServer) do(method, path, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://partnerd.test"+path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	req.RemoteAddr = "192.0.2.9:4321"
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec
}

// accessLines returns the middleware's access log lines.
func (s *faceServer) accessLines(t *testing.T) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		if e["msg"] == "request" {
			out = append(out, e)
		}
	}
	return out
}

var guidOnly = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestRequestIDs: every request gets an ID and its face's name before the
// face runs; SOAP's echoed RequestID is the one the access log carries.
func TestRequestIDs(t *testing.T) {
	s := newFaceServer(t, Limits{}, &echoFace{})
	rec := s.do("POST", "/echo", `{"a":1}`)
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusAccepted {
		t.Fatalf("POST /echo: %d %s", rec.Code, rec.Body)
	}
	if !guidOnly.MatchString(got["id"]) || got["face"] != "echo" {
		t.Fatalf("the face saw ID %q face %q; want a v7 GUID and echo", got["id"], got["face"])
	}
	soapRec := s.do("POST", "/Service.asmx", textEnvelope("alice", "alice-pw", performVI), "Content-Type", "text/xml")
	soapID := regexp.MustCompile(`<RequestID>([^<]+)</RequestID>`).FindStringSubmatch(soapRec.Body.String())
	if soapID == nil {
		t.Fatalf("no RequestID in the SOAP answer: %s", soapRec.Body)
	}
	lines := s.accessLines(t)
	if len(lines) != 2 {
		t.Fatalf("%d access log lines for 2 requests:\n%s", len(lines), s.logs.String())
	}
	want := []struct{ id, face, op, method, path string }{
		{got["id"], "echo", "echo.post", "POST", "/echo"},
		{soapID[1], "soap", "VersionInfo", "POST", "/Service.asmx"},
	}
	for i, w := range want {
		l := lines[i]
		if l["request_id"] != w.id || l["face"] != w.face || l["operation"] != w.op || l["method"] != w.method ||
			l["path"] != w.path || l["remote"] != "192.0.2.9:4321" || l["status"] == nil || l["duration"] == nil {
			t.Errorf("access line %d = %v, want id %s face %s operation %s %s %s", i, l, w.id, w.face, w.op, w.method, w.path)
		}
	}
}

// TestMetricsByFace: requests are counted by face, operation and outcome;
// a face that sets no outcome is counted by its HTTP status.
func TestMetricsByFace(t *testing.T) {
	s := newFaceServer(t, Limits{}, &echoFace{})
	s.do("POST", "/echo", `{}`)
	s.do("POST", "/echo", `{}`)
	s.do("POST", "/Service.asmx", textEnvelope("alice", "alice-pw", performVI), "Content-Type", "text/xml")
	s.do("GET", "/healthz", "")
	m := s.do("GET", "/metrics", "").Body.String()
	for _, want := range []string{
		`partnerd_requests_total{face="echo",operation="echo.post",outcome="202"} 2`,
		`partnerd_requests_total{face="soap",operation="VersionInfo",outcome="OK"} 1`,
		`partnerd_requests_total{face="ops",operation="unknown",outcome="200"} 1`,
		`partnerd_request_duration_seconds_count{face="echo",operation="echo.post"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(m, "partnerd_request"))
		}
	}
}

// TestExchangeLogOfOtherFaces: a face that does not log its exchanges
// itself has them captured by the middleware, with its face, method and
// path, its bodies masked by the face's Mask and the bearer credential of
// the Authorization header nowhere; the ops face's requests are not logged.
func TestExchangeLogOfOtherFaces(t *testing.T) {
	s := newFaceServer(t, Limits{}, &echoFace{})
	rec := s.do("POST", "/echo", `{"api_key":"secret-key","echo":"Bearer-t0ken-XYZ"}`, "Authorization", "Bearer t0ken-XYZ")
	if rec.Code != http.StatusAccepted {
		t.Fatalf("POST /echo: %d %s", rec.Code, rec.Body)
	}
	s.do("GET", "/healthz", "")
	logged, err := s.f.db.RecentRequests(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(logged) != 1 {
		t.Fatalf("%d exchanges logged, want the echo one only: %+v", len(logged), logged)
	}
	e, err := s.f.db.RequestByID(t.Context(), logged[0].RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Face != "echo" || e.Method != "POST" || e.Path != "/echo" || e.Operation != "echo.post" ||
		e.HTTPStatus != http.StatusAccepted || e.Status != "202" || e.AccountID != 7 || e.Username != "acme" || e.Remote != "192.0.2.9:4321" {
		t.Errorf("logged %+v", e)
	}
	for _, body := range []string{e.Request, e.Response} {
		if strings.Contains(body, "secret-key") || strings.Contains(body, "t0ken-XYZ") {
			t.Errorf("a secret is in the log: %s", body)
		}
		if !strings.Contains(body, "****") {
			t.Errorf("nothing masked: %s", body)
		}
	}
	if e.RequestSize != int64(len(`{"api_key":"secret-key","echo":"Bearer-t0ken-XYZ"}`)) || e.ResponseSize != int64(rec.Body.Len()) {
		t.Errorf("sizes %d/%d", e.RequestSize, e.ResponseSize)
	}
	// Masking shortens the bodies without cutting them: no "cut" note.
	if e.RequestNote != "" || e.ResponseNote != "" {
		t.Errorf("notes %q / %q on whole bodies", e.RequestNote, e.ResponseNote)
	}
}

// TestSecretAcrossTheLogBoundIsMasked: a secret that straddles the byte the
// request log cuts a body at is masked whole, not kept half: the body is
// captured past the bound and masked before it is cut.
func TestSecretAcrossTheLogBoundIsMasked(t *testing.T) {
	s := newFaceServer(t, Limits{}, &echoFace{})
	pad := strings.Repeat("x", logBodyMax-len(`{"echo":"`)-5)
	body := `{"echo":"` + pad + `secret-key"}`
	if rec := s.do("POST", "/echo", body); rec.Code != http.StatusAccepted {
		t.Fatalf("POST /echo: %d", rec.Code)
	}
	logged, err := s.f.db.RecentRequests(t.Context(), 1)
	if err != nil || len(logged) != 1 {
		t.Fatalf("logged %v, %v", logged, err)
	}
	e, err := s.f.db.RequestByID(t.Context(), logged[0].RequestID)
	if err != nil {
		t.Fatal(err)
	}
	for _, kept := range []string{e.Request, e.Response} {
		if strings.Contains(kept, "secre") {
			t.Errorf("half a secret kept at the bound: …%s", kept[max(0, len(kept)-20):])
		}
	}
}

// TestRefusalPerFace: over the in-flight limit each face answers in its own
// language: SOAP with apifault Code 17 over 503, the others a plain 503;
// both with Retry-After, both counted Throttled, neither logged. Health
// checks are never refused.
func TestRefusalPerFace(t *testing.T) {
	echo := &echoFace{entered: make(chan struct{}), block: make(chan struct{})}
	s := newFaceServer(t, Limits{MaxInFlight: 1}, echo)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.do("POST", "/echo", `{}`)
	}()
	<-echo.entered // holds the only slot

	cases := []struct {
		name, path, body, ctype string
		wantBody                []string
	}{
		{"soap", "/Service.asmx", textEnvelope("alice", "alice-pw", performVI), "text/xml", []string{"<Code>17</Code>", "soap:Server"}},
		{"echo json", "/echo", `{}`, "application/json", []string{`"error":"The server is busy: too many requests in flight. Retry later."`}},
		{"echo text", "/echo", `x`, "text/plain", []string{"The server is busy: too many requests in flight."}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := s.do("POST", c.path, c.body, "Content-Type", c.ctype)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
				t.Fatalf("HTTP %d Retry-After %q: %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
			}
			for _, w := range c.wantBody {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("refusal lacks %s: %s", w, rec.Body)
				}
			}
		})
	}
	if rec := s.do("GET", "/healthz", ""); rec.Code != 200 {
		t.Errorf("/healthz under overload: %d", rec.Code)
	}
	m := s.do("GET", "/metrics", "").Body.String()
	for _, want := range []string{
		`partnerd_requests_total{face="echo",operation="unknown",outcome="Throttled"} 2`,
		`partnerd_requests_total{face="soap",operation="unknown",outcome="Throttled"} 1`,
		`partnerd_rejected_requests_total{limit="inflight"} 3`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(m, "partnerd_re"))
		}
	}
	close(echo.block)
	wg.Wait()
	if logged, _ := s.f.db.RecentRequests(t.Context(), 10); len(logged) != 1 {
		t.Errorf("%d exchanges logged, want only the admitted one", len(logged))
	}
}

// TestMethodPatterns: routes are matched by method and path on the one
// mux: a wrong method is the mux's 405 with Allow, an unknown path 404;
// the SOAP endpoint keeps its any-case path and its own 405 text.
func TestMethodPatterns(t *testing.T) {
	s := newFaceServer(t, Limits{}, &echoFace{})
	cases := []struct {
		method, path string
		want         int
		allow, body  string
	}{
		{"GET", "/echo", 405, "POST", "Method Not Allowed"},
		{"POST", "/healthz", 405, "GET, HEAD", "Method Not Allowed"},
		{"DELETE", "/metrics", 405, "GET, HEAD", "Method Not Allowed"},
		{"POST", "/etframework.wsdl", 405, "GET, HEAD", "Method Not Allowed"},
		{"GET", "/nowhere", 404, "", "404 page not found"},
		{"PUT", "/Service.asmx", 405, "POST, GET", "method not allowed: POST a SOAP envelope"},
		{"PUT", "/service.ASMX", 405, "POST, GET", "method not allowed: POST a SOAP envelope"},
		{"GET", "/SERVICE.asmx?wsdl", 200, "", `location="http://partnerd.test/SERVICE.asmx"`},
		{"HEAD", "/healthz", 200, "", ""},
	}
	for _, c := range cases {
		rec := s.do(c.method, c.path, "")
		if rec.Code != c.want || rec.Header().Get("Allow") != c.allow || !strings.Contains(rec.Body.String(), c.body) {
			t.Errorf("%s %s: HTTP %d Allow %q %q; want %d Allow %q and %q", c.method, c.path, rec.Code,
				rec.Header().Get("Allow"), firstLine(rec.Body.String()), c.want, c.allow, c.body)
		}
	}
	rec := s.do("POST", "/SERVICE.ASMX", textEnvelope("alice", "alice-pw", performVI), "Content-Type", "text/xml")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<VersionInfoResponseMsg") {
		t.Errorf("POST /SERVICE.ASMX: %d %s", rec.Code, rec.Body)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
