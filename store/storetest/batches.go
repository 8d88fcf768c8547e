package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// testBatches: every send is in a batch (its own unless it names one of
// its account's), batches are scoped to their account, holds change by
// compare-and-set, and the held batches are counted as the held limit
// counts them.
func testBatches(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("OwnBatch", func(t *testing.T) { testOwnBatch(t, open(t)) })
	t.Run("NamedBatch", func(t *testing.T) { testNamedBatch(t, open(t)) })
	t.Run("Hold", func(t *testing.T) { testBatchHold(t, open(t)) })
	t.Run("CountHeldBatches", func(t *testing.T) { testCountHeldBatches(t, open(t)) })
	t.Run("Discarded", func(t *testing.T) { testDiscarded(t, open(t)) })
	t.Run("SetSoleSendHold", func(t *testing.T) { testSetSoleSendHold(t, open(t)) })
	t.Run("OwnBatchID", func(t *testing.T) { testOwnBatchID(t, open(t)) })
}

// testSetSoleSendHold: a send's hold reaches its batch only when the batch
// holds it alone.
func testSetSoleSendHold(t *testing.T, s store.Store) {
	acct := newAccount(t, s, "acct")
	other := newAccount(t, s, "other")
	shared := store.Batch{AccountID: acct.ID, Created: base}
	update(t, s, func(tx store.Tx) error { return tx.InsertBatch(t.Context(), &shared) })
	in := []store.Send{newSend(acct.ID, "alone"), newSend(acct.ID, "s1"), newSend(acct.ID, "s2"), newSend(acct.ID, "another")}
	in[1].BatchID, in[2].BatchID = shared.ID, shared.ID
	sends := insert(t, s, in...)
	alone, another := sends[0], sends[3]
	cases := []struct {
		name    string
		account int64
		batch   string
		send    int64
		hold    store.Hold
		wrote   bool
		want    store.Hold // the batch's hold after
	}{
		{"alone in its batch", acct.ID, alone.BatchID, alone.ID, store.HoldPause, true, store.HoldPause},
		{"the same hold again", acct.ID, alone.BatchID, alone.ID, store.HoldPause, false, store.HoldPause},
		{"another hold", acct.ID, alone.BatchID, alone.ID, store.HoldCancel, true, store.HoldCancel},
		{"not its send", acct.ID, alone.BatchID, another.ID, store.HoldNone, false, store.HoldCancel},
		{"another account", other.ID, alone.BatchID, alone.ID, store.HoldNone, false, store.HoldCancel},
		{"released", acct.ID, alone.BatchID, alone.ID, store.HoldNone, true, store.HoldNone},
		{"a shared batch", acct.ID, shared.ID, sends[1].ID, store.HoldPause, false, store.HoldNone},
	}
	for i, c := range cases {
		before, err := batchOf(t, s, acct.ID, c.batch)
		if err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration(i+1) * time.Minute)
		update(t, s, func(tx store.Tx) error {
			return tx.SetSoleSendHold(t.Context(), c.account, c.batch, c.send, c.hold, at)
		})
		b, err := batchOf(t, s, acct.ID, c.batch)
		if err != nil {
			t.Fatal(err)
		}
		// What it wrote shows in the time of the change.
		wrote := b.HoldChangedAt.Equal(at)
		if !wrote && !b.HoldChangedAt.Equal(before.HoldChangedAt) {
			t.Errorf("%s: hold changed at %v, neither %v (before) nor %v", c.name, b.HoldChangedAt, before.HoldChangedAt, at)
		}
		if wrote != c.wrote || b.Hold != c.want {
			t.Errorf("%s: wrote %v, hold %q; want %v, %q", c.name, wrote, b.Hold, c.wrote, c.want)
		}
	}
}

