package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/internal/xsdcheck"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The golden cases live in ../testdata/golden: NAME.txt holds the set-up
// and one or more requests, NAME.golden the expected responses, byte for
// byte but for GUIDs, which are numbered in order of appearance.
//
// Set-up lines (before the first request):
//
//	clock 2011-03-24T15:23:47Z
//	account USER PASSWORD CLIENTID [disabled]
//	send USER key=value … (id, senddate, status, customerkey, email, lists, sentdate)
//	sends USER count=N senddate=…
//	policy cutoff=10m held=100
//
// Every case starts with the accounts XXX/XXX (client 10001), alice/alice-pw
// (1001) and bob/bob-pw (1002). Times may be absolute or relative to the
// clock ("+2h", "-5m"). A request starts with "=== METHOD PATH [advance=D]",
// then HTTP headers, a blank line and the body. In bodies, {{NOW}} and
// {{NOW+D}} give clock times, {{DIGEST:password}} the PasswordDigest of the
// request's Nonce and Created, and {{REQUEST_ID}} the RequestID of the
// previous response.

const goldenDir = "../testdata/golden"

func TestGolden(t *testing.T) {
	credential.DefaultIterations = 1000
	if err := xsdcheck.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("schema validation unavailable: %v", err)
		}
		t.Logf("responses will not be schema-validated: %v", err)
	}
	cases, err := filepath.Glob(filepath.Join(goldenDir, "*.txt"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases in %s (%v)", goldenDir, err)
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".txt")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runGolden(t, path)
		})
	}
}

type goldenRequest struct {
	method, path string
	advance      time.Duration
	header       http.Header
	body         string
}

type goldenCase struct {
	setup    []string
	requests []goldenRequest
}

func parseGolden(t *testing.T, path string) goldenCase {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c goldenCase
	parts := strings.Split(string(raw), "\n=== ")
	for _, line := range strings.Split(parts[0], "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			c.setup = append(c.setup, line)
		}
	}
	for _, p := range parts[1:] {
		head, rest, _ := strings.Cut(p, "\n")
		f := strings.Fields(head)
		if len(f) < 2 {
			t.Fatalf("bad request line %q", head)
		}
		r := goldenRequest{method: f[0], path: f[1], header: http.Header{}}
		for _, kv := range f[2:] {
			if v, ok := strings.CutPrefix(kv, "advance="); ok {
				r.advance, err = time.ParseDuration(v)
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		hdrs, body, _ := strings.Cut(rest, "\n\n")
		for _, h := range strings.Split(hdrs, "\n") {
			if k, v, ok := strings.Cut(h, ":"); ok {
				r.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		r.body = strings.TrimRight(body, "\n")
		c.requests = append(c.requests, r)
	}
	return c
}

// fixture is one case's server.
type fixture struct {
	t        *testing.T
	db       store.Store
	clock    *clock.Manual
	sealer   *credential.Sealer
	policy   lifecycle.Policy
	accounts map[string]store.Account
	sends    int
}

func newFixture(t *testing.T) *fixture {
	clk := clock.NewManual(time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC))
	db := testrig.OpenStore(t)
	sealer, err := credential.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, sealer: sealer, policy: lifecycle.DefaultPolicy,
		clock: clk, accounts: map[string]store.Account{}}
	f.addAccount("XXX", "XXX", 10001, false)
	f.addAccount("alice", "alice-pw", 1001, false)
	f.addAccount("bob", "bob-pw", 1002, false)
	return f
}

func (f *fixture) addAccount(user, pw string, clientID int64, disabled bool) {
	hash, err := credential.Hash(pw)
	if err != nil {
		f.t.Fatal(err)
	}
	a := store.Account{Username: user, ClientID: clientID, PasswordHash: hash, PasswordSealed: f.sealer.Seal(pw), Disabled: disabled}
	if err := f.db.CreateAccount(context.Background(), &a); err != nil {
		f.t.Fatal(err)
	}
	f.accounts[user] = a
}

// when parses an absolute time or one relative to the clock.
func (f *fixture) when(v string) time.Time {
	if strings.HasPrefix(v, "+") || strings.HasPrefix(v, "-") {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.t.Fatalf("bad relative time %q", v)
		}
		return f.clock.Now().Add(d)
	}
	tm, err := time.Parse(time.RFC3339, v)
	if err != nil {
		f.t.Fatalf("bad time %q", v)
	}
	return tm.UTC()
}

