package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/store"
)

var newSecret = regexp.MustCompile(`<pre class="body" id="new-secret">(SG\.[^<]+)</pre>`)

// rest calls the SendGrid face with a key.
func (e *env) rest(key, path string) int {
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAPIKeys: a key created in the console shows its secret once and
// works over REST; revoked, the old one is refused over REST.
func TestAPIKeys(t *testing.T) {
	e := newEnv(t)
	alice := e.signedIn("alice", "alice-pw")
	id := e.account("alice").ID
	a := alice.postForm(fmt.Sprintf("/console/account/%d/keys", id), url.Values{"csrf": {alice.csrf}, "name": {"ci"}})
	m := newSecret.FindStringSubmatch(a.body)
	if a.status != 200 || m == nil {
		t.Fatalf("create key: HTTP %d\n%s", a.status, a.body)
	}
	secret := m[1]
	if got := e.rest(secret, "/v3/api_keys"); got != 200 {
		t.Fatalf("the new key over REST: HTTP %d", got)
	}
	page := alice.get("/console/account")
	if strings.Contains(page.body, secret) || !strings.Contains(page.body, ">ci<") {
		t.Errorf("the account page shows the secret again, or not the key")
	}
	keyID := strings.Split(secret, ".")[1]
	if a := alice.postForm(fmt.Sprintf("/console/account/%d/keys/%s/revoke", id, keyID), url.Values{"csrf": {alice.csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("revoke: HTTP %d %s", a.status, a.body)
	}
	if got := e.rest(secret, "/v3/api_keys"); got != http.StatusUnauthorized {
		t.Errorf("the revoked key over REST: HTTP %d, want 401", got)
	}
	if a := alice.postForm(fmt.Sprintf("/console/account/%d/keys/%s/revoke", id, keyID), url.Values{"csrf": {alice.csrf}}); a.status != http.StatusNotFound {
		t.Errorf("revoke again: HTTP %d, want 404", a.status)
	}
	if a := alice.postForm(fmt.Sprintf("/console/account/%d/keys", id), url.Values{"csrf": {alice.csrf}, "name": {""}}); a.status != http.StatusBadRequest {
		t.Errorf("a key without a name: HTTP %d", a.status)
	}
	if a := alice.postForm(fmt.Sprintf("/console/account/%d/keys", id), url.Values{"csrf": {alice.csrf}, "name": {"x"}, "scopes": {"no.such.scope"}}); a.status != http.StatusBadRequest {
		t.Errorf("an unknown scope: HTTP %d", a.status)
	}
	acts, _ := e.fix.Store.OperatorActions(context.Background(), 0)
	if len(acts) != 2 || acts[0].Action != "apikey-revoke" || acts[1].Action != "apikey-create" || acts[0].Actor != "console:alice" {
		t.Errorf("operator actions %+v", acts)
	}
}

// TestRotatePassword: the new password is typed twice; once set, the old
// one fails (SOAP's check: the console sign-in), the account's sessions
// end, and the new one signs in.
func TestRotatePassword(t *testing.T) {
	e := newEnv(t)
	alice := e.signedIn("alice", "alice-pw")
	other := e.signedIn("alice", "alice-pw")
	path := fmt.Sprintf("/console/account/%d/password", e.account("alice").ID)
	if a := alice.postForm(path, url.Values{"csrf": {alice.csrf}, "password": {"n3w"}, "again": {"n3x"}}); a.status != http.StatusBadRequest || !strings.Contains(a.body, "differ") {
		t.Fatalf("mismatch: HTTP %d", a.status)
	}
	if a := alice.postForm(path, url.Values{"csrf": {alice.csrf}, "password": {""}, "again": {""}}); a.status != http.StatusBadRequest {
		t.Fatalf("empty: HTTP %d", a.status)
	}
	if a := alice.postForm(path, url.Values{"csrf": {alice.csrf}, "password": {"n3w-pw"}, "again": {"n3w-pw"}}); a.status != http.StatusSeeOther || a.header.Get("Location") != "/console/signin" {
		t.Fatalf("rotate: HTTP %d → %s", a.status, a.header.Get("Location"))
	}
	for name, b := range map[string]*browser{"rotating session": alice, "other session": other} {
		if a := b.get("/console/sends"); a.status != http.StatusSeeOther {
			t.Errorf("%s after rotation: HTTP %d", name, a.status)
		}
	}
	if a := e.browser().signIn(url.Values{"username": {"alice"}, "password": {"alice-pw"}}); a.status != http.StatusUnauthorized {
		t.Errorf("old password: HTTP %d", a.status)
	}
	e.signedIn("alice", "n3w-pw")
}

// TestFlushAndDisable: the flush page shows the count before confirming;
// the flush cancels every pending send of the account and only it; the
// operator disables an account and its session ends.
func TestFlushAndDisable(t *testing.T) {
	e := newEnv(t)
	e.apply("sends alice count=3 senddate=+2h", "send alice id=900 senddate=+3h status=Paused", "send alice id=901 senddate=-1h status=Complete",
		"send bob id=950 senddate=+2h")
	alice := e.signedIn("alice", "alice-pw")
	id := e.account("alice").ID
	page := alice.get(fmt.Sprintf("/console/account/%d/flush", id))
	if !strings.Contains(page.body, `<strong id="flush-count">4</strong>`) {
		t.Fatalf("flush page without the count 4:\n%s", page.body)
	}
	a := alice.postForm(fmt.Sprintf("/console/account/%d/flush", id), url.Values{"csrf": {alice.csrf}})
	if a.status != 200 || !strings.Contains(a.body, "Flushed 4 pending send(s)") {
		t.Fatalf("flush: HTTP %d\n%s", a.status, a.body)
	}
	if s := e.send(id, 900); s.Status != store.StatusCanceled {
		t.Errorf("paused send after flush: %s", s.Status)
	}
	if s := e.send(e.account("bob").ID, 950); s.Status != store.StatusScheduled {
		t.Errorf("bob's send after alice's flush: %s", s.Status)
	}
	acts, _ := e.fix.Store.OperatorActions(context.Background(), 1)
	if len(acts) != 1 || acts[0].Action != "flush" || acts[0].Count != 4 || acts[0].Actor != "console:alice" {
		t.Errorf("operator action %+v", acts)
	}

	op := e.operator()
	if a := op.get(fmt.Sprintf("/console/account/%d/disable", id)); a.status != 200 || !strings.Contains(a.body, "Disable alice?") {
		t.Fatalf("disable page: HTTP %d", a.status)
	}
	if a := op.postForm(fmt.Sprintf("/console/account/%d/disable", id), url.Values{"csrf": {op.csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("disable: HTTP %d %s", a.status, a.body)
	}
	if a := alice.get("/console/sends"); a.status != http.StatusSeeOther {
		t.Errorf("alice's session after disable: HTTP %d", a.status)
	}
	if a := e.browser().signIn(url.Values{"username": {"alice"}, "password": {"alice-pw"}}); a.status != http.StatusUnauthorized {
		t.Errorf("sign-in of a disabled account: HTTP %d", a.status)
	}
}

// TestBatches: pause, resume and cancel a batch through the send service.
func TestBatches(t *testing.T) {
	e := newEnv(t)
	e.apply("send alice id=100 senddate=+2h", "send bob id=200 senddate=+2h")
	alice := e.signedIn("alice", "alice-pw")
	id := e.account("alice").ID
	batch := e.send(id, 100).BatchID
	page := alice.get("/console/sends?batch=" + batch)
	if !strings.Contains(page.body, `id="batch"`) || !strings.Contains(page.body, "Pause batch") {
		t.Fatalf("no batch bar:\n%s", page.body)
	}
	for _, c := range []struct {
		action string
		want   store.SendStatus
	}{{"pause", store.StatusPaused}, {"resume", store.StatusScheduled}, {"cancel", store.StatusCanceled}} {
		a, v := alice.act(fmt.Sprintf("/console/batches/%d/%s/%s", id, batch, c.action))
		if a.status != 200 {
			t.Fatalf("%s: HTTP %d %s", c.action, a.status, a.body)
		}
		if s := e.send(id, 100); s.Status != c.want {
			t.Errorf("after batch %s: %s (answer %v)", c.action, s.Status, v)
		}
	}
	if a, _ := alice.act(fmt.Sprintf("/console/batches/%d/nosuchbatch/pause", id)); a.status != http.StatusNotFound {
		t.Errorf("unknown batch: HTTP %d", a.status)
	}
	if a, _ := alice.act(fmt.Sprintf("/console/batches/%d/%s/explode", id, batch)); a.status != http.StatusNotFound {
		t.Errorf("unknown action: HTTP %d", a.status)
	}
}

// TestAccountEndpointsIsolated: alice's session reaches none of bob's
// account endpoints, under bob's ID or with bob's things under hers.
func TestAccountEndpointsIsolated(t *testing.T) {
	e := newEnv(t)
	e.apply("send bob id=200 senddate=+2h")
	bobID, aliceID := e.account("bob").ID, e.account("alice").ID
	bobBatch := e.send(bobID, 200).BatchID
	alice := e.signedIn("alice", "alice-pw")
	bob := e.signedIn("bob", "bob-pw")
	a := bob.postForm(fmt.Sprintf("/console/account/%d/keys", bobID), url.Values{"csrf": {bob.csrf}, "name": {"bobs"}})
	bobSecret := newSecret.FindStringSubmatch(a.body)[1]
	bobKey := strings.Split(bobSecret, ".")[1]
	form := url.Values{"csrf": {alice.csrf}, "password": {"pwned"}, "again": {"pwned"}, "name": {"x"}}
	for _, c := range []struct{ method, path string }{
		{"GET", fmt.Sprintf("/console/account/%d/flush", bobID)},
		{"POST", fmt.Sprintf("/console/account/%d/flush", bobID)},
		{"GET", fmt.Sprintf("/console/account/%d/disable", bobID)},
		{"POST", fmt.Sprintf("/console/account/%d/disable", bobID)},
		{"POST", fmt.Sprintf("/console/account/%d/password", bobID)},
		{"POST", fmt.Sprintf("/console/account/%d/keys", bobID)},
		{"POST", fmt.Sprintf("/console/account/%d/keys/%s/revoke", bobID, bobKey)},
		{"POST", fmt.Sprintf("/console/account/%d/keys/%s/revoke", aliceID, bobKey)},
		{"POST", fmt.Sprintf("/console/batches/%d/%s/cancel", bobID, bobBatch)},
		{"POST", fmt.Sprintf("/console/batches/%d/%s/cancel", aliceID, bobBatch)},
	} {
		var got answer
		if c.method == "GET" {
			got = alice.get(c.path)
		} else {
			got = alice.postForm(c.path, form)
		}
		if got.status != http.StatusNotFound {
			t.Errorf("%s %s: HTTP %d, want 404", c.method, c.path, got.status)
		}
	}
	if a := alice.get("/console/account?account=bob"); strings.Contains(a.body, bobKey) || !strings.Contains(a.body, "Account alice") {
		t.Errorf("alice's account page with ?account=bob shows bob's")
	}
	if s := e.send(bobID, 200); s.Status != store.StatusScheduled {
		t.Errorf("bob's send: %s", s.Status)
	}
	if got := e.rest(bobSecret, "/v3/api_keys"); got != 200 {
		t.Errorf("bob's key: HTTP %d", got)
	}
	if a := bob.get("/console/sends"); a.status != 200 {
		t.Errorf("bob's session: HTTP %d (his password or account was changed)", a.status)
	}
	if acts, _ := e.fix.Store.OperatorActions(context.Background(), 0); len(acts) != 1 {
		t.Errorf("operator actions %+v, want only bob's key creation", acts)
	}
}
