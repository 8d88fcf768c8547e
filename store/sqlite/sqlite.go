// Package sqlite is partnerd's default store: store.Store over one SQLite
// file (github.com/mattn/go-sqlite3) in WAL mode, committed with
// synchronous=FULL so that a write which returned nil survives a crash or a
// power cut.
//
// SQLite allows one writer at a time. Rather than let our own writers race
// for the file lock and meet SQLITE_BUSY, every write goes through one
// dedicated connection guarded by an in-process lock, and starts with BEGIN
// IMMEDIATE so the lock is taken up front instead of on the first write.
// Reads use a separate pool of query-only connections, which WAL lets run
// alongside the writer.
//
// Times are stored as INTEGER microseconds since the Unix epoch, UTC (the
// precision of a PostgreSQL timestamptz, so both stores agree); a zero
// time.Time is stored as NULL.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/partnerd/partnerd/clock"
	"github.com/partnerd/partnerd/store"
)

// busyTimeout bounds how long a connection waits for a lock held by another
// process sharing the file (a backup, the sqlite3 shell). Our own writers
// never wait on it: they queue on DB.writeLock.
const busyTimeout = 5 * time.Second

// DB is a store.Store over one SQLite file. Create it with Open.
type DB struct {
	write *sql.DB // exactly one connection; only used while holding writeLock
	read  *sql.DB // query-only pool
	clock clock.Clock

	// writeLock serializes writers. It is a channel rather than a
	// sync.Mutex so that a writer waiting for it can give up when its
	// context is canceled.
	writeLock chan struct{}

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*DB)(nil)

// Option configures Open.
type Option func(*DB)

// WithClock sets the clock UseNonce judges nonce expiry by (the only method
// without a caller-supplied "now"). The default is clock.System; pass the
// server's clock so that --clock=manual applies to nonces too.
func WithClock(c clock.Clock) Option {
	return func(db *DB) { db.clock = c }
}

// Open opens the SQLite database at path, creating it if missing, and
// brings its schema up to date. It refuses (ErrSchemaTooNew) a database
// written by a newer partnerd.
func Open(path string, opts ...Option) (*DB, error) {
	db := &DB{clock: clock.System{}, writeLock: make(chan struct{}, 1)}
	for _, o := range opts {
		o(db)
	}

	var err error
	db.write, err = sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One connection that is never closed for idleness: its pragmas (and
	// its statement cache) live as long as the DB.
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)

	// The writer connects first: it creates the file and switches it to
	// WAL, which the query-only readers could not do.
	if err := db.write.Ping(); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := db.migrate(context.Background()); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	db.read, err = sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	if err := db.read.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// dsn builds a go-sqlite3 URI for path. Every connection gets the pragmas
// from its DSN, so a pool connection opened later is configured like the
// first.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	// FULL, not WAL's usual NORMAL: NORMAL may lose the last commits on
	// power loss, and a Cancel we answered OK must stay canceled.
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	// Our statements are a small fixed set (plus filters), so a per
	// connection cache saves re-preparing them on every call.
	q.Set("_stmt_cache_size", "64")
	if readOnly {
		// query_only rather than mode=ro: a mode=ro connection can only
		// read a WAL database whose -wal and -shm files already exist
		// and are usable, and fails obscurely otherwise.
		q.Set("_query_only", "on")
	} else {
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	if u.Path != "" && u.Path[0] != '/' {
		// url.URL would render a relative path as "file:///rel"; SQLite
		// wants "file:rel" for a relative one.
		u.Opaque = (&url.URL{Path: path}).EscapedPath()
		u.Path = ""
	}
	return u.String()
}

// Close closes the database. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		var errs []error
		if db.read != nil {
			errs = append(errs, db.read.Close())
		}
		errs = append(errs, db.write.Close())
		if err := errors.Join(errs...); err != nil {
			db.closeErr = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return db.closeErr
}

// Update runs fn in one write transaction, committed durably before it
// returns nil. An error from fn is returned as is, after rollback; a panic
// in fn rolls back and keeps panicking.
func (db *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	return db.update(ctx, func(tx *sql.Tx) error { return fn(&txn{tx: tx}) })
}

// View runs fn in a read transaction on a query-only connection: a write
// attempted inside it fails.
func (db *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	return db.view(ctx, func(tx *sql.Tx) error { return fn(&txn{tx: tx}) })
}

func (db *DB) update(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case db.writeLock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-db.writeLock }()

	tx, err := db.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE, from the DSN
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	done := false
	defer func() {
		// Runs on error and on panic alike; a panic keeps unwinding.
		if !done {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		// database/sql rolls the transaction back itself when ctx ends
		// first; report why, so the caller does not take it for a bug.
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("sqlite: commit: %w", cerr)
		}
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

func (db *DB) view(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	// Nothing to commit: rolling back a read transaction just ends it.
	defer tx.Rollback()
	return fn(tx)
}

// txn is the store.Tx of one Update or View.
type txn struct{ tx *sql.Tx }

var _ store.Tx = (*txn)(nil)

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

// dbTime is how a time is stored: microseconds since the epoch, or NULL for
// the zero time (a SentDate not yet set).
func dbTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// goTime is the inverse of dbTime; times come back in UTC.
func goTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

// sqliteCode is the extended result code of a SQLite error, or 0.
func sqliteCode(err error) sqlite3.ErrNoExtended {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode
	}
	return 0
}

func isUniqueViolation(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.ErrConstraintUnique || c == sqlite3.ErrConstraintPrimaryKey
}

func isForeignKeyViolation(err error) bool {
	return sqliteCode(err) == sqlite3.ErrConstraintForeignKey
}
