package sqlite

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/partnerd/partnerd/store"
)

// TestObjectIDMigrationKeepsDuplicates opens a store written before
// ObjectIDs were unique, holding what a Create retried after a timeout
// left: several sends of one account with one ObjectID, in several
// spellings. The migration must keep every row (any may still be due),
// make every copy findable by the key, and refuse new copies.
func TestObjectIDMigrationKeepsDuplicates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	old := openAtVersion(t, path, 5)
	const guid = "6a0d2f80-1111-4000-8000-00000000abcd"
	rows := []struct {
		account  int64
		objectID string
	}{
		{1, guid},
		{1, guid}, // the retried Create
		{1, "6A0D2F80-1111-4000-8000-00000000ABCD"}, // the same GUID, upper case
		{1, "{6a0d2f80-1111-4000-8000-00000000abcd}"},
		{1, "urn:uuid:6a0d2f80-1111-4000-8000-00000000abcd"},
		{1, "6a0d2f80111140008000" + "00000000abcd"},
		{2, guid},                  // another account's: not a duplicate
		{1, "not-a-guid-ImPorted"}, // an import's: lower-cased only
		{1, ""},
		{1, ""},
	}
	for _, a := range []int64{1, 2} {
		if _, err := old.Exec(`INSERT INTO accounts (id, username) VALUES (?, ?)`, a, "u"+string(rune('0'+a))); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rows {
		if _, err := old.Exec(`INSERT INTO sends (account_id, object_id, status, send_date) VALUES (?, ?, 'Scheduled', 1)`, r.account, r.objectID); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db := openAt(t, path)
	var n int
	if err := db.read.QueryRow(`SELECT count(*) FROM sends`).Scan(&n); err != nil || n != len(rows) {
		t.Fatalf("%d sends after the migration (%v), want all %d", n, err, len(rows))
	}
	find := func(accountID int64, objectID string) []int64 {
		t.Helper()
		var got []store.Send
		err := db.View(t.Context(), func(tx store.Tx) error {
			var err error
			got, err = tx.FindSends(t.Context(), accountID, store.SendQuery{
				Filter: &store.Cond{Field: store.FieldObjectID, Op: store.OpEquals, Values: []any{objectID}}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, s := range got {
			ids = append(ids, s.ID)
		}
		return ids
	}
	if got := find(1, "6A0D2F80-1111-4000-8000-00000000ABCD"); !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6}) {
		t.Errorf("account 1's sends with the GUID: %v, want 1-6", got)
	}
	if got := find(2, guid); !slices.Equal(got, []int64{7}) {
		t.Errorf("account 2's sends with the GUID: %v, want [7]", got)
	}
	if got := find(1, "NOT-A-GUID-imported"); !slices.Equal(got, []int64{8}) {
		t.Errorf("the imported ObjectID: %v, want [8]", got)
	}
	err := db.Update(t.Context(), func(tx store.Tx) error {
		return tx.InsertSend(t.Context(), &store.Send{AccountID: 1, ObjectID: guid, Status: store.StatusScheduled})
	})
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("a new send with a duplicated legacy ObjectID: %v, want ErrExists", err)
	}
	var result string
	if err := db.read.QueryRow(`PRAGMA integrity_check`).Scan(&result); err != nil || result != "ok" {
		t.Errorf("integrity_check = %q, %v", result, err)
	}
}
