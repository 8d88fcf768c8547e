package fuelauth

import (
	"encoding/json"
	"testing"

	"github.com/partnerd/partnerd/internal/credential"
)

// FuzzTokenEndpoints sends any body to both token endpoints: the answer is
// always JSON in the OAuth2 shape (a token, or error, error_description
// and error_uri), never a 5xx, and only a 200 stores a token.
func FuzzTokenEndpoints(f *testing.F) {
	credential.DefaultIterations = 1000
	good := `"client_id":"fuelclient0000000000000000","client_secret":"s3cret-of-the-package"`
	for _, s := range []string{
		`{"grant_type":"client_credentials",` + good + `}`,
		`{"grant_type":"client_credentials","scope":"email_read email_send","account_id":7000,` + good + `}`,
		`{"clientId":"fuelclient0000000000000000","clientSecret":"s3cret-of-the-package","accessType":"offline"}`,
		`{"grant_type":1}`, `[]`, `null`, `{"scope":"\u0000"}`, `{"account_id":1e400}`, "",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	e := newEnv(f, "")
	f.Fuzz(func(t *testing.T, body string, v1 bool) {
		path := TokenPath
		if v1 {
			path = RequestTokenPath
		}
		before := e.db.inserted.Load()
		w := e.post(path, "application/json", body)
		if w.Code >= 500 {
			t.Fatalf("HTTP %d for %q: %s", w.Code, body, w.Body)
		}
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("HTTP %d for %q: not JSON: %q", w.Code, body, w.Body)
		}
		stored := e.db.inserted.Load() - before
		if w.Code == 200 {
			return
		}
		if got["error"] == nil || got["error_description"] == nil || got["error_uri"] != errorURI {
			t.Errorf("HTTP %d for %q: not the OAuth2 error shape: %v", w.Code, body, got)
		}
		if stored != 0 {
			t.Errorf("HTTP %d for %q stored %d tokens", w.Code, body, stored)
		}
	})
}
