package oascheck

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// subset loads the official SendGrid excerpt beside the module root, or
// skips when the checkout has no ../shared beside it.
func subset(t *testing.T) map[string]*Document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "reference", "sendgrid-oai-subset.json"))
	if err != nil {
		t.Skipf("reference excerpt not found: %v", err)
	}
	docs, err := ParseSubset(data, false)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func TestValidateAgainstTheOfficialExcerpt(t *testing.T) {
	docs := subset(t)
	tests := []struct {
		file, method, path string
		status             int
		contentType, body  string
		wantErr            bool
	}{
		{"tsg_scheduled_sends_v3.json", "GET", "/v3/user/scheduled_sends/abc", 200, "application/json",
			`[{"batch_id":"abc","status":"pause"}]`, false},
		{"tsg_scheduled_sends_v3.json", "GET", "/v3/user/scheduled_sends/abc", 200, "application/json",
			`{"batch_id":"abc","status":"pause"}`, true}, // an object where the API answers an array
		{"tsg_scheduled_sends_v3.json", "GET", "/v3/user/scheduled_sends/abc", 200, "application/json",
			`[{"batch_id":"abc","status":"stopped"}]`, true}, // not in the status enum
		{"tsg_scheduled_sends_v3.json", "PATCH", "/v3/user/scheduled_sends/abc", 204, "", ``, false},
		{"tsg_scheduled_sends_v3.json", "PATCH", "/v3/user/scheduled_sends/abc", 204, "", `{}`, true},
		{"tsg_mail_v3.json", "POST", "/v3/mail/batch", 201, "application/json; charset=utf-8",
			`{"batch_id":"HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi"}`, false},
		{"tsg_mail_v3.json", "POST", "/v3/mail/batch", 201, "text/html", `{"batch_id":"x"}`, true},
		{"tsg_mail_v3.json", "GET", "/v3/mail/batch/x", 400, "application/json",
			`{"errors":[{"field":null,"message":"invalid batch id"}]}`, true}, // §9: the excerpt types field as a string; real servers send null
		{"tsg_mail_v3.json", "GET", "/v3/mail/batch/x", 400, "application/json",
			`{"errors":[{"field":"batch_id","message":"invalid batch id"}]}`, false},
		{"tsg_mail_v3.json", "GET", "/v3/mail/batch/x", 400, "application/json", `not json`, true},
		{"tsg_api_keys_v3.json", "POST", "/v3/api_keys", 201, "application/json",
			`{"api_key":"SG.a.b","api_key_id":"a","name":"n","scopes":["mail.send"]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			err := docs[tt.file].Validate(tt.method, tt.path, tt.status, tt.contentType, []byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate(%s) = %v, want error %v", tt.body, err, tt.wantErr)
			}
		})
	}
}

// Every response schema of the excerpt compiles: the library reads the
// official documents whole, so a failure later is the answer's, not ours.
func TestEveryOfficialResponseSchemaCompiles(t *testing.T) {
	for name, d := range subset(t) {
		for _, op := range d.Operations() {
			method, tmpl, _ := strings.Cut(op, " ")
			for _, status := range []int{200, 201, 202, 204, 400, 401, 403, 404, 500} {
				r, ptr, err := d.response(method, tmpl, status)
				if errors.Is(err, ErrNoSchema) {
					continue
				}
				if err != nil {
					t.Fatalf("%s %s %d: %v", name, op, status, err)
				}
				content, _ := r["content"].(map[string]any)
				for mt, v := range content {
					if m, _ := v.(map[string]any); m["schema"] != nil {
						if _, err := d.compile(ptr + "/content/" + escape(mt) + "/schema"); err != nil {
							t.Errorf("%s %s %d %s: %v", name, op, status, mt, err)
						}
					}
				}
			}
		}
	}
}

func TestTemplatePrefersLiteralSegments(t *testing.T) {
	d, err := Parse("t.json", []byte(`{"openapi":"3.1.0","paths":{"/v3/a/{id}":{},"/v3/a/now":{},"/v3/b":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/v3/a/now": "/v3/a/now", "/v3/a/7": "/v3/a/{id}", "/v3/b": "/v3/b", "/v3/c": ""} {
		if got, _ := d.Template(path); got != want {
			t.Errorf("Template(%s) = %q, want %q", path, got, want)
		}
	}
	if _, err := Parse("old.json", []byte(`{"openapi":"3.0.3"}`)); err == nil {
		t.Error("a 3.0 document parsed")
	}
}

// With nullableAsTypes, a null the excerpt allows with OpenAPI 3.0's
// "nullable" passes; read as written, it does not.
func TestParseSubsetNullableAsTypes(t *testing.T) {
	data := []byte(`{"files":{"f.json":{"openapi":"3.1.0","paths":{"/v3/x":{"get":{"responses":{"200":{"description":"",
		"content":{"application/json":{"schema":{"type":"object","properties":{"subject":{"type":"string","nullable":true}}}}}}}}}}}}}`)
	for _, tt := range []struct {
		rewrite bool
		wantErr bool
	}{{true, false}, {false, true}} {
		docs, err := ParseSubset(data, tt.rewrite)
		if err != nil {
			t.Fatal(err)
		}
		err = docs["f.json"].Validate("GET", "/v3/x", 200, "application/json", []byte(`{"subject":null}`))
		if (err != nil) != tt.wantErr {
			t.Errorf("nullableAsTypes %v: Validate = %v, want error %v", tt.rewrite, err, tt.wantErr)
		}
	}
}
