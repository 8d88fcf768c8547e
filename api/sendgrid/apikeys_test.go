package sendgrid

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAPIKeys(t *testing.T) {
	rg := newRig(nil)
	rec := rg.do("POST", "/v3/api_keys", rg.full, `{"name":"ci","scopes":["mail.send","mail.batch.read"]}`)
	check(t, rec, 201, `{"api_key":"SG.key2.secret2","api_key_id":"key2","name":"ci","scopes":["mail.send","mail.batch.read"]}`)
	check(t, rg.do("POST", "/v3/api_keys", rg.full, `{"name":"all"}`), 201,
		`{"api_key":"SG.key3.secret3","api_key_id":"key3","name":"all","scopes":["api_keys.create","api_keys.delete","api_keys.read","api_keys.update","mail.batch.create","mail.batch.delete","mail.batch.read","mail.batch.update","mail.send","marketing_campaigns.create","marketing_campaigns.delete","marketing_campaigns.read","marketing_campaigns.update","user.scheduled_sends.create","user.scheduled_sends.delete","user.scheduled_sends.read","user.scheduled_sends.update"]}`)
	const missingName = `{"errors":[{"field":"name","message":"missing required argument"}]}`
	const notFound = `{"errors":[{"field":null,"message":"unable to find API Key"}]}`
	steps := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"create without name", "POST", "/v3/api_keys", `{"scopes":[]}`, 400, missingName},
		{"create empty name", "POST", "/v3/api_keys", `{"name":""}`, 400, missingName},
		{"list", "GET", "/v3/api_keys", "", 200, `{"result":[{"name":"full","api_key_id":"key1"},{"name":"ci","api_key_id":"key2"},{"name":"all","api_key_id":"key3"}]}`},
		{"list limit", "GET", "/v3/api_keys?limit=1", "", 200, `{"result":[{"name":"full","api_key_id":"key1"}]}`},
		{"list bad limit", "GET", "/v3/api_keys?limit=0", "", 400, `{"errors":[{"field":"limit","message":"limit must be a positive integer"}]}`},
		{"get", "GET", "/v3/api_keys/key2", "", 200, `{"result":[{"api_key_id":"key2","name":"ci","scopes":["mail.send","mail.batch.read"]}]}`},
		{"get unknown", "GET", "/v3/api_keys/nope", "", 404, notFound},
		{"rename", "PATCH", "/v3/api_keys/key2", `{"name":"ci2"}`, 200, `{"api_key_id":"key2","name":"ci2"}`},
		{"rename without name", "PATCH", "/v3/api_keys/key2", `{}`, 400, missingName},
		{"rename unknown", "PATCH", "/v3/api_keys/nope", `{"name":"x"}`, 404, notFound},
		{"replace", "PUT", "/v3/api_keys/key2", `{"name":"ci3","scopes":["mail.send"]}`, 200, `{"api_key_id":"key2","name":"ci3","scopes":["mail.send"]}`},
		{"replace without name", "PUT", "/v3/api_keys/key2", `{"scopes":["mail.send"]}`, 400, missingName},
		{"replace unknown", "PUT", "/v3/api_keys/nope", `{"name":"x","scopes":[]}`, 404, notFound},
		{"revoke", "DELETE", "/v3/api_keys/key3", "", 204, ""},
		{"revoke again", "DELETE", "/v3/api_keys/key3", "", 404, notFound},
	}
	for _, s := range steps {
		rec := rg.do(s.method, s.path, rg.full, s.body)
		if rec.Code != s.status || rec.Body.String() != s.want {
			t.Errorf("%s: %d %s\nwant %d %s", s.name, rec.Code, rec.Body, s.status, s.want)
		}
	}
	// Another account's key is unknown.
	check(t, rg.do("GET", "/v3/api_keys/key2", rg.keyWith(2), ""), 404, notFound)
}

