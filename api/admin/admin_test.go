package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/dispatch"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/store"
)

func TestAdminClock(t *testing.T) {
	db := testrig.OpenStore(t)
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	acct := store.Account{Username: "a"}
	if err := db.CreateAccount(t.Context(), &acct); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(t.Context(), func(tx store.Tx) error {
		for _, d := range []time.Duration{time.Hour, 2 * time.Hour} {
			s := &store.Send{AccountID: acct.ID, ObjectID: fmt.Sprint("00000000-0000-4000-8000-00000000000", int(d.Hours())),
				SendDate: t0.Add(d), Status: store.StatusScheduled}
			if err := tx.InsertSend(t.Context(), s); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	m := clock.NewManual(t0)
	d := dispatch.New(dispatch.Config{Store: db, Clock: m, Policy: lifecycle.DefaultPolicy})
	d.Follow(t.Context(), m)
	mux := http.NewServeMux()
	New("s3cret", m, d).Mount(mux)
	h := mux

	cases := []struct {
		name, method, body, token string
		wantCode                  int
		wantNow                   time.Time
		wantCompleted             int64
		wantErr                   string
	}{
		{"no token", "GET", "", "", 401, time.Time{}, 0, "bearer token"},
		{"wrong token", "GET", "", "nope", 401, time.Time{}, 0, "bearer token"},
		{"get", "GET", "", "s3cret", 200, t0, 0, ""},
		{"advance 90m dispatches the first", "POST", `{"advance": "90m"}`, "s3cret", 200, t0.Add(90 * time.Minute), 1, ""},
		{"set dispatches the second", "POST", `{"set": "2026-05-01T12:00:00Z"}`, "s3cret", 200, t0.Add(4 * time.Hour), 1, ""},
		{"set backwards", "POST", `{"set": "2026-05-01T08:30:00+00:00"}`, "s3cret", 200, t0.Add(30 * time.Minute), 0, ""},
		{"both", "POST", `{"set": "2026-05-01T12:00:00Z", "advance": "1h"}`, "s3cret", 400, time.Time{}, 0, "exactly one"},
		{"neither", "POST", `{}`, "s3cret", 400, time.Time{}, 0, "exactly one"},
		{"bad duration", "POST", `{"advance": "soon"}`, "s3cret", 400, time.Time{}, 0, "advance"},
		{"bad time", "POST", `{"set": "tomorrow"}`, "s3cret", 400, time.Time{}, 0, "set"},
		{"unknown field", "POST", `{"rewind": "1h"}`, "s3cret", 400, time.Time{}, 0, "body must be"},
		{"method", "DELETE", "", "s3cret", 405, time.Time{}, 0, "GET or POST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "/admin/clock", strings.NewReader(c.body))
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.wantCode || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			var got struct {
				Now        string
				Error      string
				Dispatched *dispatchCounts
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if c.wantErr != "" {
				if !strings.Contains(got.Error, c.wantErr) {
					t.Errorf("error %q, want it to mention %q", got.Error, c.wantErr)
				}
				return
			}
			now, err := time.Parse(time.RFC3339Nano, got.Now)
			if err != nil || !now.Equal(c.wantNow) {
				t.Errorf("now %q, want %v", got.Now, c.wantNow)
			}
			if c.method == "POST" && (got.Dispatched == nil || got.Dispatched.Completed != c.wantCompleted) {
				t.Errorf("dispatched %+v, want %d completed", got.Dispatched, c.wantCompleted)
			}
		})
	}
}

// TestAdminRoutes: the token is checked before anything else, so a client
// without it learns nothing of the routes; with it, unknown paths are the
// face's JSON 404.
func TestAdminRoutes(t *testing.T) {
	mux := http.NewServeMux()
	New("s3cret", clock.NewManual(time.Now()), nil).Mount(mux)
	cases := []struct {
		method, path, token string
		want                int
		wantErr             string
	}{
		{"GET", "/nowhere", "", 401, "bearer token"},
		{"GET", "/nowhere", "s3cret", 404, "no such admin endpoint"},
		{"GET", "/admin/clock/", "s3cret", 404, "no such admin endpoint"},
		{"PUT", "/admin/clock", "", 401, "bearer token"},
		{"PUT", "/admin/clock", "s3cret", 405, "use GET or POST"},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		var got struct{ Error string }
		json.Unmarshal(rec.Body.Bytes(), &got)
		if rec.Code != c.want || !strings.Contains(got.Error, c.wantErr) || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s (token %q): %d %s", c.method, c.path, c.token, rec.Code, rec.Body)
		}
	}
}
