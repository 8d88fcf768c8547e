package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lazyTx is a pgx.Tx that sends its BEGIN with its first statement, in one
// pipeline (one round trip where pgx's BeginTx takes two), and sends
// nothing at all when no statement ran. Every round trip is a socket write
// and a wake-up on both sides, the largest share of a short Update's CPU
// (BENCHMARKS.md). The connection goes back to the pool at Commit or
// Rollback; one left inside a transaction by a failure is destroyed by the
// pool, never reused.
type lazyTx struct {
	pc    *pgxpool.Conn
	conn  *pgx.Conn
	begin string // BEGIN with the transaction's level and mode
	begun bool
	ended bool
	n     int // savepoints so far, for their names
}

var _ pgx.Tx = (*lazyTx)(nil)

// beginLazy acquires a connection for a transaction that opts describe.
func (db *DB) beginLazy(ctx context.Context, opts pgx.TxOptions) (*lazyTx, error) {
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	begin := "BEGIN"
	if opts.IsoLevel != "" {
		begin += " ISOLATION LEVEL " + string(opts.IsoLevel)
	}
	if opts.AccessMode != "" {
		begin += " " + string(opts.AccessMode)
	}
	return &lazyTx{pc: pc, conn: pc.Conn(), begin: begin}, nil
}

// release hands the connection back once the transaction has ended.
func (tx *lazyTx) release() {
	if !tx.ended {
		tx.ended = true
		tx.pc.Release()
	}
}

// ensure sends the BEGIN on its own, for the few operations that cannot
// carry it in a pipeline.
func (tx *lazyTx) ensure(ctx context.Context) error {
	if tx.ended {
		return pgx.ErrTxClosed
	}
	if tx.begun {
		return nil
	}
	if _, err := tx.conn.Exec(ctx, tx.begin); err != nil {
		return err
	}
	tx.begun = true
	return nil
}

// withBegin sends the BEGIN and then b's statements in one pipeline, and
// returns the results of b's statements.
func (tx *lazyTx) withBegin(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	all := &pgx.Batch{QueuedQueries: append([]*pgx.QueuedQuery{{SQL: tx.begin}}, b.QueuedQueries...)}
	br := tx.conn.SendBatch(ctx, all)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, err
	}
	tx.begun = true
	return br, nil
}

// Exec runs a statement, with the BEGIN when it is the first.
func (tx *lazyTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if tx.ended {
		return pgconn.CommandTag{}, pgx.ErrTxClosed
	}
	if tx.begun {
		return tx.conn.Exec(ctx, sql, args...)
	}
	var b pgx.Batch
	b.Queue(sql, args...)
	br, err := tx.withBegin(ctx, &b)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	return tag, errors.Join(err, closeUnlessFailed(br, err))
}

// closeUnlessFailed closes br, and returns its error only when the
// statement itself did not fail (which br.Close would repeat).
func closeUnlessFailed(br pgx.BatchResults, stmtErr error) error {
	err := br.Close()
	if stmtErr != nil {
		return nil
	}
	return err
}

// Query runs a query, with the BEGIN when it is the first.
func (tx *lazyTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if tx.ended {
		return nil, pgx.ErrTxClosed
	}
	if tx.begun {
		return tx.conn.Query(ctx, sql, args...)
	}
	var b pgx.Batch
	b.Queue(sql, args...)
	br, err := tx.withBegin(ctx, &b)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// batchRows are the rows of the last statement of a pipeline: closing them
// closes the pipeline.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	if r.Rows.Err() == nil {
		r.err = r.br.Close()
	} else {
		_ = r.br.Close()
	}
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// QueryRow runs a query for one row, with the BEGIN when it is the first.
func (tx *lazyTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := tx.Query(ctx, sql, args...)
	return &lazyRow{rows: rows, err: err}
}

// lazyRow is pgx's own QueryRow semantics over Query: the first row, or
// pgx.ErrNoRows.
type lazyRow struct {
	rows pgx.Rows
	err  error
}

