package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/partnerd/partnerd/store"
)

// TestExportTablesCoverTheSchema fails when a migration adds a table or a
// column that store.ExportTables does not move: partnerd migrate would
// drop it without a word.
func TestExportTablesCoverTheSchema(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	// Kept by each store for itself, or derived from exported columns.
	notMoved := map[string]bool{"schema_migrations": true, "nonce_log": true, "sqlite_sequence": true,
		"request_log.request_packed": true, "request_log.response_packed": true, "request_log.stored_bytes": true}
	exported := map[string][]string{}
	for _, tb := range store.ExportTables {
		for _, c := range tb.Columns {
			exported[tb.Name] = append(exported[tb.Name], c.Name)
		}
	}
	rows, err := db.read.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, table := range tables {
		if notMoved[table] {
			continue
		}
		cols, ok := exported[table]
		if !ok {
			t.Errorf("table %s is not in store.ExportTables", table)
			continue
		}
		rows, err := db.read.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c string
			rows.Scan(&c)
			if !slices.Contains(cols, c) && !notMoved[table+"."+c] {
				t.Errorf("column %s.%s is not in store.ExportTables", table, c)
			}
		}
		rows.Close()
	}
}
