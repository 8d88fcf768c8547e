package sqlite

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/partnerd/partnerd/store"
)

// beforeUsers is how many migrations come before "users" (13), whatever
// parallel branches have added before it.
func beforeUsers(t *testing.T) int {
	for i, m := range migrations {
		if m.version == 13 {
			return i
		}
	}
	t.Fatal("no migration 13")
	return 0
}

// TestUsersMigration opens a store written before users, as today's
// one-login accounts left it: every account becomes an account with one
// user of its name and password, so every send stays reachable by the
// username that made it, a disabled account stays disabled, and the
// password is kept by the user only. The SOAP exchanges logged before
// name that user as their credential.
func TestUsersMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	old := openAtVersion(t, path, beforeUsers(t))
	accounts := []struct {
		id       int64
		username string
		hash     string
		sealed   []byte
		disabled bool
	}{
		{1, "acme", "hash-acme", []byte("sealed-acme"), false},
		{2, "globex", "hash-globex", []byte("sealed-globex"), true},
		{3, "initech", "hash-initech", nil, false},
	}
	for _, a := range accounts {
		if _, err := old.Exec(`INSERT INTO accounts (id, username, client_id, password_hash, password_sealed, disabled, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 10, 20)`, a.id, a.username, 7000+a.id, a.hash, a.sealed, a.disabled); err != nil {
			t.Fatal(err)
		}
	}
	sends := []struct{ id, account int64 }{{1, 1}, {2, 1}, {3, 2}, {4, 3}}
	for _, s := range sends {
		if _, err := old.Exec(`INSERT INTO sends (id, account_id, object_id, status, send_date, batch_id) VALUES (?, ?, ?, 'Scheduled', 1, ?)`,
			s.id, s.account, "obj"+string(rune('0'+s.id)), "batch"+string(rune('0'+s.id))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.Exec(`INSERT INTO request_log (request_id, account_id, username, face, received_at) VALUES
		('soap-1', 1, 'acme', 'soap', 1), ('rest-1', 1, 'acme', 'sendgrid', 2), ('anon-1', 0, '', 'soap', 3)`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db := openAt(t, path)
	for _, a := range accounts {
		u, acct, err := db.UserByUsername(t.Context(), a.username)
		if err != nil {
			t.Fatalf("user %s after the migration: %v", a.username, err)
		}
		if u.AccountID != a.id || acct.ID != a.id || acct.ClientID != 7000+a.id || u.PasswordHash != a.hash ||
			!bytes.Equal(u.PasswordSealed, a.sealed) || u.Disabled || acct.Disabled != a.disabled {
			t.Errorf("user %s: %+v of %+v; want account %d's password, account disabled %v", a.username, u, acct, a.id, a.disabled)
		}
		if !u.CreatedAt.Equal(goTime(sql.NullInt64{Int64: 10, Valid: true})) {
			t.Errorf("user %s: CreatedAt %v, want the account's", a.username, u.CreatedAt)
		}
		if users, err := db.ListUsers(t.Context(), a.id); err != nil || len(users) != 1 {
			t.Errorf("account %s has %d users (%v), want its one", a.username, len(users), err)
		}
		// The account reads as before: its own user's password.
		got, err := db.AccountByUsername(t.Context(), a.username)
		if err != nil || got.PasswordHash != a.hash || !bytes.Equal(got.PasswordSealed, a.sealed) || got.Disabled != a.disabled {
			t.Errorf("account %s: %+v, %v", a.username, got, err)
		}
		for _, s := range sends {
			_, err := get(t, db, acct.ID, s.id)
			if (s.account == a.id) != (err == nil) {
				t.Errorf("send %d through user %s: %v", s.id, a.username, err)
			}
		}
	}
	var left int
	if err := db.read.QueryRow(`SELECT count(*) FROM accounts WHERE password_hash <> '' OR password_sealed IS NOT NULL`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d accounts still hold a password (%v): it must be kept by the user only", left, err)
	}
	for id, want := range map[string][2]string{"soap-1": {"user", "acme"}, "rest-1": {"", ""}, "anon-1": {"", ""}} {
		e, err := db.RequestByID(t.Context(), id)
		if err != nil || e.CredentialKind != want[0] || e.Credential != want[1] {
			t.Errorf("logged %s: credential %q %q (%v), want %q", id, e.CredentialKind, e.Credential, err, want)
		}
	}
}

// get reads one send by ID.
func get(t *testing.T, db *DB, accountID, id int64) (store.Send, error) {
	t.Helper()
	var s store.Send
	err := db.View(t.Context(), func(tx store.Tx) error {
		var err error
		s, err = tx.SendByKey(t.Context(), accountID, store.SendKey{ID: id})
		return err
	})
	return s, err
}
