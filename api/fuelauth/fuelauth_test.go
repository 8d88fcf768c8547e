package fuelauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store"
)

// countingStore counts the tokens stored, to show that a refused request
// stores none.
type countingStore struct {
	store.Store
	inserted atomic.Int64
}

func (c *countingStore) InsertToken(ctx context.Context, t store.IssuedToken, now time.Time) error {
	c.inserted.Add(1)
	return c.Store.InsertToken(ctx, t, now)
}

type env struct {
	mux    *http.ServeMux
	db     *countingStore
	id     string
	secret string
	other  string // a disabled account's client, same secret
}

func newEnv(t testing.TB, publicURL string) *env {
	t.Helper()
	db := &countingStore{Store: testrig.OpenStore(t)}
	clk := clock.NewManual(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	tokens := &auth.Tokens{Store: db, Clock: clk}
	e := &env{mux: http.NewServeMux(), db: db, secret: "s3cret-of-the-package"}
	for i, name := range []string{"fuel", "off"} {
		a := store.Account{Username: name, ClientID: int64(7000 + i), Disabled: name == "off"}
		if err := db.CreateAccount(t.Context(), &a); err != nil {
			t.Fatal(err)
		}
		id := name + "client0000000000000000"
		rec, err := auth.ClientRecord(a.ID, a.ClientID, id, e.secret, []string{"email_read", "email_send"}, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateTokenClient(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			e.id = id
		} else {
			e.other = id
		}
	}
	New(Config{Tokens: tokens, Auth: &auth.Authenticator{Store: db, Clock: clk}, PublicURL: publicURL}).Mount(e.mux)
	return e
}

func (e *env) post(path, ctype, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "http://partnerd.example:8443"+path, strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

func TestTokenBadInputStoresNothing(t *testing.T) {
	e := newEnv(t, "")
	good := `"client_id":"` + "fuelclient0000000000000000" + `","client_secret":"s3cret-of-the-package"`
	ct := "application/json"
	for _, tc := range []struct {
		name, path, ctype, body string
		status                  int
		kind                    string
	}{
		{"wrong grant type", TokenPath, ct, `{"grant_type":"password",` + good + `}`, 400, "unsupported_grant_type"},
		{"refresh grant", TokenPath, ct, `{"grant_type":"refresh_token","refresh_token":"x",` + good + `}`, 400, "unsupported_grant_type"},
		{"no grant type", TokenPath, ct, `{` + good + `}`, 400, "invalid_request"},
		{"no secret", TokenPath, ct, `{"grant_type":"client_credentials","client_id":"fuelclient0000000000000000"}`, 400, "invalid_request"},
		{"no client id", TokenPath, ct, `{"grant_type":"client_credentials","client_secret":"s3cret-of-the-package"}`, 400, "invalid_request"},
		{"not JSON", TokenPath, ct, `grant_type=client_credentials`, 400, "invalid_request"},
		{"JSON array", TokenPath, ct, `[{"grant_type":"client_credentials"}]`, 400, "invalid_request"},
		{"two objects", TokenPath, ct, `{"grant_type":"client_credentials",` + good + `}{}`, 400, "invalid_request"},
		{"number for a string", TokenPath, ct, `{"grant_type":1,` + good + `}`, 400, "invalid_request"},
		{"NUL in the client id", TokenPath, ct, `{"grant_type":"client_credentials","client_id":"a\u0000","client_secret":"s"}`, 400, "invalid_request"},
		{"NUL in a legacy refresh token", RequestTokenPath, ct, `{"refreshToken":"\u0000"}`, 400, "invalid_request"},
		{"form body", TokenPath, "application/x-www-form-urlencoded", `grant_type=client_credentials`, 415, "invalid_request"},
		{"no content type", TokenPath, "", `{"grant_type":"client_credentials",` + good + `}`, 415, "invalid_request"},
		{"bad account id", TokenPath, ct, `{"grant_type":"client_credentials","account_id":"12ab",` + good + `}`, 400, "invalid_request"},
		{"bad scope name", TokenPath, ct, `{"grant_type":"client_credentials","scope":"Email-Read",` + good + `}`, 400, "invalid_scope"},
		{"scope not held", TokenPath, ct, `{"grant_type":"client_credentials","scope":"email_write",` + good + `}`, 400, "invalid_scope"},
		{"another account id", TokenPath, ct, `{"grant_type":"client_credentials","account_id":7001,` + good + `}`, 401, "unauthorized_client"},
		{"wrong secret", TokenPath, ct, `{"grant_type":"client_credentials","client_id":"fuelclient0000000000000000","client_secret":"nope"}`, 401, "invalid_client"},
		{"disabled account", TokenPath, ct, `{"grant_type":"client_credentials","client_id":"offclient0000000000000000","client_secret":"s3cret-of-the-package"}`, 401, "invalid_client"},
		{"too large", TokenPath, ct, `{"pad":"` + strings.Repeat("x", maxBody) + `"}`, 413, "invalid_request"},
		{"v1 no secret", RequestTokenPath, ct, `{"clientId":"fuelclient0000000000000000"}`, 400, "invalid_request"},
		{"v1 bad accessType", RequestTokenPath, ct, `{"clientId":"fuelclient0000000000000000","clientSecret":"s3cret-of-the-package","accessType":"always"}`, 400, "invalid_request"},
		{"v1 bad legacy", RequestTokenPath + "?legacy=yes", ct, `{"clientId":"fuelclient0000000000000000","clientSecret":"s3cret-of-the-package"}`, 400, "invalid_request"},
		{"v1 unknown refresh token", RequestTokenPath, ct, `{"clientId":"fuelclient0000000000000000","clientSecret":"s3cret-of-the-package","refreshToken":"nope"}`, 401, "invalid_grant"},
		{"v1 form body", RequestTokenPath, "text/plain", `{}`, 415, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.post(tc.path, tc.ctype, tc.body)
			var got map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("HTTP %d, body %q: not JSON: %v", w.Code, w.Body, err)
			}
			if w.Code != tc.status || got["error"] != tc.kind || got["error_description"] == "" || got["error_uri"] != errorURI {
				t.Errorf("HTTP %d %v, want %d %s in the OAuth2 shape", w.Code, got, tc.status, tc.kind)
			}
			if n := e.db.inserted.Load(); n != 0 {
				t.Errorf("%d tokens stored by a refused request", n)
			}
		})
	}
}

func TestTokenNamesThisServer(t *testing.T) {
	body := `{"grant_type":"client_credentials","client_id":"fuelclient0000000000000000","client_secret":"s3cret-of-the-package","account_id":"7000"}`
	for _, tc := range []struct{ public, want string }{
		{"", "http://partnerd.example:8443/"},
		{"https://mc.example.com/", "https://mc.example.com/"},
		{"https://proxy.example/partnerd", "https://proxy.example/partnerd/"},
	} {
		e := newEnv(t, tc.public)
		w := e.post(TokenPath, "application/json; charset=utf-8", body)
		var got struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   any    `json:"expires_in"`
			Scope       string `json:"scope"`
			SOAP        string `json:"soap_instance_url"`
			REST        string `json:"rest_instance_url"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
			t.Fatalf("HTTP %d %s: %v", w.Code, w.Body, err)
		}
		if got.AccessToken == "" || got.TokenType != "Bearer" || got.ExpiresIn != float64(1080) || got.Scope != "email_read email_send" ||
			got.SOAP != tc.want || got.REST != tc.want+"rest/" {
			t.Errorf("public URL %q: %+v", tc.public, got)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", w.Header().Get("Cache-Control"))
		}
	}
}

func TestMaskBody(t *testing.T) {
	for _, tc := range []struct{ in, secret string }{
		{`{"client_id":"abc","client_secret":"S3cr3t-Value"}`, "S3cr3t-Value"},
		{`{"clientSecret" : "S3cr3t-Value", "x":1}`, "S3cr3t-Value"},
		{`{"access_token":"Tok-Value-1","token_type":"Bearer"}`, "Tok-Value-1"},
		{`{"accessToken":"Tok-Value-2","legacyToken":"Leg-Value-3","refreshToken":"Ref-Value-4"}`, "Leg-Value-3"},
		{`{"refreshToken":"Ref-Value-4"}`, "Ref-Value-4"},
		{`{"refresh_token":"Ref\"Value-5"}`, `Value-5`},
		{`{"client_secret":"Unterminated-Secret`, "Unterminated-Secret"},
		{`{"client_secret":1234567890}`, "1234567890"},
		{`grant_type=client_credentials&client_secret=Form-Secret-6&x=1`, "Form-Secret-6"},
	} {
		out := string(MaskBody([]byte(tc.in)))
		if strings.Contains(out, tc.secret) || !strings.Contains(out, "****") {
			t.Errorf("MaskBody(%s) = %s", tc.in, out)
		}
	}
	if in := `{"client_id":"abc","grant_type":"client_credentials"}`; string(MaskBody([]byte(in))) != in {
		t.Errorf("MaskBody changed a body without secrets: %s", MaskBody([]byte(in)))
	}
}
