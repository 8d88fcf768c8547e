package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/store"
)

// TestRequestLogBounded sends bodies a stranger or a careless client would
// and reads what the request log kept: a request that never authenticated
// keeps at most an excerpt, a body that is not UTF-8 XML keeps only a
// description, an authenticated one is cut at logBodyMax, and no secret
// (by name, in any prefix) survives.
func TestRequestLogBounded(t *testing.T) {
	s := newHardened(t, Limits{})
	randomBytes := make([]byte, 1<<20)
	rand.Read(randomBytes)
	padding := func(n int) string {
		b := make([]byte, n*3/4)
		rand.Read(b)
		return "<!-- " + base64.StdEncoding.EncodeToString(b) + " -->"
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, textEnvelope("alice", "Gz1p-Secret", performVI))
	zw.Close()
	oauth := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><fueloauth xmlns="http://exacttarget.com">F0el-Token</fueloauth><x:oAuthToken xmlns:x="urn:x">0auth-Token</x:oAuthToken>` +
		`<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>alice</wsse:Username><wsse:Password>alice-pw</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>` +
		performVI + `</soap:Body></soap:Envelope>`

	// The fueloauth token is a live one of alice's (the oAuthToken in
	// another namespace is no token header): the token logs in.
	alice, err := s.f.db.AccountByUsername(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.f.db.CreateTokenClient(context.Background(), store.TokenClient{ID: "log-client", AccountID: alice.ID, SecretHash: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.f.db.InsertToken(context.Background(), store.IssuedToken{Hash: auth.HashToken("F0el-Token"), Kind: store.TokenAccess,
		ClientID: "log-client", AccountID: alice.ID, Expires: time.Now().Add(100 * 365 * 24 * time.Hour)}, time.Time{}); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name       string
		body       string
		status     int
		maxRequest int      // most bytes of Request kept
		note       string   // in RequestNote; "" wants none
		secrets    []string // must survive nowhere: the stored entry, nor the server's log lines
	}{
		{"random bytes, no credentials", string(randomBytes), 500, 0, "not UTF-8", nil},
		{"gzip, no credentials", gz.String(), 500, 0, "gzip-compressed data", []string{"Gz1p-Secret"}},
		{"large, wrong password", textEnvelope("alice", "Wr0ng-Secret", performVI+padding(1<<20)), 500, logExcerptMax,
			"cut at 2048 of", []string{"Wr0ng-Secret"}},
		{"unescaped ampersand in a password", textEnvelope("alice", "Amp&Tail-Secret", performVI), 500, logExcerptMax,
			"not well-formed XML at line 1", []string{"Amp", "Tail-Secret"}},
		{"OAuth tokens, authenticated", oauth, 200, len(oauth), "", []string{"F0el-Token", "0auth-Token", "alice-pw"}},
		{"large, authenticated", textEnvelope("alice", "alice-pw", performVI+padding(600<<10)), 200, logBodyMax,
			"cut at 262144 of", []string{"alice-pw"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := s.post(c.body)
			if rec.Code != c.status {
				t.Fatalf("HTTP %d, want %d: %.300s", rec.Code, c.status, rec.Body.String())
			}
			recent, err := s.f.db.RecentRequests(context.Background(), 1)
			if err != nil || len(recent) != 1 {
				t.Fatal(recent, err)
			}
			e := recent[0]
			if len(e.Request) > c.maxRequest {
				t.Errorf("%d bytes of the request kept, want at most %d", len(e.Request), c.maxRequest)
			}
			if e.RequestSize != int64(len(c.body)) {
				t.Errorf("RequestSize %d, want %d", e.RequestSize, len(c.body))
			}
			if c.note == "" && e.RequestNote != "" || !strings.Contains(e.RequestNote, c.note) {
				t.Errorf("RequestNote %q, want %q", e.RequestNote, c.note)
			}
			if strings.Contains(e.RequestNote, "cut") && c.status == 500 && !strings.Contains(e.RequestNote, "not authenticated") {
				t.Errorf("RequestNote %q does not say why so little is kept", e.RequestNote)
			}
			stored := e.Request + e.Response + e.Detail + s.logs.String()
			for _, secret := range c.secrets {
				if strings.Contains(stored, secret) {
					t.Errorf("%q survived in the log:\n%.2000s", secret, stored)
				}
			}
		})
	}
}

// TestRequestLogByteBudget logs more than the budget through a server
// whose housekeeper never runs: the log writer itself keeps the log within
// the budget and a slice.
func TestRequestLogByteBudget(t *testing.T) {
	credential.DefaultIterations = 1000
	f := newFixture(t)
	const budget = 256 << 10
	for _, async := range []bool{false, true} {
		srv := New(Config{Store: f.db, Clock: f.clock, Sealer: f.sealer, Policy: f.policy, Version: "test",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AsyncRequestLog: async, RequestLogMaxBytes: budget})
		for range 200 {
			b := make([]byte, 6<<10)
			rand.Read(b) // incompressible: stored as large as counted
			body := textEnvelope("alice", "alice-pw", performVI+"<!-- "+base64.StdEncoding.EncodeToString(b)+" -->")
			req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", strings.NewReader(body))
			req.Header.Set("Content-Type", "text/xml")
			srv.ServeHTTP(httptest.NewRecorder(), req)
		}
		srv.Close()
		es, err := f.db.RecentRequests(context.Background(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, e := range es {
			total += store.RequestLogSize(e)
		}
		t.Logf("async %v: %d exchanges, %d bytes kept of 200 × ~%d", async, len(es), total, store.RequestLogSize(es[0]))
		// Logged one by one, the log exceeds the budget by at most a
		// slice and the exchange that filled it. The background writer
		// adds a batch at a time, as many exchanges as came while it
		// pruned: bounded by asyncLogBytes, not by this test's few, so
		// only its order of magnitude is checked (unpruned, the log
		// would hold 200 × 10 KB, 8 budgets).
		// The store counts bodies packed, this test unpacked: the
		// envelope around the random text packs by a few per cent.
		limit := int64(budget+budget/logBudgetSlices+store.RequestLogSize(es[0])) * 11 / 10
		if async {
			limit = 2 * budget
		}
		if total > limit {
			t.Errorf("async %v: the log holds %d bytes, want at most %d", async, total, limit)
		}
	}
}
