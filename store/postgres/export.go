package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
)

// Moving the store (store.Exporter, store.Importer). Rows are read and
// written column for column as store.ExportTables names them; what
// PostgreSQL keeps differently is translated here: the request log's text
// is BYTEA (kept byte for byte), and its bodies are packed as SQLite packs
// them, with stored_bytes counting them packed. Rows are written with COPY, in chunks, inside the import's one
// transaction.

var (
	_ store.Exporter = (*DB)(nil)
	_ store.Importer = (*DB)(nil)
)

// copyChunk is how many rows one COPY carries: enough to make the round
// trips negligible, few enough that a chunk of request log bodies stays a
// few megabytes.
const copyChunk = 500

// Export runs fn on one REPEATABLE READ, read-only transaction: one
// snapshot of every table, while servers go on writing.
func (db *DB) Export(ctx context.Context, fn func(store.Snapshot) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: export: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	return fn(exportTx{tx})
}

type exportTx struct{ tx pgx.Tx }

// byteaText reports whether c, text in a Row, is BYTEA here: the request
// log's fields as clients sent them (see the schema).
func byteaText(t store.ExportTable, c store.Column) bool {
	return t.RequestLog && c.Kind == store.KindText && c.Name != "request_id"
}

func columnNames(t store.ExportTable) []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

func (e exportTx) Count(ctx context.Context, t store.ExportTable) (int64, error) {
	var n int64
	err := e.tx.QueryRow(ctx, `SELECT count(*) FROM `+t.Name).Scan(&n)
	return n, err
}

