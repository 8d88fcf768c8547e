package sendgrid

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/internal/oascheck"
	"github.com/partnerd/partnerd/marketing"
)

// GET /v3/openapi.json needs no key, is JSON, carries the rate headers and
// is the embedded document; any other method on it still needs a key.
func TestOpenAPIServed(t *testing.T) {
	rg := newRig(nil)
	for _, tt := range []struct {
		name, method, token string
		status              int
	}{
		{"no key", http.MethodGet, "", http.StatusOK},
		{"with a key", http.MethodGet, rg.full, http.StatusOK},
		{"a key with mail.send only", http.MethodGet, rg.keyWith(1, "mail.send"), http.StatusOK},
		{"a wrong key is not even read", http.MethodGet, "SG.wrong", http.StatusOK},
		{"POST without a key", http.MethodPost, "", http.StatusUnauthorized},
		{"POST with a key", http.MethodPost, rg.full, http.StatusMethodNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := rg.do(tt.method, "/v3/openapi.json", tt.token, "")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("X-RateLimit-Limit") == "" {
				t.Errorf("headers %v", rec.Header())
			}
			if tt.status == http.StatusOK && !bytes.Equal(rec.Body.Bytes(), OpenAPI()) {
				t.Error("the body is not the embedded document")
			}
		})
	}
}

// The document declares exactly what the route table serves (with the
// marketing routes), method by method, and the scope each operation needs
// (x-partnerd-scope).
func TestOpenAPIDeclaresTheRoutes(t *testing.T) {
	doc, err := oascheck.Parse("openapi.json", OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	declared := doc.Operations()
	h := New(Config{Marketing: &marketing.Service{}})
	var served []string
	for _, rt := range h.routeTable() {
		for m := range rt.methods {
			served = append(served, m+" "+rt.pattern)
		}
	}
	slices.Sort(served)
	for _, op := range served {
		if !slices.Contains(declared, op) {
			t.Errorf("%s is served but not in openapi.json", op)
		}
	}
	for _, op := range declared {
		if !slices.Contains(served, op) && op != "GET /v3/openapi.json" {
			t.Errorf("%s is in openapi.json but not served", op)
		}
	}
	scopes := scopesOf(t, OpenAPI())
	for _, rt := range h.routeTable() {
		for m, ep := range rt.methods {
			if got := scopes[m+" "+rt.pattern]; got != ep.scope {
				t.Errorf("%s %s: x-partnerd-scope %q, the route needs %q", m, rt.pattern, got, ep.scope)
			}
		}
	}
}

// scopesOf reads each operation's x-partnerd-scope ("" for none).
func scopesOf(t *testing.T, doc []byte) map[string]string {
	t.Helper()
	var d struct {
		Paths map[string]map[string]struct {
			Scope string `json:"x-partnerd-scope"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for path, ops := range d.Paths {
		for m, op := range ops {
			out[strings.ToUpper(m)+" "+path] = op.Scope
		}
	}
	return out
}
