package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// marketingOf is a marketing service over the env's store, as the server
// builds one, for setting up campaigns and Single Sends.
func (e *env) marketingOf() *marketing.Service {
	send := &sending.Service{Store: e.fix.Store, Clock: e.fix.Clock, Policy: e.fix.Policy}
	return &marketing.Service{Store: e.fix.Store, Clock: e.fix.Clock, Sends: send, ChunkSize: 1}
}

// campaign makes a campaign of account to a list of n recipients, scheduled
// at sendAt unless it is zero (a Draft).
func (e *env) campaign(account string, n int, sendAt time.Time) marketing.Campaign {
	e.t.Helper()
	ctx := context.Background()
	m := e.marketingOf()
	id := e.account(account).ID
	var rs []store.ListRecipient
	for i := range n {
		rs = append(rs, store.ListRecipient{Address: fmt.Sprintf("r%d@example.com", i)})
	}
	l, err := m.CreateList(ctx, id, fmt.Sprintf("list-%d", time.Now().UnixNano()), rs)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := m.CreateCampaign(ctx, id, store.CampaignFields{Title: "Spring sale", Subject: "Sale", PlainContent: "hello", ListIDs: []int64{l.ID}})
	if err != nil {
		e.t.Fatal(err)
	}
	if !sendAt.IsZero() {
		if _, err := m.ScheduleCampaign(ctx, id, c.ID, sendAt); err != nil {
			e.t.Fatal(err)
		}
	}
	c, _ = m.Campaign(ctx, id, c.ID)
	return c
}

