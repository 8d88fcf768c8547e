package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
)

// Moving the store (store.Exporter, store.Importer). Rows are read and
// written column for column as store.ExportTables names them; what SQLite
// keeps differently is translated here: flags are 0/1 integers, and the
// request log's bodies are packed (sqlcodec/body.go), with stored_bytes
// counting them packed.

var (
	_ store.Exporter = (*DB)(nil)
	_ store.Importer = (*DB)(nil)
)

// Export runs fn on one read transaction: WAL gives it one snapshot of the
// file, taken at its first read, while writers go on.
func (db *DB) Export(ctx context.Context, fn func(store.Snapshot) error) error {
	return db.view(ctx, func(tx *sql.Tx) error {
		// The snapshot starts at the first read: here, before any count.
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: export: %w", err)
		}
		return fn(exportTx{tx})
	})
}

// exportTx is a store.Snapshot and (with the write transaction) a
// store.Loader's reader.
type exportTx struct{ tx *sql.Tx }

func (e exportTx) Count(ctx context.Context, t store.ExportTable) (int64, error) {
	var n int64
	err := e.tx.QueryRowContext(ctx, `SELECT count(*) FROM `+t.Name).Scan(&n)
	return n, err
}

// columnList is t's columns as SQLite selects them: the request log's
// bodies with their packed forms after every exported column.
func columnList(t store.ExportTable) string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	if t.RequestLog {
		names = append(names, "request_packed", "response_packed")
	}
	return strings.Join(names, ", ")
}

func orderBy(t store.ExportTable) string { return t.Columns[0].Name }

func (e exportTx) Rows(ctx context.Context, t store.ExportTable, fn func(store.Row) error) error {
	rows, err := e.tx.QueryContext(ctx, `SELECT `+columnList(t)+` FROM `+t.Name+` ORDER BY `+orderBy(t))
	if err != nil {
		return err
	}
	defer rows.Close()
	n := len(t.Columns)
	for rows.Next() {
		ints := make([]sql.NullInt64, n)
		strs := make([]sql.NullString, n)
		blobs := make([][]byte, n)
		dest := make([]any, n, n+2)
		for i, c := range t.Columns {
			switch c.Kind {
			case store.KindInt, store.KindBool:
				dest[i] = &ints[i]
			case store.KindText:
				dest[i] = &strs[i]
			case store.KindBytes:
				dest[i] = &blobs[i]
			}
		}
		var reqPacked, respPacked []byte
		if t.RequestLog {
			dest = append(dest, &reqPacked, &respPacked)
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		row := make(store.Row, n)
		for i, c := range t.Columns {
			switch {
			case c.Kind == store.KindInt && ints[i].Valid:
				row[i] = ints[i].Int64
			case c.Kind == store.KindBool && ints[i].Valid:
				row[i] = ints[i].Int64 != 0
			case c.Kind == store.KindText && strs[i].Valid:
				row[i] = strs[i].String
			case c.Kind == store.KindBytes && blobs[i] != nil:
				row[i] = blobs[i]
			}
		}
		if t.RequestLog {
			if err := sqlcodec.UnpackRowBodies(t, row, reqPacked, respPacked); err != nil {
				return err
			}
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Serial is AUTOINCREMENT's high-water mark (sqlite_sequence), which
// outlives deleted rows, or the largest ID present for a table without
// one (batches: its IDs are internal, and SQLite goes on after the
// largest).
func (e exportTx) Serial(ctx context.Context, t store.ExportTable) (int64, error) {
	var hw int64
	err := e.tx.QueryRowContext(ctx, `SELECT max(coalesce((SELECT max(seq) FROM sqlite_sequence WHERE name = ?), 0),
	coalesce((SELECT max(`+t.Serial+`) FROM `+t.Name+`), 0))`, t.Name).Scan(&hw)
	return hw, err
}

// Import runs fn in one write transaction of the committer, so the copy
// commits with one fsync or not at all.
func (db *DB) Import(ctx context.Context, fn func(store.Loader) error) error {
	var logged int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		l := &importTx{exportTx: exportTx{tx}}
		defer l.close()
		if err := fn(l); err != nil {
			return err
		}
		logged = l.logged
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: import: %w", err)
	}
	// As LogRequests does: the request log's size bound counts the rows.
	db.logSize.inserted.Add(logged)
	return nil
}

// ImportedCount counts t's rows after an Import.
func (db *DB) ImportedCount(ctx context.Context, t store.ExportTable) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM `+t.Name).Scan(&n)
	return n, err
}

// importTx is the store.Loader of one Import.
type importTx struct {
	exportTx
	stmts  map[string]*sql.Stmt
	logged int64 // stored_bytes of the request log rows inserted
}

func (l *importTx) close() {
	for _, s := range l.stmts {
		s.Close()
	}
}

func (l *importTx) Clear(ctx context.Context) error {
	for i := len(store.ExportTables) - 1; i >= 0; i-- {
		if _, err := l.tx.ExecContext(ctx, `DELETE FROM `+store.ExportTables[i].Name); err != nil {
			return fmt.Errorf("clear %s: %w", store.ExportTables[i].Name, err)
		}
	}
	return nil
}

func (l *importTx) Insert(ctx context.Context, t store.ExportTable, row store.Row) error {
	st := l.stmts[t.Name]
	if st == nil {
		list := columnList(t)
		width := len(t.Columns)
		if t.RequestLog {
			list += ", stored_bytes"
			width += 3
		}
		var err error
		st, err = l.tx.PrepareContext(ctx, `INSERT INTO `+t.Name+` (`+list+`) VALUES (`+
			strings.TrimSuffix(strings.Repeat("?, ", width), ", ")+`)`)
		if err != nil {
			return err
		}
		if l.stmts == nil {
			l.stmts = map[string]*sql.Stmt{}
		}
		l.stmts[t.Name] = st
	}
	args := make([]any, len(row), len(row)+3)
	for i, v := range row {
		if b, ok := v.(bool); ok {
			v = 0
			if b {
				v = 1
			}
		}
		args[i] = v
	}
	if t.RequestLog {
		// Packed as LogRequests packs them, with stored_bytes counting the
		// packed bodies.
		p := sqlcodec.PackLogs([]store.RequestLog{store.RequestLogOfRow(t, row)})[0]
		args[t.ColumnIndex("request")], args[t.ColumnIndex("response")] = "", ""
		args = append(args, p.Request, p.Response, p.Stored)
		l.logged += p.Stored
	}
	_, err := st.ExecContext(ctx, args...)
	return err
}

// SetSerial raises t's AUTOINCREMENT counter to hw (inserting rows with
// their IDs already raised it to the largest of them). A table without
// AUTOINCREMENT has no counter: SQLite goes on after its largest ID.
func (l *importTx) SetSerial(ctx context.Context, t store.ExportTable, hw int64) error {
	var auto int
	if err := l.tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ? AND sql LIKE '%AUTOINCREMENT%'`,
		t.Name).Scan(&auto); err != nil {
		return err
	}
	if auto == 0 {
		return nil
	}
	if _, err := l.tx.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?`, hw, t.Name); err != nil {
		return err
	}
	_, err := l.tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) SELECT ?, ? WHERE ? > 0
	AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)`, t.Name, hw, hw, t.Name)
	return err
}