// update runs fn in an Update and fails t on its error.
func update(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

func batchOf(t *testing.T, s store.Store, accountID int64, id string) (store.Batch, error) {
	t.Helper()
	b, err := viewRead(t, s, func(tx store.Tx) (store.Batch, error) { return tx.BatchByID(t.Context(), accountID, id) })
	return b, err
}

func isBatchID(id string) bool {
	if len(id) != store.BatchIDLength {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// testOwnBatch: a send inserted without a batch gets one of its own, read
// back with the send, distinct from every other send's.
func testOwnBatch(t *testing.T, s store.Store) {
	acct := newAccount(t, s, "acct")
	sends := insert(t, s, newSend(acct.ID, "a"), newSend(acct.ID, "b"))
	seen := map[string]bool{}
	for _, send := range sends {
		if !isBatchID(send.BatchID) {
			t.Errorf("send %d: BatchID %q, want 32 characters [A-Za-z0-9]", send.ID, send.BatchID)
		}
		if seen[send.BatchID] {
			t.Errorf("send %d: BatchID %q shared with another send", send.ID, send.BatchID)
		}
		seen[send.BatchID] = true
		if got := mustGet(t, s, acct.ID, send.ID); got.BatchID != send.BatchID || got.Discarded {
			t.Errorf("send %d read back with BatchID %q (Discarded %v), want %q", send.ID, got.BatchID, got.Discarded, send.BatchID)
		}
		b, err := batchOf(t, s, acct.ID, send.BatchID)
		if err != nil {
			t.Fatalf("BatchByID(%q): %v", send.BatchID, err)
		}
		if b.ID != send.BatchID || b.AccountID != acct.ID || !sameTime(b.Created, send.CreatedDate) || b.Hold != store.HoldNone || !b.HoldChangedAt.IsZero() {
			t.Errorf("own batch %+v, want ID %q, account %d, created %v, no hold", b, send.BatchID, acct.ID, send.CreatedDate)
		}
		of, err := viewRead(t, s, func(tx store.Tx) ([]store.Send, error) { return tx.SendsOfBatch(t.Context(), acct.ID, send.BatchID, 0) })
		if err != nil {
			t.Fatal(err)
		}
		if len(of) != 1 || of[0].ID != send.ID {
			t.Errorf("SendsOfBatch(own batch of %d) = %v, want just it", send.ID, ids(of))
		}
	}
}

// testNamedBatch: sends go into a batch of their account; another
// account's batch, or an unknown one, is not found.
func testNamedBatch(t *testing.T, s store.Store) {
	acct := newAccount(t, s, "acct")
	other := newAccount(t, s, "other")
	b := store.Batch{AccountID: acct.ID, Created: base}
	update(t, s, func(tx store.Tx) error { return tx.InsertBatch(t.Context(), &b) })
	if !isBatchID(b.ID) {
		t.Fatalf("InsertBatch gave ID %q, want 32 characters [A-Za-z0-9]", b.ID)
	}
	dup := store.Batch{ID: b.ID, AccountID: other.ID, Created: base}
	wantErr(t, "InsertBatch of a taken ID (by another account)",
		s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertBatch(t.Context(), &dup) }), store.ErrExists)

	in := []store.Send{newSend(acct.ID, "x"), newSend(acct.ID, "y"), newSend(acct.ID, "z")}
	in[0].BatchID, in[1].BatchID = b.ID, b.ID
	sends := insert(t, s, in...)
	if sends[0].BatchID != b.ID || sends[1].BatchID != b.ID || sends[2].BatchID == b.ID {
		t.Errorf("BatchIDs %q %q %q, want the first two %q", sends[0].BatchID, sends[1].BatchID, sends[2].BatchID, b.ID)
	}
	for _, c := range []struct {
		name    string
		account int64
		batch   string
		want    []int64
	}{
		{"all", acct.ID, b.ID, []int64{sends[0].ID, sends[1].ID}},
		{"another account's", other.ID, b.ID, nil},
		{"unknown", acct.ID, "nope", nil},
	} {
		got, err := viewRead(t, s, func(tx store.Tx) ([]store.Send, error) { return tx.SendsOfBatch(t.Context(), c.account, c.batch, 0) })
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint(c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("SendsOfBatch %s = %v, want %v", c.name, ids(got), c.want)
		}
	}
	if limited, err := viewRead(t, s, func(tx store.Tx) ([]store.Send, error) {
		return tx.SendsOfBatch(t.Context(), acct.ID, b.ID, 1)
	}); err != nil || len(limited) != 1 || limited[0].ID != sends[0].ID {
		t.Errorf("SendsOfBatch limit 1 = %v, %v; want the first send", ids(limited), err)
	}

	for _, c := range []struct {
		name    string
		account int64
		batch   string
	}{{"another account's batch", other.ID, b.ID}, {"an unknown batch", acct.ID, "HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi"}} {
		if _, err := batchOf(t, s, c.account, c.batch); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("BatchByID of %s: %v, want ErrNotFound", c.name, err)
		}
		send := newSend(c.account, "")
		send.BatchID = c.batch
		err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertSend(t.Context(), &send) })
		wantErr(t, "InsertSend into "+c.name, err, store.ErrNotFound)
	}
}

