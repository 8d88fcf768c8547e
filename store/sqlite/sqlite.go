// Package sqlite is partnerd's default store: store.Store over one SQLite
// file (github.com/mattn/go-sqlite3) in WAL mode, committed with
// synchronous=FULL so that a write which returned nil survives a crash or a
// power cut.
//
// SQLite allows one writer at a time. Rather than let our own writers race
// for the file lock and meet SQLITE_BUSY, every write goes through one
// dedicated connection owned by one committer goroutine, which groups the
// Updates queued at once into one transaction and one fsync (see update),
// and starts with BEGIN IMMEDIATE so the lock is taken up front.
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
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/partnerd/partnerd/store"
)

// busyTimeout bounds how long a connection waits for a lock held by another
// process sharing the file (a backup, the sqlite3 shell). Our own writers
// never wait on it: they queue for the committer.
const busyTimeout = 5 * time.Second

// DB is a store.Store over one SQLite file. Create it with Open.
type DB struct {
	write *sql.DB // exactly one connection; only used while holding writeLock
	read  *sql.DB // query-only pool

	// writes feeds the group committer (commitLoop), the only goroutine
	// that writes; closing stops it.
	writes        chan *writeRequest
	asyncWrites   chan *writeRequest // writes nobody waits for (see updateAsync)
	closing       chan struct{}
	committerDone chan struct{}

	// nonces answers UseNonce from memory (see nonceSet).
	nonces *nonceSet
	// logSize spares PruneRequestBytes its scan while the request log is
	// known to be within the budget (see requestLogSize).
	logSize requestLogSize

	// lastWrite is the outcome of the latest write attempt (see noteWrite
	// and WriteReady); probeMu lets one readiness probe run at a time.
	lastWrite atomic.Pointer[writeState]
	probeMu   sync.Mutex

	// beforeCommit, when set (by tests), runs just before each commit and
	// fails it with its error: how a test makes a commit fail the way a
	// full disk does, after the statements succeeded.
	beforeCommit atomic.Pointer[func() error]

	// serveLock, when asked for (WithServeLock), is the open lock file
	// that marks the database as served by this process.
	wantServeLock bool
	serveLock     *os.File

	closeOnce sync.Once
	closeErr  error
}

// writeState is one write attempt's outcome.
type writeState struct {
	at  time.Time // wall clock
	err error
}

var (
	_ store.Store        = (*DB)(nil)
	_ store.Backuper     = (*DB)(nil)
	_ store.WriteReadier = (*DB)(nil)
)

// Option configures Open.
type Option func(*DB)

// WithServeLock makes Open refuse (ErrInUse) a database another process
// opened WithServeLock and still holds: the server takes it, because one
// SQLite file serves one process (its nonces live in that process's memory,
// so two servers would accept each other's replays). The command-line
// tools, which may run alongside a server, do not.
//
// The lock is an flock(2) on "<path>.lock", held until Close (or the
// process's end, however it ends), which holds the server's process ID for
// the message. It is a file of its own: SQLite locks the database with
// fcntl(2) locks, which a second descriptor's close would drop, and flock
// on NFS is emulated with them.
func WithServeLock() Option {
	return func(db *DB) { db.wantServeLock = true }
}

// ErrInUse is returned by Open WithServeLock while another process serves
// the database.
var ErrInUse = errors.New("another partnerd serves this database")

