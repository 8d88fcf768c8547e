package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// TestBackupWhileWriting copies the database while a writer commits pairs of
// sends, one pair per transaction. The copy must pass integrity_check and
// hold a whole number of pairs — every transaction entirely or not at all —
// no fewer than were committed before the backup began and no more than
// after it ended.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acct := store.Account{Username: "u", ClientID: 1, PasswordHash: "x"}
	if err := db.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}

	var committed atomic.Int64
	insertPair := func(i int64) error {
		return db.Update(ctx, func(tx store.Tx) error {
			for j := 0; j < 2; j++ {
				now := time.Now().UTC()
				s := &store.Send{AccountID: acct.ID, ObjectID: fmt.Sprintf("00000000-0000-4000-8000-%012d", 2*i+int64(j)),
					EmailID: 1, ListIDs: []int64{2}, SendDate: now.Add(time.Hour), Status: store.StatusScheduled,
					CreatedDate: now, ModifiedDate: now, StatusChangedAt: now}
				if err := tx.InsertSend(ctx, s); err != nil {
					return err
				}
			}
			return nil
		})
	}
	// Enough rows that the copy takes a while.
	for i := int64(0); i < 500; i++ {
		if err := insertPair(i); err != nil {
			t.Fatal(err)
		}
		committed.Add(1)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := int64(500); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := insertPair(i); err != nil {
				t.Error(err)
				return
			}
			committed.Add(1)
		}
	}()

	time.Sleep(20 * time.Millisecond) // let the writer get going
	before := committed.Load()
	copyPath := filepath.Join(dir, "copy.db")
	if err := db.Backup(ctx, copyPath); err != nil {
		t.Fatal(err)
	}
	after := committed.Load()
	close(stop)
	wg.Wait()

	if err := db.Backup(ctx, copyPath); err == nil {
		t.Error("a second backup overwrote the first")
	}

	cp, err := sql.Open("sqlite3", "file:"+copyPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	var check string
	if err := cp.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of the copy: %q %v", check, err)
	}
	var n int64
	if err := cp.QueryRow(`SELECT COUNT(*) FROM sends`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n%2 != 0 || n/2 < before || n/2 > after+1 {
		t.Fatalf("the copy holds %d sends: want an even number, %d..%d pairs", n, before, after+1)
	}
	var accounts int
	if err := cp.QueryRow(`SELECT COUNT(*) FROM accounts`).Scan(&accounts); err != nil || accounts != 1 {
		t.Fatalf("the copy holds %d accounts (%v)", accounts, err)
	}
	t.Logf("copied %d sends (%d pairs committed before the copy, %d after)", n, before, after)

	// The copy opens as a store.
	restored, err := Open(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	restored.Close()
}
