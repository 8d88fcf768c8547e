package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

func diffAccount(t *testing.T, what string, got, want store.Account) {
	t.Helper()
	if got.ID != want.ID || got.Username != want.Username || got.ClientID != want.ClientID ||
		got.PasswordHash != want.PasswordHash || !bytes.Equal(got.PasswordSealed, want.PasswordSealed) ||
		got.Disabled != want.Disabled || !sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.UpdatedAt, want.UpdatedAt) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testAccounts(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("CreateAndRead", func(t *testing.T) {
		s := open(t)
		a := store.Account{
			Username:       "alice@example.com",
			ClientID:       10_000_123,
			PasswordHash:   "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
			PasswordSealed: []byte{0, 1, 2, 0xff, 'x'},
			Disabled:       true,
			CreatedAt:      base,
			UpdatedAt:      at(time.Millisecond),
		}
		if err := s.CreateAccount(t.Context(), &a); err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
		if a.ID == 0 {
			t.Fatal("CreateAccount did not set ID")
		}
		byName, err := s.AccountByUsername(t.Context(), a.Username)
		if err != nil {
			t.Fatalf("AccountByUsername: %v", err)
		}
		diffAccount(t, "AccountByUsername", byName, a)
		byID, err := s.AccountByID(t.Context(), a.ID)
		if err != nil {
			t.Fatalf("AccountByID: %v", err)
		}
		diffAccount(t, "AccountByID", byID, a)
	})

	t.Run("DuplicateUsername", func(t *testing.T) {
		s := open(t)
		newAccount(t, s, "bob")
		dup := store.Account{Username: "bob", PasswordHash: "other"}
		wantErr(t, "CreateAccount(duplicate)", s.CreateAccount(t.Context(), &dup), store.ErrExists)
		got, err := s.AccountByUsername(t.Context(), "bob")
		if err != nil || got.PasswordHash != "hash-of-bob" {
			t.Errorf("after duplicate create: %+v, %v; the first account must be untouched", got, err)
		}
		// Usernames are compared exactly: another spelling is another login.
		other := store.Account{Username: "bob2"}
		if err := s.CreateAccount(t.Context(), &other); err != nil {
			t.Errorf("CreateAccount(bob2): %v", err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := open(t)
		newAccount(t, s, "carol")
		_, err := s.AccountByUsername(t.Context(), "nobody")
		wantErr(t, "AccountByUsername(unknown)", err, store.ErrNotFound)
		_, err = s.AccountByID(t.Context(), 987654)
		wantErr(t, "AccountByID(unknown)", err, store.ErrNotFound)
		err = s.UpdateAccount(t.Context(), store.Account{ID: 987654, Username: "nobody"})
		wantErr(t, "UpdateAccount(unknown)", err, store.ErrNotFound)
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "dave")
		other := newAccount(t, s, "erin")
		a.PasswordHash = "rotated"
		a.PasswordSealed = []byte("sealed-rotated")
		a.ClientID = 99
		a.Disabled = true
		a.UpdatedAt = at(time.Hour + 5*time.Millisecond)
		if err := s.UpdateAccount(t.Context(), a); err != nil {
			t.Fatalf("UpdateAccount: %v", err)
		}
		got, err := s.AccountByID(t.Context(), a.ID)
		if err != nil {
			t.Fatalf("AccountByID: %v", err)
		}
		diffAccount(t, "after UpdateAccount", got, a)
		got, err = s.AccountByUsername(t.Context(), "erin")
		if err != nil {
			t.Fatalf("AccountByUsername: %v", err)
		}
		diffAccount(t, "the other account", got, other)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		if as, err := s.ListAccounts(t.Context()); err != nil || len(as) != 0 {
			t.Fatalf("ListAccounts on an empty store: %v, %v", as, err)
		}
		want := []store.Account{newAccount(t, s, "f1"), newAccount(t, s, "f2"), newAccount(t, s, "f3")}
		got, err := s.ListAccounts(t.Context())
		if err != nil {
			t.Fatalf("ListAccounts: %v", err)
		}
		slices.SortFunc(got, func(a, b store.Account) int { return int(a.ID - b.ID) })
		if len(got) != len(want) {
			t.Fatalf("ListAccounts: %d accounts, want %d", len(got), len(want))
		}
		for i := range want {
			diffAccount(t, "ListAccounts", got[i], want[i])
		}
	})
}