func (r *lazyRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// SendBatch runs b's statements in one pipeline, the BEGIN first when
// nothing ran yet.
func (tx *lazyTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if tx.ended {
		return errBatch{pgx.ErrTxClosed}
	}
	if tx.begun {
		return tx.conn.SendBatch(ctx, b)
	}
	br, err := tx.withBegin(ctx, b)
	if err != nil {
		return errBatch{err}
	}
	return br
}

// errBatch is the BatchResults of a pipeline that could not start.
type errBatch struct{ err error }

func (e errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, e.err }
func (e errBatch) Query() (pgx.Rows, error)         { return nil, e.err }
func (e errBatch) QueryRow() pgx.Row                { return &lazyRow{err: e.err} }
func (e errBatch) Close() error                     { return e.err }
func (e errBatch) Tx() pgx.Tx                       { return nil }

// Commit ends the transaction: nothing to send when no statement ran. A
// transaction PostgreSQL had already aborted answers ROLLBACK to the
// COMMIT: that is pgx.ErrTxCommitRollback, as from pgx's own Tx.
func (tx *lazyTx) Commit(ctx context.Context) error {
	if tx.ended {
		return pgx.ErrTxClosed
	}
	if !tx.begun {
		tx.release()
		return nil
	}
	tag, err := tx.conn.Exec(ctx, "COMMIT")
	tx.release()
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// Rollback ends the transaction without its writes.
func (tx *lazyTx) Rollback(ctx context.Context) error {
	if tx.ended {
		return pgx.ErrTxClosed
	}
	if !tx.begun {
		tx.release()
		return nil
	}
	_, err := tx.conn.Exec(ctx, "ROLLBACK")
	tx.release()
	return err
}

// Begin starts a savepoint.
func (tx *lazyTx) Begin(ctx context.Context) (pgx.Tx, error) {
	tx.n++
	sp := &savepoint{tx: tx, name: fmt.Sprintf("sp_%d", tx.n)}
	if _, err := tx.Exec(ctx, "SAVEPOINT "+sp.name); err != nil {
		return nil, err
	}
	return sp, nil
}

func (tx *lazyTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := tx.ensure(ctx); err != nil {
		return 0, err
	}
	return tx.conn.CopyFrom(ctx, table, columns, src)
}

func (tx *lazyTx) LargeObjects() pgx.LargeObjects {
	panic("postgres: large objects are not used")
}

func (tx *lazyTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if err := tx.ensure(ctx); err != nil {
		return nil, err
	}
	return tx.conn.Prepare(ctx, name, sql)
}

func (tx *lazyTx) Conn() *pgx.Conn { return tx.conn }

// savepoint is a transaction nested in a lazyTx, begun already.
type savepoint struct {
	tx     *lazyTx
	name   string
	closed bool
}

var _ pgx.Tx = (*savepoint)(nil)

func (sp *savepoint) Begin(ctx context.Context) (pgx.Tx, error) { return sp.tx.Begin(ctx) }

func (sp *savepoint) Commit(ctx context.Context) error {
	if sp.closed {
		return pgx.ErrTxClosed
	}
	sp.closed = true
	_, err := sp.tx.Exec(ctx, "RELEASE SAVEPOINT "+sp.name)
	return err
}

func (sp *savepoint) Rollback(ctx context.Context) error {
	if sp.closed {
		return pgx.ErrTxClosed
	}
	sp.closed = true
	_, err := sp.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+sp.name)
	return err
}

func (sp *savepoint) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	return sp.tx.CopyFrom(ctx, table, columns, src)
}
func (sp *savepoint) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return sp.tx.SendBatch(ctx, b)
}
func (sp *savepoint) LargeObjects() pgx.LargeObjects { return sp.tx.LargeObjects() }
func (sp *savepoint) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return sp.tx.Prepare(ctx, name, sql)
}
func (sp *savepoint) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return sp.tx.Exec(ctx, sql, args...)
}
func (sp *savepoint) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return sp.tx.Query(ctx, sql, args...)
}
func (sp *savepoint) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return sp.tx.QueryRow(ctx, sql, args...)
}
func (sp *savepoint) Conn() *pgx.Conn { return sp.tx.Conn() }
