// Command bulkload fills a partnerd SQLite store with many Scheduled Sends
// of one account, fast, for the big-store figure of bench/compare (--big):
// creating ten million Sends through SOAP Create would take longer than the
// measurement itself. It writes the rows directly, with durability off
// (synchronous=OFF, one transaction per 100,000 rows) — right for a
// throwaway benchmark store, wrong for anything else — and IDs 1..N, so the
// generator can draw from --ids 1-N. Keys that the indexes order by
// (ObjectID, SendDate) grow with the ID, so every index insert is an
// append and the load does not slow down as the store grows.
//
// usage: bulkload --db FILE --username U --n 10000000
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/partnerd/partnerd/store/sqlite"
)

func main() {
	dbPath := flag.String("db", "", "SQLite store (created and migrated if missing); the account must exist")
	username := flag.String("username", "", "account that owns the Sends")
	n := flag.Int64("n", 10_000_000, "number of Sends")
	canceled := flag.Int64("canceled", 0, "load Sends 1 to this one already Canceled (pending discard at their SendDate), the rest Scheduled")
	flag.Parse()
	if *dbPath == "" || *username == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := load(*dbPath, *username, *n, *canceled); err != nil {
		log.Fatal(err)
	}
}

func load(path, username string, n, canceled int64) error {
	ctx := context.Background()
	// partnerd's own Open brings the schema up to date, so the rows go
	// into exactly the tables and indexes the server uses.
	st, err := sqlite.Open(path)
	if err != nil {
		return err
	}
	acct, err := st.AccountByUsername(ctx, username)
	st.Close()
	if err != nil {
		return err
	}

	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF&_foreign_keys=off")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`PRAGMA cache_size = -1000000`); err != nil { // 1 GB
		return err
	}
	var existing int64
	if err := db.QueryRow(`SELECT count(*) FROM sends`).Scan(&existing); err != nil {
		return err
	}
	if existing > 0 {
		return fmt.Errorf("%s already holds %d sends; bulkload wants an empty store", path, existing)
	}

	const rowsPerStmt = 100 // SQLite binds at most 32766 parameters
	const txRows = 100_000
	const cols = 12
	stmtSQL := `INSERT INTO sends (id, account_id, object_id, email_id, email_name, subject, list_ids,
	send_date, status, status_changed_at, created_date, modified_date) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?,?,?,?),", rowsPerStmt), ",")

	now := time.Now().UTC()
	base := now.Add(30 * 24 * time.Hour).UnixMicro()
	nowMicro := now.UnixMicro()
	start := time.Now()
	args := make([]any, 0, rowsPerStmt*cols)
	for first := int64(1); first <= n; first += txRows {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		stmt, err := tx.Prepare(stmtSQL)
		if err != nil {
			return err
		}
		last := min(first+txRows-1, n)
		for id := first; id <= last; id += rowsPerStmt {
			args = args[:0]
			end := min(id+rowsPerStmt-1, last)
			for i := id; i <= end; i++ {
				args = append(args, i, acct.ID, fmt.Sprintf("%08x-0000-4000-8000-%012x", i>>32, i&0xffffffffffff),
					1+i%50, "Bench", "partnerd bench", "[1]", base+i*1_000_000, statusOf(i, canceled), nowMicro, nowMicro, nowMicro)
			}
			if end-id+1 == rowsPerStmt {
				_, err = stmt.Exec(args...)
			} else {
				// The tail: one row at a time rather than a second
				// statement shape.
				for r := 0; r < len(args) && err == nil; r += cols {
					_, err = tx.Exec(`INSERT INTO sends (id, account_id, object_id, email_id, email_name, subject, list_ids,
	send_date, status, status_changed_at, created_date, modified_date) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, args[r:r+cols]...)
				}
			}
			if err != nil {
				tx.Rollback()
				return err
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
		if last%1_000_000 == 0 || last == n {
			el := time.Since(start).Seconds()
			fmt.Fprintf(os.Stderr, "bulkload: %d Sends in %.0fs (%.0f/s)\n", last, el, float64(last)/el)
		}
	}
	// A checkpoint folds the WAL into the file, so the server starts with
	// a small WAL, as a long-running store would have.
	_, err = db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

// statusOf is the status Send id is loaded with: Canceled for the first
// canceled IDs (a cancel of one is the idempotent read that repeated
// cancels are), Scheduled for the rest (a cancel of one is a write).
func statusOf(id, canceled int64) string {
	if id <= canceled {
		return "Canceled"
	}
	return "Scheduled"
}
