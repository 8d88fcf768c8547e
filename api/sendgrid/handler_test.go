package sendgrid

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/reqinfo"
)

// do sends one request through the rig's handler; token "" sends no
// Authorization header.
func (rg *rig) do(method, path, token, body string) *httptest.ResponseRecorder {
	rec, _ := rg.doInfo(method, path, token, body)
	return rec
}

func (rg *rig) doInfo(method, path, token, body string) (*httptest.ResponseRecorder, reqinfo.Snapshot) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	in := &reqinfo.Info{Face: "sendgrid"}
	req = req.WithContext(reqinfo.With(context.Background(), in))
	rec := httptest.NewRecorder()
	rg.h.ServeHTTP(rec, req)
	return rec, in.Snapshot()
}

// check compares status and, when body is not "-", the exact body.
func check(t *testing.T, rec *httptest.ResponseRecorder, status int, body string) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status = %d, want %d (body %s)", rec.Code, status, rec.Body)
	}
	if body != "-" && rec.Body.String() != body {
		t.Errorf("body = %s\nwant   %s", rec.Body, body)
	}
	if rec.Body.Len() > 0 && rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", rec.Header().Get("Content-Type"))
	}
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if rec.Header().Get(h) == "" {
			t.Errorf("%s missing", h)
		}
	}
}

const (
	bodyAuthRequired = `{"errors":[{"field":null,"message":"authorization required"}]}`
	bodyForbidden    = `{"errors":[{"field":null,"message":"access forbidden"}]}`
	bodyTooMany      = `{"errors":[{"field":null,"message":"too many requests"}]}`
)

func TestAuthorization(t *testing.T) {
	rg := newRig(nil)
	mailOnly := rg.keyWith(1, "mail.send")
	tests := []struct {
		name   string
		header string // the whole Authorization header; "-" for none
		path   string
		status int
		body   string
	}{
		{"no header", "-", "/v3/mail/batch/x", 401, bodyAuthRequired},
		{"empty bearer (sendgrid-go with an empty key)", "Bearer ", "/v3/mail/batch/x", 401, bodyAuthRequired},
		{"other scheme", "Basic dXNlcjpwYXNz", "/v3/mail/batch/x", 401, bodyAuthRequired},
		{"unknown key", "Bearer SG.nope.nope", "/v3/mail/batch/x", 401, invalidGrantBody},
		{"unknown path needs a key first", "-", "/v3/nowhere", 401, bodyAuthRequired},
		{"missing scope", "Bearer " + mailOnly, "/v3/user/scheduled_sends", 403, bodyForbidden},
		{"scheme is case-insensitive", "bearer " + rg.full, "/v3/user/scheduled_sends", 200, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.header != "-" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			rg.h.ServeHTTP(rec, req)
			check(t, rec, tt.status, tt.body)
		})
	}
}

func TestRevokedKeyFailsOnItsNextRequest(t *testing.T) {
	rg := newRig(nil)
	tok := rg.keyWith(1, "api_keys.delete", "mail.batch.create")
	check(t, rg.do("POST", "/v3/mail/batch", tok, ""), 201, "-")
	id := strings.Split(tok, ".")[1]
	check(t, rg.do("DELETE", "/v3/api_keys/"+id, tok, ""), 204, "")
	check(t, rg.do("POST", "/v3/mail/batch", tok, ""), 401, invalidGrantBody)
}

