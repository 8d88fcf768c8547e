package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeREST is a SendGrid v3 face that keeps the batch holds the sg-hold
// workload flips and refuses what the real face refuses: a second pause, a
// DELETE without one, a wrong key.
type fakeREST struct {
	mu      sync.Mutex
	batches map[string]bool // batch → paused
	sends   int
	next    int
	bad     []string
}

func (f *fakeREST) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"errors":[{"field":null,"message":%q}]}`, msg)
	}
	if r.Header.Get("Authorization") != "Bearer SG.k.s" {
		fail(401, "authorization required")
		return
	}
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.Method == "POST" && r.URL.Path == "/v3/mail/batch":
		f.next++
		id := fmt.Sprintf("batch%d", f.next)
		f.batches[id] = false
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"batch_id":%q}`, id)
	case r.Method == "POST" && r.URL.Path == "/v3/mail/send":
		var m struct {
			SendAt  int64  `json:"send_at"`
			BatchID string `json:"batch_id"`
		}
		if err := json.Unmarshal(body, &m); err != nil || m.SendAt < time.Now().Unix() {
			f.bad = append(f.bad, "mail/send body: "+string(body))
		}
		f.sends++
		w.WriteHeader(202)
	case r.Method == "POST" && r.URL.Path == "/v3/user/scheduled_sends":
		var m struct{ BatchID, Status string }
		json.Unmarshal(body, &m)
		m.BatchID = jsonField(body, "batch_id")
		paused, ok := f.batches[m.BatchID]
		switch {
		case !ok:
			fail(400, "invalid batch id")
		case paused:
			fail(400, "a status for this batch id exists, try PATCH to update the status")
		default:
			f.batches[m.BatchID] = true
			w.WriteHeader(201)
			w.Write(body)
		}
	case r.Method == "DELETE" && strings.HasPrefix(r.URL.Path, "/v3/user/scheduled_sends/"):
		id := strings.TrimPrefix(r.URL.Path, "/v3/user/scheduled_sends/")
		if !f.batches[id] {
			fail(404, "batch id not found")
			return
		}
		f.batches[id] = false
		w.WriteHeader(204)
	default:
		fail(404, "not found")
	}
}

func jsonField(body []byte, name string) string {
	var m map[string]any
	json.Unmarshal(body, &m)
	s, _ := m[name].(string)
	return s
}

func TestRESTWorkloads(t *testing.T) {
	f := &fakeREST{batches: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	endpoint := srv.URL + "/Service.asmx" // the REST face is served beside it
	ctx := context.Background()

	batches, err := PrepareBatches(ctx, nil, endpoint, "SG.k.s", 6)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 6 || f.sends != 6 {
		t.Fatalf("prepared %d batches with %d sends, want 6 and 6", len(batches), f.sends)
	}

	tests := []struct {
		name    string
		cfg     Config
		wantOK  int64
		wantErr string
	}{
		{"sg-send", Config{Workload: SGSend, APIKey: "SG.k.s", Concurrency: 2, Requests: 20}, 20, ""},
		// 3 clients × 2 batches each; 30 requests alternate pause and
		// DELETE on each batch, so the real face's refusals never fire.
		{"sg-hold", Config{Workload: SGHold, APIKey: "SG.k.s", Concurrency: 3, Requests: 30, Batches: batches}, 30, ""},
		{"wrong key", Config{Workload: SGSend, APIKey: "SG.bad.key", Concurrency: 1, Requests: 3}, 0, ""},
		{"no key", Config{Workload: SGSend, Concurrency: 1, Requests: 1}, 0, "needs an API key"},
		{"too few batches", Config{Workload: SGHold, APIKey: "SG.k.s", Concurrency: 8, Requests: 1, Batches: batches}, 0, "at least one batch per client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.URL = endpoint
			res, err := Run(ctx, tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run = %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != tt.wantOK || res.Requests != tt.cfg.Requests {
				t.Fatalf("OK %d of %d, want %d of %d; errors %v", res.OK, res.Requests, tt.wantOK, tt.cfg.Requests, res.ErrorSamples)
			}
			if tt.wantOK == 0 && res.ErrorsByKind[KindHTTPStatus] != res.Requests {
				t.Fatalf("errors by kind %v, want every request an HTTP status problem", res.ErrorsByKind)
			}
		})
	}
	if len(f.bad) > 0 {
		t.Fatalf("the server saw bad requests: %v", f.bad)
	}
}

func TestCheckRESTQuotesTheFirstError(t *testing.T) {
	p := CheckREST(201, 400, []byte(`{"errors":[{"field":"","message":"max limit reached"}]}`))
	if p == nil || p.Kind != KindHTTPStatus || p.Detail != "HTTP 400: max limit reached" {
		t.Fatalf("CheckREST = %+v", p)
	}
	if p := CheckREST(204, 204, nil); p != nil {
		t.Fatalf("CheckREST(204, 204) = %+v", p)
	}
}