func (e *env) singleSend(account string) marketing.SingleSend {
	e.t.Helper()
	ctx := context.Background()
	m := e.marketingOf()
	id := e.account(account).ID
	l, err := m.CreateList(ctx, id, fmt.Sprintf("ss-list-%d", time.Now().UnixNano()), []store.ListRecipient{{Address: "a@example.com"}})
	if err != nil {
		e.t.Fatal(err)
	}
	ss, err := m.CreateSingleSend(ctx, id, marketing.SingleSendInput{SingleSendFields: store.SingleSendFields{Name: "Newsletter",
		SendTo: store.SendTo{ListIDs: []string{l.UUID}}, EmailConfig: store.EmailConfig{Subject: "News", PlainContent: "hi"}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return ss
}

// TestCampaigns: the list shows a campaign's status and actions; the delete
// asks first with the clone-first warning; unschedule and delete go through
// marketing (the campaign's sends end canceled); bad input changes nothing.
func TestCampaigns(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.account("alice").ID
	sched := e.campaign("alice", 2, at("2026-01-15T14:00:00Z"))
	draft := e.campaign("alice", 1, time.Time{})
	alice := e.signedIn("alice", "alice-pw")
	page := alice.get("/console/campaigns")
	if page.status != 200 || !strings.Contains(page.body, fmt.Sprintf(`id="campaign-%d"`, sched.ID)) ||
		!strings.Contains(page.body, fmt.Sprintf(`/console/campaigns/%d/%d/unschedule`, id, sched.ID)) ||
		strings.Contains(page.body, fmt.Sprintf(`/console/campaigns/%d/%d/unschedule`, id, draft.ID)) {
		t.Fatalf("campaigns page: HTTP %d\n%s", page.status, page.body)
	}
	confirm := alice.get(fmt.Sprintf("/console/campaigns/%d/%d/delete", id, sched.ID))
	cloneAction := fmt.Sprintf(`action="/console/campaigns/%d/%d/clone"`, id, sched.ID)
	if confirm.status != 200 || !strings.Contains(confirm.body, "Clone first.") || !strings.Contains(confirm.body, cloneAction) {
		t.Fatalf("delete confirmation: HTTP %d\n%s", confirm.status, confirm.body)
	}
	// Clone first: a Draft copy, and back to the delete, naming it.
	cl := alice.postForm(fmt.Sprintf("/console/campaigns/%d/%d/clone", id, sched.ID), url.Values{"csrf": {alice.csrf}, "back": {"/console/sends"}})
	loc := cl.header.Get("Location")
	if cl.status != http.StatusSeeOther || !strings.HasPrefix(loc, fmt.Sprintf("/console/campaigns/%d/%d/delete?", id, sched.ID)) || !strings.Contains(loc, "back=%2Fconsole%2Fsends") {
		t.Fatalf("clone: HTTP %d to %q", cl.status, loc)
	}
	cs, _ := e.marketingOf().Campaigns(context.Background(), id, 0, 0)
	if len(cs) != 3 || cs[0].Title != "Copy of "+sched.Title || cs[0].Status != marketing.CampaignDraft {
		t.Fatalf("after the clone: %+v", cs)
	}
	if again := alice.get(loc); !strings.Contains(again.body, `id="cloned"`) || !strings.Contains(again.body, "Copy of "+sched.Title) ||
		strings.Contains(again.body, cloneAction) || !strings.Contains(again.body, `name="back" value="/console/sends"`) {
		t.Errorf("the delete after the clone:\n%s", again.body)
	}
	// Unschedule a Draft: the service's own refusal, 409.
	if a := alice.postForm(fmt.Sprintf("/console/campaigns/%d/%d/unschedule", id, draft.ID), url.Values{"csrf": {alice.csrf}}); a.status != http.StatusConflict {
		t.Errorf("unschedule a draft: HTTP %d", a.status)
	}
	if a := alice.postForm(fmt.Sprintf("/console/campaigns/%d/%d/unschedule", id, sched.ID), url.Values{"csrf": {alice.csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("unschedule: HTTP %d %s", a.status, a.body)
	}
	if c, _ := e.marketingOf().Campaign(ctx, id, sched.ID); c.Status != marketing.CampaignDraft {
		t.Errorf("after unschedule: %s", c.Status)
	}
	again := e.campaign("alice", 2, at("2026-01-15T14:00:00Z"))
	if a := alice.postForm(fmt.Sprintf("/console/campaigns/%d/%d/delete", id, again.ID), url.Values{}); a.status != http.StatusForbidden {
		t.Errorf("delete without CSRF: HTTP %d", a.status)
	}
	if a := alice.postForm(fmt.Sprintf("/console/campaigns/%d/%d/delete", id, again.ID), url.Values{"csrf": {alice.csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("delete: HTTP %d %s", a.status, a.body)
	}
	if _, err := e.marketingOf().Campaign(ctx, id, again.ID); err == nil {
		t.Errorf("the campaign is still there after delete")
	}
	var pending int
	e.fix.Store.View(ctx, func(tx store.Tx) error {
		sends, _ := tx.FindSends(ctx, id, store.SendQuery{Limit: 100, Filter: &store.Cond{Field: store.FieldStatus, Op: store.OpEquals, Values: []any{string(store.StatusScheduled)}}})
		pending = len(sends)
		return nil
	})
	if pending != 0 {
		t.Errorf("%d sends still Scheduled after the unschedule and the delete", pending)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", fmt.Sprintf("/console/campaigns/%d/999999/delete", id)},
		{"POST", fmt.Sprintf("/console/campaigns/%d/999999/delete", id)},
		{"POST", fmt.Sprintf("/console/campaigns/%d/x/delete", id)},
		{"POST", fmt.Sprintf("/console/campaigns/%d/%d/explode", id, draft.ID)},
		{"GET", fmt.Sprintf("/console/campaigns/%d/%d/unschedule", id, draft.ID)},
	} {
		var a answer
		if c.method == "GET" {
			a = alice.get(c.path)
		} else {
			a = alice.postForm(c.path, url.Values{"csrf": {alice.csrf}})
		}
		if a.status != http.StatusNotFound {
			t.Errorf("%s %s: HTTP %d, want 404", c.method, c.path, a.status)
		}
	}
	if a := alice.get("/console/campaigns?offset=-1"); a.status != http.StatusBadRequest {
		t.Errorf("a negative offset: HTTP %d", a.status)
	}
	acts, _ := e.fix.Store.OperatorActions(ctx, 0)
	if len(acts) != 3 || acts[0].Action != "campaign-delete" || acts[1].Action != "campaign-unschedule" ||
		acts[2].Action != "campaign-clone" || acts[2].Detail != fmt.Sprintf("campaign %d cloned as campaign %d", sched.ID, sched.ID+2) {
		t.Errorf("operator actions %+v", acts)
	}
}

// TestSingleSends: schedule a draft, unschedule it; bad times are 400.
func TestSingleSends(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.account("alice").ID
	ss := e.singleSend("alice")
	alice := e.signedIn("alice", "alice-pw")
	page := alice.get("/console/singlesends")
	if page.status != 200 || !strings.Contains(page.body, `id="ss-`+ss.ID+`"`) || !strings.Contains(page.body, "/schedule") {
		t.Fatalf("single sends page: HTTP %d\n%s", page.status, page.body)
	}
	path := fmt.Sprintf("/console/singlesends/%d/%s/", id, ss.ID)
	for _, bad := range []string{"", "tomorrow", "2026-01-15T11:00"} {
		a := alice.postForm(path+"schedule", url.Values{"csrf": {alice.csrf}, "send_at": {bad}})
		if a.status != http.StatusBadRequest && a.status != http.StatusConflict {
			t.Errorf("schedule at %q: HTTP %d", bad, a.status)
		}
	}
	if a := alice.postForm(path+"unschedule", url.Values{"csrf": {alice.csrf}}); a.status != http.StatusSeeOther {
		t.Errorf("unschedule a draft (answered as it is): HTTP %d %s", a.status, a.body)
	}
	if a, v := alice.act(path + "schedule?x=1"); a.status != http.StatusBadRequest {
		t.Errorf("schedule without send_at: HTTP %d %v", a.status, v)
	}
	if a := alice.postForm(path+"schedule", url.Values{"csrf": {alice.csrf}, "send_at": {"2026-01-15T15:00"}}); a.status != http.StatusSeeOther {
		t.Fatalf("schedule: HTTP %d %s", a.status, a.body)
	}
	got, _ := e.marketingOf().SingleSend(ctx, id, ss.ID)
	if got.Status != marketing.SingleSendScheduled || !got.SendAt.Equal(at("2026-01-15T15:00:00Z")) {
		t.Fatalf("after schedule: %s at %s", got.Status, got.SendAt)
	}
	if a := alice.postForm(path+"schedule", url.Values{"csrf": {alice.csrf}, "send_at": {"2026-01-15T16:00"}}); a.status != http.StatusConflict {
		t.Errorf("schedule a scheduled one: HTTP %d", a.status)
	}
	if a := alice.postForm(path+"unschedule", url.Values{"csrf": {alice.csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("unschedule: HTTP %d %s", a.status, a.body)
	}
	if got, _ := e.marketingOf().SingleSend(ctx, id, ss.ID); got.Status != marketing.SingleSendDraft {
		t.Errorf("after unschedule: %s", got.Status)
	}
	if a := alice.postForm(path+"unschedule", url.Values{}); a.status != http.StatusForbidden {
		t.Errorf("without CSRF: HTTP %d", a.status)
	}
	if a := alice.postForm(fmt.Sprintf("/console/singlesends/%d/00000000-0000-0000-0000-000000000000/schedule", id), url.Values{"csrf": {alice.csrf}, "send_at": {"2026-01-15T15:00"}}); a.status != http.StatusNotFound {
		t.Errorf("unknown Single Send: HTTP %d", a.status)
	}
}

// TestMarketingIsolated: bob's session reaches none of alice's campaigns
// or Single Sends, under her account ID or his own; nothing changes.
func TestMarketingIsolated(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	aliceID, bobID := e.account("alice").ID, e.account("bob").ID
	c := e.campaign("alice", 1, at("2026-01-15T14:00:00Z"))
	ss := e.singleSend("alice")
	bob := e.signedIn("bob", "bob-pw")
	form := url.Values{"csrf": {bob.csrf}, "send_at": {"2026-01-15T15:00"}}
	for _, p := range []struct{ method, path string }{
		{"GET", fmt.Sprintf("/console/campaigns/%d/%d/delete", aliceID, c.ID)},
		{"GET", fmt.Sprintf("/console/campaigns/%d/%d/delete", bobID, c.ID)},
		{"POST", fmt.Sprintf("/console/campaigns/%d/%d/delete", aliceID, c.ID)},
		{"POST", fmt.Sprintf("/console/campaigns/%d/%d/delete", bobID, c.ID)},
		{"POST", fmt.Sprintf("/console/campaigns/%d/%d/unschedule", aliceID, c.ID)},
		{"POST", fmt.Sprintf("/console/campaigns/%d/%d/unschedule", bobID, c.ID)},
		{"POST", fmt.Sprintf("/console/singlesends/%d/%s/schedule", aliceID, ss.ID)},
		{"POST", fmt.Sprintf("/console/singlesends/%d/%s/schedule", bobID, ss.ID)},
		{"POST", fmt.Sprintf("/console/singlesends/%d/%s/unschedule", bobID, ss.ID)},
	} {
		var a answer
		if p.method == "GET" {
			a = bob.get(p.path)
		} else {
			a = bob.postForm(p.path, form)
		}
		if a.status != http.StatusNotFound {
			t.Errorf("%s %s: HTTP %d, want 404", p.method, p.path, a.status)
		}
	}
	if page := bob.get("/console/campaigns?account=alice"); strings.Contains(page.body, fmt.Sprintf(`id="campaign-%d"`, c.ID)) {
		t.Errorf("bob's campaigns page with ?account=alice lists alice's campaign")
	}
	if got, _ := e.marketingOf().Campaign(ctx, aliceID, c.ID); got.Status != marketing.CampaignScheduled {
		t.Errorf("alice's campaign: %s", got.Status)
	}
	if got, _ := e.marketingOf().SingleSend(ctx, aliceID, ss.ID); got.Status != marketing.SingleSendDraft {
		t.Errorf("alice's Single Send: %s", got.Status)
	}
	// The operator picks an account, then sees hers.
	op := e.operator()
	if a := op.get("/console/campaigns"); !strings.Contains(a.body, `/console/campaigns?account=alice`) {
		t.Errorf("the operator's campaigns page offers no account:\n%s", a.body)
	}
	if a := op.get("/console/campaigns?account=alice"); !strings.Contains(a.body, fmt.Sprintf(`id="campaign-%d"`, c.ID)) {
		t.Errorf("the operator does not see alice's campaign")
	}
}
