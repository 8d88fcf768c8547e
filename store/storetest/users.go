package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

func diffUser(t *testing.T, what string, got, want store.User) {
	t.Helper()
	if got.ID != want.ID || got.AccountID != want.AccountID || got.Username != want.Username ||
		got.PasswordHash != want.PasswordHash || !bytes.Equal(got.PasswordSealed, want.PasswordSealed) ||
		got.Disabled != want.Disabled || !sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.UpdatedAt, want.UpdatedAt) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// newUser adds user username to account.
func newUser(t *testing.T, s store.Store, accountID int64, username string) store.User {
	t.Helper()
	u := store.User{AccountID: accountID, Username: username, PasswordHash: "hash-of-" + username,
		PasswordSealed: []byte("sealed-" + username), CreatedAt: base, UpdatedAt: at(time.Millisecond)}
	if err := s.CreateUser(t.Context(), &u); err != nil {
		t.Fatalf("CreateUser(%q): %v", username, err)
	}
	return u
}

// userNames lists account's users' names, by ID.
func userNames(t *testing.T, s store.Store, accountID int64) []string {
	t.Helper()
	us, err := s.ListUsers(t.Context(), accountID)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	var names []string
	for _, u := range us {
		names = append(names, u.Username)
	}
	return names
}

func testUsers(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("OwnUser", func(t *testing.T) {
		// An account made with a password is the one-login account of
		// before: its own user, of its name, logs in with the password.
		s := open(t)
		a := newAccount(t, s, "acme")
		u, acct, err := s.UserByUsername(t.Context(), "acme")
		if err != nil {
			t.Fatalf("UserByUsername(own user): %v", err)
		}
		if u.AccountID != a.ID || u.PasswordHash != a.PasswordHash || u.Disabled || acct.ID != a.ID || acct.ClientID != a.ClientID {
			t.Errorf("own user %+v of %+v, want the password and account of %+v", u, acct, a)
		}
		if acct.PasswordHash != "" || acct.PasswordSealed != nil {
			t.Errorf("UserByUsername's account carries credentials: %+v", acct)
		}
		// Without a password, an account has no user.
		bare := store.Account{Username: "bare", ClientID: 5}
		if err := s.CreateAccount(t.Context(), &bare); err != nil {
			t.Fatal(err)
		}
		if names := userNames(t, s, bare.ID); len(names) != 0 {
			t.Errorf("account made without a password has users %v", names)
		}
		// Rotating the account's password rotates its own user's, and
		// gives a bare account its own user.
		a.PasswordHash, a.PasswordSealed, a.UpdatedAt = "rotated", []byte("sealed-rotated"), at(time.Hour)
		bare.PasswordHash, bare.UpdatedAt = "first", at(time.Hour)
		for _, x := range []store.Account{a, bare} {
			if err := s.UpdateAccount(t.Context(), x); err != nil {
				t.Fatalf("UpdateAccount(%s): %v", x.Username, err)
			}
			u, _, err := s.UserByUsername(t.Context(), x.Username)
			if err != nil || u.PasswordHash != x.PasswordHash || !bytes.Equal(u.PasswordSealed, x.PasswordSealed) {
				t.Errorf("own user of %s after UpdateAccount: %+v, %v; want its new password", x.Username, u, err)
			}
		}
	})

	t.Run("SeveralPerAccount", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "acme")
		b := newAccount(t, s, "globex")
		ci := newUser(t, s, a.ID, "acme-ci")
		ops := newUser(t, s, a.ID, "acme-ops")
		other := newUser(t, s, b.ID, "globex-ci")
		if ci.ID == 0 || ci.ID == ops.ID {
			t.Fatalf("CreateUser IDs %d, %d: want distinct, set", ci.ID, ops.ID)
		}
		for _, want := range []store.User{ci, ops, other} {
			got, acct, err := s.UserByUsername(t.Context(), want.Username)
			if err != nil {
				t.Fatalf("UserByUsername(%s): %v", want.Username, err)
			}
			diffUser(t, "UserByUsername", got, want)
			if acct.ID != want.AccountID {
				t.Errorf("user %s comes with account %d, want %d", want.Username, acct.ID, want.AccountID)
			}
		}
		_, acct, _ := s.UserByUsername(t.Context(), "acme-ops")
		if acct.Username != "acme" || acct.ClientID != a.ClientID || acct.Disabled {
			t.Errorf("account of acme-ops: %+v, want acme's identity", acct)
		}
		if got := userNames(t, s, a.ID); !slices.Equal(got, []string{"acme", "acme-ci", "acme-ops"}) {
			t.Errorf("ListUsers(acme) = %v", got)
		}
		if got := userNames(t, s, b.ID); !slices.Equal(got, []string{"globex", "globex-ci"}) {
			t.Errorf("ListUsers(globex) = %v", got)
		}
		if got := userNames(t, s, 987654); len(got) != 0 {
			t.Errorf("ListUsers(unknown account) = %v", got)
		}
	})

	t.Run("UniqueAcrossServer", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "acme")
		b := newAccount(t, s, "globex")
		newUser(t, s, a.ID, "shared-name")
		dup := store.User{AccountID: b.ID, Username: "shared-name", PasswordHash: "x"}
		wantErr(t, "CreateUser(name of another account's user)", s.CreateUser(t.Context(), &dup), store.ErrExists)
		dup = store.User{AccountID: b.ID, Username: "acme", PasswordHash: "x"}
		wantErr(t, "CreateUser(another account's own user)", s.CreateUser(t.Context(), &dup), store.ErrExists)
		if dup.ID != 0 {
			t.Errorf("a failed CreateUser set ID %d", dup.ID)
		}
		// An account whose name is another account's user cannot have
		// it as its own user: nothing of it is created.
		clash := store.Account{Username: "shared-name", PasswordHash: "y"}
		wantErr(t, "CreateAccount(name of a user)", s.CreateAccount(t.Context(), &clash), store.ErrExists)
		_, err := s.AccountByUsername(t.Context(), "shared-name")
		wantErr(t, "the account of a failed create", err, store.ErrNotFound)
		// Names are compared exactly.
		newUser(t, s, b.ID, "Shared-Name")
		noAccount := store.User{AccountID: 987654, Username: "orphan"}
		wantErr(t, "CreateUser(unknown account)", s.CreateUser(t.Context(), &noAccount), store.ErrNotFound)
		_, _, err = s.UserByUsername(t.Context(), "orphan")
		wantErr(t, "UserByUsername(unknown)", err, store.ErrNotFound)
	})

	t.Run("RotateDisableOne", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "acme")
		b := newAccount(t, s, "globex")
		ci := newUser(t, s, a.ID, "acme-ci")
		ops := newUser(t, s, a.ID, "acme-ops")
		ci.PasswordHash, ci.PasswordSealed, ci.Disabled, ci.UpdatedAt = "rotated", []byte("sealed-rotated"), true, at(time.Hour)
		if err := s.UpdateUser(t.Context(), ci); err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		got, acct, err := s.UserByUsername(t.Context(), "acme-ci")
		if err != nil {
			t.Fatal(err)
		}
		diffUser(t, "after UpdateUser", got, ci)
		if acct.Disabled {
			t.Error("disabling a user disabled its account")
		}
		got, _, _ = s.UserByUsername(t.Context(), "acme-ops")
		diffUser(t, "the other user", got, ops)
		own, _, _ := s.UserByUsername(t.Context(), "acme")
		if own.PasswordHash != a.PasswordHash || own.Disabled {
			t.Errorf("the account's own user changed: %+v", own)
		}
		// Another account cannot reach the user by its ID.
		moved := ci
		moved.AccountID = b.ID
		wantErr(t, "UpdateUser(another account's)", s.UpdateUser(t.Context(), moved), store.ErrNotFound)
		wantErr(t, "UpdateUser(unknown)", s.UpdateUser(t.Context(), store.User{ID: 987654, AccountID: a.ID}), store.ErrNotFound)
		// Disabling the account is the account's flag, seen with every
		// user; the users' own flags are kept.
		a.Disabled, a.UpdatedAt = true, at(2*time.Hour)
		if err := s.UpdateAccount(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"acme", "acme-ci", "acme-ops"} {
			u, acct, err := s.UserByUsername(t.Context(), name)
			if err != nil || !acct.Disabled {
				t.Errorf("%s after disabling the account: account %+v, %v; want it disabled", name, acct, err)
			}
			if u.Disabled != (name == "acme-ci") {
				t.Errorf("%s: user Disabled = %v after the account's change", name, u.Disabled)
			}
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "acme")
		b := newAccount(t, s, "globex")
		ci := newUser(t, s, a.ID, "acme-ci")
		sends := insert(t, s, newSend(a.ID, "kept"))
		wantErr(t, "DeleteUser(as another account)", s.DeleteUser(t.Context(), b.ID, ci.ID), store.ErrNotFound)
		if err := s.DeleteUser(t.Context(), a.ID, ci.ID); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		_, _, err := s.UserByUsername(t.Context(), "acme-ci")
		wantErr(t, "UserByUsername(deleted)", err, store.ErrNotFound)
		wantErr(t, "DeleteUser(again)", s.DeleteUser(t.Context(), a.ID, ci.ID), store.ErrNotFound)
		if got := userNames(t, s, a.ID); !slices.Equal(got, []string{"acme"}) {
			t.Errorf("users after the delete: %v", got)
		}
		if _, err := get(t, s, a.ID, sends[0].ID); err != nil {
			t.Errorf("the account's send after its user's delete: %v", err)
		}
		// The name is free again, and the new user is another user.
		again := newUser(t, s, b.ID, "acme-ci")
		if again.ID == ci.ID {
			t.Errorf("a new user got the deleted user's ID %d", ci.ID)
		}
		// Deleting the own user leaves the account, with no password.
		if err := s.DeleteUser(t.Context(), a.ID, mustUser(t, s, "acme").ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.AccountByID(t.Context(), a.ID)
		if err != nil || got.PasswordHash != "" || got.PasswordSealed != nil {
			t.Errorf("account after its own user's delete: %+v, %v", got, err)
		}
	})
}

