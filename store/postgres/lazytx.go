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
// nothing at all when no statement ran. Savepoints are as lazy: SAVEPOINT
// goes with the first statement inside it, RELEASE with the next statement
// after it (or not at all: COMMIT releases every savepoint), and a
// savepoint in which no statement ran sends nothing. Every round trip is a
// socket write and a wake-up on both sides, the largest share of a short
// Update's CPU (BENCHMARKS.md). The connection goes back to the pool at
// Commit or Rollback; one left inside a transaction by a failure is
// destroyed by the pool, never reused.
type lazyTx struct {
	pool *pgxpool.Pool
	// pc and conn are nil until the first statement: a transaction
	// whose first statement is not a predicted one shot may join the
	// group (group.go) instead of taking a connection of its own.
	pc   *pgxpool.Conn
	conn *pgx.Conn
	// group, when set, is the writeGroup the transaction joins at its
	// first statement unless that is a one shot; member says it did.
	group    *writeGroup
	member   bool
	mayDefer bool // a member's writes may wait for its next statement
	// doomed is the error that lost the transaction (a serialization
	// failure or a deadlock), which loses the whole group with it.
	doomed error
	// pending are the statements still to send before the next one: the
	// BEGIN (with the transaction's level and mode) until it is sent, then
	// SAVEPOINTs and RELEASEs.
	pending []queued
	begun   bool // the BEGIN has been sent
	ended   bool
	depth   int // savepoints open, for their names

	// One shot (oneshot.go): a transaction whose first statement is a
	// query the predictor expects to be its only one is that query, sent
	// with its BEGIN and COMMIT, and other Updates' one shots, in one
	// pipeline (shots.go).
	shots   *shotBatcher  // the predictor and where one shots go; nil: never
	shot    *bufferedRows // the one-shot query's rows, once sent
	overrun bool          // a statement came after the one-shot COMMIT
	stmts   int           // statements the caller ran
	first   string        // the first statement, when it was a query
}

var _ pgx.Tx = (*lazyTx)(nil)

// beginLazy starts a transaction that opts describe: nothing is sent,
// and no connection taken, before its first statement.
func (db *DB) beginLazy(ctx context.Context, opts pgx.TxOptions) (*lazyTx, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	begin := "BEGIN"
	if opts.IsoLevel != "" {
		begin += " ISOLATION LEVEL " + string(opts.IsoLevel)
	}
	if opts.AccessMode != "" {
		begin += " " + string(opts.AccessMode)
	}
	return &lazyTx{pool: db.pool, pending: []queued{{sql: begin}}}, nil
}

// bind gives the transaction its connection at its first statement
// (query is its SQL when it is a query): its own from the pool, or the
// group's. It says whether the statement goes as a one shot.
func (tx *lazyTx) bind(ctx context.Context, query string) (oneShot bool, err error) {
	if tx.conn != nil {
		return false, nil
	}
	if query != "" && len(tx.pending) == 1 && tx.shots != nil && tx.shots.predict.alone(query) {
		return true, nil // sent with others' (shots.go), on no connection of its own
	}
	if tx.group != nil {
		return false, tx.group.join(ctx, tx)
	}
	pc, err := tx.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	tx.pc, tx.conn = pc, pc.Conn()
	return false, nil
}

