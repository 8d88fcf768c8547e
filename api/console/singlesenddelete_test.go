package console_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/marketing"
)

// TestSingleSendDelete: the list links each Single Send to a confirmation
// page that says the delete cannot be undone (the service has no
// duplicate) and focuses its button; a scheduled one is offered the
// unschedule instead; the delete goes through marketing (its sends end
// canceled) and is recorded with who did it; bad input and another
// account's session change nothing.
func TestSingleSendDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	aliceID, bobID := e.account("alice").ID, e.account("bob").ID
	draft, sched := e.singleSend("alice"), e.singleSend("alice")
	if _, err := e.marketingOf().ScheduleSingleSend(ctx, aliceID, sched.ID, at("2026-01-15T14:00:00Z")); err != nil {
		t.Fatal(err)
	}
	alice, bob := e.signedIn("alice", "alice-pw"), e.signedIn("bob", "bob-pw")
	path := func(acct int64, id, action string) string {
		return fmt.Sprintf("/console/singlesends/%d/%s/%s", acct, id, action)
	}

	list := alice.get("/console/singlesends")
	if !strings.Contains(list.body, `href="`+path(aliceID, draft.ID, "delete")+`"`) {
		t.Fatalf("the list does not link the delete's confirmation:\n%s", list.body)
	}
	page := alice.get(path(aliceID, sched.ID, "delete"))
	for _, want := range []string{"there is no undelete", "Duplicate first", `action="` + path(aliceID, sched.ID, "duplicate") + `"`, `id="confirm-delete" autofocus`,
		`action="` + path(aliceID, sched.ID, "unschedule") + `"`, "Unschedule it instead"} {
		if page.status != 200 || !strings.Contains(page.body, want) {
			t.Errorf("confirmation of a scheduled one: HTTP %d, lacks %q", page.status, want)
		}
	}
	if page := alice.get(path(aliceID, draft.ID, "delete")); page.status != 200 || strings.Contains(page.body, "Unschedule it instead") {
		t.Errorf("confirmation of a draft: HTTP %d, offers an unschedule", page.status)
	}

	// Bad input: nothing changes.
	for _, c := range []struct {
		name, method, path string
		form               url.Values
		want               int
	}{
		{"no CSRF", "POST", path(aliceID, draft.ID, "delete"), url.Values{}, http.StatusForbidden},
		{"wrong CSRF", "POST", path(aliceID, draft.ID, "delete"), url.Values{"csrf": {"x"}}, http.StatusForbidden},
		{"unknown Single Send", "POST", path(aliceID, "00000000-0000-0000-0000-000000000000", "delete"), url.Values{"csrf": {alice.csrf}}, http.StatusNotFound},
		{"unknown Single Send's page", "GET", path(aliceID, "00000000-0000-0000-0000-000000000000", "delete"), nil, http.StatusNotFound},
		{"not a Single Send ID", "POST", path(aliceID, strings.Repeat("x", 65), "delete"), url.Values{"csrf": {alice.csrf}}, http.StatusNotFound},
		{"no such action", "POST", path(aliceID, draft.ID, "erase"), url.Values{"csrf": {alice.csrf}}, http.StatusNotFound},
		{"no page for schedule", "GET", path(aliceID, draft.ID, "schedule"), nil, http.StatusNotFound},
		{"wrong method", "PUT", path(aliceID, draft.ID, "delete"), nil, http.StatusMethodNotAllowed},
		{"form too large", "POST", path(aliceID, draft.ID, "delete"), url.Values{"csrf": {alice.csrf}, "x": {strings.Repeat("x", 20<<10)}}, http.StatusRequestEntityTooLarge},
	} {
		var a answer
		switch c.method {
		case "GET":
			a = alice.get(c.path)
		case "POST":
			a = alice.postForm(c.path, c.form)
		default:
			a = alice.do(c.method, c.path, nil)
		}
		if a.status != c.want || !strings.Contains(a.body, `role="alert"`) {
			t.Errorf("%s: HTTP %d, want %d with an error page", c.name, a.status, c.want)
		}
	}
	// bob, under alice's account ID or his own, reaches neither.
	for _, p := range []string{path(aliceID, draft.ID, "delete"), path(bobID, draft.ID, "delete")} {
		if a := bob.get(p); a.status != http.StatusNotFound {
			t.Errorf("bob GET %s: HTTP %d", p, a.status)
		}
		if a := bob.postForm(p, url.Values{"csrf": {bob.csrf}}); a.status != http.StatusNotFound {
			t.Errorf("bob POST %s: HTTP %d", p, a.status)
		}
	}
	for _, ss := range []marketing.SingleSend{draft, sched} {
		if _, err := e.marketingOf().SingleSend(ctx, aliceID, ss.ID); err != nil {
			t.Fatalf("after bad input, Single Send %s: %v", ss.ID, err)
		}
	}

	// Duplicate first: a draft copy, and back to the delete, naming it;
	// bob cannot duplicate alice's.
	if a := bob.postForm(path(aliceID, sched.ID, "duplicate"), url.Values{"csrf": {bob.csrf}}); a.status != http.StatusNotFound {
		t.Errorf("bob duplicates: HTTP %d", a.status)
	}
	dupAnswer := alice.postForm(path(aliceID, sched.ID, "duplicate"), url.Values{"csrf": {alice.csrf}})
	loc := dupAnswer.header.Get("Location")
	if dupAnswer.status != http.StatusSeeOther || !strings.HasPrefix(loc, path(aliceID, sched.ID, "delete")+"?cloned=") {
		t.Fatalf("duplicate: HTTP %d to %q", dupAnswer.status, loc)
	}
	dupPage := alice.get(loc)
	if !strings.Contains(dupPage.body, `id="cloned"`) || !strings.Contains(dupPage.body, "Copy of Newsletter") || strings.Contains(dupPage.body, "Duplicate first") {
		t.Errorf("the delete after the duplicate:\n%s", dupPage.body)
	}
	dupID := strings.TrimPrefix(loc, path(aliceID, sched.ID, "delete")+"?cloned=")
	if dup, err := e.marketingOf().SingleSend(ctx, aliceID, dupID); err != nil || dup.Name != "Copy of Newsletter" || dup.Status != marketing.SingleSendDraft {
		t.Errorf("the duplicate: %+v, %v", dup, err)
	}

	// The delete: the scheduled one's sends are canceled with it.
	if a := alice.postForm(path(aliceID, sched.ID, "delete"), url.Values{"csrf": {alice.csrf}}); a.status != http.StatusSeeOther || a.header.Get("Location") != "/console/singlesends" {
		t.Fatalf("delete: HTTP %d %s %s", a.status, a.header.Get("Location"), a.body)
	}
	if _, err := e.marketingOf().SingleSend(ctx, aliceID, sched.ID); !errors.Is(err, marketing.ErrNotFound) {
		t.Errorf("after the delete: %v", err)
	}
	if a, v := alice.act(path(aliceID, draft.ID, "delete")); a.status != 200 || v["status"] != "deleted" {
		t.Errorf("delete from the script: HTTP %d %v", a.status, v)
	}
	if a := alice.postForm(path(aliceID, draft.ID, "delete"), url.Values{"csrf": {alice.csrf}}); a.status != http.StatusNotFound {
		t.Errorf("delete again: HTTP %d", a.status)
	}
	acts, _ := e.fix.Store.OperatorActions(ctx, 0)
	var got []string
	for _, a := range acts {
		if a.Action == "singlesend-delete" {
			got = append(got, a.Actor+" "+a.Detail)
		}
	}
	want := []string{"console:alice single send " + draft.ID + ` ("Newsletter", draft) deleted`,
		"console:alice single send " + sched.ID + ` ("Newsletter", scheduled) deleted`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("operator actions\n got %q\nwant %q", got, want)
	}
}