// TestAPIKeysNoEscalation: a key may only grant scopes it holds itself.
func TestAPIKeysNoEscalation(t *testing.T) {
	rg := newRig(nil)
	admin := rg.keyWith(1, "api_keys.create", "api_keys.update", "mail.send")
	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		{"a scope it has", "POST", "/v3/api_keys", `{"name":"a","scopes":["mail.send"]}`, 201},
		{"a scope it lacks", "POST", "/v3/api_keys", `{"name":"a","scopes":["mail.batch.create"]}`, 403},
		{"full access by omission", "POST", "/v3/api_keys", `{"name":"a"}`, 403},
		{"widen by PUT", "PUT", "/v3/api_keys/key1", `{"name":"a","scopes":["user.scheduled_sends.delete"]}`, 403},
	}
	for _, tt := range tests {
		rec := rg.do(tt.method, tt.path, admin, tt.body)
		if rec.Code != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, rec.Code, rec.Body, tt.status)
		}
		if tt.status == 403 && rec.Body.String() != bodyForbidden {
			t.Errorf("%s: body %s", tt.name, rec.Body)
		}
	}
}

func TestAPIKeyScopesPerEndpoint(t *testing.T) {
	rg := newRig(nil)
	tests := []struct {
		method, path, body, scope string
	}{
		{"POST", "/v3/mail/batch", "", "mail.batch.create"},
		{"GET", "/v3/mail/batch/x", "", "mail.batch.read"},
		{"POST", "/v3/mail/send", "{}", "mail.send"},
		{"POST", "/v3/user/scheduled_sends", "{}", "user.scheduled_sends.create"},
		{"GET", "/v3/user/scheduled_sends", "", "user.scheduled_sends.read"},
		{"GET", "/v3/user/scheduled_sends/x", "", "user.scheduled_sends.read"},
		{"PATCH", "/v3/user/scheduled_sends/x", "{}", "user.scheduled_sends.update"},
		{"DELETE", "/v3/user/scheduled_sends/x", "", "user.scheduled_sends.delete"},
		{"POST", "/v3/api_keys", "{}", "api_keys.create"},
		{"GET", "/v3/api_keys", "", "api_keys.read"},
		{"GET", "/v3/api_keys/x", "", "api_keys.read"},
		{"PATCH", "/v3/api_keys/x", "{}", "api_keys.update"},
		{"PUT", "/v3/api_keys/x", "{}", "api_keys.update"},
		{"DELETE", "/v3/api_keys/x", "", "api_keys.delete"},
	}
	for _, tt := range tests {
		name := tt.method + " " + tt.path
		// Without the scope: 403 before the body is looked at.
		without := rg.keyWith(1, "other.scope")
		if rec := rg.do(tt.method, tt.path, without, tt.body); rec.Code != 403 {
			t.Errorf("%s without %s: %d %s", name, tt.scope, rec.Code, rec.Body)
		}
		// With it: past the scope check (whatever the endpoint then says).
		with := rg.keyWith(1, tt.scope)
		if rec := rg.do(tt.method, tt.path, with, tt.body); rec.Code == 403 || rec.Code == 401 {
			t.Errorf("%s with %s: %d %s", name, tt.scope, rec.Code, rec.Body)
		}
	}
}

func TestAPIKeySecretShownOnce(t *testing.T) {
	rg := newRig(nil)
	var created keyCreated
	_ = json.Unmarshal(rg.do("POST", "/v3/api_keys", rg.full, `{"name":"x"}`).Body.Bytes(), &created)
	if !strings.HasPrefix(created.APIKey, "SG.") {
		t.Fatalf("created %+v", created)
	}
	for _, path := range []string{"/v3/api_keys", "/v3/api_keys/" + created.APIKeyID} {
		if body := rg.do("GET", path, rg.full, "").Body.String(); strings.Contains(body, created.APIKey) || strings.Contains(body, "api_key\"") {
			t.Errorf("GET %s shows the secret: %s", path, body)
		}
	}
}