// testBatchHold: a hold is written only from the hold read; held batches
// are listed oldest hold first, and only the account's.
func testBatchHold(t *testing.T, s store.Store) {
	acct := newAccount(t, s, "acct")
	other := newAccount(t, s, "other")
	var bs [3]store.Batch
	update(t, s, func(tx store.Tx) error {
		for i := range bs {
			bs[i] = store.Batch{AccountID: acct.ID, Created: base}
			if err := tx.InsertBatch(t.Context(), &bs[i]); err != nil {
				return err
			}
		}
		o := store.Batch{AccountID: other.ID, Created: base, Hold: store.HoldPause, HoldChangedAt: base}
		return tx.InsertBatch(t.Context(), &o)
	})
	hold := func(b store.Batch, h store.Hold, when time.Time, from store.Hold) error {
		b.Hold, b.HoldChangedAt = h, when
		return s.Update(t.Context(), func(tx store.Tx) error { return tx.UpdateBatchHold(t.Context(), b, from) })
	}
	if err := hold(bs[2], store.HoldCancel, at(time.Minute), store.HoldNone); err != nil {
		t.Fatal(err)
	}
	if err := hold(bs[0], store.HoldPause, at(2*time.Minute), store.HoldNone); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "UpdateBatchHold from a hold it no longer has", hold(bs[0], store.HoldCancel, at(3*time.Minute), store.HoldNone), store.ErrConflict)
	wantErr(t, "UpdateBatchHold of an absent batch", hold(store.Batch{ID: "absent", AccountID: acct.ID}, store.HoldCancel, base, store.HoldNone), store.ErrNotFound)
	wantErr(t, "UpdateBatchHold of another account's batch", hold(store.Batch{ID: bs[1].ID, AccountID: other.ID}, store.HoldCancel, base, store.HoldNone), store.ErrNotFound)

	got, err := batchOf(t, s, acct.ID, bs[0].ID)
	if err != nil || got.Hold != store.HoldPause || !sameTime(got.HoldChangedAt, at(2*time.Minute)) {
		t.Errorf("batch after pause: %+v, %v; want paused at %v", got, err, at(2*time.Minute))
	}
	held, err := viewRead(t, s, func(tx store.Tx) ([]store.Batch, error) { return tx.HeldBatches(t.Context(), acct.ID) })
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 2 || held[0].ID != bs[2].ID || held[1].ID != bs[0].ID || held[0].Hold != store.HoldCancel {
		t.Errorf("HeldBatches = %+v, want %s (cancel) then %s (pause)", held, bs[2].ID, bs[0].ID)
	}
	// Removing the hold takes the batch off the list.
	if err := hold(bs[2], store.HoldNone, at(4*time.Minute), store.HoldCancel); err != nil {
		t.Fatal(err)
	}
	if held, err = viewRead(t, s, func(tx store.Tx) ([]store.Batch, error) {
		return tx.HeldBatches(t.Context(), acct.ID)
	}); err != nil || len(held) != 1 || held[0].ID != bs[0].ID {
		t.Errorf("HeldBatches after a release = %+v, %v; want only %s", held, err, bs[0].ID)
	}
}

