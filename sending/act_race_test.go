package sending_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// claimingStore is a store in which a dispatcher claims the send an action
// is about to write, between the action's read and its write: what a store
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

// UpdateSendFrom first moves the send to Sending, once, as a claim would.
func (t *claimingTx) UpdateSendFrom(ctx context.Context, s store.Send, from store.SendStatus) error {
	if !t.claimed {
		t.claimed = true
		cur, err := t.Tx.SendByKey(ctx, s.AccountID, store.SendKey{ID: s.ID})
		if err != nil {
			return err
		}
		from := cur.Status
		cur.Status = store.StatusSending
		if err := t.Tx.UpdateSendFrom(ctx, cur, from); err != nil {
			return err
		}
	}
	return t.Tx.UpdateSendFrom(ctx, s, from)
}

// TestActRacingClaim: an action that read a send Scheduled must not answer
// OK if a dispatcher claimed the send before the action's write: the
// compare-and-set fails, the send is read again, and the rules refuse it
// as Sending (ErrStatus); the claim stands.
func TestActRacingClaim(t *testing.T) {
	for _, action := range []lifecycle.Action{lifecycle.Cancel, lifecycle.Pause} {
		t.Run(string(action), func(t *testing.T) {
			e := newEnv(t)
			s := e.insert(store.Send{Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})
			e.svc.Store = &claimingStore{Store: e.db}
			outs, err := e.svc.Act(t.Context(), e.acct, action, []sending.Key{{ID: s.ID, HasID: true}})
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(outs[0].Err, sending.ErrStatus) {
				t.Errorf("%s racing a claim: err = %v, want ErrStatus", action, outs[0].Err)
			}
			if got := e.send(s.ID).Status; got != store.StatusSending {
				t.Errorf("send is %s, want Sending (the claim stands)", got)
			}
		})
	}
}

// TestHoldRacingClaim: a pause or cancel of a batch that read a send
// Scheduled, which a dispatcher claims before the hold's write, is refused
// (ErrCutoff: the send is going out) and changes nothing: a hold answered
// OK stops every send of its batch.
func TestHoldRacingClaim(t *testing.T) {
	for _, h := range []sending.Hold{sending.HoldPause, sending.HoldCancel} {
		t.Run(string(h), func(t *testing.T) {
			e := newEnv(t)
			b := e.batch()
			s := e.insert(store.Send{BatchID: b.ID, Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})
			e.svc.Store = &claimingStore{Store: e.db}
			_, err := e.svc.SetHold(t.Context(), e.acct, b.ID, h, false)
			if !errors.Is(err, sending.ErrCutoff) {
				t.Errorf("%s racing a claim: err = %v, want ErrCutoff", h, err)
			}
			if got := e.batchOf(b.ID).Hold; got != sending.HoldNone {
				t.Errorf("batch held %q after a refused hold, want none", got)
			}
			if got := e.send(s.ID).Status; got != store.StatusScheduled {
				t.Errorf("send is %s, want Scheduled (the refused hold's transaction, claim included, rolled back)", got)
			}
		})
	}
}

// TestHoldsRaceForTheLastSlot: two holds of one account, released
// together, race for its last held slot: exactly one is answered OK.
func TestHoldsRaceForTheLastSlot(t *testing.T) {
	for round := range 20 {
		e := newEnv(t)
		e.svc.Policy.HeldLimit = 1
		bs := []sending.Batch{e.batch(), e.batch()}
		for _, b := range bs {
			e.insert(store.Send{BatchID: b.ID, Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})
		}
		start := make(chan struct{})
		errs := make([]error, len(bs))
		var wg sync.WaitGroup
		for i, b := range bs {
			wg.Go(func() {
				<-start
				_, errs[i] = e.svc.SetHold(t.Context(), e.acct, b.ID, sending.HoldCancel, false)
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, sending.ErrHeldLimit):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d of 2 holds answered OK with a limit of 1, want 1", round, ok)
		}
	}
}
