package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestMigration16PackedBodies: exchanges logged before migration 16 keep
// their bodies as they were and read back unchanged; exchanges logged
// after keep them packed (request and response empty, under a third of
// their size), read back whole, and export whole; a damaged packed body is
// an error naming its exchange, never a garbled text.
func TestMigration16PackedBodies(t *testing.T) {
	ctx := context.Background()
	db, url := migratedFrom(t, 15,
		`INSERT INTO request_log (request_id, request, response, received_at, stored_bytes) VALUES
('old', '<old request/>'::bytea, '\xff00'::bytea || '<old response/>'::bytea, 1, 100)`,
	)
	req, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "001_seed_cancel.txt"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "001_seed_cancel.golden"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	logged := []store.RequestLog{
		{RequestID: "new-1", Operation: "Perform", Status: "OK", Request: string(req), Response: string(resp), ReceivedAt: now},
		{RequestID: "new-2", Operation: "Perform", Status: "Fault", Request: "", Response: "\xff<f/>\x00", ReceivedAt: now},
	}
	if err := db.LogRequests(ctx, logged); err != nil {
		t.Fatal(err)
	}
	var textLen, packedLen, stored int
	if err := queryOne(t, ctx, url, `SELECT length(request) + length(response) FROM request_log WHERE request_id = 'new-1'`, &textLen); err != nil {
		t.Fatal(err)
	}
	if err := queryOne(t, ctx, url, `SELECT length(request_packed) + length(response_packed) FROM request_log WHERE request_id = 'new-1'`, &packedLen); err != nil {
		t.Fatal(err)
	}
	if err := queryOne(t, ctx, url, `SELECT stored_bytes FROM request_log WHERE request_id = 'new-1'`, &stored); err != nil {
		t.Fatal(err)
	}
	if textLen != 0 {
		t.Errorf("new row keeps %d bytes of envelope text", textLen)
	}
	if raw := len(req) + len(resp); packedLen == 0 || packedLen > raw/3 {
		t.Errorf("new row packs %d bytes of envelopes into %d, want under a third", raw, packedLen)
	}
	if stored < packedLen || stored >= len(req)+len(resp) {
		t.Errorf("stored_bytes %d, want the packed bodies (%d) and the rest of the row", stored, packedLen)
	}
	want := map[string][2]string{
		"old":   {"<old request/>", "\xff\x00<old response/>"},
		"new-1": {string(req), string(resp)},
		"new-2": {"", "\xff<f/>\x00"},
	}
	for id, w := range want {
		got, err := db.RequestByID(ctx, id)
		if err != nil {
			t.Fatalf("RequestByID(%s): %v", id, err)
		}
		if got.Request != w[0] || got.Response != w[1] {
			t.Errorf("RequestByID(%s) = %q / %q, want %q / %q", id, got.Request, got.Response, w[0], w[1])
		}
	}
	exported := map[string][2]string{}
	err = db.Export(ctx, func(s store.Snapshot) error {
		for _, tb := range store.ExportTables {
			if !tb.RequestLog {
				continue
			}
			return s.Rows(ctx, tb, func(r store.Row) error {
				e := store.RequestLogOfRow(tb, r)
				exported[e.RequestID] = [2]string{e.Request, e.Response}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, w := range want {
		if exported[id] != w {
			t.Errorf("exported %s: %q, want %q", id, exported[id], w)
		}
	}

	pool, err := postgres.OpenAt(ctx, url, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `UPDATE request_log SET response_packed = '\x63'::bytea WHERE request_id = 'new-2'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RequestByID(ctx, "new-2"); err == nil || !strings.Contains(err.Error(), "new-2") {
		t.Errorf("RequestByID of a damaged row: %v, want an error naming it", err)
	}
}
