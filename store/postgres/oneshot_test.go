package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// TestOneShot: an Update that reads a send and stops there, again and
// again, comes to be sent as one pipeline with its COMMIT; one that then
// writes after all (a misprediction) has its fn run again as an ordinary
// transaction, so that its write is made once, is committed, and is
// seen; whatever fn does with the refused statement's error; and the
// writes that follow soon stop the prediction, so that fn runs once again.
func TestOneShot(t *testing.T) {
	needPostgres(t)
	db, other := twoProcesses(t)
	ctx := context.Background()
	acct := store.Account{Username: "oneshot", ClientID: 7}
	if err := db.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	send := store.Send{AccountID: acct.ID, EmailName: "One shot", Subject: "One shot", Status: store.StatusScheduled,
		SendDate: base, CreatedDate: base, ModifiedDate: base}
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.InsertSend(ctx, &send) }); err != nil {
		t.Fatal(err)
	}
	key := store.SendKey{ID: send.ID}

	// readOnly runs an Update that only reads the send, and says how often
	// its fn ran.
	readOnly := func(t *testing.T, want store.SendStatus) {
		t.Helper()
		calls := 0
		err := db.Update(ctx, func(tx store.Tx) error {
			calls++
			got, err := tx.SendByKey(ctx, acct.ID, key)
			if err == nil && got.Status != want {
				t.Errorf("read status %v, want %v", got.Status, want)
			}
			return err
		})
		if err != nil || calls != 1 {
			t.Fatalf("read-only Update: %v after %d runs of fn, want nil after 1", err, calls)
		}
	}
	// toggle reads the send and moves it between Scheduled and Paused; a
	// refused statement's error is swallowed when swallow is set, and fn
	// then reports success as a careless caller would.
	toggle := func(t *testing.T, swallow bool) (calls int) {
		t.Helper()
		err := db.Update(ctx, func(tx store.Tx) error {
			calls++
			s, err := tx.SendByKey(ctx, acct.ID, key)
			if err != nil {
				return err
			}
			from := s.Status
			s.Status = store.StatusPaused
			if from == store.StatusPaused {
				s.Status = store.StatusScheduled
			}
			if err := tx.UpdateSendFrom(ctx, s, from); err != nil && !swallow {
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatalf("toggle: %v", err)
		}
		return calls
	}
	status := func(t *testing.T) store.SendStatus {
		t.Helper()
		var s store.Send
		err := other.View(ctx, func(tx store.Tx) (err error) {
			s, err = tx.SendByKey(ctx, acct.ID, key)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return s.Status
	}

	steps := []struct {
		name      string
		train     store.SendStatus // read-only Updates of the send, in this status, first
		swallow   bool
		wantCalls int
		want      store.SendStatus // after
	}{
		{"mispredicted", store.StatusScheduled, false, 2, store.StatusPaused},
		{"the refused statement's error swallowed", store.StatusPaused, true, 2, store.StatusScheduled},
		{"one miss leaves the prediction", "", false, 2, store.StatusPaused},
		{"two misses end it", "", false, 1, store.StatusScheduled},
	}
	for _, st := range steps {
		if st.train != "" {
			for range 8 {
				readOnly(t, st.train)
			}
		}
		if calls := toggle(t, st.swallow); calls != st.wantCalls {
			t.Errorf("%s: fn ran %d times, want %d", st.name, calls, st.wantCalls)
		}
		if got := status(t); got != st.want {
			t.Fatalf("%s: the send is %v after, want %v", st.name, got, st.want)
		}
	}

	// A one-shot Update's own error is returned as is, after its read.
	for range 8 {
		readOnly(t, store.StatusScheduled)
	}
	refused := errors.New("refused by a rule")
	if err := db.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.SendByKey(ctx, acct.ID, key); err != nil {
			return err
		}
		return refused
	}); !errors.Is(err, refused) {
		t.Errorf("Update = %v, want fn's error", err)
	}
	// A one-shot read of a send that is not there.
	if err := db.Update(ctx, func(tx store.Tx) error {
		_, err := tx.SendByKey(ctx, acct.ID, store.SendKey{ID: send.ID + 1000})
		return err
	}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Update of a missing send = %v, want ErrNotFound", err)
	}
}
