package postgres

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
)

// Login events (store.LoginLog) live in partnerd_login_events, a table
// outside the versioned schema: it holds nothing worth keeping beyond a
// day (the throttle's longest horizon, auth.KnownSourceTTL) nor worth
// moving between stores, and a SQLite store has no counterpart, so it is
// created by the first process that records or follows logins, not by a
// migration. Each insert NOTIFYs its row, as JSON, in the same statement,
// on a channel named after the schema (channels are database-wide, and
// schemas share a database in tests); a follower LISTENs on a connection
// of its own, so that a login check never waits for a query to learn of
// other processes' failures.

// loginHorizon is how long an event is kept: the known-source TTL of the
// throttle, plus an hour's slack.
const loginHorizon = 25 * time.Hour

// loginTable creates the table once per DB (again after a failure).
type loginTable struct {
	mu      sync.Mutex
	ready   bool
	channel string
}

func newInstanceID() string {
	var b [8]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// loginChannel creates the events table when it is missing and returns
// the schema's NOTIFY channel.
func (db *DB) loginChannel(ctx context.Context) (string, error) {
	db.logins.mu.Lock()
	defer db.logins.mu.Unlock()
	if db.logins.ready {
		return db.logins.channel, nil
	}
	var schema string
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return err
		}
		// Two processes starting at once would race CREATE TABLE IF
		// NOT EXISTS into a duplicate catalog row: one at a time.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('partnerd_login_events:' || current_schema()))`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS partnerd_login_events (
			id BIGSERIAL PRIMARY KEY,
			instance TEXT NOT NULL,
			remote TEXT NOT NULL,
			subject TEXT NOT NULL,
			failed BOOLEAN NOT NULL,
			at BIGINT NOT NULL)`)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `CREATE INDEX IF NOT EXISTS partnerd_login_events_at ON partnerd_login_events (at)`)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("postgres: login events table: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte(schema))
	db.logins.channel = fmt.Sprintf("partnerd_logins_%016x", h.Sum64())
	db.logins.ready = true
	return db.logins.channel, nil
}

// loginRow is an event as stored and as notified (row_to_json's keys).
type loginRow struct {
	ID       int64  `json:"id"`
	Instance string `json:"instance"`
	Remote   string `json:"remote"`
	Subject  string `json:"subject"`
	Failed   bool   `json:"failed"`
	At       int64  `json:"at"`
}

func (r loginRow) event() store.LoginEvent {
	return store.LoginEvent{Remote: r.Remote, Subject: r.Subject, Failed: r.Failed, At: time.UnixMicro(r.At).UTC()}
}

// RecordLogin inserts e and notifies the followers, in one statement.
// Now and then it deletes the events past the horizon.
func (db *DB) RecordLogin(ctx context.Context, e store.LoginEvent) error {
	ch, err := db.loginChannel(ctx)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `WITH e AS (
		INSERT INTO partnerd_login_events (instance, remote, subject, failed, at) VALUES ($2, $3, $4, $5, $6)
		RETURNING id, instance, remote, subject, failed, at)
		SELECT pg_notify($1, row_to_json(e)::text) FROM e`,
		ch, db.instance, e.Remote, e.Subject, e.Failed, e.At.UnixMicro())
	if err != nil {
		return fmt.Errorf("postgres: record login: %w", err)
	}
	if rand.IntN(64) == 0 {
		if _, err := db.pool.Exec(ctx, `DELETE FROM partnerd_login_events WHERE at < $1`,
			e.At.Add(-loginHorizon).UnixMicro()); err != nil {
			return fmt.Errorf("postgres: prune login events: %w", err)
		}
	}
	return nil
}

// FollowLogins listens for other processes' login events (see
// store.LoginLog). After a lost connection it listens again and reads
// what it missed from the table, by ID.
func (db *DB) FollowLogins(ctx context.Context, since time.Time, fn func(store.LoginEvent)) error {
	f := &loginFollower{db: db, since: since.UnixMicro(), fn: fn, seen: map[int64]bool{}}
	wait := 100 * time.Millisecond
	for {
		err := f.follow(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		_ = err // a lost connection: listen again after a pause
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

type loginFollower struct {
	db    *DB
	since int64 // µs: events before it are not read from the table
	last  int64 // the highest ID read from the table or a notification
	seen  map[int64]bool
	fn    func(store.LoginEvent)
}

// apply hands r to fn once, unless this process recorded it.
func (f *loginFollower) apply(r loginRow) {
	if f.seen[r.ID] {
		return
	}
	if len(f.seen) > 100_000 {
		// Commits may notify IDs out of order, but never by this many.
		for id := range f.seen {
			if id < f.last-10_000 {
				delete(f.seen, id)
			}
		}
	}
	f.seen[r.ID] = true
	f.last = max(f.last, r.ID)
	if r.Instance != f.db.instance {
		f.fn(r.event())
	}
}

// follow runs one connection: LISTEN first, then read the table, so that
// nothing committed in between is missed (a duplicate is dropped by ID).
func (f *loginFollower) follow(ctx context.Context) error {
	ch, err := f.db.loginChannel(ctx)
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, f.db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{ch}.Sanitize()); err != nil {
		return err
	}
	rows, err := conn.Query(ctx, `SELECT id, instance, remote, subject, failed, at FROM partnerd_login_events
		WHERE id > $1 AND at >= $2 ORDER BY id`, f.last, f.since)
	if err != nil {
		return err
	}
	missed, err := pgx.CollectRows(rows, pgx.RowToStructByPos[loginRow])
	if err != nil {
		return err
	}
	for _, r := range missed {
		f.apply(r)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var r loginRow
		if err := json.Unmarshal([]byte(n.Payload), &r); err != nil {
			continue // not ours: a channel is only a name
		}
		f.apply(r)
	}
}

// LockInstance holds PostgreSQL's session-level advisory lock on this
// schema (pg_try_advisory_lock, or its _shared form) on a connection of
// its own, kept open until release: a lock on a pooled connection would
// go back to the pool with it. The server drops the lock when the
// connection ends, so a killed process holds it no longer than its TCP
// connection lives.
func (db *DB) LockInstance(ctx context.Context, exclusive bool) (func(), error) {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: instance lock: %w", err)
	}
	fn := "pg_try_advisory_lock_shared"
	if exclusive {
		fn = "pg_try_advisory_lock"
	}
	var ok bool
	err = conn.QueryRow(ctx, `SELECT `+fn+`(hashtext('partnerd_instance:' || current_schema()))`).Scan(&ok)
	if err == nil && !ok {
		err = store.ErrInstanceLocked
	}
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		if err == store.ErrInstanceLocked {
			return nil, err
		}
		return nil, fmt.Errorf("postgres: instance lock: %w", err)
	}
	var once sync.Once
	return func() { once.Do(func() { conn.Close(context.Background()) }) }, nil
}
