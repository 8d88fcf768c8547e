package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

func testCursors(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	acct := newAccount(t, s, "acct")
	other := newAccount(t, s, "other")
	saved := store.Cursor{
		RequestID: "5b2a3c1e-0000-4000-8000-000000000001",
		AccountID: acct.ID,
		Query:     []byte(`{"props":["ID","Status"],"filter":null}`),
		AfterID:   42,
		Expires:   at(5 * time.Minute),
	}
	save := func(t *testing.T, c store.Cursor) {
		t.Helper()
		if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.SaveCursor(t.Context(), c) }); err != nil {
			t.Fatalf("SaveCursor: %v", err)
		}
	}
	load := func(t *testing.T, accountID int64, requestID string, now time.Time) (store.Cursor, error) {
		t.Helper()
		c, err := viewRead(t, s, func(tx store.Tx) (store.Cursor, error) { return tx.Cursor(t.Context(), accountID, requestID, now) })
		return c, err
	}
	same := func(got, want store.Cursor) bool {
		return got.RequestID == want.RequestID && got.AccountID == want.AccountID &&
			bytes.Equal(got.Query, want.Query) && got.AfterID == want.AfterID && sameTime(got.Expires, want.Expires)
	}
	save(t, saved)

	cases := []struct {
		name      string
		accountID int64
		requestID string
		now       time.Time
		found     bool
	}{
		{"fresh", acct.ID, saved.RequestID, base, true},
		{"at its expiry it has not expired yet", acct.ID, saved.RequestID, saved.Expires, true},
		{"a millisecond after its expiry", acct.ID, saved.RequestID, saved.Expires.Add(time.Millisecond), false},
		{"unknown request", acct.ID, "5b2a3c1e-0000-4000-8000-000000000002", base, false},
		{"another account's", other.ID, saved.RequestID, base, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := load(t, c.accountID, c.requestID, c.now)
			if !c.found {
				wantErr(t, "Cursor", err, store.ErrNotFound)
				return
			}
			if err != nil {
				t.Fatalf("Cursor: %v", err)
			}
			if !same(got, saved) {
				t.Errorf("Cursor = %+v, want %+v", got, saved)
			}
		})
	}

	t.Run("SaveAgainMovesOn", func(t *testing.T) {
		next := saved
		next.AfterID = 84
		next.Expires = at(10 * time.Minute)
		save(t, next)
		got, err := load(t, acct.ID, next.RequestID, at(7*time.Minute))
		if err != nil {
			t.Fatalf("Cursor: %v", err)
		}
		if !same(got, next) {
			t.Errorf("Cursor = %+v, want %+v", got, next)
		}
	})

	t.Run("ReadInTheSameUpdate", func(t *testing.T) {
		c := store.Cursor{RequestID: "in-tx", AccountID: acct.ID, AfterID: 1, Expires: at(time.Minute)}
		err := s.Update(t.Context(), func(tx store.Tx) error {
			if err := tx.SaveCursor(t.Context(), c); err != nil {
				return err
			}
			got, err := tx.Cursor(t.Context(), acct.ID, c.RequestID, base)
			if err == nil && got.AfterID != 1 {
				t.Errorf("Cursor in the saving transaction = %+v", got)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Prune", func(t *testing.T) { testPruneCursors(t, open) })
}

// testPruneCursors: Prune forgets the cursors that expired before now, of
// every account, and keeps the rest: a Retrieve that answered
// MoreDataAvailable must not leave its cursor for ever.
func testPruneCursors(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	a, b := newAccount(t, s, "a"), newAccount(t, s, "b")
	err := s.Update(t.Context(), func(tx store.Tx) error {
		for i, c := range []store.Cursor{
			{RequestID: "expired-a", AccountID: a.ID, Expires: at(-time.Minute)},
			{RequestID: "expired-b", AccountID: b.ID, Expires: at(-time.Second)},
			{RequestID: "expires-now", AccountID: a.ID, Expires: at(0)},
			{RequestID: "live", AccountID: b.ID, Expires: at(time.Hour)},
		} {
			c.AfterID = int64(i)
			if err := tx.SaveCursor(t.Context(), c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		now  time.Time
		want int64
		left []string // the cursors still loadable at base
	}{
		{at(0), 2, []string{"expires-now", "live"}},
		{at(0), 0, []string{"expires-now", "live"}},
		{at(time.Minute), 1, []string{"live"}},
		{at(2 * time.Hour), 1, nil},
	}
	for _, st := range steps {
		p, err := s.Prune(t.Context(), st.now, store.Retention{})
		if err != nil || p.Cursors != st.want || p.Nonces != 0 || p.Requests != 0 {
			t.Errorf("Prune(%v) = %+v, %v; want %d cursors and nothing else", st.now, p, err, st.want)
		}
		for _, c := range []struct {
			id   string
			acct int64
		}{{"expired-a", a.ID}, {"expired-b", b.ID}, {"expires-now", a.ID}, {"live", b.ID}} {
			// Loaded at a time before every expiry: only pruning can hide it.
			err := s.View(t.Context(), func(tx store.Tx) error {
				_, err := tx.Cursor(t.Context(), c.acct, c.id, at(-time.Hour))
				return err
			})
			want := slices.Contains(st.left, c.id)
			if (err == nil) != want {
				t.Errorf("after Prune(%v): cursor %s loads: %v, want %v (err %v)", st.now, c.id, err == nil, want, err)
			}
		}
	}
}
