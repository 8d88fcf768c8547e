package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestUserDelete: a user of the account is deleted after a confirmation
// page (its button focused); its session ends and it cannot sign in; the
// delete is recorded with who did it. The account's own user and its last
// user are refused with a clear answer; bad input and another account's
// session change nothing.
func TestUserDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.apply("user alice-ci ci-pw alice", "user alice-ops ops-pw alice")
	aliceID, bobID := e.account("alice").ID, e.account("bob").ID
	uid := map[string]int64{}
	for _, acct := range []int64{aliceID, bobID} {
		us, _ := e.fix.Store.ListUsers(ctx, acct)
		for _, u := range us {
			uid[u.Username] = u.ID
		}
	}
	path := func(acct int64, user, action string) string {
		return fmt.Sprintf("/console/account/%d/users/%d/%s", acct, uid[user], action)
	}
	owner, ci, bob := e.signedIn("alice", "alice-pw"), e.signedIn("alice-ci", "ci-pw"), e.signedIn("bob", "bob-pw")

	acct := owner.get("/console/account")
	if !strings.Contains(acct.body, `href="`+path(aliceID, "alice-ci", "delete")+`"`) || strings.Contains(acct.body, `href="`+path(aliceID, "alice", "delete")+`"`) {
		t.Fatalf("the account page should offer the delete of alice-ci, not of alice:\n%s", acct.body)
	}
	page := owner.get(path(aliceID, "alice-ci", "delete"))
	for _, want := range []string{"Delete the user alice-ci of account alice?", "This cannot be undone", `id="confirm-delete" autofocus`} {
		if page.status != 200 || !strings.Contains(page.body, want) {
			t.Errorf("confirmation: HTTP %d, lacks %q", page.status, want)
		}
	}

	for _, c := range []struct {
		name, method, path string
		form               url.Values
		want               int
		says               string
	}{
		{"the account's own user", "POST", path(aliceID, "alice", "delete"), url.Values{"csrf": {owner.csrf}}, http.StatusConflict, "the account&#39;s own user"},
		{"the own user's page", "GET", path(aliceID, "alice", "delete"), nil, http.StatusConflict, "cannot be deleted"},
		{"no CSRF", "POST", path(aliceID, "alice-ci", "delete"), url.Values{}, http.StatusForbidden, ""},
		{"unknown user", "POST", fmt.Sprintf("/console/account/%d/users/99999/delete", aliceID), url.Values{"csrf": {owner.csrf}}, http.StatusNotFound, "No such user."},
		{"not a user ID", "GET", fmt.Sprintf("/console/account/%d/users/x/delete", aliceID), nil, http.StatusNotFound, "No such user."},
		{"bob's user under alice's account", "POST", path(aliceID, "bob", "delete"), url.Values{"csrf": {owner.csrf}}, http.StatusNotFound, "No such user."},
		{"no page for disable", "GET", path(aliceID, "alice-ci", "disable"), nil, http.StatusNotFound, ""},
		{"wrong method", "DELETE", path(aliceID, "alice-ci", "delete"), nil, http.StatusMethodNotAllowed, ""},
		{"form too large", "POST", path(aliceID, "alice-ci", "delete"), url.Values{"csrf": {owner.csrf}, "x": {strings.Repeat("x", 20<<10)}}, http.StatusRequestEntityTooLarge, ""},
	} {
		var a answer
		switch c.method {
		case "GET":
			a = owner.get(c.path)
		case "POST":
			a = owner.postForm(c.path, c.form)
		default:
			a = owner.do(c.method, c.path, nil)
		}
		if a.status != c.want || !strings.Contains(a.body, `role="alert"`) || !strings.Contains(a.body, c.says) {
			t.Errorf("%s: HTTP %d, want %d saying %q\n%s", c.name, a.status, c.want, c.says, a.body)
		}
	}
	for _, p := range []string{path(aliceID, "alice-ci", "delete"), path(bobID, "alice-ci", "delete")} {
		if a := bob.get(p); a.status != http.StatusNotFound {
			t.Errorf("bob GET %s: HTTP %d", p, a.status)
		}
		if a := bob.postForm(p, url.Values{"csrf": {bob.csrf}}); a.status != http.StatusNotFound {
			t.Errorf("bob POST %s: HTTP %d", p, a.status)
		}
	}
	if us, _ := e.fix.Store.ListUsers(ctx, aliceID); len(us) != 3 {
		t.Fatalf("after bad input alice has %d users, want 3", len(us))
	}
	// bob's only user is his own: refused as the account's own.
	if a := bob.postForm(path(bobID, "bob", "delete"), url.Values{"csrf": {bob.csrf}}); a.status != http.StatusConflict {
		t.Errorf("bob deletes his only user: HTTP %d", a.status)
	}

	// The delete: alice-ci's session ends, it cannot sign in.
	if a := owner.postForm(path(aliceID, "alice-ci", "delete"), url.Values{"csrf": {owner.csrf}}); a.status != http.StatusSeeOther || a.header.Get("Location") != "/console/account#users" {
		t.Fatalf("delete alice-ci: HTTP %d %s %s", a.status, a.header.Get("Location"), a.body)
	}
	if a := ci.get("/console/sends"); a.status != http.StatusSeeOther {
		t.Errorf("a deleted user's session: HTTP %d", a.status)
	}
	if a := e.browser().signIn(url.Values{"username": {"alice-ci"}, "password": {"ci-pw"}}); a.status != http.StatusUnauthorized {
		t.Errorf("a deleted user signs in: HTTP %d", a.status)
	}
	// A user deletes itself: signed out.
	ops := e.signedIn("alice-ops", "ops-pw")
	if a := ops.postForm(path(aliceID, "alice-ops", "delete"), url.Values{"csrf": {ops.csrf}}); a.status != http.StatusSeeOther || a.header.Get("Location") != "/console/signin" {
		t.Errorf("alice-ops deletes itself: HTTP %d %s", a.status, a.header.Get("Location"))
	}
	// The operator deletes too; alice is now the last user: refused.
	if us, _ := e.fix.Store.ListUsers(ctx, aliceID); len(us) != 1 {
		t.Fatalf("alice's users: %d, want 1", len(us))
	}
	op := e.operator()
	if a := op.postForm(path(aliceID, "alice", "delete"), url.Values{"csrf": {op.csrf}}); a.status != http.StatusConflict {
		t.Errorf("the operator deletes alice's last user: HTTP %d", a.status)
	}

	// An account whose own user is gone (deleted with `partnerd user
	// delete`) keeps its last user.
	e.apply("user bob-ci bob-ci-pw bob")
	if err := e.fix.Store.DeleteUser(ctx, bobID, uid["bob"]); err != nil {
		t.Fatal(err)
	}
	bus, _ := e.fix.Store.ListUsers(ctx, bobID)
	if len(bus) != 1 || bus[0].Username != "bob-ci" {
		t.Fatalf("bob's users: %+v", bus)
	}
	if a := op.postForm(fmt.Sprintf("/console/account/%d/users/%d/delete", bobID, bus[0].ID), url.Values{"csrf": {op.csrf}}); a.status != http.StatusConflict || !strings.Contains(a.body, "last user") {
		t.Errorf("the operator deletes bob's last user: HTTP %d\n%s", a.status, a.body)
	}

	acts, _ := e.fix.Store.OperatorActions(ctx, 0)
	var got []string
	for _, a := range acts {
		if a.Action == "user.delete" {
			got = append(got, a.Actor+" "+a.Credential+" "+regexp.MustCompile(`;.*`).ReplaceAllString(a.Detail, ""))
		}
	}
	want := []string{"console:alice-ops user:alice-ops user alice-ops deleted", "console:alice user:alice-ci user alice-ci deleted"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("operator actions\n got %q\nwant %q", got, want)
	}
}
