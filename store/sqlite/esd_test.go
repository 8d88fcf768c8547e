package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/partnerd/partnerd/store"
)

// TestDefinitionObjectIDLegacySpelling: definitions stored before their
// ObjectIDs were made canonical on insert keep the client's spelling (no
// migration rewrites them). A lookup by key still finds such a row by
// the spelling it was stored in, as it did before; rows stored since are
// found by any spelling (the conformance suite's DefinitionFilter).
func TestDefinitionObjectIDLegacySpelling(t *testing.T) {
	path := filepath.Join(t.TempDir(), "esd.db")
	db := openAt(t, path)
	acct := store.Account{Username: "u"}
	if err := db.CreateAccount(t.Context(), &acct); err != nil {
		t.Fatal(err)
	}
	d := store.EmailSendDefinition{AccountID: acct.ID, CustomerKey: "k", ObjectID: "6A0D2F80-3333-4000-8000-00000000ABCD"}
	if err := db.Update(t.Context(), func(tx store.Tx) error { return tx.InsertEmailSendDefinition(t.Context(), &d) }); err != nil {
		t.Fatal(err)
	}
	if d.ObjectID != "6a0d2f80-3333-4000-8000-00000000abcd" {
		t.Errorf("stored ObjectID %q, want it canonical", d.ObjectID)
	}
	db.Close()

	const legacy = "{6A0D2F80-3333-4000-8000-00000000ABCD}"
	raw, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE email_send_definitions SET object_id = ? WHERE id = ?`, legacy, d.ID); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db = openAt(t, path)
	err = db.View(t.Context(), func(tx store.Tx) error {
		got, err := tx.EmailSendDefinitionByKey(t.Context(), acct.ID, store.SendKey{ObjectID: legacy})
		if err == nil && got.ID != d.ID {
			t.Errorf("by %s: definition %d, want %d", legacy, got.ID, d.ID)
		}
		return err
	})
	if err != nil {
		t.Errorf("by %s: %v", legacy, err)
	}
}