// testCountHeldBatches: a batch counts once however many of its sends are
// held, a held batch no send is in yet counts, one whose sends are past
// holding does not, and except leaves one batch out.
func testCountHeldBatches(t *testing.T, s store.Store) {
	acct := newAccount(t, s, "acct")
	other := newAccount(t, s, "other")
	batch := func(accountID int64, h store.Hold) string {
		b := store.Batch{AccountID: accountID, Created: base, Hold: h}
		if h != store.HoldNone {
			b.HoldChangedAt = base
		}
		update(t, s, func(tx store.Tx) error { return tx.InsertBatch(t.Context(), &b) })
		return b.ID
	}
	mk := func(accountID int64, batchID string, status store.SendStatus, sendDate time.Time) store.Send {
		send := newSend(accountID, "")
		send.BatchID, send.Status, send.SendDate = batchID, status, sendDate
		return send
	}
	pausedTwice := batch(acct.ID, store.HoldPause)
	emptyHeld := batch(acct.ID, store.HoldCancel)
	batch(acct.ID, store.HoldNone) // empty, not held
	sentHeld := batch(acct.ID, store.HoldCancel)
	canceled := batch(acct.ID, store.HoldCancel)
	batch(other.ID, store.HoldPause) // another account's
	insert(t, s,
		mk(acct.ID, pausedTwice, store.StatusPaused, at(time.Hour)),
		mk(acct.ID, pausedTwice, store.StatusPaused, at(2*time.Hour)),
		mk(acct.ID, sentHeld, store.StatusComplete, at(-time.Hour)),  // held, but nothing left to hold
		mk(acct.ID, canceled, store.StatusCanceled, at(2*time.Hour)), // held until base+2h
		mk(acct.ID, "", store.StatusPaused, at(time.Hour)),           // a send alone in its batch
		mk(acct.ID, "", store.StatusScheduled, at(time.Hour)),        // not held
		mk(other.ID, "", store.StatusPaused, at(time.Hour)),
	)
	cases := []struct {
		name   string
		now    time.Time
		except string
		want   int
	}{
		{"every held batch", base, "", 4},
		{"the canceled one at its SendDate", at(2 * time.Hour), "", 3},
		{"except one with two paused sends", base, pausedTwice, 3},
		{"except the empty held one", base, emptyHeld, 3},
		{"except one not held", base, sentHeld, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.View(t.Context(), func(tx store.Tx) error {
				n, err := tx.CountHeldBatches(t.Context(), acct.ID, c.except, c.now)
				if err == nil && n != c.want {
					t.Errorf("CountHeldBatches = %d, want %d", n, c.want)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// testDiscarded: a canceled send the queue has discarded reads so, and is
// never moved again.
func testDiscarded(t *testing.T, s store.Store) {
	acct := newAccount(t, s, "acct")
	send := newSend(acct.ID, "gone")
	send.Status, send.SendDate = store.StatusCanceled, at(-time.Minute)
	send = insert(t, s, send)[0]
	if n, err := s.DiscardCanceledSends(t.Context(), base); err != nil || n != 1 {
		t.Fatalf("DiscardCanceledSends = %d, %v; want 1", n, err)
	}
	got := mustGet(t, s, acct.ID, send.ID)
	if !got.Discarded || got.Status != store.StatusCanceled {
		t.Fatalf("after discard: %s, Discarded %v; want Canceled and discarded", got.Status, got.Discarded)
	}
	got.Status, got.SendDate = store.StatusScheduled, at(time.Hour)
	err := s.Update(t.Context(), func(tx store.Tx) error { return tx.UpdateSendFrom(t.Context(), got, store.StatusCanceled) })
	wantErr(t, "UpdateSendFrom of a discarded send", err, store.ErrConflict)
}

// testHoldsForLastSlot: two holds of one account race for its last held
// slot (limit 1), each counting the other held batches and then writing its
// batch's hold and its send's status in one Update: exactly one succeeds.
func testHoldsForLastSlot(t *testing.T, s store.Store) {
	now := at(0)
	for round := range raceRounds {
		acct := newAccount(t, s, fmt.Sprintf("hold%d", round))
		var batches [2]store.Batch
		update(t, s, func(tx store.Tx) error {
			for i := range batches {
				batches[i] = store.Batch{AccountID: acct.ID, Created: now}
				if err := tx.InsertBatch(t.Context(), &batches[i]); err != nil {
					return err
				}
				send := newSend(acct.ID, "")
				send.BatchID = batches[i].ID
				if err := tx.InsertSend(t.Context(), &send); err != nil {
					return err
				}
			}
			return nil
		})
		raceForLastSlot(t, s, round, "hold", "batches", len(batches), func(tx store.Tx, i int) error {
			b := batches[i]
			if n, err := tx.CountHeldBatches(t.Context(), acct.ID, b.ID, now); err != nil {
				return err
			} else if n >= raceHeldLimit {
				return errHeldLimit
			}
			b.Hold, b.HoldChangedAt = store.HoldPause, now
			if err := tx.UpdateBatchHold(t.Context(), b, store.HoldNone); err != nil {
				return err
			}
			sends, err := tx.SendsOfBatch(t.Context(), acct.ID, b.ID, 0)
			if err != nil {
				return err
			}
			for _, cur := range sends {
				read := cur.Status
				cur.Status, cur.StatusChangedAt = store.StatusPaused, now
				if err := tx.UpdateSendFrom(t.Context(), cur, read); err != nil {
					return err
				}
			}
			return nil
		}, func(tx store.Tx) (int, error) { return tx.CountHeldBatches(t.Context(), acct.ID, "", now) })
	}
}

// testOwnBatchID: a send's own batch takes the ID the service chose
// (OwnBatchID, drawn from a deterministic server's ID source), and a send
// that names a batch keeps it whatever OwnBatchID says.
func testOwnBatchID(t *testing.T, s store.Store) {
	acct := newAccount(t, s, "acct")
	chosen := newSend(acct.ID, "chosen")
	chosen.OwnBatchID = "Chosen0000000000000000000000000A"
	named := newSend(acct.ID, "named")
	b := store.Batch{AccountID: acct.ID, Created: base}
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertBatch(t.Context(), &b) }); err != nil {
		t.Fatal(err)
	}
	named.BatchID, named.OwnBatchID = b.ID, "Ignored000000000000000000000000A"
	sends := insert(t, s, chosen, named)
	if got := mustGet(t, s, acct.ID, sends[0].ID); got.BatchID != chosen.OwnBatchID {
		t.Errorf("send with OwnBatchID %q read back in batch %q", chosen.OwnBatchID, got.BatchID)
	}
	if _, err := batchOf(t, s, acct.ID, chosen.OwnBatchID); err != nil {
		t.Errorf("BatchByID(%q): %v", chosen.OwnBatchID, err)
	}
	if got := mustGet(t, s, acct.ID, sends[1].ID); got.BatchID != b.ID {
		t.Errorf("send naming batch %q read back in %q", b.ID, got.BatchID)
	}
}
