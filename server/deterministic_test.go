package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/golden"
	"github.com/partnerd/partnerd/internal/ids"
)

// goldenRuns runs every golden case against fresh servers whose IDs come
// from src(), and returns each case's responses as written (not
// normalised), by case name.
func goldenRuns(t *testing.T, cases string, src func() ids.Source) map[string][]byte {
	var mu sync.Mutex
	got := map[string][]byte{}
	h := golden.Harness{
		Start: goldenServer,
		Fixture: func(t *testing.T) *golden.Fixture {
			f := golden.NewFixture(t)
			f.IDs = src()
			return f
		},
		Raw: func(_ *testing.T, name string, raw []byte) {
			mu.Lock()
			defer mu.Unlock()
			got[name] = raw
		},
	}
	if cases == "" {
		h.RunDir(t, goldenDir)
	} else {
		h.Run(t, filepath.Join(goldenDir, cases))
		mu.Lock()
		defer mu.Unlock()
	}
	return got
}

// TestDeterministicGoldenRepeats: the whole golden suite, twice, each case
// against a fresh store and a fresh deterministic server of one seed, gives
// byte-identical responses — RequestIDs, ObjectIDs, batch IDs, message
// IDs, API-key values, timestamps and rate-limit headers included.
func TestDeterministicGoldenRepeats(t *testing.T) {
	credential.DefaultIterations = 1000
	var runs [2]map[string][]byte
	for i := range runs {
		t.Run(fmt.Sprint("run", i+1), func(t *testing.T) {
			runs[i] = goldenRuns(t, "", func() ids.Source { return ids.Seeded(20260115) })
		})
	}
	if t.Failed() {
		return
	}
	if len(runs[0]) == 0 || len(runs[0]) != len(runs[1]) {
		t.Fatalf("runs recorded %d and %d cases", len(runs[0]), len(runs[1]))
	}
	for name, first := range runs[0] {
		if second := runs[1][name]; !bytes.Equal(first, second) {
			t.Errorf("%s: the second run answered differently:\n%s", name, golden.LineDiff(string(first), string(second)))
		}
	}
}

// The comparison above has teeth: the same case twice with random IDs
// differs (its RequestIDs at least).
func TestRandomIDsDifferBetweenRuns(t *testing.T) {
	credential.DefaultIterations = 1000
	const c = "030_create.txt"
	a := goldenRuns(t, c, ids.Random)
	b := goldenRuns(t, c, ids.Random)
	if len(a) != 1 || bytes.Equal(a["030_create"], b["030_create"]) {
		t.Fatalf("two random runs of %s recorded the same %d bytes", c, len(a["030_create"]))
	}
}

// A deterministic server says so: /readyz names the seed, the
// partnerd_deterministic gauge is 1, and its Date header is the server
// clock's; a normal one shows none of it.
func TestDeterministicIsVisible(t *testing.T) {
	for _, tc := range []struct {
		name      string
		src       ids.Source
		ready     string
		gauge     string
		clockDate bool
	}{
		{"random", nil, "ready\n", "partnerd_deterministic 0", false},
		{"seeded", ids.Seeded(42), "ready\ndeterministic: seed 42\n", "partnerd_deterministic 1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			app, err := NewApp(AppConfig{Config: Config{Store: f.db, Clock: f.clock, Sealer: f.sealer, IDs: tc.src,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}})
			if err != nil {
				t.Fatal(err)
			}
			defer app.Close()
			get := func(path string) *httptest.ResponseRecorder {
				rec := httptest.NewRecorder()
				app.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				return rec
			}
			if got := get("/readyz").Body.String(); got != tc.ready {
				t.Errorf("/readyz = %q, want %q", got, tc.ready)
			}
			if m := get("/metrics").Body.String(); !strings.Contains(m, "\n"+tc.gauge+"\n") {
				t.Errorf("/metrics has no line %q", tc.gauge)
			}
			date := get("/Service.asmx").Header().Get("Date")
			want := f.clock.Now().UTC().Format(http.TimeFormat)
			if (date == want) != tc.clockDate {
				t.Errorf("Date = %q (server clock %q), want the clock's: %v", date, want, tc.clockDate)
			}
		})
	}
}

// Polling /readyz or /metrics (a script waiting for the server, a
// scraper) does not shift the IDs the other requests get.
func TestDeterministicIgnoresPolls(t *testing.T) {
	credential.DefaultIterations = 1000
	create := func(polls int) string {
		f := newFixture(t)
		app, err := NewApp(AppConfig{Config: Config{Store: f.db, Clock: f.clock, Sealer: f.sealer, IDs: ids.Seeded(3),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnDue: func() {}}})
		if err != nil {
			t.Fatal(err)
		}
		defer app.Close()
		for i := range polls {
			path := []string{"/readyz", "/metrics", "/healthz"}[i%3]
			app.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
		}
		req := httptest.NewRequest(http.MethodPost, "/Service.asmx", strings.NewReader(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>alice</wsse:Username><wsse:Password>alice-pw</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body><CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Objects xsi:type="Send"><Email><ID>42</ID></Email><List><ID>7</ID></List></Objects></CreateRequest></soap:Body></soap:Envelope>`))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", "Create")
		rec := httptest.NewRecorder()
		app.Handler().ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), "<StatusCode>OK</StatusCode>") {
			t.Fatalf("Create failed:\n%s", rec.Body)
		}
		return rec.Body.String()
	}
	if quiet, polled := create(0), create(5); quiet != polled {
		t.Errorf("five polls changed the next answer:\n%s", golden.LineDiff(quiet, polled))
	}
}
