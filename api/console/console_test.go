package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/golden"
	"github.com/partnerd/partnerd/server"
	"github.com/partnerd/partnerd/store"
)

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name   string
		fields url.Values
		want   int
	}{
		{"account", url.Values{"username": {"alice"}, "password": {"alice-pw"}}, http.StatusSeeOther},
		{"wrong password", url.Values{"username": {"alice"}, "password": {"nope"}}, http.StatusUnauthorized},
		{"unknown user", url.Values{"username": {"mallory"}, "password": {"x"}}, http.StatusUnauthorized},
		{"operator", url.Values{"token": {opToken}}, http.StatusSeeOther},
		{"wrong operator token", url.Values{"token": {"guess"}}, http.StatusUnauthorized},
		{"nothing", url.Values{}, http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := e.browser()
			a := b.signIn(c.fields)
			if a.status != c.want {
				t.Fatalf("HTTP %d, want %d\n%s", a.status, c.want, a.body)
			}
			var cookie *http.Cookie
			for _, ck := range (&http.Response{Header: a.header}).Cookies() {
				if ck.Name == "partnerd_console" && ck.Value != "" {
					cookie = ck
				}
			}
			if c.want != http.StatusSeeOther {
				if cookie != nil {
					t.Errorf("a failed sign-in set a session cookie")
				}
				if !strings.Contains(a.body, "Sign-in failed") && c.want == http.StatusUnauthorized {
					t.Errorf("no single failure message:\n%s", a.body)
				}
				return
			}
			if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/console/" {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/console/", cookie)
			}
			if a.header.Get("Location") != "/console/sends" {
				t.Errorf("redirected to %q", a.header.Get("Location"))
			}
		})
	}
}

// TestSignInNeedsItsFormToken: a sign-in posted from elsewhere (without
// the form's cookie and token) is refused, so no page can sign a browser
// in to an attacker's account.
func TestSignInNeedsItsFormToken(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	a := b.postForm("/console/signin", url.Values{"username": {"alice"}, "password": {"alice-pw"}, "csrf": {"forged"}})
	if a.status != http.StatusForbidden {
		t.Fatalf("HTTP %d, want 403", a.status)
	}
	b.get("/console/signin") // the cookie, but not its value in the form
	a = b.postForm("/console/signin", url.Values{"username": {"alice"}, "password": {"alice-pw"}, "csrf": {"forged"}})
	if a.status != http.StatusForbidden {
		t.Fatalf("with the cookie but another token: HTTP %d, want 403", a.status)
	}
}

// TestSignInThrottled: the console's sign-in is charged to the login
// throttle SOAP logins use; past the limit even the right password is
// refused, with Retry-After, and so is the operator token.
func TestSignInThrottled(t *testing.T) {
	e := newEnv(t, server.Limits{LoginFailures: 3, LoginWindow: time.Hour})
	b := e.browser()
	for i := range 3 {
		if a := b.signIn(url.Values{"username": {"alice"}, "password": {"wrong"}}); a.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: HTTP %d", i, a.status)
		}
	}
	a := b.signIn(url.Values{"username": {"alice"}, "password": {"alice-pw"}})
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Fatalf("after 3 failures: HTTP %d, Retry-After %q; want 429 with Retry-After", a.status, a.header.Get("Retry-After"))
	}
	for i := range 3 {
		if a := b.signIn(url.Values{"token": {"guess"}}); a.status == http.StatusSeeOther {
			t.Fatalf("guess %d signed in", i)
		}
	}
	if a := b.signIn(url.Values{"token": {opToken}}); a.status != http.StatusTooManyRequests {
		t.Fatalf("operator token after guesses from the source: HTTP %d, want 429", a.status)
	}
}