func (f *fixture) apply(line string) {
	t := f.t
	fields := strings.Fields(line)
	kv := map[string]string{}
	for _, p := range fields[1:] {
		if k, v, ok := strings.Cut(p, "="); ok {
			kv[k] = v
		}
	}
	switch fields[0] {
	case "clock":
		f.clock.Set(f.when(fields[1]))
	case "account":
		id, _ := strconv.ParseInt(fields[3], 10, 64)
		f.addAccount(fields[1], fields[2], id, len(fields) > 4 && fields[4] == "disabled")
	case "policy":
		if v, ok := kv["cutoff"]; ok {
			f.policy.CancelCutoff, _ = time.ParseDuration(v)
		}
		if v, ok := kv["held"]; ok {
			f.policy.HeldLimit, _ = strconv.Atoi(v)
		}
	case "send", "sends":
		acct, ok := f.accounts[fields[1]]
		if !ok {
			t.Fatalf("unknown account in %q", line)
		}
		count := 1
		if v, ok := kv["count"]; ok {
			count, _ = strconv.Atoi(v)
		}
		err := f.db.Update(context.Background(), func(tx store.Tx) error {
			for i := 0; i < count; i++ {
				now := f.clock.Now()
				f.sends++
				s := &store.Send{AccountID: acct.ID, ObjectID: fmt.Sprintf("00000000-0000-4000-8000-%012d", f.sends),
					EmailID: 100, ListIDs: []int64{200}, SendDate: now.Add(2 * time.Hour), Status: store.StatusScheduled,
					CreatedDate: now, ModifiedDate: now, StatusChangedAt: now}
				for k, v := range kv {
					switch k {
					case "id":
						s.ID, _ = strconv.ParseInt(v, 10, 64)
					case "objectid":
						s.ObjectID = v
					case "senddate":
						s.SendDate = f.when(v)
					case "sentdate":
						s.SentDate = f.when(v)
					case "status":
						s.Status = store.SendStatus(v)
					case "customerkey":
						s.CustomerKey = v
					case "email":
						s.EmailID, _ = strconv.ParseInt(v, 10, 64)
					case "subject":
						s.Subject = v
					case "lists":
						s.ListIDs = nil
						for _, l := range strings.Split(v, ",") {
							n, _ := strconv.ParseInt(l, 10, 64)
							s.ListIDs = append(s.ListIDs, n)
						}
					}
				}
				if err := tx.InsertSend(context.Background(), s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	default:
		t.Fatalf("unknown set-up line %q", line)
	}
}

var (
	guidRE      = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	nowRE       = regexp.MustCompile(`\{\{NOW([+-][0-9a-z.]+)?\}\}`)
	digestRE    = regexp.MustCompile(`\{\{DIGEST:([^}]*)\}\}`)
	nonceRE     = regexp.MustCompile(`<(?:\w+:)?Nonce[^>]*>([^<]*)<`)
	createdRE   = regexp.MustCompile(`<(?:\w+:)?UsernameToken[\s\S]*?<(?:\w+:)?Created[^>]*>([^<]*)<`)
	requestIDRE = regexp.MustCompile(`<RequestID>([^<]*)</RequestID>`)
)

func (f *fixture) expand(body, lastRequestID string) string {
	body = nowRE.ReplaceAllStringFunc(body, func(m string) string {
		d := time.Duration(0)
		if sub := nowRE.FindStringSubmatch(m); sub[1] != "" {
			var err error
			if d, err = time.ParseDuration(sub[1]); err != nil {
				f.t.Fatalf("bad %s", m)
			}
		}
		return f.clock.Now().Add(d).Format(time.RFC3339)
	})
	body = strings.ReplaceAll(body, "{{REQUEST_ID}}", lastRequestID)
	return digestRE.ReplaceAllStringFunc(body, func(m string) string {
		pw := digestRE.FindStringSubmatch(m)[1]
		nonce, created := nonceRE.FindStringSubmatch(body), createdRE.FindStringSubmatch(body)
		if nonce == nil || created == nil {
			f.t.Fatalf("{{DIGEST}} needs a Nonce and a Created in the request")
		}
		n, err := base64.StdEncoding.DecodeString(nonce[1])
		if err != nil {
			f.t.Fatal(err)
		}
		h := sha1.New()
		h.Write(n)
		io.WriteString(h, created[1])
		io.WriteString(h, pw)
		return base64.StdEncoding.EncodeToString(h.Sum(nil))
	})
}

func runGolden(t *testing.T, path string) {
	c := parseGolden(t, path)
	f := newFixture(t)
	for _, line := range c.setup {
		f.apply(line)
	}
	// The whole server, as serve builds it: every clock move ("advance=")
	// runs the sends it makes due, as with --clock manual. A send made due
	// by a request waits for the next move (OnDue does nothing) rather
	// than racing the next request: the answers are then the same every run.
	app, err := NewApp(AppConfig{Config: Config{Store: f.db, Clock: f.clock, Sealer: f.sealer, Policy: f.policy, Version: "test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnDue: func() {}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	h := app.Handler()

	guids := map[string]string{}
	normalize := func(s string) string {
		return guidRE.ReplaceAllStringFunc(s, func(g string) string {
			g = strings.ToLower(g)
			if _, ok := guids[g]; !ok {
				guids[g] = fmt.Sprintf("00000000-0000-0000-0000-%012d", len(guids)+1)
			}
			return guids[g]
		})
	}

	var out bytes.Buffer
	lastRequestID := ""
	for i, r := range c.requests {
		if r.advance != 0 {
			f.clock.Advance(r.advance)
		}
		req := httptest.NewRequest(r.method, "http://partnerd.test"+r.path, strings.NewReader(f.expand(r.body, lastRequestID)))
		req.Header = r.header.Clone()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if m := requestIDRE.FindStringSubmatch(body); m != nil {
			lastRequestID = m[1]
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/xml") || strings.HasPrefix(rec.Header().Get("Content-Type"), "application/soap+xml") {
			if err := xsdcheck.Available(); err == nil && strings.Contains(body, "Envelope") {
				if err := xsdcheck.ValidateEnvelope(rec.Body.Bytes()); err != nil {
					t.Errorf("response %d is not valid against the reference schema: %v", i+1, err)
				}
			}
		}
		fmt.Fprintf(&out, "=== response %d\nHTTP %d\nContent-Type: %s\n\n%s\n", i+1, rec.Code, rec.Header().Get("Content-Type"), normalize(body))
	}

	golden := strings.TrimSuffix(path, ".txt") + ".golden"
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./server -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("responses differ from %s (go test ./server -update rewrites it):\n%s", golden, lineDiff(string(want), out.String()))
	}
}

// lineDiff shows the first differing line, with XML split at tags so that a
// one-line envelope still points at the element that changed.
func lineDiff(want, got string) string {
	split := func(s string) []string {
		var lines []string
		sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(s, "><", ">\n<")))
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		return lines
	}
	w, g := split(want), split(got)
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, wl, gl)
		}
	}
	return "(same lines, different bytes)"
}
