// Package postgres is partnerd's server-database store: store.Store over a
// PostgreSQL database (github.com/jackc/pgx/v5, a pgxpool), for several
// partnerd processes sharing one database. It is opened by store.Open with
// a postgres:// or postgresql:// URL (libpq's URL syntax; search_path and
// other run-time parameters may be given in it, and pgxpool's settings:
// pool_max_conns, by default 4 per CPU and at least 16).
//
// Its schema mirrors store/sqlite's, table for table and column for
// column (migrations.go), so that what one store keeps the other keeps the
// same way: times are BIGINT microseconds since the Unix epoch, UTC (NULL
// for the zero time); text columns are COLLATE "C", compared byte by byte
// as SQLite compares them.
//
// Isolation (the rules written on store.Store). Every Update runs
// SERIALIZABLE and is retried, fn and all, on a serialization failure or a
// deadlock, which it never returns: that is what serializes a count under
// the held limit with the write that follows it, whoever else writes. A
// View is a REPEATABLE READ, read-only snapshot. The Queue's transactions
// run READ COMMITTED with row locks (FOR UPDATE SKIP LOCKED for claims),
// every transition compare-and-set on the status. Commits are durable:
// the session sets synchronous_commit on, whatever the server's default.
// A transaction's BEGIN travels in one pipeline with its first statement,
// and a transaction that ran none sends nothing (lazytx.go); an Update
// predicted to end with its first query sends its COMMIT in that pipeline
// too (oneshot.go), in one pipeline with the one shots of concurrent
// Updates (shots.go): round trips, not SQL, are most of a short Update's
// cost. Every other Update joins its process's group (group.go): the
// Updates that queue while one runs share its transaction, each in a
// savepoint, and one COMMIT, as the SQLite store's committer runs them.
//
// PostgreSQL aborts a transaction at its first failed statement, where
// SQLite carries on. A Tx method that may fail for the caller to handle
// (a duplicate key: ErrExists) runs inside a savepoint, so that the
// Update can go on after it, as on SQLite.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerd/partnerd/store"
)

// DB is a store.Store over one PostgreSQL database. Create it with Open.
type DB struct {
	pool *pgxpool.Pool
	// instance names this process's DB among those sharing the
	// database, so that LoginLog skips what it recorded itself.
	instance string
	logins   loginTable
	nonces   nonceBatcher
	shots    shotBatcher
	group    writeGroup
	logSize  logSize
}

var (
	_ store.Store          = (*DB)(nil)
	_ store.WriteReadier   = (*DB)(nil)
	_ store.LoginLog       = (*DB)(nil)
	_ store.InstanceLocker = (*DB)(nil)
)

// Open connects to the database url names (postgres://…), and brings its
// schema (in the connection's search_path) up to date. It refuses
// (ErrSchemaTooNew) a schema written by a newer partnerd.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// Durable: an answer is written only after its commit has reached
	// the server's disk (and its synchronous standbys, if any).
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	// pgxpool's default (4 connections on a small machine) would queue a
	// server's concurrent requests behind each other: a request holds a
	// connection while it waits on round trips and commit flushes, not
	// only while it works, so the pool must be wider than the CPUs (on 2
	// cores, 16 connections gave 20-60 % more cancels than 8, with less
	// CPU per request; 64 cost PostgreSQL more CPU: BENCHMARKS.md).
	// Connections are opened as they are needed, so an idle store holds
	// few.
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(max(16, 4*runtime.GOMAXPROCS(0)))
	}
	// Large values (the request log's bodies) compressed with lz4 cost
	// PostgreSQL less than half of its default pglz's CPU per row
	// (BENCHMARKS.md); a server built without lz4 keeps pglz. Any server
	// reads both.
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `SELECT set_config('default_toast_compression', 'lz4', false)
WHERE 'lz4' = ANY ((SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression')::text[])`)
		return err
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "partnerd"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{pool: pool, instance: newInstanceID()}
	db.shots.pool = pool
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect %s: %w", redact(cfg), err)
	}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return db, nil
}