func TestRouting(t *testing.T) {
	rg := newRig(nil)
	tests := []struct {
		method, path string
		status       int
		allow        string
		body         string
	}{
		{"GET", "/v3/nowhere", 404, "", `{"errors":[{"field":null,"message":"not found"}]}`},
		{"GET", "/v3/api_keys/", 404, "", `{"errors":[{"field":null,"message":"not found"}]}`},
		{"GET", "/v3/mail/../api_keys", 404, "", `{"errors":[{"field":null,"message":"not found"}]}`},
		{"GET", "/v3//api_keys", 404, "", `{"errors":[{"field":null,"message":"not found"}]}`},
		{"GET", "/v3/./api_keys", 404, "", `{"errors":[{"field":null,"message":"not found"}]}`},
		{"GET", "/v3/mail/send", 405, "POST", `{"errors":[{"field":null,"message":"method not allowed"}]}`},
		{"PUT", "/v3/user/scheduled_sends/abc", 405, "DELETE, GET, PATCH", "-"},
		{"DELETE", "/v3/api_keys", 405, "GET, POST", "-"},
		{"POST", "/v3/api_keys/k", 405, "DELETE, GET, PATCH, PUT", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := rg.do(tt.method, tt.path, rg.full, "")
			check(t, rec, tt.status, tt.body)
			if got := rec.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	rg := newRig(func(c *Config) { c.RateLimit, c.RateWindow = 3, 3*time.Second })
	want := []struct {
		status    int
		remaining string
		reset     time.Time
	}{
		{200, "2", t0.Add(1 * time.Second)},
		{200, "1", t0.Add(2 * time.Second)},
		{200, "0", t0.Add(1 * time.Second)}, // empty: when the next one fits
		{429, "0", t0.Add(1 * time.Second)},
	}
	for i, w := range want {
		rec := rg.do("GET", "/v3/user/scheduled_sends", rg.full, "")
		if rec.Code != w.status {
			t.Fatalf("request %d: status %d, want %d", i, rec.Code, w.status)
		}
		h := rec.Header()
		if h.Get("X-RateLimit-Limit") != "3" || h.Get("X-RateLimit-Remaining") != w.remaining ||
			h.Get("X-RateLimit-Reset") != strconv.FormatInt(w.reset.Unix(), 10) {
			t.Errorf("request %d: headers %v, want remaining %s reset %d", i, h, w.remaining, w.reset.Unix())
		}
		if w.status == 429 {
			check(t, rec, 429, bodyTooMany)
		}
	}
	// Another key has its own bucket; time refills this one.
	other := rg.keyWith(1)
	check(t, rg.do("GET", "/v3/user/scheduled_sends", other, ""), 200, "-")
	rg.rateNow = rg.rateNow.Add(time.Second)
	check(t, rg.do("GET", "/v3/user/scheduled_sends", rg.full, ""), 200, "-")
}

func TestRateLimitWithoutKeyCountsBySource(t *testing.T) {
	rg := newRig(func(c *Config) { c.RateLimit = 2 })
	check(t, rg.do("GET", "/v3/api_keys", "", ""), 401, bodyAuthRequired)
	check(t, rg.do("GET", "/v3/api_keys", "SG.bad.bad", ""), 401, invalidGrantBody)
	check(t, rg.do("GET", "/v3/api_keys", "", ""), 429, bodyTooMany)
	// A valid key is not held back by its address's failures.
	check(t, rg.do("GET", "/v3/api_keys", rg.full, ""), 200, "-")
}

func TestBodyLimit(t *testing.T) {
	rg := newRig(func(c *Config) { c.MaxBodyBytes = 64 })
	big := `{"name":"` + strings.Repeat("x", 100) + `"}`
	check(t, rg.do("POST", "/v3/api_keys", rg.full, big), 413, `{"errors":[{"field":null,"message":"request body too large"}]}`)
	// Without a Content-Length the limit trips while reading.
	for _, path := range []string{"/v3/api_keys", "/v3/mail/send"} {
		req := httptest.NewRequest("POST", path, strings.NewReader(big))
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+rg.full)
		rec := httptest.NewRecorder()
		rg.h.ServeHTTP(rec, req)
		check(t, rec, 413, `{"errors":[{"field":null,"message":"request body too large"}]}`)
	}
}

func TestMalformedBodies(t *testing.T) {
	rg := newRig(nil)
	const badJSON = `{"errors":[{"field":null,"message":"Request body is not valid JSON"}]}`
	const notObject = `{"errors":[{"field":null,"message":"Request body must be a JSON object"}]}`
	const nul = `{"errors":[{"field":null,"message":"Request body must not contain the NUL character (\\u0000)"}]}`
	tests := []struct {
		path, body string
		status     int
		want       string
	}{
		{"/v3/api_keys", `{"name":`, 400, badJSON},
		{"/v3/api_keys", ``, 400, badJSON},
		{"/v3/api_keys", `[1]`, 400, notObject},
		{"/v3/api_keys", `null`, 400, notObject},
		{"/v3/api_keys", `{"name":"a"} {"name":"b"}`, 400, badJSON},
		{"/v3/api_keys", `{"name":"a",}`, 400, badJSON},
		{"/v3/api_keys", `{"name":5}`, 400, `{"errors":[{"field":"name","message":"The name must be a string."}]}`},
		{"/v3/api_keys", `{"name":"n","scopes":"mail.send"}`, 400, `{"errors":[{"field":"scopes","message":"The scopes must be an array of strings."}]}`},
		{"/v3/user/scheduled_sends", `{"batch_id":1,"status":true}`, 400, `{"errors":[{"field":"batch_id","message":"The batch_id must be a string."},{"field":"status","message":"The status must be a string."}]}`},
		{"/v3/mail/send", `not json`, 400, badJSON},
		{"/v3/mail/send", `"x"`, 400, notObject},
		// U+0000 anywhere (a value, a member name, deep in mail/send) is
		// refused whole: no store keeps it the same way.
		{"/v3/api_keys", `{"name":"a\u0000b"}`, 400, nul},
		{"/v3/api_keys", `{"name":"n","x\u0000":1}`, 400, nul},
		{"/v3/mail/send", `{"personalizations":[{"to":[{"email":"a@example.com","name":"\u0000"}]}]}`, 400, nul},
		// An escaped backslash before u0000 is text, not U+0000.
		{"/v3/api_keys", `{"name":"a\\u0000"}`, 201, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.body, func(t *testing.T) {
			check(t, rg.do("POST", tt.path, rg.full, tt.body), tt.status, tt.want)
		})
	}
}

func TestReqinfo(t *testing.T) {
	rg := newRig(nil)
	rec, snap := rg.doInfo("POST", "/v3/api_keys", rg.full, `{"name":"n"}`)
	check(t, rec, 201, "-")
	if snap.Operation != "POST /v3/api_keys" || snap.Outcome != "201" || snap.AccountID != 1 || snap.Username != "acme" {
		t.Errorf("snapshot = %+v", snap)
	}
	if snap.Mask == nil {
		t.Fatal("no mask")
	}
	if masked := string(snap.Mask(rec.Body.Bytes())); strings.Contains(masked, "secret") {
		t.Errorf("masked body still holds the secret: %s", masked)
	}
	_, snap = rg.doInfo("GET", "/v3/mail/batch/nope", rg.full, "")
	if snap.Operation != "GET /v3/mail/batch/{batch_id}" || snap.Outcome != "400" || snap.Detail != "invalid batch id" {
		t.Errorf("snapshot = %+v", snap)
	}
	_, snap = rg.doInfo("GET", "/v3/mail/batch/nope", "SG.x.y", "")
	if snap.Operation != "GET /v3/mail/batch/{batch_id}" || snap.Outcome != "401" || snap.AccountID != 0 {
		t.Errorf("snapshot = %+v", snap)
	}
	_, snap = rg.doInfo("GET", "/v3/mail/../api_keys", "", "")
	if snap.Operation != "unknown" || snap.Outcome != "401" {
		t.Errorf("snapshot = %+v", snap)
	}
	_, snap = rg.doInfo("GET", "/v3/mail/send", rg.full, "")
	if snap.Operation != "unknown" || snap.Outcome != "405" {
		t.Errorf("snapshot = %+v", snap)
	}
}

func TestMaskBody(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"api_key":"SG.abc.def","name":"n"}`, `{"api_key":"***","name":"n"}`},
		{`{"api_key" : "plain"}`, `{"api_key" : "***"}`},
		{`Authorization: Bearer SG.id1.s3cr3t-_x`, `Authorization: Bearer SG.id1.***`},
		{`{"name":"no secret"}`, `{"name":"no secret"}`},
		{`{"api_key":"a\"b"}`, `{"api_key":"***"}`},
	}
	for _, tt := range tests {
		if got := string(MaskBody([]byte(tt.in))); got != tt.want {
			t.Errorf("MaskBody(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestStoreFailuresAre500s: a failing domain call is a 500 whose body says
// nothing of the cause; the cause goes to the log's detail.
func TestStoreFailuresAre500s(t *testing.T) {
	const internal = `{"errors":[{"field":null,"message":"internal error"}]}`
	boom := errors.New("database is locked (/var/lib/partnerd/db)")
	rg := newRig(nil)
	rg.batches.err = boom
	for _, tt := range []struct{ method, path, body string }{
		{"POST", "/v3/mail/batch", ""},
		{"GET", "/v3/mail/batch/x", ""},
		{"GET", "/v3/user/scheduled_sends", ""},
		{"GET", "/v3/user/scheduled_sends/x", ""},
		{"POST", "/v3/mail/send", strings.Replace(validMail, `"subject":"S"`, `"subject":"S","batch_id":"b"`, 1)},
	} {
		rec, snap := rg.doInfo(tt.method, tt.path, rg.full, tt.body)
		check(t, rec, 500, internal)
		if !strings.Contains(snap.Detail, "database is locked") {
			t.Errorf("%s %s: detail %q", tt.method, tt.path, snap.Detail)
		}
	}
	rg.keys.verifyErr = boom
	check(t, rg.do("GET", "/v3/api_keys", rg.full, ""), 500, internal)
}