// Open opens the SQLite database at path, creating it if missing, and
// brings its schema up to date. It refuses (ErrSchemaTooNew) a database
// written by a newer partnerd.
//
// A database Open creates has mode 0600 whatever the umask, and so have
// its -wal and -shm files, which SQLite creates with the database's mode:
// they hold sealed passwords and the request log. An existing file keeps
// the mode its owner gave it.
func Open(path string, opts ...Option) (*DB, error) {
	db := &DB{writes: make(chan *writeRequest), asyncWrites: make(chan *writeRequest, 4096), nonces: newNonceSet(),
		closing: make(chan struct{}), committerDone: make(chan struct{})}
	for _, o := range opts {
		o(db)
	}

	if db.wantServeLock {
		f, err := lockServe(path)
		if err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		db.serveLock = f
	}
	fail := func(err error) (*DB, error) {
		if db.serveLock != nil {
			db.serveLock.Close()
		}
		return nil, fmt.Errorf("sqlite: open %s: %w", path, explainOpenError(path, err))
	}
	if err := createPrivate(path); err != nil {
		return fail(err)
	}

	var err error
	db.write, err = sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		return fail(err)
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
		return fail(err)
	}
	// No memory map (mmap_size stays 0): mapped file pages count as the
	// process's resident memory, and the writer touches a great many of
	// them when it prunes the request log (256 MiB of them in a minute of
	// load). Pages come through the 32 MiB page cache instead.
	// Migrations write through the committer like every other write.
	go db.commitLoop()
	// Close releases the serve lock too, so fail must not close it again.
	closeFail := func(err error) (*DB, error) {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, explainOpenError(path, err))
	}
	if err := db.migrate(context.Background()); err != nil {
		return closeFail(err)
	}

	if err := db.loadNonces(context.Background()); err != nil {
		return closeFail(err)
	}

	db.read, err = sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		return closeFail(err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	if err := db.read.Ping(); err != nil {
		return closeFail(err)
	}
	return db, nil
}

// createPrivate creates the database file at path with mode 0600 if it is
// missing, so that SQLite (which would create it 0644 less the umask)
// opens a private file and gives its -wal and -shm the same mode. The
// explicit chmod makes the mode independent of the umask.
//
// It also opens an existing file for writing once, which reports a
// read-only file system or a permission problem as what it is: SQLite
// would fall back to reading, fail later on the -wal or -shm file, and
// report the errno of an unrelated probe ("no such file or directory").
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		err = f.Chmod(0o600)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil && runtime.GOOS != "windows" {
			return err
		}
		return nil
	}
	if !errors.Is(err, os.ErrExist) {
		return err
	}
	f, err = os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
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
	// The writer reads every Send it changes: a 32 MiB page cache (the
	// default is 2 MiB) keeps a store of millions of Sends mostly in
	// memory for it. Readers keep the default, one per pooled connection.
	if !readOnly {
		q.Set("_cache_size", "-32768")
	}
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
		close(db.closing)
		<-db.committerDone
		// Nonces the committer could not record are written now, or
		// Close says so: a restart would accept them again.
		errs := []error{db.flushNoncesOnClose()}
		if db.read != nil {
			errs = append(errs, db.read.Close())
		}
		errs = append(errs, db.write.Close())
		if db.serveLock != nil {
			// Closing the descriptor releases the flock.
			errs = append(errs, db.serveLock.Close())
		}
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
	return db.update(ctx, func(tx *sql.Tx) error { return fn(&txn{tx: tx, detached: true}) })
}

// View runs fn in a read transaction on a query-only connection: a write
// attempted inside it fails.
func (db *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	return db.view(ctx, func(tx *sql.Tx) error { return fn(&txn{tx: tx}) })
}

// writeRequest is one Update waiting for the group committer.
type writeRequest struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan writeResult
	// after, when set, is called by the committer once the request's
	// batch has committed (nil) or failed; async requests use it instead
	// of done.
	after func(error)
}

type writeResult struct {
	err      error
	panicked bool
	panicVal any
}

// maxBatch bounds how many Updates share one commit.
const maxBatch = 256

// update hands fn to the group committer and waits for its durable commit.
//
// Group commit: with synchronous=FULL every commit costs an fsync, which
// caps one-commit-per-request at a few thousand writes a second. The
// committer instead runs every Update queued while the previous commit was
// syncing in one transaction, each inside its own SAVEPOINT so that an
// Update whose fn fails rolls back alone, and answers them all after the
// single fsync. No Update returns nil before its writes are durable.
func (db *DB) update(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeRequest{ctx: ctx, fn: fn, done: make(chan writeResult, 1)}
	select {
	case db.writes <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.closing:
		return errClosed
	}
	// Once queued, the request is always answered: waiting on ctx here
	// could return before a commit that then succeeds.
	res := <-req.done
	if res.panicked {
		panic(res.panicVal)
	}
	return res.err
}

