package replay

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/golden"
	"github.com/partnerd/partnerd/internal/ids"
	"github.com/partnerd/partnerd/server"
)

const goldenDir = "../../testdata/golden"

// goldenApp starts the whole server over the fixture a case's set-up lines
// built, as the server's golden test does, but listening: the public face
// on a loopback port and the manual clock's admin face on another. It
// returns the public URL and the admin endpoint.
func goldenApp(t *testing.T, f *golden.Fixture) (string, *Admin) {
	return goldenAppWith(t, f, nil)
}

// goldenAppWith is goldenApp with the server's IDs drawn from source
// (nil: random).
func goldenAppWith(t *testing.T, f *golden.Fixture, source ids.Source) (string, *Admin) {
	t.Helper()
	app, err := server.NewApp(server.AppConfig{Config: server.Config{Store: f.Store, Clock: f.Clock, Sealer: f.Sealer,
		Policy: f.Policy, Version: "test", SendGridRate: f.SendGridRate, IDs: source,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnDue: func() {}},
		AdminAddr: "127.0.0.1:0", AdminToken: "replay-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	return srv.URL, &Admin{URL: "http://" + app.AdminAddr(), Token: app.AdminToken()}
}

// TestReplayGoldenCases replays every golden case of the project over
// HTTP against a fresh server and compares each answer with its .golden
// file byte for byte (nothing masked but the ID numbering the files
// have): replay reproduces the harness's requests, placeholders and clock
// moves exactly.
func TestReplayGoldenCases(t *testing.T) {
	credential.DefaultIterations = 1000
	sources, err := Load(goldenDir, DefaultSOAPPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) < 40 {
		t.Fatalf("only %d golden cases in %s", len(sources), goldenDir)
	}
	for _, src := range sources {
		t.Run(src.Name, func(t *testing.T) {
			t.Parallel()
			// The store is seeded before the server starts, as the
			// harness does (policy and rate lines configure the server).
			f := golden.NewFixture(t)
			for _, line := range src.Case.Setup {
				f.Apply(line)
			}
			url, admin := goldenApp(t, f)
			var out bytes.Buffer
			rep := Run(context.Background(), Options{URL: url, Admin: admin, Expect: goldenDir,
				Setup: func(string) error { return nil }, Out: &out, Log: &out}, []Source{src})
			if rep.Requests != len(src.Case.Exchanges) || len(rep.Failures) > 0 {
				t.Errorf("%d of %d requests replayed, failures:\n%v\n%s", rep.Requests, len(src.Case.Exchanges), rep.Failures, out.String())
			}
		})
	}
}

// TestReplayDeterministic records every golden case against a fresh
// deterministic server (seeded IDs, the manual clock) and replays it with
// --expect against another one, masking nothing (no times, no names; only
// the ID numbering every comparison applies): the same requests get the
// same answers, run after run.
func TestReplayDeterministic(t *testing.T) {
	credential.DefaultIterations = 1000
	sources, err := Load(goldenDir, DefaultSOAPPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range sources {
		t.Run(src.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for i, opts := range []Options{{RecordTo: dir, Expect: goldenDir}, {Expect: dir}} {
				f := golden.NewFixture(t)
				for _, line := range src.Case.Setup {
					f.Apply(line)
				}
				opts.URL, opts.Admin = goldenAppWith(t, f, ids.Seeded(42))
				opts.Setup = func(string) error { return nil }
				var out bytes.Buffer
				opts.Out, opts.Log = &out, &out
				rep := Run(context.Background(), opts, []Source{src})
				if rep.Requests != len(src.Case.Exchanges) || len(rep.Failures) > 0 {
					t.Fatalf("run %d: %d of %d requests replayed, failures:\n%v\n%s", i+1, rep.Requests, len(src.Case.Exchanges), rep.Failures, out.String())
				}
			}
		})
	}
}

// TestRecordThenExpect: what --record writes, --expect accepts on a
// second run against another fresh server.
func TestRecordThenExpect(t *testing.T) {
	credential.DefaultIterations = 1000
	src, err := Load(filepath.Join(goldenDir, "030_create.txt"), DefaultSOAPPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, opts := range []Options{{RecordTo: dir}, {Expect: dir}} {
		f := golden.NewFixture(t)
		for _, line := range src[0].Case.Setup {
			f.Apply(line)
		}
		opts.URL, opts.Admin = goldenApp(t, f)
		opts.Setup = func(string) error { return nil }
		if opts.Expect == "" {
			opts.Out = io.Discard
			// Recording is not comparing: non-2xx answers are failures
			// only when printed, so give it an Expect of its own.
			opts.Expect = goldenDir
		}
		var out bytes.Buffer
		opts.Out = &out
		rep := Run(context.Background(), opts, src)
		if len(rep.Failures) > 0 {
			t.Fatalf("run %d: %v\n%s", i+1, rep.Failures, out.String())
		}
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, "030_create.golden")), "=== response 1\nHTTP 200") {
		t.Errorf("recorded file lacks its first answer")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
