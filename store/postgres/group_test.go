package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/postgres"
)

// groupSends makes n Scheduled sends of a new account, each alone in a
// batch of its own.
func groupSends(t *testing.T, db *postgres.DB, name string, n int) (store.Account, []store.Send) {
	t.Helper()
	ctx := context.Background()
	acct := store.Account{Username: name, ClientID: 11}
	if err := db.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	sends := make([]store.Send, n)
	err := db.Update(ctx, func(tx store.Tx) error {
		for i := range sends {
			b := store.Batch{AccountID: acct.ID, Created: base}
			if err := tx.InsertBatch(ctx, &b); err != nil {
				return err
			}
			sends[i] = store.Send{AccountID: acct.ID, EmailName: fmt.Sprint("send ", i), Subject: "s",
				Status: store.StatusScheduled, SendDate: base, CreatedDate: base, ModifiedDate: base, BatchID: b.ID}
			if err := tx.InsertSend(ctx, &sends[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return acct, sends
}

// cancelSend is a first cancel as the send service makes it: read the
// send, move it to Canceled, mirror the hold on its batch.
func cancelSend(ctx context.Context, tx store.Tx, s store.Send) error {
	got, err := tx.SendByKey(ctx, s.AccountID, store.SendKey{ID: s.ID})
	if err != nil {
		return err
	}
	from := got.Status
	got.Status = store.StatusCanceled
	got.StatusChangedAt = got.ModifiedDate.Add(time.Minute)
	if err := tx.UpdateSendFrom(ctx, got, from); err != nil {
		return err
	}
	return tx.SetSoleSendHold(ctx, got.AccountID, got.BatchID, got.ID, store.HoldCancel, got.StatusChangedAt)
}

// TestGroupCommit: Updates that queue while another holds the process's
// group run in shared transactions, a few commits for many Updates; a
// member whose fn fails, or panics, rolls back alone; one whose context
// ends while it waits writes nothing; and every member's outcome is seen
// by another process once its Update has returned.
func TestGroupCommit(t *testing.T) {
	needPostgres(t)
	db, other := twoProcesses(t)
	const n = 40
	acct, sends := groupSends(t, db, "group", n)
	ctx := context.Background()

	// The leader holds the group (its fn waits) until every other member
	// waits to join.
	hold, started := make(chan struct{}), make(chan struct{})
	errs := make([]error, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[0] = db.Update(ctx, func(tx store.Tx) error {
			if err := cancelSend(ctx, tx, sends[0]); err != nil {
				return err
			}
			close(started)
			<-hold
			return nil
		})
	}()
	<-started
	const failing, panicking, cancelled = 5, 9, 13
	errFails := errors.New("fn fails after its write")
	cancelCtx, cancel := context.WithCancel(ctx)
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			c := ctx
			if i == cancelled {
				c = cancelCtx
			}
			errs[i] = db.Update(c, func(tx store.Tx) error {
				if err := cancelSend(c, tx, sends[i]); err != nil {
					return err
				}
				switch i {
				case failing:
					return errFails
				case panicking:
					panic("member panics after its write")
				}
				return nil
			})
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for postgres.GroupJoining(db) < n-1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d Updates wait to join, want %d", postgres.GroupJoining(db), n-1)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	commits := postgres.GroupCommits(db)
	close(hold)
	wg.Wait()

	if got := postgres.GroupCommits(db) - commits; got < 1 || got > (n+15)/16+1 {
		t.Errorf("%d Updates made %d commits, want at most %d", n, got, (n+15)/16+1)
	}
	for i, s := range sends {
		var want store.SendStatus
		switch i {
		case failing:
			want = store.StatusScheduled
			if !errors.Is(errs[i], errFails) {
				t.Errorf("failing member: %v, want %v", errs[i], errFails)
			}
		case panicking:
			want = store.StatusScheduled
			if panics[i] == nil {
				t.Errorf("panicking member: no panic reached its caller (error %v)", errs[i])
			}
		case cancelled:
			want = store.StatusScheduled
			if !errors.Is(errs[i], context.Canceled) {
				t.Errorf("member whose context ended: %v, want %v", errs[i], context.Canceled)
			}
		default:
			want = store.StatusCanceled
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("member %d: error %v, panic %v", i, errs[i], panics[i])
			}
		}
		var got store.Send
		var batch store.Batch
		err := other.View(ctx, func(tx store.Tx) (err error) {
			if got, err = tx.SendByKey(ctx, acct.ID, store.SendKey{ID: s.ID}); err != nil {
				return err
			}
			batch, err = tx.BatchByID(ctx, acct.ID, s.BatchID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		wantHold := store.HoldNone
		if want == store.StatusCanceled {
			wantHold = store.HoldCancel
		}
		if got.Status != want || batch.Hold != wantHold {
			t.Errorf("send %d: %v, its batch held %q; want %v, %q", i, got.Status, batch.Hold, want, wantHold)
		}
	}
}

// TestGroupDeferredWriteMisses: a send's write deferred on the strength
// of the transaction's own read (UpdateSendFrom), which then matches no
// row after all, fails the COMMIT's pipeline instead of passing it; fn runs
// again with its writes sent as they come, and meets the conflict itself.
// Nothing of the lost run is kept.
func TestGroupDeferredWriteMisses(t *testing.T) {
	needPostgres(t)
	db, other := twoProcesses(t)
	acct, sends := groupSends(t, db, "deferred", 1)
	ctx := context.Background()
	s := sends[0]
	calls := 0
	err := db.Update(ctx, func(tx store.Tx) error {
		calls++
		got, err := tx.SendByKey(ctx, acct.ID, store.SendKey{ID: s.ID})
		if err != nil {
			return err
		}
		// Discarding moves the send without the transaction's record of
		// what it read: the update below still expects Scheduled.
		if err := tx.DiscardSendFrom(ctx, acct.ID, s.ID, store.StatusScheduled, got.ModifiedDate.Add(time.Minute)); err != nil {
			return err
		}
		got.Status = store.StatusPaused
		return tx.UpdateSendFrom(ctx, got, store.StatusScheduled)
	})
	if !errors.Is(err, store.ErrConflict) || calls != 2 {
		t.Fatalf("Update: %v after %d runs of fn; want %v after 2", err, calls, store.ErrConflict)
	}
	var got store.Send
	if err := other.View(ctx, func(tx store.Tx) (err error) {
		got, err = tx.SendByKey(ctx, acct.ID, store.SendKey{ID: s.ID})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusScheduled || got.Discarded {
		t.Errorf("send after the failed Update: %v, discarded %v; want Scheduled, kept", got.Status, got.Discarded)
	}
}