func (e exportTx) Rows(ctx context.Context, t store.ExportTable, fn func(store.Row) error) error {
	names := columnNames(t)
	if t.RequestLog {
		// The bodies of a row logged since migration 16, which request and
		// response then leave empty.
		names = append(names, "request_packed", "response_packed")
	}
	rows, err := e.tx.Query(ctx, `SELECT `+strings.Join(names, ", ")+` FROM `+t.Name+` ORDER BY `+t.Columns[0].Name)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := len(t.Columns)
	for rows.Next() {
		ints := make([]*int64, n)
		strs := make([]*string, n)
		blobs := make([][]byte, n)
		bools := make([]*bool, n)
		dest := make([]any, n)
		for i, c := range t.Columns {
			switch {
			case c.Kind == store.KindInt:
				dest[i] = &ints[i]
			case byteaText(t, c), c.Kind == store.KindBytes:
				dest[i] = &blobs[i]
			case c.Kind == store.KindText:
				dest[i] = &strs[i]
			case c.Kind == store.KindBool:
				dest[i] = &bools[i]
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
			case c.Kind == store.KindInt && ints[i] != nil:
				row[i] = *ints[i]
			case byteaText(t, c) && blobs[i] != nil:
				row[i] = string(blobs[i])
			case c.Kind == store.KindText && strs[i] != nil:
				row[i] = *strs[i]
			case c.Kind == store.KindBytes && blobs[i] != nil:
				row[i] = blobs[i]
			case c.Kind == store.KindBool && bools[i] != nil:
				row[i] = *bools[i]
			}
		}
		if err := sqlcodec.UnpackRowBodies(t, row, reqPacked, respPacked); err != nil {
			return err
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Serial is the identity sequence's last value (sequences are not rolled
// back, so it outlives deleted rows and failed inserts), or the largest ID
// present if that is larger (rows inserted with their IDs).
func (e exportTx) Serial(ctx context.Context, t store.ExportTable) (int64, error) {
	var seq *string
	if err := e.tx.QueryRow(ctx, `SELECT pg_get_serial_sequence($1, $2)`, t.Name, t.Serial).Scan(&seq); err != nil || seq == nil {
		return 0, err
	}
	var hw int64
	// The name comes from PostgreSQL itself, quoted as it must be.
	err := e.tx.QueryRow(ctx, `SELECT greatest((SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM `+*seq+`),
	(SELECT coalesce(max(`+t.Serial+`), 0) FROM `+t.Name+`))`).Scan(&hw)
	return hw, err
}

// Import runs fn in one READ COMMITTED transaction (nobody else writes a
// store being filled), committed durably when fn returns nil.
func (db *DB) Import(ctx context.Context, fn func(store.Loader) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("postgres: import: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	l := &importTx{exportTx: exportTx{tx}}
	if err := fn(l); err != nil {
		return fmt.Errorf("postgres: import: %w", err)
	}
	if err := l.flush(ctx); err != nil {
		return fmt.Errorf("postgres: import: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: import: commit: %w", err)
	}
	return nil
}

// ImportedCount counts t's rows after an Import.
func (db *DB) ImportedCount(ctx context.Context, t store.ExportTable) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM `+t.Name).Scan(&n)
	return n, err
}

// importTx is the store.Loader of one Import: rows wait in pending until a
// chunk is full, another table begins, or something reads.
type importTx struct {
	exportTx
	table   store.ExportTable
	pending [][]any
}

func (l *importTx) flush(ctx context.Context) error {
	if len(l.pending) == 0 {
		return nil
	}
	names := columnNames(l.table)
	if l.table.RequestLog {
		names = append(names, "request_packed", "response_packed", "stored_bytes")
	}
	n, err := l.tx.CopyFrom(ctx, pgx.Identifier{l.table.Name}, names, pgx.CopyFromRows(l.pending))
	if err != nil {
		return fmt.Errorf("copy into %s: %w", l.table.Name, err)
	}
	if n != int64(len(l.pending)) {
		return fmt.Errorf("copy into %s: %d rows of %d written", l.table.Name, n, len(l.pending))
	}
	l.pending = l.pending[:0]
	return nil
}

func (l *importTx) Count(ctx context.Context, t store.ExportTable) (int64, error) {
	if err := l.flush(ctx); err != nil {
		return 0, err
	}
	return l.exportTx.Count(ctx, t)
}

func (l *importTx) Clear(ctx context.Context) error {
	if err := l.flush(ctx); err != nil {
		return err
	}
	for i := len(store.ExportTables) - 1; i >= 0; i-- {
		if _, err := l.tx.Exec(ctx, `DELETE FROM `+store.ExportTables[i].Name); err != nil {
			return fmt.Errorf("clear %s: %w", store.ExportTables[i].Name, err)
		}
	}
	return nil
}

func (l *importTx) Insert(ctx context.Context, t store.ExportTable, row store.Row) error {
	if l.table.Name != t.Name || len(l.pending) >= copyChunk {
		if err := l.flush(ctx); err != nil {
			return err
		}
		l.table = t
	}
	vals := make([]any, len(row), len(row)+3)
	copy(vals, row)
	if t.RequestLog {
		for i, c := range t.Columns {
			if s, ok := row[i].(string); ok && byteaText(t, c) {
				vals[i] = []byte(s)
			}
		}
		// Packed as LogRequests packs them, with stored_bytes counting the
		// packed bodies.
		p := sqlcodec.PackLogs([]store.RequestLog{store.RequestLogOfRow(t, row)})[0]
		vals[t.ColumnIndex("request")], vals[t.ColumnIndex("response")] = []byte{}, []byte{}
		vals = append(vals, p.Request, p.Response, p.Stored)
	}
	l.pending = append(l.pending, vals)
	return nil
}

// SetSerial sets t's identity sequence so the next row gets one more than
// the larger of hw and the largest ID in the table.
func (l *importTx) SetSerial(ctx context.Context, t store.ExportTable, hw int64) error {
	if err := l.flush(ctx); err != nil {
		return err
	}
	_, err := l.tx.Exec(ctx, `
SELECT setval(pg_get_serial_sequence($1, $2), greatest($3, m, 1), greatest($3, m) > 0)
FROM (SELECT coalesce(max(`+t.Serial+`), 0) AS m FROM `+t.Name+`) x`, t.Name, t.Serial, hw)
	return err
}