// TestCSPOnEveryPage: every console answer — pages, errors, 404, 405 —
// carries a CSP that allows no inline script.
func TestCSPOnEveryPage(t *testing.T) {
	e := newEnv(t)
	e.apply("send alice id=100 senddate=+2h")
	e.fix.Store.LogRequest(context.Background(), store.RequestLog{RequestID: "rid-1", Face: "soap", Method: "POST", Path: "/Service.asmx",
		AccountID: e.account("alice").ID, Username: "alice", Operation: "Perform", Status: "OK", HTTPStatus: 200, ReceivedAt: e.fix.Clock.Now()})
	alice := e.signedIn("alice", "alice-pw")
	anon := e.browser()
	id := e.account("alice").ID
	paths := []string{"/console/", "/console/signin", "/console/sends", "/console/sends?status=Bogus", "/console/exchanges",
		"/console/exchanges/rid-1", "/console/exchanges/rid-1/golden", "/console/exchanges/nope", "/console/actions",
		fmt.Sprintf("/console/sends/%d/100/cancel", id), "/console/nope", "/console/static/console.js",
		"/console/account", fmt.Sprintf("/console/account/%d/flush", id), fmt.Sprintf("/console/account/%d/disable", id),
		"/console/chart", "/console/clock", "/console/outbox"}
	for _, who := range []struct {
		name string
		b    *browser
	}{{"signed in", alice}, {"anonymous", anon}} {
		for _, p := range paths {
			a := who.b.get(p)
			checkCSP(t, who.name+" GET "+p, a)
		}
		checkCSP(t, who.name+" DELETE /console/sends", who.b.do("DELETE", "/console/sends", nil))
	}
}

func checkCSP(t *testing.T, what string, a answer) {
	t.Helper()
	csp := a.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s (HTTP %d): CSP %q", what, a.status, csp)
	}
}

