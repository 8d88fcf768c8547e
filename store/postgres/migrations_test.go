package postgres_test

import (
	"context"
	"testing"

	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/postgres"
)

// TestMigration13MovesPasswordsToUsers: a schema of one-login accounts
// (version 12) becomes accounts each with a user of its name holding its
// password, the account's own columns emptied, and SOAP exchanges logged
// before credited to that user (SQLite's migration 13, translated).
func TestMigration13MovesPasswordsToUsers(t *testing.T) {
	ctx := context.Background()
	db, url := migratedFrom(t, 12,
		`INSERT INTO accounts (username, client_id, password_hash, password_sealed, disabled, created_at, updated_at)
VALUES ('acme', 7, 'hash-acme', '\x0102'::bytea, true, 1, 2), ('bare', 8, '', NULL, false, 3, 4)`,
		`INSERT INTO request_log (request_id, account_id, username, face) VALUES
('r1', 1, 'acme', 'soap'), ('r2', 1, 'acme', 'sendgrid'), ('r3', 0, '', 'soap')`,
	)
	u, a, err := db.UserByUsername(ctx, "acme")
	if err != nil {
		t.Fatalf("UserByUsername(acme): %v", err)
	}
	if u.AccountID != a.ID || a.Username != "acme" || u.PasswordHash != "hash-acme" || string(u.PasswordSealed) != "\x01\x02" ||
		u.Disabled || !a.Disabled || u.CreatedAt.UnixMicro() != 1 || u.UpdatedAt.UnixMicro() != 2 {
		t.Errorf("migrated user %+v of account %+v", u, a)
	}
	if acct, err := db.AccountByUsername(ctx, "acme"); err != nil || acct.PasswordHash != "hash-acme" {
		t.Errorf("AccountByUsername(acme) = %+v, %v; want its own user's password", acct, err)
	}
	// Every account gets its user, with or without a password.
	if _, _, err := db.UserByUsername(ctx, "bare"); err != nil {
		t.Errorf("UserByUsername(bare): %v", err)
	}
	var left int
	if err := queryOne(t, ctx, url, `SELECT count(*) FROM accounts WHERE password_hash <> '' OR password_sealed IS NOT NULL`, &left); left != 0 || err != nil {
		t.Errorf("%d accounts keep a password of their own (%v)", left, err)
	}
	for id, want := range map[string][2]string{"r1": {"user", "acme"}, "r2": {"", ""}, "r3": {"", ""}} {
		e, err := db.RequestByID(ctx, id)
		if err != nil || e.CredentialKind != want[0] || e.Credential != want[1] {
			t.Errorf("request %s: credential %q %q (%v), want %q %q", id, e.CredentialKind, e.Credential, err, want[0], want[1])
		}
	}
}

// queryOne runs one query returning one value on a pool of its own.
func queryOne(t *testing.T, ctx context.Context, url, q string, dest any) error {
	pool, err := postgres.OpenAt(ctx, url, 0)
	if err != nil {
		return err
	}
	defer pool.Close()
	return pool.QueryRow(ctx, q).Scan(dest)
}

// TestMigration15Origins: sends of a campaign's or Single Send's current
// schedule become theirs; every other send stays unknown (SQLite's
// migration 15, translated).
func TestMigration15Origins(t *testing.T) {
	ctx := context.Background()
	db, _ := migratedFrom(t, 14,
		`INSERT INTO accounts (id, username, client_id) VALUES (1, 'a', 1), (2, 'b', 2)`,
		`INSERT INTO campaigns (id, account_id, state, schedule_token) VALUES (7, 1, 'scheduled', 'campaign-7-00ff'), (8, 1, 'draft', '')`,
		`INSERT INTO single_sends (id, account_id, state, schedule_token) VALUES ('0b5c2d4e-aaaa-4bbb-8ccc-000000000001', 1, 'scheduled', 'singlesend-0b5c2d4e-11aa')`,
		`INSERT INTO sends (id, account_id, object_id, customer_key, status, send_date, batch_id) VALUES
(1, 1, 'oa', 'campaign-7-00ff-0', 'Scheduled', 1, 'ba'),
(2, 1, 'ob', 'campaign-7-0000-0', 'Scheduled', 1, 'bb'),
(3, 2, 'oc', 'campaign-7-00ff-0', 'Scheduled', 1, 'bc'),
(4, 1, 'od', 'singlesend-0b5c2d4e-11aa-3', 'Scheduled', 1, 'bd'),
(5, 1, 'oe', 'mine', 'Scheduled', 1, 'be')`,
	)
	want := []struct {
		account          int64
		origin, originID string
	}{
		{1, "campaign", "7"}, {1, "", ""}, {2, "", ""}, {1, "singlesend", "0b5c2d4e-aaaa-4bbb-8ccc-000000000001"}, {1, "", ""},
	}
	err := db.View(ctx, func(tx store.Tx) error {
		for i, w := range want {
			s, err := tx.SendByKey(ctx, w.account, store.SendKey{ID: int64(i + 1)})
			if err != nil {
				return err
			}
			if string(s.Origin) != w.origin || s.OriginID != w.originID {
				t.Errorf("send %d: origin %q %q, want %q %q", s.ID, s.Origin, s.OriginID, w.origin, w.originID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// migratedFrom writes rows (SQL statements) into a fresh schema at version
// from, then opens it with this build, which migrates it to the latest
// version. It returns the store and the schema's URL.
func migratedFrom(t *testing.T, from int, rows ...string) (*postgres.DB, string) {
	t.Helper()
	needPostgres(t)
	ctx := context.Background()
	url := testrig.Name(t)
	pool, err := postgres.OpenAt(ctx, url, from)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range rows {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	pool.Close()
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, url
}
