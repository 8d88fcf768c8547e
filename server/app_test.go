package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/credential"
)

// TestAppRunsAndShutsDown builds the whole server under a manual clock,
// serves the public faces on one listener and the admin face on its own,
// then ends Run's context: Run returns once the server has shut down, and
// the admin face's exchange is in the request log with its face, method
// and path, without its bearer token.
func TestAppRunsAndShutsDown(t *testing.T) {
	credential.DefaultIterations = 1000
	f := newFixture(t)
	app, err := NewApp(AppConfig{Config: Config{Store: f.db, Clock: f.clock, Sealer: f.sealer, Policy: f.policy, Version: "test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AsyncRequestLog: true},
		AdminAddr: "127.0.0.1:0", AdminToken: "adm1n-token", HousekeepEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- app.Run(ctx, ln) }()

	resp, err := http.Post("http://"+ln.Addr().String()+"/Service.asmx", "text/xml; charset=utf-8", strings.NewReader(textEnvelope("alice", "alice-pw", performVI)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("SOAP through Run: HTTP %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", "http://"+app.AdminAddr()+"/admin/clock", strings.NewReader(`{"advance":"1h"}`))
	req.Header.Set("Authorization", "Bearer adm1n-token")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"now":"2026-01-15T13:00:00Z"`) {
		t.Fatalf("admin clock move: HTTP %d %s", resp.StatusCode, body)
	}

	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	// Run drained the asynchronous log before returning.
	logged, err := f.db.RecentRequests(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	faces := map[string]bool{}
	for _, e := range logged {
		faces[e.Face+" "+e.Method+" "+e.Path] = true
		full, _ := f.db.RequestByID(t.Context(), e.RequestID)
		if strings.Contains(full.Request+full.Response+full.Detail, "adm1n-token") {
			t.Errorf("the admin token is in the log: %+v", full)
		}
	}
	if !faces["soap POST /Service.asmx"] || !faces["admin POST /admin/clock"] || len(logged) != 2 {
		t.Errorf("logged %v, want the SOAP and the admin exchange", faces)
	}
	if _, err := net.Dial("tcp", app.AdminAddr()); err == nil {
		t.Error("the admin listener still accepts after Run returned")
	}
}
