package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/loadgen"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/server"
)

// benchServer serves the real wiring (server.New) over a fresh store (the
// one PARTNERD_TEST_STORE picks) with one account, as "partnerd serve"
// does.
func benchServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db := testrig.OpenStore(t, testrig.InDir(dir), testrig.File("bench.db"))
	sealer, err := credential.LoadOrCreateKey(filepath.Join(dir, "bench.db.key"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := newAccount("bencher", "bench-pw", 7000001, sealer)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAccount(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Config{
		Store: db, Clock: clock.System{}, Sealer: sealer, Policy: lifecycle.DefaultPolicy,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test",
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/Service.asmx"
}

func TestBenchAgainstServer(t *testing.T) {
	url := benchServer(t)
	tests := []struct {
		workload string
		extra    []string
	}{
		{"cancel", []string{"--prepare", "30"}},
		{"cancel", []string{"--prepare", "30", "--digest"}},
		{"cancel-batch", []string{"--prepare", "30", "--batch", "10"}},
		{"retrieve", []string{"--prepare", "5"}},
		{"wsdl", nil},
	}
	for _, tt := range tests {
		t.Run(tt.workload+strings.Join(tt.extra, ""), func(t *testing.T) {
			args := append([]string{"bench", "--url", url, "--username", "bencher", "--password", "bench-pw",
				"--workload", tt.workload, "--concurrency", "4", "--requests", "20", "--json", "--quiet"}, tt.extra...)
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("bench: %v\n%s", err, stderr.String())
			}
			var got struct {
				loadgen.Result
				Prepared int `json:"prepared"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
			}
			if got.Requests != 20 || got.OK != 20 || got.Errors != 0 {
				t.Errorf("%d requests, %d OK, errors %v %v", got.Requests, got.OK, got.ErrorsByKind, got.ErrorSamples)
			}
			if got.Latency.P99 <= 0 || got.Latency.Max < got.Latency.P99 {
				t.Errorf("latency %+v", got.Latency)
			}
		})
	}
}

func TestBenchReportsFailures(t *testing.T) {
	url := benchServer(t)
	// A wrong password: every request is a SOAP fault, the report says so
	// and the command fails.
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"bench", "--url", url, "--username", "bencher", "--password", "wrong",
		"--ids", "1-10", "--concurrency", "2", "--requests", "4", "--quiet"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "none of 4 requests succeeded") {
		t.Fatalf("err = %v", err)
	}
	out := stdout.String()
	for _, want := range []string{"4 errors", "soap_fault 4", "Login failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench"},
		{"bench", "--url", "http://127.0.0.1:1/x", "--ids", "5-1"},
		{"bench", "--url", "http://127.0.0.1:1/x", "--ids", "1-5", "--prepare", "3"},
		{"bench", "--url", "http://127.0.0.1:1/x", "--workload", "dance"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v did not fail", args)
		}
	}
}