// stmtCtx is the context a statement runs under. A group member's
// statements are not cancelled with its caller's context: pgx may close a
// connection whose query was cancelled, and the connection is the whole
// group's. Whether the caller still waits was checked when it joined.
func (tx *lazyTx) stmtCtx(ctx context.Context) context.Context {
	if tx.member {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// release hands the connection back once the transaction has ended.
func (tx *lazyTx) release() {
	if !tx.ended {
		tx.ended = true
		if tx.pc != nil {
			tx.pc.Release()
		}
	}
}

// ensure sends the pending statements on their own, for the few
// operations that cannot carry them in a pipeline.
func (tx *lazyTx) ensure(ctx context.Context) error {
	if tx.ended {
		return pgx.ErrTxClosed
	}
	if _, err := tx.bind(ctx, ""); err != nil {
		return err
	}
	if len(tx.pending) == 0 {
		return nil
	}
	br, err := tx.withPending(tx.stmtCtx(ctx), &pgx.Batch{})
	if err != nil {
		return err
	}
	return br.Close()
}

// withPending sends the pending statements and then b's in one pipeline,
// and returns the results of b's statements.
func (tx *lazyTx) withPending(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	qs := make([]*pgx.QueuedQuery, 0, len(tx.pending)+len(b.QueuedQueries))
	for _, q := range tx.pending {
		qs = append(qs, &pgx.QueuedQuery{SQL: q.sql, Arguments: q.args})
	}
	n := len(tx.pending)
	tx.pending = tx.pending[:0]
	tx.begun = true // the BEGIN, when pending, is first
	br := tx.conn.SendBatch(ctx, &pgx.Batch{QueuedQueries: append(qs, b.QueuedQueries...)})
	for range n {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, tx.pendingFailed(err)
		}
	}
	return br, nil
}

// queued is a statement waiting to go in one pipeline with the next: a
// BEGIN, SAVEPOINT or RELEASE, or a deferred write (deferExec).
type queued struct {
	sql  string
	args []any
}

// pendingFailed is the error of a pending statement that failed. In a
// group member it may be a deferred write of an earlier member, whose fn
// went on as if it had succeeded: the group is lost. A serialization
// failure or deadlock runs every member again as usual; anything else
// runs them again with their writes sent as they come (errRerun), so that
// the failure meets the fn that caused it.
func (tx *lazyTx) pendingFailed(err error) error {
	if !tx.member {
		return err
	}
	err = groupLoss(err)
	if tx.doomed == nil {
		tx.doomed = err
	}
	return err
}

// groupLoss is what a group's members are told when a statement sent for
// an earlier member failed.
func groupLoss(err error) error {
	if isRetryable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", errRerun, err)
}

// errRerun loses a transaction that must run again, fn and all, without
// deferred writes or a one shot.
var errRerun = errors.New("postgres: a deferred write failed")

// deferExec queues a write to go in one pipeline with the transaction's
// next statement, or with its group's COMMIT, instead of a round trip of
// its own, and says whether it did: only in a group member that may defer
// (not one run again after a deferred write failed), outside any
// savepoint. The write's failure loses the whole group (pendingFailed), so
// a write that may fail for fn to handle must not be deferred, and one
// whose miss fn would have seen must turn its miss into an error, so that
// the COMMIT cannot pass it.
func (tx *lazyTx) deferExec(sql string, args ...any) bool {
	if !tx.member || !tx.mayDefer || tx.depth > 0 || tx.ended {
		return false
	}
	tx.stmts++
	tx.pending = append(tx.pending, queued{sql: sql, args: args})
	return true
}

// errOverrun is the error of a statement after a one-shot commit: the
// transaction has ended, and Update runs fn again without the one shot.
var errOverrun = errors.New("postgres: statement after a one-shot commit")

// use is called before each statement the caller runs, with its SQL
// when it is a query: it counts the statements, for the predictor, and
// refuses any after a one-shot commit.
func (tx *lazyTx) use(query string) error {
	if tx.ended {
		return pgx.ErrTxClosed
	}
	tx.stmts++
	if tx.stmts == 1 {
		tx.first = query
	}
	if tx.shot != nil {
		tx.overrun = true
		return errOverrun
	}
	return nil
}

// unsent removes sql from the pending statements and says whether it was
// there: a SAVEPOINT not sent yet needs no RELEASE or ROLLBACK TO.
func (tx *lazyTx) unsent(sql string) bool {
	if i := len(tx.pending) - 1; i >= 0 && tx.pending[i].sql == sql && tx.pending[i].args == nil {
		tx.pending = tx.pending[:i]
		return true
	}
	return false
}

// Exec runs a statement, after the pending ones in one pipeline.
func (tx *lazyTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := tx.use(""); err != nil {
		return pgconn.CommandTag{}, err
	}
	if _, err := tx.bind(ctx, ""); err != nil {
		return pgconn.CommandTag{}, err
	}
	ctx = tx.stmtCtx(ctx)
	if len(tx.pending) == 0 {
		return tx.conn.Exec(ctx, sql, args...)
	}
	var b pgx.Batch
	b.Queue(sql, args...)
	br, err := tx.withPending(ctx, &b)
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

// Query runs a query, after the pending statements in one pipeline.
func (tx *lazyTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := tx.use(sql); err != nil {
		return nil, err
	}
	oneShot, err := tx.bind(ctx, sql)
	if err != nil {
		return nil, err
	}
	if oneShot {
		return tx.batchedShot(ctx, sql, args)
	}
	ctx = tx.stmtCtx(ctx)
	if len(tx.pending) == 0 {
		return tx.conn.Query(ctx, sql, args...)
	}
	var b pgx.Batch
	b.Queue(sql, args...)
	br, err := tx.withPending(ctx, &b)
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

// batchedShot sends a one-shot query with other Updates' (shots.go). The
// transaction has ended when it returns, whatever the outcome: a
// statement after it is refused, as after any one shot.
func (tx *lazyTx) batchedShot(ctx context.Context, sql string, args []any) (pgx.Rows, error) {
	s := tx.shots.query(ctx, sql, args)
	if s.err != nil {
		tx.shot = &bufferedRows{closed: true, commitErr: s.err}
		if s.lost {
			tx.overrun = true
			return nil, errOverrun
		}
		return nil, s.err
	}
	tx.shot = s.rows
	return s.rows, nil
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
	if r.Rows.Err() != nil {
		_ = r.br.Close()
		return
	}
	r.err = r.br.Close()
}

// commitResult is a COMMIT's outcome: a transaction PostgreSQL had
// already aborted answers ROLLBACK to it, which is pgx.ErrTxCommitRollback
// as from pgx's own Tx.
func commitResult(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
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

// QueryRow runs a query for one row, after the pending statements.
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

// SendBatch runs b's statements in one pipeline, the pending ones first.
func (tx *lazyTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := tx.use(""); err != nil {
		return errBatch{err}
	}
	tx.stmts += len(b.QueuedQueries) - 1
	if _, err := tx.bind(ctx, ""); err != nil {
		return errBatch{err}
	}
	ctx = tx.stmtCtx(ctx)
	if len(tx.pending) == 0 {
		return tx.conn.SendBatch(ctx, b)
	}
	br, err := tx.withPending(ctx, b)
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

// Commit ends the transaction: nothing to send when no statement ran, and
// no pending RELEASE (COMMIT releases every savepoint). A
// transaction PostgreSQL had already aborted answers ROLLBACK to the
// COMMIT: that is pgx.ErrTxCommitRollback, as from pgx's own Tx. A
// one-shot transaction's COMMIT has been sent already: its outcome is
// the one-shot query's.
func (tx *lazyTx) Commit(ctx context.Context) error {
	if tx.ended {
		return pgx.ErrTxClosed
	}
	if tx.member {
		return tx.group.leave(tx, true)
	}
	if tx.shot != nil {
		tx.shot.Close()
		err := tx.shot.Err()
		if err != nil {
			// The server's transaction may still be open, aborted.
			_ = tx.Rollback(ctx)
			return err
		}
		tx.release()
		return nil
	}
	if !tx.begun {
		tx.release()
		return nil
	}
	err := commitResult(tx.conn.Exec(ctx, "COMMIT"))
	tx.release()
	return err
}

// Rollback ends the transaction without its writes. A one-shot
// transaction whose COMMIT succeeded had none (it ran one query), and
// has ended already.
func (tx *lazyTx) Rollback(ctx context.Context) error {
	if tx.ended {
		return pgx.ErrTxClosed
	}
	if tx.member {
		return tx.group.leave(tx, false)
	}
	if tx.shot != nil {
		tx.shot.Close()
	}
	if !tx.begun {
		tx.release()
		return nil
	}
	_, err := tx.conn.Exec(ctx, "ROLLBACK")
	tx.release()
	return err
}

// Begin starts a savepoint, sent with its first statement. Savepoints
// nest, so they are named by depth: a name reused after a RELEASE names
// the newest savepoint, as it should, and the statement cache holds one
// SAVEPOINT per depth, not one per savepoint.
func (tx *lazyTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if tx.ended {
		return nil, pgx.ErrTxClosed
	}
	tx.depth++
	sp := &savepoint{tx: tx, name: fmt.Sprintf("sp_%d", tx.depth)}
	tx.pending = append(tx.pending, queued{sql: "SAVEPOINT " + sp.name})
	return sp, nil
}

func (tx *lazyTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := tx.use(""); err != nil {
		return 0, err
	}
	if err := tx.ensure(ctx); err != nil {
		return 0, err
	}
	return tx.conn.CopyFrom(tx.stmtCtx(ctx), table, columns, src)
}

func (tx *lazyTx) LargeObjects() pgx.LargeObjects {
	panic("postgres: large objects are not used")
}

func (tx *lazyTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if err := tx.use(""); err != nil {
		return nil, err
	}
	if err := tx.ensure(ctx); err != nil {
		return nil, err
	}
	return tx.conn.Prepare(tx.stmtCtx(ctx), name, sql)
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

// Commit releases the savepoint with the next statement (nothing when no
// statement ran in it).
func (sp *savepoint) Commit(ctx context.Context) error {
	if sp.closed {
		return pgx.ErrTxClosed
	}
	sp.closed = true
	sp.tx.depth--
	if !sp.tx.unsent("SAVEPOINT " + sp.name) {
		sp.tx.pending = append(sp.tx.pending, queued{sql: "RELEASE SAVEPOINT " + sp.name})
	}
	return nil
}

// Rollback undoes the savepoint's statements at once (after a failed
// statement, the transaction takes no other until it has), and releases
// it with the next statement, so that savepoints named by depth do not
// pile up.
func (sp *savepoint) Rollback(ctx context.Context) error {
	if sp.closed {
		return pgx.ErrTxClosed
	}
	sp.closed = true
	sp.tx.depth--
	if sp.tx.unsent("SAVEPOINT " + sp.name) {
		return nil
	}
	_, err := sp.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+sp.name)
	if err == nil {
		sp.tx.pending = append(sp.tx.pending, queued{sql: "RELEASE SAVEPOINT " + sp.name})
	}
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
