package partnerapi_test

import (
	"context"
	"testing"

	"github.com/partnerd/partnerd/api/partnerapi"
	"github.com/partnerd/partnerd/store"
)

// claimingStore is a store in which a dispatcher claims the send a Perform
// is about to write, between the Perform's read and its write: what a store
// whose transactions do not serialize with the claim (PostgreSQL at READ
// COMMITTED, a second process) allows.
type claimingStore struct {
	store.Store
}

func (c *claimingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return c.Store.Update(ctx, func(tx store.Tx) error { return fn(&claimingTx{Tx: tx}) })
}

// claimingTx claims once in each run of the Update's fn: a store may run
// fn again (after a serialization failure, or to redo deferred writes),
// and the claim of a run rolled back did not happen, where a dispatcher's
// committed claim would still be there.
type claimingTx struct {
	store.Tx
	claimed bool
}

// claimOnce moves the send to Sending, once, as a dispatcher's claim would.
func (t *claimingTx) claimOnce(ctx context.Context, s store.Send) error {
	if t.claimed {
		return nil
	}
	t.claimed = true
	cur, err := t.Tx.SendByKey(ctx, s.AccountID, store.SendKey{ID: s.ID})
	if err != nil {
		return err
	}
	from := cur.Status
	cur.Status = store.StatusSending
	return t.Tx.UpdateSendFrom(ctx, cur, from)
}

func (t *claimingTx) UpdateSendFrom(ctx context.Context, s store.Send, from store.SendStatus) error {
	if err := t.claimOnce(ctx, s); err != nil {
		return err
	}
	return t.Tx.UpdateSendFrom(ctx, s, from)
}

// TestCancelRacingClaim: a cancel that read a send Scheduled must not
// answer OK if a dispatcher claimed the send before the cancel's write; it
// re-reads the send and answers that it is Sending (7093).
func TestCancelRacingClaim(t *testing.T) {
	e := newTestEnv(t)
	r := one(t, e.mustCall("Create", createSend("", "<SendDate>2026-06-02T12:00:00Z</SendDate>")))
	if r.status != "OK" {
		t.Fatalf("Create: %+v", r)
	}
	e.svc.Store = &claimingStore{Store: e.db}
	got := one(t, e.mustCall("Perform", performSend("cancel", "<ID>"+itoa(r.newID)+"</ID>")))
	if got.status != "Error" || got.code != partnerapi.CodeSendStatusNotActionable {
		t.Errorf("cancel racing a claim = %+v, want Error %d", got, partnerapi.CodeSendStatusNotActionable)
	}
	if s := e.send(r.newID); s.Status != store.StatusSending {
		t.Errorf("send is %s, want Sending (the claim stands)", s.Status)
	}
}
