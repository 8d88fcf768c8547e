package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/auth"
)

// tokenFixture is a hardened server with a token client of alice's.
type tokenFixture struct {
	*hardened
	tokens     *auth.Tokens
	aliceID    int64
	id, secret string
}

func newTokenFixture(t *testing.T, limits Limits) *tokenFixture {
	s := newHardened(t, limits)
	alice, err := s.f.db.AccountByUsername(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	tokens := &auth.Tokens{Store: s.f.db, Clock: s.f.clock}
	c, secret, err := tokens.CreateClient(context.Background(), alice.ID, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &tokenFixture{hardened: s, tokens: tokens, aliceID: alice.ID, id: c.ID, secret: secret}
}

func (s *tokenFixture) postJSON(t *testing.T, path, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest("POST", "http://partnerd.test"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = s.remote
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	var out map[string]any
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec, out
}

func (s *tokenFixture) token(t *testing.T) string {
	t.Helper()
	rec, out := s.postJSON(t, "/v2/token", `{"grant_type":"client_credentials","client_id":"`+s.id+`","client_secret":"`+s.secret+`"}`)
	tok, _ := out["access_token"].(string)
	if rec.Code != 200 || tok == "" {
		t.Fatalf("token: HTTP %d %s", rec.Code, rec.Body)
	}
	return tok
}

func fuelEnvelope(token string) string {
	return `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><fueloauth xmlns="http://exacttarget.com">` + token +
		`</fueloauth></soap:Header><soap:Body>` + performVI + `</soap:Body></soap:Envelope>`
}

// TestTokenSecretsNeverLogged: the client secret, the tokens issued and
// the tokens presented appear in no stored exchange and no log line, on
// the double-slashed path the SDKs use (routed, not redirected) as on
// the others.
func TestTokenSecretsNeverLogged(t *testing.T) {
	s := newTokenFixture(t, Limits{})
	rec, out := s.postJSON(t, "//v2/token", `{"grant_type":"client_credentials","client_id":"`+s.id+`","client_secret":"`+s.secret+`"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("//v2/token: HTTP %d %s (Location %q)", rec.Code, rec.Body, rec.Header().Get("Location"))
	}
	secrets := []string{s.secret, out["access_token"].(string)}
	_, v1 := s.postJSON(t, "/v1/requestToken?legacy=1", `{"clientId":"`+s.id+`","clientSecret":"`+s.secret+`","accessType":"offline"}`)
	for _, k := range []string{"accessToken", "legacyToken", "refreshToken"} {
		v, _ := v1[k].(string)
		if v == "" {
			t.Fatalf("v1 answer lacks %s: %v", k, v1)
		}
		secrets = append(secrets, v)
	}
	s.postJSON(t, "/v1/requestToken", `{"clientId":"`+s.id+`","clientSecret":"`+s.secret+`","refreshToken":"`+v1["refreshToken"].(string)+`"}`)
	s.postJSON(t, "/v2/token", `{"grant_type":"client_credentials","client_id":"`+s.id+`","client_secret":"Wr0ng-Client-Secret"}`)
	secrets = append(secrets, "Wr0ng-Client-Secret")
	if rec := s.post(fuelEnvelope(secrets[1])); rec.Code != 200 {
		t.Fatalf("SOAP with the token: HTTP %d %s", rec.Code, rec.Body)
	}
	s.post(fuelEnvelope("Unkn0wn-Token-Value"))
	secrets = append(secrets, "Unkn0wn-Token-Value")

	s.h.(*Server).Close()
	logged, err := s.f.db.RecentRequests(context.Background(), 20)
	if err != nil || len(logged) != 6 {
		t.Fatalf("%d exchanges logged, want 6: %v", len(logged), err)
	}
	for _, e := range logged {
		stored := e.Request + e.Response + e.Detail
		for _, secret := range secrets {
			if strings.Contains(stored, secret) {
				t.Errorf("%s %s: %q survived in the request log:\n%s", e.Method, e.Path, secret, stored)
			}
		}
		if e.Face == "oauth" && e.Path != "/v2/token" && e.Path != "/v1/requestToken" {
			t.Errorf("exchange logged under path %q", e.Path)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("%q in the server log", secret)
		}
	}
}

// TestTokenRevokedOnNextUse: revoking the client fails its token on the
// very next SOAP call, and its secret on the next token request.
func TestTokenRevokedOnNextUse(t *testing.T) {
	s := newTokenFixture(t, Limits{})
	tok := s.token(t)
	if rec := s.post(fuelEnvelope(tok)); rec.Code != 200 {
		t.Fatalf("before revoke: HTTP %d %s", rec.Code, rec.Body)
	}
	if err := s.tokens.RevokeClient(context.Background(), s.aliceID, s.id); err != nil {
		t.Fatal(err)
	}
	rec := s.post(fuelEnvelope(tok))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "<faultstring>Login Failed</faultstring>") {
		t.Errorf("after revoke: HTTP %d %s", rec.Code, rec.Body)
	}
	if rec, _ := s.postJSON(t, "/v2/token", `{"grant_type":"client_credentials","client_id":"`+s.id+`","client_secret":"`+s.secret+`"}`); rec.Code != 401 {
		t.Errorf("token request after revoke: HTTP %d", rec.Code)
	}
}

// TestTokenGuessesThrottled: unknown tokens are failed logins like wrong
// passwords: past --login-failures from one source, that source's next
// call is refused with Retry-After before its token is looked up, and a
// token request is refused the same way.
func TestTokenGuessesThrottled(t *testing.T) {
	s := newTokenFixture(t, Limits{LoginFailures: 3, LoginWindow: time.Minute})
	tok := s.token(t)
	for range 3 {
		if rec := s.post(fuelEnvelope("Guessed-Token")); rec.Code != 500 {
			t.Fatalf("guess: HTTP %d", rec.Code)
		}
	}
	rec := s.post(fuelEnvelope(tok))
	if rec.Code != 500 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "Login Failed") {
		t.Errorf("after 3 guesses: HTTP %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	other := *s.hardened
	other.remote = "198.51.100.7:4321"
	if rec := other.post(fuelEnvelope(tok)); rec.Code != 200 {
		t.Errorf("another source: HTTP %d %s", rec.Code, rec.Body)
	}
}

// TestTokenCredentialLogged: a token request and every SOAP call made
// with one of its tokens (fueloauth, and oAuth/oAuthToken with the */*
// UsernameToken) name the token client in the request log, the access
// log and the metrics (kind "client", the client's ID, never a token or
// the secret); a refused token request and an unknown token name none.
func TestTokenCredentialLogged(t *testing.T) {
	s := newTokenFixture(t, Limits{})
	tok := s.token(t)
	_, v1 := s.postJSON(t, "/v1/requestToken?legacy=1", `{"clientId":"`+s.id+`","clientSecret":"`+s.secret+`"}`)
	legacy, _ := v1["legacyToken"].(string)
	if legacy == "" {
		t.Fatalf("v1 answer lacks legacyToken: %v", v1)
	}
	if rec := s.post(fuelEnvelope(tok)); rec.Code != 200 {
		t.Fatalf("fueloauth: HTTP %d %s", rec.Code, rec.Body)
	}
	oauth := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>` +
		`<oAuth xmlns="http://exacttarget.com"><oAuthToken>` + legacy + `</oAuthToken></oAuth>` +
		`<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>*</wsse:Username><wsse:Password>*</wsse:Password></wsse:UsernameToken></wsse:Security>` +
		`</soap:Header><soap:Body>` + performVI + `</soap:Body></soap:Envelope>`
	if rec := s.post(oauth); rec.Code != 200 {
		t.Fatalf("oAuth/oAuthToken: HTTP %d %s", rec.Code, rec.Body)
	}
	s.postJSON(t, "/v2/token", `{"grant_type":"client_credentials","client_id":"`+s.id+`","client_secret":"Wr0ng-Client-Secret"}`)
	s.post(fuelEnvelope("Unkn0wn-Token-Value"))

	s.h.(*Server).Close()
	logged, err := s.f.db.RecentRequests(context.Background(), 20)
	if err != nil || len(logged) != 6 {
		t.Fatalf("%d exchanges logged, want 6: %v", len(logged), err)
	}
	// Newest first: unknown token, wrong secret, oAuth, fueloauth, v1, v2.
	want := []string{"", "", s.id, s.id, s.id, s.id}
	for i, e := range logged {
		kind := ""
		if want[i] != "" {
			kind = auth.KindClient
		}
		if e.CredentialKind != kind || e.Credential != want[i] {
			t.Errorf("%s %s (%s): credential %q %q, want %q %q", e.Method, e.Path, e.Status, e.CredentialKind, e.Credential, kind, want[i])
		}
		if want[i] != "" && (e.AccountID != s.aliceID || e.Username != "alice") {
			t.Errorf("%s %s: account %d %q, want alice's", e.Method, e.Path, e.AccountID, e.Username)
		}
	}
	byClient, err := s.f.db.RequestsByCredential(context.Background(), auth.KindClient, s.id, 20)
	if err != nil || len(byClient) != 4 {
		t.Errorf("RequestsByCredential(client, %s) = %d exchanges (%v), want 4", s.id, len(byClient), err)
	}
	if log := s.logs.String(); strings.Count(log, `"credential":"client:`+s.id+`"`) != 4 {
		t.Errorf("access log does not name the client of each token request and call:\n%s", log)
	}
	if m := s.get("/metrics").Body.String(); !strings.Contains(m, `partnerd_credential_requests_total{account="alice",credential="`+s.id+`",kind="client"} 4`) {
		t.Errorf("/metrics lacks the client's count:\n%s", grepLines(m, "partnerd_credential"))
	}
}
