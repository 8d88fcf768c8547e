package console_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/golden"
	"github.com/partnerd/partnerd/server"
	"github.com/partnerd/partnerd/store"
)

const opToken = "op-token-for-tests"

// env is the whole server (every face, the console among them) over a
// fixture store: accounts XXX, alice (alice-pw) and bob (bob-pw), the
// clock at 2026-01-15T12:00:00Z.
type env struct {
	t   *testing.T
	fix *golden.Fixture
	srv *httptest.Server
	h   http.Handler // the server's handler, for a listener of a test's own
}

func newEnv(t *testing.T, limits ...server.Limits) *env {
	t.Helper()
	credential.DefaultIterations = 1000
	fix := golden.NewFixture(t)
	cfg := server.Config{Store: fix.Store, Clock: fix.Clock, Sealer: fix.Sealer, Policy: fix.Policy,
		Logger: slog.New(slog.DiscardHandler), ConsoleToken: opToken}
	if len(limits) > 0 {
		cfg.Limits = limits[0]
	}
	h := server.New(cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); h.Close() })
	return &env{t: t, fix: fix, srv: srv, h: h}
}

func (e *env) apply(lines ...string) {
	for _, l := range lines {
		e.fix.Apply(l)
	}
}

func (e *env) account(name string) store.Account { return e.fix.Accounts[name] }

func (e *env) send(accountID, id int64) store.Send {
	e.t.Helper()
	var s store.Send
	err := e.fix.Store.View(context.Background(), func(tx store.Tx) error {
		var err error
		s, err = tx.SendByKey(context.Background(), accountID, store.SendKey{ID: id})
		return err
	})
	if err != nil {
		e.t.Fatalf("send %d of account %d: %v", id, accountID, err)
	}
	return s
}

// browser is a client with cookies that does not follow redirects, so
// that tests see them.
type browser struct {
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, body io.Reader, headers ...string) answer {
	b.e.t.Helper()
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(raw)}
}

func (b *browser) get(path string, headers ...string) answer {
	return b.do("GET", path, nil, headers...)
}

func (b *browser) postForm(path string, v url.Values, headers ...string) answer {
	return b.do("POST", path, strings.NewReader(v.Encode()), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
}

var (
	csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	bodyCSRF  = regexp.MustCompile(`data-csrf="([^"]+)"`)
)

// signIn signs in through the form as a browser would; fields are
// username/password or token. It answers the POST's answer.
func (b *browser) signIn(fields url.Values) answer {
	b.e.t.Helper()
	page := b.get("/console/signin")
	m := csrfField.FindStringSubmatch(page.body)
	if page.status != 200 || m == nil {
		b.e.t.Fatalf("sign-in page: HTTP %d, no form token:\n%s", page.status, page.body)
	}
	fields.Set("csrf", m[1])
	a := b.postForm("/console/signin", fields)
	if a.status == http.StatusSeeOther {
		sends := b.get("/console/sends")
		if m := bodyCSRF.FindStringSubmatch(sends.body); m != nil {
			b.csrf = m[1]
		}
	}
	return a
}

func (e *env) signedIn(user, pw string) *browser {
	e.t.Helper()
	b := e.browser()
	if a := b.signIn(url.Values{"username": {user}, "password": {pw}}); a.status != http.StatusSeeOther || b.csrf == "" {
		e.t.Fatalf("sign in as %s: HTTP %d\n%s", user, a.status, a.body)
	}
	return b
}

func (e *env) operator() *browser {
	e.t.Helper()
	b := e.browser()
	if a := b.signIn(url.Values{"token": {opToken}}); a.status != http.StatusSeeOther || b.csrf == "" {
		e.t.Fatalf("sign in as operator: HTTP %d\n%s", a.status, a.body)
	}
	return b
}

// act posts an action as the script does: JSON, the token in a header.
func (b *browser) act(path string) (answer, map[string]any) {
	b.e.t.Helper()
	a := b.do("POST", path, nil, "Accept", "application/json", "X-CSRF-Token", b.csrf)
	var v map[string]any
	json.Unmarshal([]byte(a.body), &v)
	return a, v
}

func at(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }

var (
	rowID    = regexp.MustCompile(`<tr id="send-(\d+)"`)
	nextLink = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
)
