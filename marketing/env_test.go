package marketing_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// env is a marketing Service over the test store, with a manual clock and
// two accounts: acct (the caller) and other.
type env struct {
	t     *testing.T
	db    store.Store
	clk   *clock.Manual
	svc   *marketing.Service
	sends *sending.Service
	acct  int64
	other int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := testrig.OpenStore(t)
	e := &env{t: t, db: db, clk: clock.NewManual(now)}
	for _, a := range []struct {
		name string
		id   *int64
	}{{"acct", &e.acct}, {"other", &e.other}} {
		acct := store.Account{Username: a.name, ClientID: 1001}
		if err := db.CreateAccount(t.Context(), &acct); err != nil {
			t.Fatal(err)
		}
		*a.id = acct.ID
	}
	e.sends = &sending.Service{Store: db, Clock: e.clk, Policy: lifecycle.DefaultPolicy}
	e.svc = &marketing.Service{Store: db, Clock: e.clk, Sends: e.sends}
	return e
}

// list creates a list of account acct with n recipients r0@example.com …
func (e *env) list(name string, n int) store.MarketingList {
	e.t.Helper()
	rs := make([]store.ListRecipient, n)
	for i := range rs {
		rs[i].Address = fmt.Sprintf("r%d@example.com", i)
	}
	l, err := e.svc.CreateList(e.t.Context(), e.acct, name, rs)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// ready is a campaign that can be scheduled, to lists.
func ready(lists ...int64) store.CampaignFields {
	return store.CampaignFields{Title: "Spring", Subject: "Hello", HTMLContent: "<p>hi</p>", PlainContent: "hi", ListIDs: lists}
}

// campaign creates a campaign of acct.
func (e *env) campaign(f store.CampaignFields) marketing.Campaign {
	e.t.Helper()
	c, err := e.svc.CreateCampaign(e.t.Context(), e.acct, f)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// sendsOf reads every send of account acct, by ID.
func (e *env) allSends() []store.Send {
	e.t.Helper()
	var sends []store.Send
	err := e.db.View(e.t.Context(), func(tx store.Tx) error {
		var err error
		sends, err = tx.FindSends(e.t.Context(), e.acct, store.SendQuery{})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return sends
}

// claim claims up to n due sends, as a dispatcher does.
func (e *env) claim(n int) []store.ClaimedSend {
	e.t.Helper()
	got, err := e.db.ClaimDueSends(e.t.Context(), store.Claim{Now: e.clk.Now(), Owner: "test", LeaseUntil: e.clk.Now().Add(time.Minute), Limit: n})
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// complete completes claimed sends.
func (e *env) complete(cs []store.ClaimedSend) {
	e.t.Helper()
	entries := make([]store.OutboxEntry, len(cs))
	for i, c := range cs {
		entries[i] = store.OutboxEntry{SendID: c.ID, AccountID: c.AccountID, ObjectID: c.ObjectID, Transport: "outbox",
			NumberSent: int64(len(c.Content.Recipients)), DeliveredAt: e.clk.Now(), Attempt: 1}
	}
	if _, err := e.db.CompleteSends(e.t.Context(), entries); err != nil {
		e.t.Fatal(err)
	}
}

// act applies a lifecycle action to every send of acct.
func (e *env) act(a lifecycle.Action) {
	e.t.Helper()
	var keys []sending.Key
	for _, s := range e.allSends() {
		keys = append(keys, sending.Key{ID: s.ID, HasID: true})
	}
	outs, err := e.sends.Act(e.t.Context(), e.acct, a, keys)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range outs {
		if o.Err != nil {
			e.t.Fatal(o.Err)
		}
	}
}
