package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/partnerd/partnerd/store"
)

// beforeBatches is how many migrations come before "batches" (9), whatever
// parallel branches have added before it.
func beforeBatches(t *testing.T) int {
	for i, m := range migrations {
		if m.version == 9 {
			return i
		}
	}
	t.Fatal("no migration 9")
	return 0
}

// TestBatchMigration: every send of a store written before batches gets a
// batch of its own (none lost, none shared), held as the send is.
func TestBatchMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	old := openAtVersion(t, path, beforeBatches(t))
	for _, a := range []int64{1, 2} {
		if _, err := old.Exec(`INSERT INTO accounts (id, username) VALUES (?, ?)`, a, "u"+string(rune('0'+a))); err != nil {
			t.Fatal(err)
		}
	}
	rows := []struct {
		account int64
		status  store.SendStatus
		hold    store.Hold
	}{
		{1, store.StatusScheduled, store.HoldNone},
		{1, store.StatusPaused, store.HoldPause},
		{1, store.StatusCanceled, store.HoldCancel},
		{1, store.StatusComplete, store.HoldNone},
		{2, store.StatusScheduled, store.HoldNone},
	}
	for i, r := range rows {
		if _, err := old.Exec(`INSERT INTO sends (id, account_id, object_id, status, send_date, status_changed_at, created_date)
			VALUES (?, ?, ?, ?, 1, 5, 3)`, i+1, r.account, "obj"+string(rune('a'+i)), r.status); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db := openAt(t, path)
	seen := map[string]bool{}
	err := db.View(t.Context(), func(tx store.Tx) error {
		for i, r := range rows {
			s, err := tx.SendByKey(t.Context(), r.account, store.SendKey{ID: int64(i + 1)})
			if err != nil {
				return err
			}
			if len(s.BatchID) != store.BatchIDLength || seen[s.BatchID] {
				t.Errorf("send %d: BatchID %q, want 32 characters of its own", s.ID, s.BatchID)
			}
			seen[s.BatchID] = true
			b, err := tx.BatchByID(t.Context(), r.account, s.BatchID)
			if err != nil {
				return err
			}
			if b.Hold != r.hold || !b.Created.Equal(s.CreatedDate) {
				t.Errorf("send %d (%s): batch %+v, want hold %q created %v", s.ID, r.status, b, r.hold, s.CreatedDate)
			}
			if r.hold != store.HoldNone && !b.HoldChangedAt.Equal(s.StatusChangedAt) {
				t.Errorf("send %d: hold changed at %v, want %v", s.ID, b.HoldChangedAt, s.StatusChangedAt)
			}
			if sends, err := tx.SendsOfBatch(t.Context(), r.account, s.BatchID, 0); err != nil || len(sends) != 1 {
				t.Errorf("send %d: its batch holds %d sends, %v; want 1", s.ID, len(sends), err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