// redact names the server without its password, for messages.
func redact(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// Close closes the pool. It is safe to call more than once.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// maxAttempts bounds an Update's retries of serialization failures: under
// any real contention a few suffice; the bound only keeps a pathological
// case from spinning for ever.
const maxAttempts = 1000

// Update runs fn in one SERIALIZABLE transaction, committed durably before
// it returns nil; a serialization failure or deadlock (in fn's statements
// or at the commit) runs fn again on a new snapshot. An error from fn is
// returned as is, after rollback.
func (db *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	return db.update(ctx, pgx.Serializable, func(t *txn) error { return fn(t) })
}

// View runs fn in a read-only REPEATABLE READ transaction: one snapshot.
func (db *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := db.beginLazy(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	// Nothing to commit: rolling back a read transaction just ends it.
	defer tx.Rollback(context.WithoutCancel(ctx))
	return fn(&txn{tx: tx})
}

// update runs fn in a transaction of level iso and commits it, retrying on
// a serialization failure or deadlock. A panic in fn rolls back and keeps
// panicking.
func (db *DB) update(ctx context.Context, iso pgx.TxIsoLevel, fn func(*txn) error) error {
	var mode attemptMode
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := db.try(ctx, iso, fn, mode)
		if errors.Is(err, errOverrun) || errors.Is(err, errRerun) {
			// A one shot mispredicted (oneshot.go), or a deferred
			// write failed (group.go): nothing was written; run fn
			// again at once, without the one shot, and after a
			// deferred write's failure without deferring. An attempt
			// that was already so loses its group to another
			// member's deferred write at most once per such member.
			before := mode
			mode.noShot = true
			mode.noDefer = mode.noDefer || errors.Is(err, errRerun)
			if mode != before {
				attempt--
			}
			if attempt < maxAttempts {
				continue
			}
		}
		if !isRetryable(err) || attempt == maxAttempts {
			return err
		}
		// A short random pause lets the transaction that won finish, so
		// that the retry does not meet it again at once.
		pause := time.Duration(rand.Int64N(int64(min(attempt, 20)) * int64(time.Millisecond)))
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// attemptMode is what an attempt of update may not do, after an attempt
// that did it failed.
type attemptMode struct {
	noShot  bool // send the COMMIT with the first query (oneshot.go)
	noDefer bool // defer writes in a group (group.go)
}

// try is one attempt of update. Unless mode says not, the COMMIT may go
// with the first query (a one shot, oneshot.go), and a SERIALIZABLE
// transaction runs in the process's group, where writes may be deferred
// (group.go). errOverrun says that fn ran another statement after a one
// shot, errRerun that a deferred write failed: the attempt must run
// again without.
func (db *DB) try(ctx context.Context, iso pgx.TxIsoLevel, fn func(*txn) error, mode attemptMode) (err error) {
	tx, err := db.beginLazy(ctx, pgx.TxOptions{IsoLevel: iso})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	if !mode.noShot {
		tx.shots = &db.shots
	}
	if iso == pgx.Serializable {
		tx.group = &db.group
		tx.mayDefer = !mode.noDefer
	}
	t := &txn{tx: tx}
	done := false
	defer func() {
		if done {
			return
		}
		if tx.doomed == nil {
			tx.doomed = t.retry
		}
		gerr := tx.Rollback(context.WithoutCancel(ctx))
		if tx.member && gerr != nil && !isRetryable(err) {
			// fn's error may rest on what an earlier member wrote,
			// which never committed: the group's failure is the
			// outcome.
			err = gerr
		}
	}()
	err = fn(t)
	db.shots.predict.learn(tx.first, tx.stmts == 1)
	if tx.overrun {
		// Whatever fn made of the refused statement.
		return errOverrun
	}
	if err != nil {
		if t.retry != nil {
			// fn failed, or carried on, after a statement met a
			// serialization failure: the transaction is lost, run it
			// again, whatever fn made of the error.
			return t.retry
		}
		return err
	}
	if t.retry != nil {
		return t.retry
	}
	done = true
	// The commit runs whatever ctx says: once fn has succeeded, the
	// caller is answered with the commit's outcome, not a cancellation
	// that may or may not have stopped it.
	if err := tx.Commit(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// txn is the store.Tx of one Update or View.
type txn struct {
	tx pgx.Tx
	// retry is the first serialization failure or deadlock a statement
	// met: the transaction cannot commit, and Update runs it again.
	retry error
	// read holds the status of each send the transaction has read or
	// written, as it last saw it, for UpdateSendFrom's deferred write.
	read map[sendRef]store.SendStatus
}

// sendRef names one send.
type sendRef struct{ account, id int64 }

// sawSend records s's status as the transaction now sees it.
func (t *txn) sawSend(s store.Send) {
	if _, ok := t.tx.(*lazyTx); !ok {
		// In a savepoint, which may yet roll back: unknown.
		delete(t.read, sendRef{s.AccountID, s.ID})
		return
	}
	if t.read == nil {
		t.read = make(map[sendRef]store.SendStatus, 1)
	}
	if s.Discarded {
		delete(t.read, sendRef{s.AccountID, s.ID})
		return
	}
	t.read[sendRef{s.AccountID, s.ID}] = s.Status
}

// readAs says whether the transaction last saw send id of account in
// status from, not discarded.
func (t *txn) readAs(account, id int64, from store.SendStatus) bool {
	st, ok := t.read[sendRef{account, id}]
	return ok && st == from
}

// deferExec queues a write for the transaction's next round trip, when
// it may (lazyTx.deferExec).
func (t *txn) deferExec(sql string, args ...any) bool {
	lt, ok := t.tx.(*lazyTx)
	return ok && lt.deferExec(sql, args...)
}

var _ store.Tx = (*txn)(nil)

// note records err when it means the transaction must be retried, and
// returns it.
func (t *txn) note(err error) error {
	if t.retry == nil && isRetryable(err) {
		t.retry = err
	}
	return err
}

// exec runs a statement in the transaction.
func (t *txn) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.tx.Exec(ctx, sql, args...)
	return tag, t.note(err)
}

// queryRow runs a query that returns one row, scanned into dest.
func (t *txn) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return rowNoter{t.tx.QueryRow(ctx, sql, args...), t}
}

type rowNoter struct {
	row pgx.Row
	t   *txn
}

func (r rowNoter) Scan(dest ...any) error { return r.t.note(r.row.Scan(dest...)) }

// guarded runs fn inside a savepoint: if it fails, the savepoint is rolled
// back and the transaction goes on, as a failed statement lets SQLite's.
func (t *txn) guarded(ctx context.Context, fn func() error) error {
	sp, err := t.tx.Begin(ctx)
	if err != nil {
		return t.note(err)
	}
	outer := t.tx
	t.tx = sp
	err = fn()
	t.tx = outer
	if err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return t.note(rerr)
		}
		return err
	}
	return t.note(sp.Commit(ctx))
}

// queryer is what a read runs on: the pool or a transaction.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// queryAll runs query and returns every row as scan reads it, in order
// (nil for none).
func queryAll[T any](ctx context.Context, q queryer, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// query is queryAll on the transaction, noting a serialization failure.
func txQueryAll[T any](ctx context.Context, t *txn, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	out, err := queryAll(ctx, t.tx, scan, query, args...)
	return out, t.note(err)
}

// execCount runs one statement in its own READ COMMITTED transaction and
// says how many rows it changed (housekeeping deletes, bulk status moves).
func (db *DB) execCount(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		tag, err := t.exec(ctx, query, args...)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// WriteReady reports whether the database takes writes: it answers, and is
// not a read-only standby or in a read-only default. A full disk shows in
// the writes themselves; PostgreSQL keeps answering reads.
func (db *DB) WriteReady(ctx context.Context) error {
	var ok bool
	err := db.pool.QueryRow(ctx,
		`SELECT NOT pg_is_in_recovery() AND current_setting('default_transaction_read_only') = 'off'`).Scan(&ok)
	if err != nil {
		return fmt.Errorf("postgres: ready: %w", err)
	}
	if !ok {
		return errors.New("postgres: the database is read-only (a standby, or default_transaction_read_only)")
	}
	return nil
}

// dbTime is how a time is stored: microseconds since the epoch, or NULL
// for the zero time.
func dbTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// goTime is the inverse of dbTime; times come back in UTC.
func goTime(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.UnixMicro(*n).UTC()
}

// pgCode is the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// constraint is the name of the constraint a PostgreSQL error names.
func constraint(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.ConstraintName
	}
	return ""
}

func isUniqueViolation(err error) bool     { return pgCode(err) == "23505" }
func isForeignKeyViolation(err error) bool { return pgCode(err) == "23503" }

// isRetryable: a serialization failure or a deadlock, which the
// transaction's retry resolves.
func isRetryable(err error) bool {
	c := pgCode(err)
	return c == "40001" || c == "40P01"
}

// notFoundIfNoRow turns pgx.ErrNoRows into store.ErrNotFound.
func notFoundIfNoRow(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// mustAffect turns an UPDATE or DELETE that matched no row into
// store.ErrNotFound.
func mustAffect(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// init registers the "postgres" and "postgresql" schemes. store.Open hands
// over the name without its scheme: the URL is rebuilt whole.
func init() {
	for _, scheme := range []string{"postgres", "postgresql"} {
		store.Register(scheme, func(ctx context.Context, ref string, _ store.OpenOptions) (store.Store, error) {
			db, err := Open(ctx, scheme+"://"+ref)
			if err != nil {
				return nil, err // not a nil *DB in a non-nil store.Store
			}
			return db, nil
		})
	}
}
