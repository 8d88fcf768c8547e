package server

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/store"
)

// Tests of the hardening wired in New: login throttling, request limits,
// metrics, masking and request_id in every log line.

const (
	nsPartner = "http://exacttarget.com/wsdl/partnerAPI"
	performVI = `<VersionInfoRequestMsg xmlns="` + nsPartner + `"><IncludeVersionHistory>false</IncludeVersionHistory></VersionInfoRequestMsg>`
)

func textEnvelope(user, pw, body string) string {
	return `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>` +
		user + `</wsse:Username><wsse:Password>` + pw + `</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`
}

type hardened struct {
	f       *fixture
	h       http.Handler
	logs    *syncBuffer
	remote  string
	headers http.Header
}

func newHardened(t *testing.T, limits Limits) *hardened {
	credential.DefaultIterations = 1000
	f := newFixture(t)
	logs := &syncBuffer{}
	h := New(Config{Store: f.db, Clock: f.clock, Sealer: f.sealer, Policy: f.policy, Version: "test", Limits: limits,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	return &hardened{f: f, h: h, logs: logs, remote: "192.0.2.1:1234"}
}

func (s *hardened) post(body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.RemoteAddr = s.remote
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec
}

func (s *hardened) get(path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, httptest.NewRequest("GET", "http://partnerd.test"+path, nil))
	return rec
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func isLoginFailed(body string) bool {
	return strings.Contains(body, ">q0:Security</faultcode>") && strings.Contains(body, "<faultstring>Login failed</faultstring>")
}

// isThrottledLogin: the one "Login failed" fault, over HTTP 500 (where
// WCF and Axis read faults), with Retry-After.
func isThrottledLogin(rec *httptest.ResponseRecorder) bool {
	return rec.Code == 500 && isLoginFailed(rec.Body.String()) && rec.Header().Get("Retry-After") != ""
}

// TestLoginThrottleOwnerNotLockedOut is issue 10 defect 7: wrong guesses
// from many addresses made the right password fail from every address
// (HTTP 429). Now they throttle only the guessers; the account-wide bound
// caps password checks from sources without a login history, never a
// source that logged in before.
func TestLoginThrottleOwnerNotLockedOut(t *testing.T) {
	s := newHardened(t, Limits{LoginFailures: 3, LoginWindow: time.Minute, LoginAccountFailures: 6})
	owner := "192.0.2.10:4000"
	s.remote = owner
	if rec := s.post(textEnvelope("alice", "alice-pw", performVI)); rec.Code != 200 {
		t.Fatalf("owner's first login: HTTP %d", rec.Code)
	}
	// A distributed guess: ten addresses, one wrong password each. The
	// account goes under attack after 6; from then on only one check per
	// 20s from a new address is admitted, the others are throttled.
	var codes []string
	for i := 0; i < 10; i++ {
		s.remote = fmt.Sprintf("198.51.100.%d:4000", i+1)
		rec := s.post(textEnvelope("alice", "wrong", performVI))
		switch {
		case isThrottledLogin(rec):
			codes = append(codes, "throttled")
		case rec.Code == 500 && isLoginFailed(rec.Body.String()) && rec.Header().Get("Retry-After") == "":
			codes = append(codes, "failed")
		default:
			t.Fatalf("guess %d: HTTP %d Retry-After %q %s", i+1, rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
		}
	}
	if got := strings.Join(codes, " "); got != "failed failed failed failed failed failed failed throttled throttled throttled" {
		t.Errorf("distributed guesses: %s", got)
	}
	// The owner's address logged in before: the attack does not hold it
	// back, whatever its password's case in the username.
	s.remote = owner
	for i := 0; i < 2; i++ {
		if rec := s.post(textEnvelope("alice", "alice-pw", performVI)); rec.Code != 200 {
			t.Errorf("owner during the attack: HTTP %d", rec.Code)
		}
	}
	// A new address is throttled while the account is under attack, with
	// the same fault as any failed login (it says nothing of the password).
	s.remote = "203.0.113.7:4000"
	if rec := s.post(textEnvelope("alice", "alice-pw", performVI)); !isThrottledLogin(rec) || rec.Header().Get("Retry-After") != "20" {
		t.Errorf("new address during the attack: HTTP %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	// Other accounts are unaffected.
	if rec := s.post(textEnvelope("bob", "bob-pw", performVI)); rec.Code != 200 {
		t.Errorf("bob: HTTP %d %s", rec.Code, rec.Body.String())
	}
	// One address guessing one account is stopped after its failures,
	// even with the right password (a right guess must not be told apart).
	s.remote = "198.51.100.200:4000"
	for i := 0; i < 3; i++ {
		s.post(textEnvelope("bob", "wrong", performVI))
	}
	if rec := s.post(textEnvelope("bob", "bob-pw", performVI)); !isThrottledLogin(rec) || rec.Header().Get("Retry-After") != "20" {
		t.Errorf("pair over its failures: HTTP %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	// An unknown user is throttled exactly like a known one.
	pattern := func(user string) string {
		s := newHardened(t, Limits{LoginFailures: 3, LoginWindow: time.Minute, LoginAccountFailures: 4})
		var codes []int
		for i := 0; i < 6; i++ {
			s.remote = fmt.Sprintf("203.0.113.%d:1", i)
			rec := s.post(textEnvelope(user, "x", performVI))
			codes = append(codes, rec.Code*10+len(rec.Header().Get("Retry-After")))
		}
		s.remote = "203.0.113.0:1"
		for i := 0; i < 3; i++ {
			rec := s.post(textEnvelope(user, "x", performVI))
			codes = append(codes, rec.Code*10+len(rec.Header().Get("Retry-After")))
		}
		return fmt.Sprint(codes)
	}
	if a, n := pattern("alice"), pattern("nobody"); a != n {
		t.Errorf("known user %s, unknown user %s", a, n)
	}
	if log := s.logs.String(); !strings.Contains(log, "login throttled") {
		t.Errorf("the log does not say why:\n%s", log)
	}
	rec := s.get("/metrics")
	for _, want := range []string{
		`partnerd_requests_total{face="soap",operation="VersionInfo",outcome="Throttled"} 5`,
		`partnerd_rejected_requests_total{limit="login_throttle"} 5`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(rec.Body.String(), "partnerd_requests_total"))
		}
	}
}

func TestLoginThrottlePerSource(t *testing.T) {
	s := newHardened(t, Limits{LoginFailures: 3, LoginWindow: time.Minute})
	// One source guessing across accounts.
	for i, user := range []string{"alice", "bob", "nobody1"} {
		if rec := s.post(textEnvelope(user, "guess", performVI)); rec.Code != 500 {
			t.Fatalf("failure %d: HTTP %d", i+1, rec.Code)
		}
	}
	rec := s.post(textEnvelope("XXX", "XXX", performVI))
	if !isThrottledLogin(rec) {
		t.Fatalf("source over its failures: HTTP %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	// Another source is not affected; IPv6 sources count per /64.
	s.remote = "[2001:db8::1]:5000"
	if rec := s.post(textEnvelope("XXX", "XXX", performVI)); rec.Code != 200 {
		t.Fatalf("another source: HTTP %d", rec.Code)
	}
	for i := 0; i < 3; i++ {
		s.remote = fmt.Sprintf("[2001:db8::%x]:5000", i+100)
		s.post(textEnvelope(fmt.Sprintf("nobody%d", i+10), "guess", performVI))
	}
	s.remote = "[2001:db8::ffff]:5000"
	if rec := s.post(textEnvelope("alice", "alice-pw", performVI)); !isThrottledLogin(rec) {
		t.Errorf("same /64: HTTP %d, want the throttled fault", rec.Code)
	}
	// XXX logged in from this /64 before: its own guesses are all that
	// can hold it back.
	if rec := s.post(textEnvelope("XXX", "XXX", performVI)); rec.Code != 200 {
		t.Errorf("same /64, account that logged in from it: HTTP %d", rec.Code)
	}
	// Stale tokens are refused before any hashing and not charged.
	s3 := newHardened(t, Limits{LoginFailures: 1, LoginWindow: time.Minute})
	stale := strings.Replace(textEnvelope("alice", "alice-pw", performVI), `</wsse:Password>`,
		`</wsse:Password><wsu:Created xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">2001-01-01T00:00:00Z</wsu:Created>`, 1)
	for i := 0; i < 3; i++ {
		if rec := s3.post(stale); rec.Code != 500 {
			t.Fatalf("stale token %d: HTTP %d", i, rec.Code)
		}
	}
	if rec := s3.post(textEnvelope("alice", "alice-pw", performVI)); rec.Code != 200 {
		t.Errorf("stale tokens locked the account: HTTP %d", rec.Code)
	}
}

func TestAccountRateLimit(t *testing.T) {
	s := newHardened(t, Limits{AccountRate: 0.5, AccountBurst: 2})
	for i := 0; i < 2; i++ {
		if rec := s.post(textEnvelope("alice", "alice-pw", performVI)); rec.Code != 200 {
			t.Fatalf("request %d of the burst: HTTP %d", i+1, rec.Code)
		}
	}
	rec := s.post(textEnvelope("alice", "alice-pw", performVI))
	body := rec.Body.String()
	// Over HTTP 500, where SOAP clients read faults.
	if rec.Code != 500 || !strings.Contains(body, "<faultcode>soap:Server</faultcode>") ||
		!strings.Contains(body, `<apifault xmlns="urn:fault.partner.exacttarget.com"><Code>17</Code>`) {
		t.Fatalf("over the rate: HTTP %d %s", rec.Code, body)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After %q, want 2", ra)
	}
	if rec := s.post(textEnvelope("bob", "bob-pw", performVI)); rec.Code != 200 {
		t.Errorf("bob limited by alice's rate: HTTP %d", rec.Code)
	}
	// The request log records who was limited.
	var logged store.RequestLog
	recent, err := s.f.db.RecentRequests(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recent {
		if r.HTTPStatus == 500 && r.Username == "alice" {
			logged = r
		}
	}
	if logged.Username != "alice" || !strings.Contains(logged.Detail, "requests/s") {
		t.Errorf("request log of the limited request: %+v", logged)
	}
}

// blockingStore holds every Update until release is closed, so that
// requests stay in flight.
type blockingStore struct {
	store.Store
	entered chan struct{}
	release chan struct{}
}

func (b blockingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	b.entered <- struct{}{}
	<-b.release
	return b.Store.Update(ctx, fn)
}

func TestInFlightLimit(t *testing.T) {
	credential.DefaultIterations = 1000
	f := newFixture(t)
	f.apply("send alice id=1 senddate=+3h")
	bs := blockingStore{Store: f.db, entered: make(chan struct{}, 10), release: make(chan struct{})}
	h := New(Config{Store: bs, Clock: f.clock, Sealer: f.sealer, Policy: f.policy, Version: "test",
		Limits: Limits{MaxInFlight: 2}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	cancel := textEnvelope("alice", "alice-pw", `<PerformRequestMsg xmlns="`+nsPartner+`"><Action>cancel</Action><Definitions><Definition xsi:type="Send"><ID>1</ID></Definition></Definitions></PerformRequestMsg>`)
	do := func(ctype string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", strings.NewReader(cancel))
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = do("text/xml").Code
		}()
		<-bs.entered // the request holds its slot inside the store
	}
	start := time.Now()
	rec := do("text/xml")
	elapsed := time.Since(start)
	body := rec.Body.String()
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" ||
		!strings.Contains(body, "<faultcode>soap:Server</faultcode>") || !strings.Contains(body, "<Code>17</Code>") {
		t.Fatalf("over the in-flight limit: HTTP %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), body)
	}
	// SOAP 1.2 callers get a 1.2 fault.
	if rec := do("application/soap+xml; charset=utf-8"); rec.Code != 503 || !strings.Contains(rec.Body.String(), "<soap:Value>soap:Receiver</soap:Value>") {
		t.Errorf("SOAP 1.2 over the limit: HTTP %d %s", rec.Code, rec.Body.String())
	}
	// Health checks and metrics stay available under overload.
	for _, path := range []string{"/healthz", "/metrics"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "http://partnerd.test"+path, nil))
		if rec.Code != 200 {
			t.Errorf("%s under overload: HTTP %d", path, rec.Code)
		}
		if path == "/metrics" && !strings.Contains(rec.Body.String(), "partnerd_inflight_requests 2") {
			t.Errorf("/metrics does not show 2 in flight")
		}
	}
	close(bs.release)
	wg.Wait()
	if codes[0] != 200 || codes[1] != 200 {
		t.Errorf("the admitted requests: %v", codes)
	}
	t.Logf("refused in %v while 2 were in flight", elapsed)
	if rec := do("text/xml"); rec.Code != 200 {
		t.Errorf("after the load: HTTP %d", rec.Code)
	}
}

// TestRequestLogMasksSecrets sends PasswordText and PasswordDigest
// logins, right and wrong, through New and reads the stored request log:
// no password, nonce or digest may appear in it.
func TestRequestLogMasksSecrets(t *testing.T) {
	s := newHardened(t, Limits{})
	nonce := base64.StdEncoding.EncodeToString([]byte("a-nonce-of-16-by"))
	created := s.f.clock.Now().Format(time.RFC3339)
	h := sha1.New()
	h.Write([]byte("a-nonce-of-16-by"))
	h.Write([]byte(created))
	h.Write([]byte("alice-pw"))
	digest := base64.StdEncoding.EncodeToString(h.Sum(nil))
	digestEnv := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><o:Security xmlns:o="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><o:UsernameToken><o:Username>alice</o:Username><o:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">` +
		digest + `</o:Password><o:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">` + nonce + `</o:Nonce><u:Created>` + created + `</u:Created></o:UsernameToken></o:Security></soap:Header><soap:Body>` + performVI + `</soap:Body></soap:Envelope>`

	requests := []struct {
		body    string
		status  int
		secrets []string
	}{
		{textEnvelope("alice", "alice-pw", performVI), 200, []string{"alice-pw"}},
		{textEnvelope("alice", "Wr0ng-Secret", performVI), 500, []string{"Wr0ng-Secret"}},
		{textEnvelope("nobody", "An0ther-Secret", performVI), 500, []string{"An0ther-Secret"}},
		{digestEnv, 200, []string{digest, nonce}},
		{strings.Replace(digestEnv, "</soap:Envelope>", "", 1), 500, []string{digest, nonce}}, // not well-formed
	}
	for i, r := range requests {
		rec := s.post(r.body)
		if rec.Code != r.status {
			t.Fatalf("request %d: HTTP %d %s", i, rec.Code, rec.Body.String())
		}
	}
	logged, err := s.f.db.RecentRequests(context.Background(), len(requests))
	if err != nil {
		t.Fatal(err)
	}
	if len(logged) != len(requests) {
		t.Fatalf("%d requests logged, want %d", len(logged), len(requests))
	}
	for i, r := range requests {
		e := logged[len(requests)-1-i] // newest first
		full, err := s.f.db.RequestByID(context.Background(), e.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range r.secrets {
			if strings.Contains(full.Request, secret) || strings.Contains(full.Response, secret) || strings.Contains(full.Detail, secret) {
				t.Errorf("request %d: the log holds the secret %q:\n%s", i, secret, full.Request)
			}
		}
		if !strings.Contains(full.Request, "****") {
			t.Errorf("request %d: nothing masked:\n%s", i, full.Request)
		}
	}
	for _, secret := range []string{"alice-pw", "Wr0ng-Secret", "An0ther-Secret", digest, nonce} {
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("the operational log holds %q", secret)
		}
	}
}

// TestMetricsAndLogLines checks /metrics after a few requests, and that
// every log line about a request carries its request_id.
func TestMetricsAndLogLines(t *testing.T) {
	s := newHardened(t, Limits{LoginFailures: 1, LoginWindow: time.Minute})
	s.f.apply("sends alice count=3 senddate=+3h")
	s.f.apply("send alice status=Canceled")
	s.post(textEnvelope("alice", "alice-pw", performVI))
	s.post(textEnvelope("alice", "alice-pw", `<PerformRequestMsg xmlns="`+nsPartner+`"><Action>cancel</Action><Definitions><Definition xsi:type="Send"><ID>1</ID></Definition></Definitions></PerformRequestMsg>`))
	s.post(textEnvelope("alice", "alice-pw", `<PerformRequestMsg xmlns="`+nsPartner+`"><Action>cancel</Action><Definitions><Definition xsi:type="Send"><ID>999</ID></Definition></Definitions></PerformRequestMsg>`))
	s.post(textEnvelope("bob", "nope", performVI))
	s.post(textEnvelope("bob", "nope", performVI)) // throttled
	s.post(`<x/>`)

	rec := s.get("/metrics")
	if rec.Code != 200 {
		t.Fatalf("/metrics: HTTP %d", rec.Code)
	}
	m := rec.Body.String()
	for _, want := range []string{
		`partnerd_requests_total{face="soap",operation="VersionInfo",outcome="OK"} 1`,
		`partnerd_requests_total{face="soap",operation="Perform",outcome="OK"} 1`,
		`partnerd_requests_total{face="soap",operation="Perform",outcome="Error"} 1`,
		`partnerd_requests_total{face="soap",operation="VersionInfo",outcome="Fault"} 1`,
		`partnerd_requests_total{face="soap",operation="VersionInfo",outcome="Throttled"} 1`,
		`partnerd_requests_total{face="soap",operation="unknown",outcome="Fault"} 1`,
		`partnerd_request_duration_seconds_bucket{face="soap",operation="Perform",le="+Inf"} 2`,
		`partnerd_auth_failures_total{reason="bad_password"} 1`,
		`partnerd_auth_failures_total{reason="throttled"} 1`,
		`partnerd_rejected_requests_total{limit="login_throttle"} 1`,
		`partnerd_sends{status="Scheduled"} 2`,
		`partnerd_sends{status="Canceled"} 2`,
		`partnerd_sends{status="Paused"} 0`,
		`partnerd_store_update_duration_seconds_count{result="ok"}`,
		`partnerd_inflight_requests 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grepLines(m, "partnerd_"))
	}

	lines := strings.Split(strings.TrimSpace(s.logs.String()), "\n")
	requestLines := 0
	for _, line := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		msg, _ := e["msg"].(string)
		if msg != "request" && msg != "soap fault" {
			continue
		}
		requestLines++
		if id, _ := e["request_id"].(string); len(id) != 36 {
			t.Errorf("log line without request_id: %s", line)
		}
	}
	if requestLines < 6 {
		t.Errorf("%d request log lines for 6 requests:\n%s", requestLines, s.logs.String())
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
