package sending_test

import (
	"context"
	"errors"
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
	claimed bool
}

func (c *claimingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return c.Store.Update(ctx, func(tx store.Tx) error { return fn(&claimingTx{Tx: tx, s: c}) })
}

type claimingTx struct {
	store.Tx
	s *claimingStore
}

// UpdateSendFrom first moves the send to Sending, once, as a claim would.
func (t *claimingTx) UpdateSendFrom(ctx context.Context, s store.Send, from store.SendStatus) error {
	if !t.s.claimed {
		t.s.claimed = true
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
