package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/partnerd/partnerd/store"
)

// TestOriginMigration: sends stored before origins (version 14) of a
// campaign's or Single Send's current schedule become theirs; every other
// send, even one whose key looks like a schedule's, stays unknown.
func TestOriginMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	before := -1
	for i, m := range migrations {
		if m.version == 15 {
			before = i
		}
	}
	if before < 0 {
		t.Fatal("no migration 15")
	}
	old := openAtVersion(t, path, before)
	for _, q := range []string{
		`INSERT INTO accounts (id, username) VALUES (1, 'a'), (2, 'b')`,
		`INSERT INTO campaigns (id, account_id, state, schedule_token) VALUES (7, 1, 'scheduled', 'campaign-7-00ff'), (8, 1, 'draft', '')`,
		`INSERT INTO single_sends (id, account_id, state, schedule_token) VALUES ('0b5c2d4e-aaaa-4bbb-8ccc-000000000001', 1, 'scheduled', 'singlesend-0b5c2d4e-11aa')`,
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	rows := []struct {
		account  int64
		key      string
		origin   store.Origin
		originID string
	}{
		{1, "campaign-7-00ff-0", store.OriginCampaign, "7"},
		{1, "campaign-7-00ff-12", store.OriginCampaign, "7"},
		{1, "campaign-7-0000-0", store.OriginUnknown, ""}, // an earlier run's
		{2, "campaign-7-00ff-0", store.OriginUnknown, ""}, // another account's key
		{1, "singlesend-0b5c2d4e-11aa-3", store.OriginSingleSend, "0b5c2d4e-aaaa-4bbb-8ccc-000000000001"},
		{1, "mine", store.OriginUnknown, ""},
		{1, "", store.OriginUnknown, ""},
	}
	for i, r := range rows {
		if _, err := old.Exec(`INSERT INTO sends (id, account_id, object_id, customer_key, status, send_date, batch_id)
			VALUES (?, ?, ?, ?, 'Scheduled', 1, ?)`, i+1, r.account, "obj"+string(rune('a'+i)), r.key, "b"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db := openAt(t, path)
	err := db.View(t.Context(), func(tx store.Tx) error {
		for i, r := range rows {
			s, err := tx.SendByKey(t.Context(), r.account, store.SendKey{ID: int64(i + 1)})
			if err != nil {
				return err
			}
			if s.Origin != r.origin || s.OriginID != r.originID {
				t.Errorf("send %d (%q of account %d): origin %q %q, want %q %q", s.ID, r.key, r.account, s.Origin, s.OriginID, r.origin, r.originID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
