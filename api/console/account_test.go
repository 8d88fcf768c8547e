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
	bobUsers, _ := e.fix.Store.ListUsers(context.Background(), bobID)
	bobUser := bobUsers[0].ID
	form := url.Values{"csrf": {alice.csrf}, "password": {"pwned"}, "again": {"pwned"}, "name": {"x"}, "username": {"bob-2"}}
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
		{"POST", fmt.Sprintf("/console/account/%d/users", bobID)},
		{"POST", fmt.Sprintf("/console/account/%d/users/%d/password", bobID, bobUser)},
		{"POST", fmt.Sprintf("/console/account/%d/users/%d/password", aliceID, bobUser)},
		{"POST", fmt.Sprintf("/console/account/%d/users/%d/disable", aliceID, bobUser)},
		{"POST", fmt.Sprintf("/console/account/%d/clients", bobID)},
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

// TestUsersOfAnAccount: a second user of alice's account signs in and sees
// the account's sends; rotating that user's password ends only its
// sessions, disabling it refuses it, and each change is recorded with the
// user it acted on.
func TestUsersOfAnAccount(t *testing.T) {
	e := newEnv(t)
	e.apply("user alice-ci ci-pw alice", "send alice id=100 senddate=+2h", "send bob id=200 senddate=+2h")
	id := e.account("alice").ID
	ci := e.signedIn("alice-ci", "ci-pw")
	page := ci.get("/console/sends")
	if !strings.Contains(page.body, `id="send-100"`) || strings.Contains(page.body, `id="send-200"`) {
		t.Fatalf("alice-ci's send list: HTTP %d, want alice's send 100 only\n%s", page.status, page.body)
	}
	if !strings.Contains(page.body, "alice-ci (account alice)") {
		t.Errorf("the header does not name the user and its account")
	}
	if a, _ := ci.act(fmt.Sprintf("/console/sends/%d/100/pause", id)); a.status != 200 {
		t.Fatalf("alice-ci pauses alice's send: HTTP %d %s", a.status, a.body)
	}
	owner := e.signedIn("alice", "alice-pw")
	acct := owner.get("/console/account")
	users := regexp.MustCompile(`<tr id="user-(\d+)"><td class="key">alice-ci</td>`).FindStringSubmatch(acct.body)
	if users == nil || !strings.Contains(acct.body, `<td class="key">alice</td>`) {
		t.Fatalf("the account page does not list both users:\n%s", acct.body)
	}
	ciID := users[1]

	// alice rotates alice-ci's password: alice-ci's session ends, alice's
	// does not; the new password signs in.
	path := fmt.Sprintf("/console/account/%d/users/%s/password", id, ciID)
	if a := owner.postForm(path, url.Values{"csrf": {owner.csrf}, "password": {"ci-2"}, "again": {"ci-3"}}); a.status != http.StatusBadRequest {
		t.Errorf("passwords that differ: HTTP %d", a.status)
	}
	if a := owner.postForm(path, url.Values{"csrf": {owner.csrf}, "password": {"ci-2"}, "again": {"ci-2"}}); a.status != http.StatusSeeOther {
		t.Fatalf("rotate alice-ci: HTTP %d %s", a.status, a.body)
	}
	if a := ci.get("/console/sends"); a.status != http.StatusSeeOther {
		t.Errorf("alice-ci's session after its rotation: HTTP %d", a.status)
	}
	if a := owner.get("/console/sends"); a.status != 200 {
		t.Errorf("alice's session after alice-ci's rotation: HTTP %d", a.status)
	}
	if a := e.browser().signIn(url.Values{"username": {"alice-ci"}, "password": {"ci-pw"}}); a.status != http.StatusUnauthorized {
		t.Errorf("alice-ci's old password: HTTP %d", a.status)
	}
	ci = e.signedIn("alice-ci", "ci-2")

	// Disabled, alice-ci's session ends and it cannot sign in; enabled, it can.
	if a := owner.postForm(fmt.Sprintf("/console/account/%d/users/%s/disable", id, ciID), url.Values{"csrf": {owner.csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("disable alice-ci: HTTP %d %s", a.status, a.body)
	}
	if a := ci.get("/console/sends"); a.status != http.StatusSeeOther {
		t.Errorf("a disabled user's session: HTTP %d", a.status)
	}
	if a := e.browser().signIn(url.Values{"username": {"alice-ci"}, "password": {"ci-2"}}); a.status != http.StatusUnauthorized {
		t.Errorf("a disabled user signs in: HTTP %d", a.status)
	}
	if a := owner.postForm(fmt.Sprintf("/console/account/%d/users/%s/enable", id, ciID), url.Values{"csrf": {owner.csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("enable alice-ci: HTTP %d", a.status)
	}
	e.signedIn("alice-ci", "ci-2")

	// Adding a user: bad input is refused and adds nothing.
	add := fmt.Sprintf("/console/account/%d/users", id)
	for _, c := range []struct {
		name, pw, again string
		want            int
	}{
		{"", "x", "x", http.StatusBadRequest},
		{"has space", "x", "x", http.StatusBadRequest},
		{"alice-new", "x", "y", http.StatusBadRequest},
		{"alice-new", "", "", http.StatusBadRequest},
		{"bob", "x", "x", http.StatusConflict}, // bob's own user: names are server-wide
		{strings.Repeat("u", 300), "x", "x", http.StatusBadRequest},
	} {
		if a := owner.postForm(add, url.Values{"csrf": {owner.csrf}, "username": {c.name}, "password": {c.pw}, "again": {c.again}}); a.status != c.want {
			t.Errorf("add %.20q: HTTP %d, want %d", c.name, a.status, c.want)
		}
	}
	if a := owner.postForm(add, url.Values{"csrf": {owner.csrf}, "username": {"alice-new"}, "password": {"new-pw"}, "again": {"new-pw"}}); a.status != http.StatusSeeOther {
		t.Fatalf("add alice-new: HTTP %d %s", a.status, a.body)
	}
	e.signedIn("alice-new", "new-pw")
	if us, _ := e.fix.Store.ListUsers(context.Background(), id); len(us) != 3 {
		t.Errorf("alice's users: %d, want 3", len(us))
	}

	acts, _ := e.fix.Store.OperatorActions(context.Background(), 0)
	var got []string
	for _, a := range acts {
		got = append(got, a.Actor+" "+a.Action+" "+a.Credential)
	}
	want := []string{"console:alice user.add user:alice-new", "console:alice user.enable user:alice-ci",
		"console:alice user.disable user:alice-ci", "console:alice user.passwd user:alice-ci", "console:alice-ci pause "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("operator actions\n got %q\nwant %q", got, want)
	}
}

// TestTokenClients: a client created in the console shows its secret once
// and gets a token at /v2/token; revoked, it does not.
func TestTokenClients(t *testing.T) {
	e := newEnv(t)
	alice := e.signedIn("alice", "alice-pw")
	id := e.account("alice").ID
	a := alice.postForm(fmt.Sprintf("/console/account/%d/clients", id), url.Values{"csrf": {alice.csrf}})
	cid := regexp.MustCompile(`id="new-client-id">([^<]+)<`).FindStringSubmatch(a.body)
	sec := regexp.MustCompile(`id="new-client-secret">([^<]+)<`).FindStringSubmatch(a.body)
	if a.status != 200 || cid == nil || sec == nil {
		t.Fatalf("create client: HTTP %d\n%s", a.status, a.body)
	}
	token := func() int {
		body := fmt.Sprintf(`{"grant_type":"client_credentials","client_id":%q,"client_secret":%q}`, cid[1], sec[1])
		resp, err := http.Post(e.srv.URL+"/v2/token", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := token(); got != 200 {
		t.Fatalf("/v2/token with the new client: HTTP %d", got)
	}
	if page := alice.get("/console/account"); strings.Contains(page.body, sec[1]) || !strings.Contains(page.body, `id="client-`+cid[1]+`"`) {
		t.Errorf("the account page shows the secret again, or not the client")
	}
	if a := alice.postForm(fmt.Sprintf("/console/account/%d/clients", id), url.Values{"csrf": {alice.csrf}, "scopes": {"Bad-Scope!"}}); a.status != http.StatusBadRequest {
		t.Errorf("a bad scope: HTTP %d", a.status)
	}
	bob := e.signedIn("bob", "bob-pw")
	if a := bob.postForm(fmt.Sprintf("/console/account/%d/clients/%s/revoke", e.account("bob").ID, cid[1]), url.Values{"csrf": {bob.csrf}}); a.status != http.StatusNotFound {
		t.Errorf("bob revokes alice's client under his account: HTTP %d", a.status)
	}
	if a := bob.postForm(fmt.Sprintf("/console/account/%d/clients/%s/revoke", id, cid[1]), url.Values{"csrf": {bob.csrf}}); a.status != http.StatusNotFound {
		t.Errorf("bob revokes alice's client under hers: HTTP %d", a.status)
	}
	if a := alice.postForm(fmt.Sprintf("/console/account/%d/clients/%s/revoke", id, cid[1]), url.Values{}); a.status != http.StatusForbidden {
		t.Errorf("revoke without the CSRF token: HTTP %d", a.status)
	}
	if a := alice.postForm(fmt.Sprintf("/console/account/%d/clients/%s/revoke", id, cid[1]), url.Values{"csrf": {alice.csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("revoke: HTTP %d %s", a.status, a.body)
	}
	if got := token(); got != http.StatusUnauthorized {
		t.Errorf("/v2/token with the revoked client: HTTP %d, want 401", got)
	}
	acts, _ := e.fix.Store.OperatorActions(context.Background(), 0)
	if len(acts) != 2 || acts[0].Action != "client.revoke" || acts[0].Credential != "client:"+cid[1] || acts[1].Action != "client.add" {
		t.Errorf("operator actions %+v", acts)
	}
}
