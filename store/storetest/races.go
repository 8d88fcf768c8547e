package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// raceRounds is how many times each race is run: a store that lets one
// interleaving through is caught by the rounds in which it happens.
const raceRounds = 40

// testRaces runs the races the rules depend on (see the isolation
// guarantees on store.Store) many times over, with the racers released
// together.
func testRaces(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("CancelAgainstClaim", func(t *testing.T) { testCancelAgainstClaim(t, open(t)) })
	t.Run("PausesForTheLastHeldSlot", func(t *testing.T) { testPausesForLastSlot(t, open(t)) })
	t.Run("HoldsForTheLastHeldSlot", func(t *testing.T) { testHoldsForLastSlot(t, open(t)) })
}

// race runs the racers at once: each waits at one gate, opened when all
// have started, so that the store sees them as nearly together as it can.
func race(racers ...func()) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, r := range racers {
		wg.Go(func() {
			<-start
			r()
		})
	}
	close(start)
	wg.Wait()
}

// winners counts the racers that succeeded (a nil error) and reports any
// that failed other than by lost, the one way a racer may lose.
func winners(t *testing.T, what string, lost error, errs []error) int {
	t.Helper()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, lost):
			t.Errorf("%s: %v, want nil or %v", what, err, lost)
		}
	}
	return ok
}

// raceHeldLimit is the held limit of the accounts in the last-slot races:
// one slot, so that of two racers exactly one may take it.
const raceHeldLimit = 1

// raceForLastSlot races take(i) for each of n racers, each in an Update of
// its own, for the last held slot of an account (raceHeldLimit): exactly
// one may succeed, every other finds errHeldLimit, and afterwards held
// (read in a View) counts raceHeldLimit. what names a racer in
// failures ("pause", "hold") and unit what it holds ("sends", "batches").
func raceForLastSlot(t *testing.T, s store.Store, round int, what, unit string, n int,
	take func(tx store.Tx, i int) error, held func(tx store.Tx) (int, error)) {
	t.Helper()
	const limit = raceHeldLimit
	errs := make([]error, n)
	racers := make([]func(), n)
	for i := range racers {
		racers[i] = func() {
			errs[i] = s.Update(t.Context(), func(tx store.Tx) error { return take(tx, i) })
		}
	}
	race(racers...)
	ok := winners(t, fmt.Sprintf("round %d: %s", round, what), errHeldLimit, errs)
	if ok != 1 {
		t.Errorf("round %d: %d of %d %ss succeeded with a held limit of %d, want exactly 1", round, ok, n, what, limit)
	}
	got, err := viewRead(t, s, held)
	if err != nil {
		t.Fatal(err)
	}
	if got != limit {
		t.Errorf("round %d: the account holds %d %s, want %d", round, got, unit, limit)
	}
}

// errNotScheduled: the cancel read the send already claimed.
var errNotScheduled = errors.New("not Scheduled when read")

// cancel is a cancel as the rules make it: read the send, and move it
// from the status read to Canceled with UpdateSendFrom.
func cancel(t *testing.T, s store.Store, accountID, id int64, now time.Time) error {
	return s.Update(t.Context(), func(tx store.Tx) error {
		cur, err := tx.SendByKey(t.Context(), accountID, store.SendKey{ID: id})
		if err != nil {
			return err
		}
		if cur.Status != store.StatusScheduled {
			return errNotScheduled
		}
		read := cur.Status
		cur.Status, cur.StatusChangedAt, cur.ModifiedDate = store.StatusCanceled, now, now
		return tx.UpdateSendFrom(t.Context(), cur, read)
	})
}

// testCancelAgainstClaim: cancels of due sends race a dispatcher's claim
// at the same instant. Every send ends either Canceled or claimed
// (Sending), never both, and a cancel that returned nil was never claimed:
// a cancel answered OK never goes out.
func testCancelAgainstClaim(t *testing.T, s store.Store) {
	const sends = 8
	now := at(0)
	for round := range raceRounds {
		acct := newAccount(t, s, fmt.Sprintf("race%d", round))
		batch := make([]store.Send, sends)
		for i := range batch {
			batch[i] = newSend(acct.ID, fmt.Sprintf("r%d-%d", round, i))
			batch[i].SendDate = now // due
		}
		batch = insert(t, s, batch...)

		cancelErr := make([]error, sends)
		racers := make([]func(), 0, sends+1)
		for i, send := range batch {
			racers = append(racers, func() { cancelErr[i] = cancel(t, s, acct.ID, send.ID, now) })
		}
		claimed := map[int64]bool{}
		var claimErr error
		racers = append(racers, func() {
			got, err := s.ClaimDueSends(t.Context(), store.Claim{Now: now, Owner: "racer", LeaseUntil: now.Add(time.Hour), Limit: 1000})
			claimErr = err
			for _, c := range got {
				claimed[c.ID] = true
			}
		})
		race(racers...)
		if claimErr != nil {
			t.Fatalf("round %d: ClaimDueSends: %v", round, claimErr)
		}
		for i, send := range batch {
			got := mustGet(t, s, acct.ID, send.ID)
			err := cancelErr[i]
			switch {
			case err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, errNotScheduled):
				t.Fatalf("round %d: cancel of send %d: %v", round, send.ID, err)
			case err == nil && (claimed[send.ID] || got.Status != store.StatusCanceled):
				t.Errorf("round %d: send %d: the cancel returned nil, yet it is %s (claimed: %v)", round, send.ID, got.Status, claimed[send.ID])
			case err != nil && (!claimed[send.ID] || got.Status != store.StatusSending):
				t.Errorf("round %d: send %d: the cancel lost (%v), yet it is %s (claimed: %v)", round, send.ID, err, got.Status, claimed[send.ID])
			}
		}
		// Nothing is left behind for the next round's claim.
		if left, err := s.ClaimDueSends(t.Context(), store.Claim{Now: now, Owner: "sweeper", LeaseUntil: now.Add(time.Hour), Limit: 1000}); err != nil || len(left) != 0 {
			t.Fatalf("round %d: a second claim took %d sends, %v; want none", round, len(left), err)
		}
	}
}

// errHeldLimit: the pause found the held limit reached.
var errHeldLimit = errors.New("held limit reached")

// testPausesForLastSlot: two pauses of one account race for its last held
// slot (limit 1). The count and the write are one Update each, and the
// store serializes them: exactly one pause succeeds, and the account holds
// one send.
func testPausesForLastSlot(t *testing.T, s store.Store) {
	now := at(0)
	for round := range raceRounds {
		acct := newAccount(t, s, fmt.Sprintf("pause%d", round))
		batch := insert(t, s, newSend(acct.ID, fmt.Sprintf("p%d-a", round)), newSend(acct.ID, fmt.Sprintf("p%d-b", round)))
		held := func(tx store.Tx) (int, error) { return tx.CountHeldSends(t.Context(), acct.ID, now) }
		raceForLastSlot(t, s, round, "pause", "sends", len(batch), func(tx store.Tx, i int) error {
			if n, err := held(tx); err != nil {
				return err
			} else if n >= raceHeldLimit {
				return errHeldLimit
			}
			cur, err := tx.SendByKey(t.Context(), acct.ID, store.SendKey{ID: batch[i].ID})
			if err != nil {
				return err
			}
			read := cur.Status
			cur.Status, cur.StatusChangedAt = store.StatusPaused, now
			return tx.UpdateSendFrom(t.Context(), cur, read)
		}, held)
	}
}