// testCredentialActions: an operator's action on one credential is
// recorded with it, newest first among the actions.
func testCredentialActions(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	a := newAccount(t, s, "acme")
	first := store.OperatorAction{Action: "user.disable", AccountID: a.ID, Actor: "ops", Detail: "runaway script",
		At: at(time.Minute), Credential: "user:acme-ci"}
	second := store.OperatorAction{Action: "account.disable", AccountID: a.ID, Actor: "ops", At: at(2 * time.Minute)}
	for _, x := range []*store.OperatorAction{&first, &second} {
		if err := s.RecordOperatorAction(t.Context(), x); err != nil {
			t.Fatalf("RecordOperatorAction: %v", err)
		}
	}
	if first.ID == 0 || second.ID <= first.ID {
		t.Fatalf("action IDs %d, %d: want set, increasing", first.ID, second.ID)
	}
	got, err := s.OperatorActions(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d actions, want 2", len(got))
	}
	for i, want := range []store.OperatorAction{second, first} {
		g := got[i]
		if !sameTime(g.At, want.At) {
			t.Errorf("action %d At = %v, want %v", i, g.At, want.At)
		}
		g.At, want.At = time.Time{}, time.Time{}
		if g != want {
			t.Errorf("action %d:\n got %+v\nwant %+v", i, g, want)
		}
	}
}