var errClosed = errors.New("sqlite: database is closed")

// updateAsync queues fn for the committer and returns at once; after is
// called with the outcome once the batch holding fn has committed. It is for
// records that must reach the disk soon but that no answer waits on (nonces:
// see UseNonce). It blocks only while the queue is full.
func (db *DB) updateAsync(fn func(*sql.Tx) error, after func(error)) {
	req := &writeRequest{ctx: context.Background(), fn: fn, after: after}
	select {
	case db.asyncWrites <- req:
	case <-db.closing:
		after(errClosed)
	}
}

// commitLoop is the one writer goroutine.
func (db *DB) commitLoop() {
	defer close(db.committerDone)
	batch := make([]*writeRequest, 0, maxBatch)
	for {
		var first *writeRequest
		select {
		case first = <-db.writes:
		case first = <-db.asyncWrites:
		case <-db.closing:
			// Queued async writes still reach the disk.
			for {
				select {
				case r := <-db.asyncWrites:
					db.commitBatch([]*writeRequest{r})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-db.writes:
				batch = append(batch, r)
			case r := <-db.asyncWrites:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		// Every async write queued before a waiting Update was issued
		// must be applied before it (a PruneNonces after a UseNonce sees
		// the nonce), so all that are queued join the batch, first.
		var async, sync []*writeRequest
		for {
			select {
			case r := <-db.asyncWrites:
				async = append(async, r)
				continue
			default:
			}
			break
		}
		for _, r := range batch {
			if r.after != nil {
				async = append(async, r)
			} else {
				sync = append(sync, r)
			}
		}
		batch = append(async, sync...)
		db.commitBatch(batch)
	}
}

// commitBatch runs batch in one transaction and answers every request.
func (db *DB) commitBatch(batch []*writeRequest) {
	results := make([]writeResult, len(batch))
	answer := func() {
		for i, r := range batch {
			if r.after != nil {
				err := results[i].err
				if results[i].panicked {
					err = fmt.Errorf("sqlite: panic in async write: %v", results[i].panicVal)
				}
				r.after(err)
				continue
			}
			r.done <- results[i]
		}
	}
	failAll := func(err error) {
		for i := range results {
			if !results[i].panicked && results[i].err == nil {
				results[i].err = err
			}
		}
		answer()
	}

	ctx := context.Background()
	tx, err := db.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE, from the DSN
	if err != nil {
		err = fmt.Errorf("sqlite: begin: %w", err)
		db.noteWrite(err)
		failAll(err)
		return
	}
	ok := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i].err = err
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT u"); err != nil {
			_ = tx.Rollback()
			db.failWrite(failAll, fmt.Errorf("sqlite: savepoint: %w", err))
			return
		}
		results[i] = runRequest(r, tx)
		if results[i].err != nil || results[i].panicked {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO u; RELEASE u"); err != nil {
				// The transaction is unusable: nothing in it commits.
				_ = tx.Rollback()
				db.failWrite(failAll, fmt.Errorf("sqlite: rollback to savepoint: %w", err))
				return
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, "RELEASE u"); err != nil {
			_ = tx.Rollback()
			db.failWrite(failAll, fmt.Errorf("sqlite: release savepoint: %w", err))
			return
		}
		ok++
	}
	if ok == 0 {
		_ = tx.Rollback()
		// Nothing was committed; a statement that failed for want of a
		// writable store still says the store cannot take writes.
		for _, res := range results {
			if isStorageFailure(res.err) {
				db.noteWrite(res.err)
				break
			}
		}
		answer()
		return
	}
	if hook := db.beforeCommit.Load(); hook != nil {
		if err := (*hook)(); err != nil {
			_ = tx.Rollback()
			err = fmt.Errorf("sqlite: commit: %w", err)
			db.noteWrite(err)
			failAll(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		err = fmt.Errorf("sqlite: commit: %w", err)
		db.noteWrite(err)
		failAll(err)
		return
	}
	db.noteWrite(nil)
	answer()
}

// failWrite records err as a failed write attempt and fails the batch.
func (db *DB) failWrite(failAll func(error), err error) {
	db.noteWrite(err)
	failAll(err)
}

// noteWrite records the outcome of a write attempt for WriteReady.
func (db *DB) noteWrite(err error) {
	db.lastWrite.Store(&writeState{at: time.Now(), err: err})
}

// isStorageFailure reports an error that says the store cannot take
// writes (read-only, full, I/O error, locked by another process), as
// opposed to a statement refused for its own sake (a constraint).
func isStorageFailure(err error) bool {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code {
	case sqlite3.ErrReadonly, sqlite3.ErrFull, sqlite3.ErrIoErr, sqlite3.ErrCantOpen, sqlite3.ErrPerm,
		sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrCorrupt, sqlite3.ErrNotADB, sqlite3.ErrNomem, sqlite3.ErrProtocol:
		return true
	}
	return false
}

// readyFresh is how recent a successful write must be for WriteReady to
// trust it without writing.
const readyFresh = 10 * time.Second

// WriteReady reports whether the store takes writes now: nil when the
// latest write attempt, made within readyFresh, committed; otherwise it
// commits a probe write (see probeWrite) through the committer and answers
// with its outcome. A server's readiness check calls it: a store that
// answers reads but fails every write (a full disk, a read-only file
// system, a lock held by another process) is not ready, as every cancel
// would fail.
//
// Why the latest attempt and not only a probe: a probe that rolls back
// writes nothing to the disk, so it would pass on a full disk; the probe
// commits instead, and is made only when no write has shown the store's
// health lately, so that polling costs at most one small commit a poll
// (fewer under load). Concurrent callers share one probe.
func (db *DB) WriteReady(ctx context.Context) error {
	start := time.Now()
	if st := db.lastWrite.Load(); st != nil && st.err == nil && start.Sub(st.at) < readyFresh {
		return nil
	}
	db.probeMu.Lock()
	defer db.probeMu.Unlock()
	if st := db.lastWrite.Load(); st != nil && st.at.After(start) {
		// A write attempted while we waited (another caller's probe)
		// answers for us.
		return st.err
	}
	// Nonces left over from failed commits go with the probe.
	db.kickNonceFlush()
	return db.update(ctx, probeWrite)
}

// probeWrite changes a page and changes it back: the commit writes and
// syncs a WAL frame, as every real write does, and leaves no row behind.
func probeWrite(tx *sql.Tx) error {
	ctx := context.Background()
	if _, err := tx.ExecContext(ctx, `INSERT INTO nonce_log (username, nonce, expires) VALUES ('', '', 0)`); err != nil {
		return fmt.Errorf("sqlite: probe write: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM nonce_log WHERE id = last_insert_rowid()`); err != nil {
		return fmt.Errorf("sqlite: probe write: %w", err)
	}
	return nil
}

// runRequest runs one request's fn, catching a panic so that it can be
// re-raised in the caller's goroutine.
func runRequest(r *writeRequest, tx *sql.Tx) (res writeResult) {
	defer func() {
		if p := recover(); p != nil {
			res = writeResult{panicked: true, panicVal: p}
		}
	}()
	return writeResult{err: r.fn(tx)}
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
type txn struct {
	tx *sql.Tx
	// detached statements ignore their context's cancellation. An
	// Update's statements run on the committer once the Update has been
	// queued, and a queued Update is always carried out (see update), so
	// cancelling one statement could only fail it half-way. It also
	// spares database/sql a goroutine per query, which it starts to watch
	// a cancellable context (~5 % of a cancel's CPU).
	detached bool
}

// ctx is the context t's statements run with.
func (t *txn) ctx(ctx context.Context) context.Context {
	if t.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

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

// init registers the "sqlite" scheme, which store.Open also uses for a
// plain path (store.DefaultScheme).
func init() {
	store.Register("sqlite", func(_ context.Context, path string, o store.OpenOptions) (store.Store, error) {
		var opts []Option
		if o.Serve {
			opts = append(opts, WithServeLock())
		}
		db, err := Open(path, opts...)
		if err != nil {
			return nil, err // not a nil *DB in a non-nil store.Store
		}
		return db, nil
	})
}
