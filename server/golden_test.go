package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/golden"
	"github.com/partnerd/partnerd/internal/goldencase"
	"github.com/partnerd/partnerd/internal/xsdcheck"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/store"
)

// The golden cases live in ../testdata/golden, in the format
// ../testdata/golden/README.md describes; internal/golden runs them.
// `go test ./server -run Golden -update` rewrites the .golden files.
const goldenDir = "../testdata/golden"

func TestGolden(t *testing.T) {
	credential.DefaultIterations = 1000
	if err := xsdcheck.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("schema validation unavailable: %v", err)
		}
		t.Logf("responses will not be schema-validated: %v", err)
	}
	golden.Harness{Start: goldenServer, Check: checkSchema, Numberings: sendGridIDs}.RunDir(t, goldenDir)
}

// sendGridIDs number the SendGrid face's IDs, which are not GUIDs
// (goldencase.SendGridIDs, shared with partnerd replay).
var sendGridIDs = goldencase.SendGridIDs

// goldenServer builds the server a golden case runs against, from the
// fixture its set-up lines built: the whole server, as serve builds it.
// Every clock move ("advance=") runs the sends it makes due, as with
// --clock manual. A send made due by a request waits for the next move
// (OnDue does nothing) rather than racing the next request: the answers are
// then the same every run.
func goldenServer(t *testing.T, f *golden.Fixture) http.Handler {
	app, err := NewApp(AppConfig{Config: Config{Store: f.Store, Clock: f.Clock, Sealer: f.Sealer, Policy: f.Policy, Version: "test",
		SendGridRate: f.SendGridRate, IDs: f.IDs,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnDue: func() {}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	return app.Handler()
}

// checkSchema validates every SOAP envelope answered against the
// reference schema, when the validator is available.
func checkSchema(t *testing.T, n int, rec *httptest.ResponseRecorder) {
	ct := rec.Header().Get("Content-Type")
	if !strings.HasPrefix(ct, "text/xml") && !strings.HasPrefix(ct, "application/soap+xml") {
		return
	}
	if err := xsdcheck.Available(); err == nil && strings.Contains(rec.Body.String(), "Envelope") {
		if err := xsdcheck.ValidateEnvelope(rec.Body.Bytes()); err != nil {
			t.Errorf("response %d is not valid against the reference schema: %v", n, err)
		}
	}
}

// fixture is the golden fixture under the names the server's other tests
// use (f.db, f.clock, f.apply …), so that they build their servers from
// the same seeded store as the golden cases.
type fixture struct {
	*golden.Fixture
	db     store.Store
	clock  *clock.Manual
	sealer *credential.Sealer
	policy lifecycle.Policy
}

func newFixture(t *testing.T) *fixture {
	g := golden.NewFixture(t)
	return &fixture{Fixture: g, db: g.Store, clock: g.Clock, sealer: g.Sealer, policy: g.Policy}
}

// apply applies a set-up line (golden.Fixture.Apply); a policy line
// changes f.policy too.
func (f *fixture) apply(line string) {
	f.Apply(line)
	f.policy = f.Policy
}