func mustUser(t *testing.T, s store.Store, username string) store.User {
	t.Helper()
	u, _, err := s.UserByUsername(t.Context(), username)
	if err != nil {
		t.Fatalf("UserByUsername(%s): %v", username, err)
	}
	return u
}

// testCredentialIsolation: every user of an account reaches the same
// sends; a user of another account reaches none of them. The store scopes
// by account, so what is checked is that a user leads to its account's ID
// and nowhere else.
func testCredentialIsolation(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	a := newAccount(t, s, "acme")
	b := newAccount(t, s, "globex")
	newUser(t, s, a.ID, "acme-ci")
	newUser(t, s, b.ID, "globex-ci")
	mine := insert(t, s, newSend(a.ID, "acme-send"))[0]
	for _, name := range []string{"acme", "acme-ci"} {
		_, acct, err := s.UserByUsername(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := get(t, s, acct.ID, mine.ID); err != nil || got.CustomerKey != "acme-send" {
			t.Errorf("user %s: the account's send: %+v, %v", name, got, err)
		}
	}
	for _, name := range []string{"globex", "globex-ci"} {
		_, acct, err := s.UserByUsername(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		_, err = get(t, s, acct.ID, mine.ID)
		wantErr(t, "another account's user reading the send", err, store.ErrNotFound)
		err = s.View(t.Context(), func(tx store.Tx) error {
			_, err := tx.SendByKey(t.Context(), acct.ID, store.SendKey{CustomerKey: "acme-send"})
			return err
		})
		wantErr(t, "another account's user by CustomerKey", err, store.ErrNotFound)
	}
}

func testRequestsByCredential(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	var all []store.RequestLog
	add := func(d time.Duration, account int64, kind, name string) {
		e := requestLog(at(d), "Perform")
		e.AccountID, e.CredentialKind, e.Credential = account, kind, name
		all = append(all, e)
	}
	add(0, 1, "user", "acme-ci")
	add(time.Second, 1, "user", "acme-ops")
	add(2*time.Second, 1, "user", "acme-ci")
	add(3*time.Second, 1, "apikey", "acme-ci") // same name, another kind
	add(4*time.Second, 2, "user", "globex")
	add(5*time.Second, 0, "", "") // not logged in
	add(-time.Hour, 1, "user", "acme-ci")
	if err := s.LogRequests(t.Context(), all); err != nil {
		t.Fatal(err)
	}
	got, err := s.RequestsByCredential(t.Context(), "user", "acme-ci", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].RequestID != all[2].RequestID || got[1].RequestID != all[0].RequestID || got[2].RequestID != all[6].RequestID {
		t.Errorf("RequestsByCredential(user acme-ci): %d entries, want 3 newest first", len(got))
	}
	for _, e := range got {
		if e.CredentialKind != "user" || e.Credential != "acme-ci" {
			t.Errorf("RequestsByCredential returned %s %s", e.CredentialKind, e.Credential)
		}
	}
	if got, _ := s.RequestsByCredential(t.Context(), "", "acme-ci", 10); len(got) != 4 {
		t.Errorf("RequestsByCredential(any kind, acme-ci): %d entries, want 4", len(got))
	}
	if got, _ := s.RequestsByCredential(t.Context(), "user", "acme-ci", 1); len(got) != 1 || got[0].RequestID != all[2].RequestID {
		t.Errorf("RequestsByCredential(n=1): want the newest only")
	}
	if got, _ := s.RequestsByCredential(t.Context(), "", "", 10); len(got) != 0 {
		t.Errorf("RequestsByCredential(no name) matched %d unauthenticated entries", len(got))
	}

	counts, err := s.CountRequestsByCredential(t.Context(), 1, at(0))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.CredentialCount{{Kind: "apikey", Name: "acme-ci", Count: 1},
		{Kind: "user", Name: "acme-ci", Count: 2}, {Kind: "user", Name: "acme-ops", Count: 1}}
	if !slices.Equal(counts, want) {
		t.Errorf("CountRequestsByCredential(account 1, since base) = %v, want %v", counts, want)
	}
	if counts, _ := s.CountRequestsByCredential(t.Context(), 2, at(10*time.Second)); len(counts) != 0 {
		t.Errorf("CountRequestsByCredential after the last request = %v", counts)
	}
}
