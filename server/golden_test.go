package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/golden"
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

// sendGridIDs number the SendGrid face's random IDs, which are not GUIDs,
// where they appear as IDs (a JSON string, an API key token, X-Message-Id),
// keeping their length (a 22-character member name such as
// "generate_plain_content", followed by its colon, is left alone): batch IDs (32 letters and digits) as
// batch000…N, key ids and X-Message-Ids (22 characters of base64url) as
// id000…N, key secrets (43) as secret000…N, the random token in a
// campaign's sends' CustomerKeys (16 hex digits) as token000…N.
// X-RateLimit-Reset is a real
// UNIX time (the rate limiter runs on the wall clock, never the manual
// one), so it is masked rather than numbered.
var sendGridIDs = []golden.Numbering{
	{Pattern: regexp.MustCompile(`"SG\.[A-Za-z0-9_-]{22}\.([A-Za-z0-9_-]{43})"`),
		Format: func(n int) string { return fmt.Sprintf("secret%037d", n) }},
	{Pattern: regexp.MustCompile(`"([A-Za-z0-9]{32})"`),
		Format: func(n int) string { return fmt.Sprintf("batch%027d", n) }},
	{Pattern: regexp.MustCompile(`(?:"|"SG\.|\nX-Message-Id: )([A-Za-z0-9_-]{22})(?:"[^:]|[.\n])`),
		Format: func(n int) string { return fmt.Sprintf("id%020d", n) },
		// OAuth2's "unsupported_grant_type" (130) has a 22-character id's
		// shape; no random id is lower-case letters and _ alone.
		Skip: regexp.MustCompile(`^[a-z_]+$`).MatchString},
	{Pattern: regexp.MustCompile(`campaign-[0-9]+-([0-9a-f]{16})-[0-9]+`),
		Format: func(n int) string { return fmt.Sprintf("token%011d", n) }},
	// The token endpoints' tokens (43 characters of base64url), as
	// accesstoken000…N.
	{Pattern: regexp.MustCompile(`"(?:access_token|accessToken|legacyToken|refreshToken)": "([A-Za-z0-9_-]{43})"`),
		Format: func(n int) string { return fmt.Sprintf("accesstoken%032d", n) }},
	{Pattern: regexp.MustCompile(`\nX-Ratelimit-Reset: ([0-9]+)\n`),
		Format: func(int) string { return "(unix seconds)" }},
}

// goldenServer builds the server a golden case runs against, from the
// fixture its set-up lines built: the whole server, as serve builds it.
// Every clock move ("advance=") runs the sends it makes due, as with
// --clock manual. A send made due by a request waits for the next move
// (OnDue does nothing) rather than racing the next request: the answers are
// then the same every run.
func goldenServer(t *testing.T, f *golden.Fixture) http.Handler {
	app, err := NewApp(AppConfig{Config: Config{Store: f.Store, Clock: f.Clock, Sealer: f.Sealer, Policy: f.Policy, Version: "test",
		SendGridRate: f.SendGridRate,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)), OnDue: func() {}}})
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