// TestCancelFromTheConsole: the red X's request cancels through the send
// service, answers Canceled, and is recorded with who did it.
func TestCancelFromTheConsole(t *testing.T) {
	e := newEnv(t)
	e.apply("send alice id=100 senddate=+2h", "send alice id=101 senddate=+2h")
	alice := e.signedIn("alice", "alice-pw")
	id := e.account("alice").ID
	page := alice.get("/console/sends")
	if !strings.Contains(page.body, fmt.Sprintf(`href="/console/sends/%d/100/cancel"`, id)) || !strings.Contains(page.body, `class="x"`) {
		t.Fatalf("no red X for send 100:\n%s", page.body)
	}
	a, v := alice.act(fmt.Sprintf("/console/sends/%d/100/cancel", id))
	if a.status != 200 || v["status"] != "Canceled" {
		t.Fatalf("cancel: HTTP %d %s", a.status, a.body)
	}
	if acts, _ := v["actions"].([]any); len(acts) != 0 {
		t.Errorf("a canceled send still offers %v", acts)
	}
	if s := e.send(id, 100); s.Status != store.StatusCanceled {
		t.Errorf("stored status %s", s.Status)
	}
	if s := e.send(id, 101); s.Status != store.StatusScheduled {
		t.Errorf("the other send is %s", s.Status)
	}
	// Pause and resume the other, as a form post without the script.
	a = alice.postForm(fmt.Sprintf("/console/sends/%d/101/pause", id), url.Values{"csrf": {alice.csrf}})
	if a.status != http.StatusSeeOther || e.send(id, 101).Status != store.StatusPaused {
		t.Fatalf("pause by form: HTTP %d, status %s", a.status, e.send(id, 101).Status)
	}
	if a, v := alice.act(fmt.Sprintf("/console/sends/%d/101/resume", id)); a.status != 200 || v["status"] != "Scheduled" {
		t.Fatalf("resume: HTTP %d %s", a.status, a.body)
	}
	acts, err := e.fix.Store.OperatorActions(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 3 || acts[2].Action != "cancel" || acts[2].Actor != "console:alice" || acts[2].AccountID != id ||
		acts[1].Action != "pause" || acts[0].Action != "resume" {
		t.Errorf("operator actions %+v", acts)
	}
	// The rules are the service's: inside the cutoff a cancel is refused.
	e.apply("send alice id=102 senddate=+1m")
	if a, _ := alice.act(fmt.Sprintf("/console/sends/%d/102/cancel", id)); a.status != http.StatusConflict || !strings.Contains(a.body, "cutoff") {
		t.Errorf("cancel inside the cutoff: HTTP %d %s", a.status, a.body)
	}
	if s := e.send(id, 102); s.Status != store.StatusScheduled {
		t.Errorf("refused cancel left %s", s.Status)
	}
}

// TestActionsNeedTheCSRFToken: an action without the session's token, or
// with another, or from another origin, changes nothing.
func TestActionsNeedTheCSRFToken(t *testing.T) {
	e := newEnv(t)
	e.apply("send alice id=100 senddate=+2h")
	alice := e.signedIn("alice", "alice-pw")
	bob := e.signedIn("bob", "bob-pw")
	path := fmt.Sprintf("/console/sends/%d/100/cancel", e.account("alice").ID)
	for _, c := range []struct {
		name    string
		headers []string
	}{
		{"none", []string{"Accept", "application/json"}},
		{"another session's", []string{"Accept", "application/json", "X-CSRF-Token", bob.csrf}},
		{"right token, foreign origin", []string{"Accept", "application/json", "X-CSRF-Token", alice.csrf, "Origin", "https://evil.example"}},
	} {
		if a := alice.do("POST", path, nil, c.headers...); a.status != http.StatusForbidden {
			t.Errorf("%s: HTTP %d, want 403", c.name, a.status)
		}
	}
	if a := alice.postForm(path, url.Values{"csrf": {"forged"}}); a.status != http.StatusForbidden {
		t.Errorf("forged form token: HTTP %d", a.status)
	}
	id := e.account("alice").ID
	batch := e.send(id, 100).BatchID
	for _, p := range []string{"/console/signout", fmt.Sprintf("/console/account/%d/password", id), fmt.Sprintf("/console/account/%d/keys", id),
		fmt.Sprintf("/console/account/%d/keys/x/revoke", id), fmt.Sprintf("/console/account/%d/flush", id),
		fmt.Sprintf("/console/account/%d/disable", id), fmt.Sprintf("/console/batches/%d/%s/cancel", id, batch)} {
		if a := alice.postForm(p, url.Values{"password": {"p"}, "again": {"p"}, "name": {"n"}}); a.status != http.StatusForbidden {
			t.Errorf("POST %s without token: HTTP %d", p, a.status)
		}
	}
	if acct, _ := e.fix.Store.AccountByID(context.Background(), id); acct.Disabled || acct.PasswordHash != e.account("alice").PasswordHash {
		t.Errorf("the account changed: %+v", acct)
	}
	if s := e.send(e.account("alice").ID, 100); s.Status != store.StatusScheduled {
		t.Errorf("send is %s", s.Status)
	}
}

// TestAccountsAreIsolated: alice's session sees and acts on nothing of
// bob's, through every endpoint; the operator sees both.
func TestAccountsAreIsolated(t *testing.T) {
	e := newEnv(t)
	e.apply("send alice id=100 senddate=+2h customerkey=alice-key", "send bob id=200 senddate=+2h customerkey=bob-key")
	aliceID, bobID := e.account("alice").ID, e.account("bob").ID
	st := e.fix.Store
	for _, r := range []store.RequestLog{
		{RequestID: "rid-alice", Face: "soap", Method: "POST", Path: "/Service.asmx", AccountID: aliceID, Username: "alice", Operation: "Perform", Status: "OK", ReceivedAt: e.fix.Clock.Now(), Request: "<a/>"},
		{RequestID: "rid-bob", Face: "soap", Method: "POST", Path: "/Service.asmx", AccountID: bobID, Username: "bob", Operation: "Perform", Status: "OK", ReceivedAt: e.fix.Clock.Now(), Request: "<bob-secret/>"},
	} {
		if err := st.LogRequest(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	alice := e.signedIn("alice", "alice-pw")
	for _, p := range []string{"/console/sends", "/console/sends?account=bob", "/console/sends?batch=" + e.send(bobID, 200).BatchID,
		"/console/exchanges", "/console/exchanges?account=bob", "/console/actions"} {
		a := alice.get(p)
		if a.status != 200 && a.status != 400 {
			t.Errorf("GET %s: HTTP %d", p, a.status)
		}
		if strings.Contains(a.body, "bob-key") || strings.Contains(a.body, "rid-bob") || strings.Contains(a.body, "/200/") {
			t.Errorf("GET %s shows bob's:\n%s", p, a.body)
		}
	}
	for _, p := range []string{fmt.Sprintf("/console/sends/%d/200/cancel", bobID), fmt.Sprintf("/console/sends/%d/200/cancel", aliceID),
		"/console/exchanges/rid-bob", "/console/exchanges/rid-bob/golden"} {
		if a := alice.get(p); a.status != http.StatusNotFound || strings.Contains(a.body, "bob-secret") {
			t.Errorf("GET %s: HTTP %d, want 404", p, a.status)
		}
	}
	for _, action := range []string{"cancel", "pause", "resume"} {
		for _, acct := range []int64{bobID, aliceID} {
			if a, _ := alice.act(fmt.Sprintf("/console/sends/%d/200/%s", acct, action)); a.status != http.StatusNotFound {
				t.Errorf("%s bob's send under account %d: HTTP %d %s", action, acct, a.status, a.body)
			}
		}
	}
	if s := e.send(bobID, 200); s.Status != store.StatusScheduled {
		t.Errorf("bob's send is %s", s.Status)
	}
	op := e.operator()
	a := op.get("/console/sends")
	if !strings.Contains(a.body, "alice-key") || !strings.Contains(a.body, "bob-key") {
		t.Errorf("the operator does not see both accounts' sends:\n%s", a.body)
	}
	a = op.get("/console/sends?account=bob")
	if strings.Contains(a.body, "alice-key") || !strings.Contains(a.body, "bob-key") {
		t.Errorf("the operator's account filter:\n%s", a.body)
	}
	if a, v := op.act(fmt.Sprintf("/console/sends/%d/200/pause", bobID)); a.status != 200 || v["status"] != "Paused" {
		t.Errorf("operator pause of bob's send: HTTP %d %s", a.status, a.body)
	}
	acts, _ := st.OperatorActions(context.Background(), 1)
	if len(acts) != 1 || acts[0].Actor != "console:operator" || acts[0].AccountID != bobID {
		t.Errorf("operator action %+v", acts)
	}
}

// TestSessionEnds: on sign-out (the old cookie is worth nothing after),
// on a password change by any path, and when the account is disabled.
func TestSessionEnds(t *testing.T) {
	e := newEnv(t)
	e.apply("send alice id=100 senddate=+2h")
	path := fmt.Sprintf("/console/sends/%d/100/cancel", e.account("alice").ID)

	alice := e.signedIn("alice", "alice-pw")
	u, _ := url.Parse(e.srv.URL + "/console/")
	old := alice.c.Jar.Cookies(u)
	if a := alice.postForm("/console/signout", url.Values{"csrf": {alice.csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("sign out: HTTP %d", a.status)
	}
	replay := e.browser()
	replay.c.Jar.SetCookies(u, old)
	replay.csrf = alice.csrf
	if a := replay.get("/console/sends"); a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/console/signin") {
		t.Errorf("old cookie after sign-out: HTTP %d → %s", a.status, a.header.Get("Location"))
	}
	if a, _ := replay.act(path); a.status != http.StatusUnauthorized {
		t.Errorf("action with the old cookie: HTTP %d", a.status)
	}

	for _, c := range []struct {
		name   string
		change func(*store.Account)
	}{
		{"password rotated", func(a *store.Account) { a.PasswordHash, _ = credential.Hash("n3w") }},
		{"disabled", func(a *store.Account) { a.Disabled = true }},
	} {
		b := e.signedIn("alice", "alice-pw")
		acct, _ := e.fix.Store.AccountByID(context.Background(), e.account("alice").ID)
		saved := acct
		c.change(&acct)
		if err := e.fix.Store.UpdateAccount(context.Background(), acct); err != nil {
			t.Fatal(err)
		}
		if a, _ := b.act(path); a.status != http.StatusUnauthorized {
			t.Errorf("%s: action in the old session: HTTP %d", c.name, a.status)
		}
		if err := e.fix.Store.UpdateAccount(context.Background(), saved); err != nil {
			t.Fatal(err)
		}
		if a := b.get("/console/sends"); a.status != http.StatusSeeOther {
			t.Errorf("%s: the session came back when the change was undone: HTTP %d", c.name, a.status)
		}
	}
	if s := e.send(e.account("alice").ID, 100); s.Status != store.StatusScheduled {
		t.Errorf("send is %s", s.Status)
	}
}

// TestBadInput: unknown IDs, wrong methods, oversized forms and bad
// filters get a clear error page or JSON error, and change nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	e.apply("send alice id=100 senddate=+2h")
	alice := e.signedIn("alice", "alice-pw")
	id := e.account("alice").ID
	cases := []struct {
		method, path string
		body         string
		want         int
		says         string
	}{
		{"POST", fmt.Sprintf("/console/sends/%d/999/cancel", id), "", 404, "no Send with ID 999"},
		{"POST", fmt.Sprintf("/console/sends/%d/abc/cancel", id), "", 404, "No such send"},
		{"POST", "/console/sends/0/100/cancel", "", 404, "No such send"},
		{"POST", fmt.Sprintf("/console/sends/%d/100/explode", id), "", 404, "No such action"},
		{"POST", fmt.Sprintf("/console/sends/%d/100/cancel", id), "csrf=" + strings.Repeat("x", 20<<10), 413, "too large"},
		{"DELETE", "/console/sends", "", 405, "not allowed"},
		{"PUT", "/console/signin", "", 405, "not allowed"},
		{"GET", "/console/signout", "", 405, "not allowed"},
		{"GET", "/console/sends?status=Bogus", "", 400, "unknown status"},
		{"GET", "/console/sends?after=-1", "", 400, "after must be"},
		{"GET", "/console/sends?n=100000", "", 400, "n must be"},
		{"GET", "/console/sends?from=yesterday", "", 400, "from must be"},
		{"GET", "/console/exchanges/no-such-id", "", 404, "No exchange"},
		{"GET", "/console/exchanges/no-such-id/golden", "", 404, "No exchange"},
		{"GET", "/console/nope", "", 404, "No such page"},
		// Not text: refused before any handler, on every store alike.
		{"GET", "/console/sends?batch=%00", "", 400, "NUL character"},
		{"GET", "/console/exchanges?q=%FF", "", 400, "not UTF-8"},
		{"POST", fmt.Sprintf("/console/sends/%d/100/cancel", id), "reason=a%00b", 400, "NUL character"},
		{"POST", fmt.Sprintf("/console/sends/%d/100/cancel", id), "x%FF=1", 400, "not UTF-8"},
	}
	for _, c := range cases {
		for _, js := range []bool{false, true} {
			headers := []string{"Content-Type", "application/x-www-form-urlencoded", "X-CSRF-Token", alice.csrf}
			if js {
				headers = append(headers, "Accept", "application/json")
			}
			a := alice.do(c.method, c.path, strings.NewReader(c.body), headers...)
			if a.status != c.want || !strings.Contains(a.body, c.says) {
				t.Errorf("%s %s (json %v): HTTP %d, want %d saying %q\n%.300s", c.method, c.path, js, a.status, c.want, c.says, a.body)
			}
			if js && !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
				t.Errorf("%s %s: the script got %s", c.method, c.path, a.header.Get("Content-Type"))
			}
		}
	}
	if a := alice.do("DELETE", "/console/sends", nil); a.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("405 Allow = %q", a.header.Get("Allow"))
	}
	if s := e.send(id, 100); s.Status != store.StatusScheduled {
		t.Errorf("send is %s", s.Status)
	}
	if acts, _ := e.fix.Store.OperatorActions(context.Background(), 0); len(acts) != 0 {
		t.Errorf("bad input recorded actions: %+v", acts)
	}
}

// TestSendListPages: keyset pages by send ID, with the filters kept in
// the next page's link; status and send-time filters.
func TestSendListPages(t *testing.T) {
	e := newEnv(t)
	e.apply("sends alice count=250 senddate=+2h", "send alice id=5000 senddate=+50h status=Paused")
	alice := e.signedIn("alice", "alice-pw")
	seen := map[string]bool{}
	path := "/console/sends"
	pages := 0
	for path != "" {
		a := alice.get(path)
		if a.status != 200 {
			t.Fatalf("GET %s: HTTP %d", path, a.status)
		}
		n := strings.Count(a.body, `<tr id="send-`)
		for _, m := range rowID.FindAllStringSubmatch(a.body, -1) {
			if seen[m[1]] {
				t.Errorf("send %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		pages++
		if pages < 3 && n != 100 {
			t.Errorf("page %d has %d rows", pages, n)
		}
		path = ""
		if m := nextLink.FindStringSubmatch(a.body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if pages != 3 || len(seen) != 251 {
		t.Errorf("%d pages, %d sends; want 3 and 251", pages, len(seen))
	}
	a := alice.get("/console/sends?status=Paused")
	if n := strings.Count(a.body, `<tr id="send-`); n != 1 || !strings.Contains(a.body, `id="send-5000"`) {
		t.Errorf("status filter: %d rows", n)
	}
	a = alice.get("/console/sends?from=2026-01-16T00:00&n=10")
	if n := strings.Count(a.body, `<tr id="send-`); n != 1 {
		t.Errorf("send-time filter: %d rows", n)
	}
	a = alice.get("/console/sends?n=10&status=Scheduled")
	if m := nextLink.FindStringSubmatch(a.body); m == nil || !strings.Contains(m[1], "status=Scheduled") || !strings.Contains(m[1], "n=10") {
		t.Errorf("the next link loses the filter: %v", m)
	}
}

// TestExchange: an exchange pretty-printed, as curl, and downloaded as a
// golden case that the golden harness reads back.
func TestExchange(t *testing.T) {
	e := newEnv(t)
	body := `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><Password>****</Password></s:Header><s:Body><PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>cancel</Action></PerformRequestMsg></s:Body></s:Envelope>`
	e.fix.Store.LogRequest(context.Background(), store.RequestLog{RequestID: "7b0c1f5e-0000-4000-8000-000000000001", Face: "soap", Method: "POST", Path: "/Service.asmx",
		AccountID: e.account("alice").ID, Username: "alice", Operation: "Perform", Status: "OK", HTTPStatus: 200,
		Request: body, Response: `<r>it's done</r>`, ReceivedAt: e.fix.Clock.Now(), Duration: 3 * time.Millisecond})
	alice := e.signedIn("alice", "alice-pw")
	a := alice.get("/console/exchanges?operation=perform")
	if !strings.Contains(a.body, "7b0c1f5e-0000-4000-8000-000000000001") {
		t.Fatalf("not listed:\n%s", a.body)
	}
	if a := alice.get("/console/exchanges?outcome=Fault"); strings.Contains(a.body, "7b0c1f5e") {
		t.Errorf("outcome filter lets an OK through")
	}
	a = alice.get("/console/exchanges?id=7b0c1f5e-0000-4000-8000-000000000001")
	if a.status != http.StatusSeeOther {
		t.Fatalf("by RequestID: HTTP %d", a.status)
	}
	a = alice.get(a.header.Get("Location"))
	for _, want := range []string{"curl -sS -X POST &#39;http://", "-H &#39;SOAPAction: &#34;Perform&#34;&#39;"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("exchange page lacks %q:\n%s", want, a.body)
		}
	}
	// The bodies are highlighted (see highlight_test.go); as text they read
	// pretty-printed.
	for _, want := range []struct{ pre, text string }{
		{"request", "\n  <s:Body>\n    <PerformRequestMsg"}, {"request", "<Password>****</Password>"},
		{"response", "<r>it's done</r>"},
	} {
		if got := preText(t, a.body, want.pre); !strings.Contains(got, want.text) {
			t.Errorf("exchange page's %s lacks %q:\n%s", want.pre, want.text, got)
		}
	}
	g := alice.get("/console/exchanges/7b0c1f5e-0000-4000-8000-000000000001/golden")
	if g.status != 200 || !strings.Contains(g.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("golden: HTTP %d %v", g.status, g.header)
	}
	path := filepath.Join(t.TempDir(), "case.txt")
	os.WriteFile(path, []byte(g.body), 0o600)
	c, err := golden.Parse(path)
	if err != nil {
		t.Fatalf("the downloaded case does not parse: %v\n%s", err, g.body)
	}
	if len(c.Exchanges) != 1 || c.Exchanges[0].Method != "POST" || c.Exchanges[0].Path != "/Service.asmx" ||
		strings.TrimSpace(c.Exchanges[0].Body) != body || c.Exchanges[0].Header.Get("SOAPAction") != `"Perform"` {
		t.Errorf("case %+v", c.Exchanges)
	}
	if len(c.Setup) == 0 || c.Setup[0] != "clock 2026-01-15T12:00:00Z" {
		t.Errorf("set-up %q", c.Setup)
	}
}
