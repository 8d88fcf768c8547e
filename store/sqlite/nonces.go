package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/partnerd/partnerd/store"
)

// nonceSet is the serving process's memory of the nonces still live: the
// replay check of every request is a map lookup, never a query. The durable
// record is nonce_log, an append-only table written in batches by the group
// committer and read back by Open, so a restart forgets nothing that had
// reached the disk.
//
// This is why one SQLite file serves one partnerd process: a second process
// on the same file would not see this one's nonces. Several processes share
// the PostgreSQL store instead.
//
// Entries are keyed by a 64-bit hash of (username, nonce) with a
// per-process random seed, so nobody can aim for a collision; a false
// "replay" needs two of the few million live nonces to collide, about
// 1 in 10^12 per request. They are grouped in buckets by expiry so that
// whole buckets are dropped once expired: a Go map never shrinks, and the
// set must not keep the memory of a past burst.
//
// An entry is its hash alone, live until the end of its bucket: a nonce is
// refused for up to nonceBucket past its own expiry, which no honest client
// notices (nonces are never meant to be reused). A bucket is a hashSet of
// 8-byte slots, 11–21 bytes per live nonce, where a Go map took 38. That
// matters under sustained load: at 10,000 requests/s the six-minute window
// holds 3.6 million nonces.
// Buckets are wide so that a lookup probes few of them (13 for the default
// window, one map lookup each).
type nonceSet struct {
	seed maphash.Seed

	mu        sync.Mutex
	buckets   map[int64]*hashSet // expiry / nonceBucket → hashes
	lastSweep int64

	// queue holds the records not yet handed to the committer; flushing
	// says a flush is already queued (at most one is, so the async queue
	// never fills with them).
	queue    []nonceRecord
	flushing bool
}

type nonceRecord struct {
	username, nonce string
	expires         int64 // unix µs
}

// nonceBucket is the width of one bucket of expiries, in µs.
const nonceBucket = int64(30 * time.Second / time.Microsecond)

func newNonceSet() *nonceSet {
	return &nonceSet{seed: maphash.MakeSeed(), buckets: map[int64]*hashSet{}}
}

func (s *nonceSet) hash(username, nonce string) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(username)
	h.WriteByte(0)
	h.WriteString(nonce)
	return h.Sum64()
}

// live reports whether h is recorded in a bucket that ends after now.
// Callers hold s.mu.
func (s *nonceSet) live(h uint64, now int64) bool {
	for k, b := range s.buckets {
		if (k+1)*nonceBucket <= now {
			continue // every expiry in it is before now
		}
		if b.has(h) {
			return true
		}
	}
	return false
}

// add records h until expires (or the end of its bucket). Callers hold
// s.mu.
func (s *nonceSet) add(h uint64, expires int64) {
	k := expires / nonceBucket
	b := s.buckets[k]
	if b == nil {
		b = &hashSet{}
		s.buckets[k] = b
	}
	b.add(h)
}

// hashSet is a set of 64-bit hashes by open addressing: slots of the
// hash itself, linear probing, no deletion (a bucket is dropped whole).
// The hashes are uniformly random (seeded maphash), so their low bits are
// the slot. Zero marks an empty slot; hash 0 is stored as 1, a collision
// the 64-bit space makes as unlikely as any other.
type hashSet struct {
	slots []uint64
	n     int
}

func (s *hashSet) Len() int { return s.n }

func (s *hashSet) has(h uint64) bool {
	if h == 0 {
		h = 1
	}
	if len(s.slots) == 0 {
		return false
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

func (s *hashSet) add(h uint64) {
	if h == 0 {
		h = 1
	}
	// At most three quarters full, so probes stay short and a free slot
	// always ends them.
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return
		case 0:
			s.slots[i] = h
			s.n++
			return
		}
	}
}

func (s *hashSet) grow() {
	old := s.slots
	s.slots = make([]uint64, max(16, 2*len(old)))
	s.n = 0
	for _, h := range old {
		if h != 0 {
			s.add(h)
		}
	}
}

// forget drops the buckets that ended by before (unix µs); a bucket that
// ends later is kept whole. Callers hold s.mu.
func (s *nonceSet) forget(before int64) {
	for k := range s.buckets {
		if (k+1)*nonceBucket <= before {
			delete(s.buckets, k)
		}
	}
}

// loadNonces fills the set with the nonces nonce_log holds live at now.
func (db *DB) loadNonces(ctx context.Context, now time.Time) error {
	rows, err := db.write.QueryContext(ctx, `SELECT username, nonce, expires FROM nonce_log WHERE expires >= ?`, now.UnixMicro())
	if err != nil {
		return fmt.Errorf("load nonces: %w", err)
	}
	defer rows.Close()
	s := db.nonces
	s.mu.Lock()
	defer s.mu.Unlock()
	for rows.Next() {
		var r nonceRecord
		if err := rows.Scan(&r.username, &r.nonce, &r.expires); err != nil {
			return fmt.Errorf("load nonces: %w", err)
		}
		s.add(s.hash(r.username, r.nonce), r.expires)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load nonces: %w", err)
	}
	return nil
}

// UseNonce records username's nonce until expires; ErrReplay if it is
// already recorded and unexpired (by the DB's clock, see WithClock). A
// nonce whose record has expired may be used again. A nonce that is already
// expired when it is recorded is not kept: it could never refuse a request.
//
// The check is a lookup in memory (see nonceSet). The record is appended to
// nonce_log by the group committer, batched with whatever else is queued,
// without making the caller wait for its fsync: a nonce is not an answer we
// gave, and waiting would add a second fsync to every request. A crash can
// forget only the nonces of the last commit that had not reached the disk.
func (db *DB) UseNonce(ctx context.Context, username, nonce string, expires time.Time) error {
	if expires.IsZero() {
		return fmt.Errorf("sqlite: use nonce: zero expiry")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s := db.nonces
	h := s.hash(username, nonce)
	now, exp := db.clock.Now().UnixMicro(), expires.UnixMicro()

	s.mu.Lock()
	if s.live(h, now) {
		s.mu.Unlock()
		return fmt.Errorf("sqlite: use nonce of %q: %w", username, store.ErrReplay)
	}
	if exp < now {
		s.mu.Unlock()
		return nil
	}
	s.add(h, exp)
	if now-s.lastSweep > int64(time.Second/time.Microsecond) {
		s.lastSweep = now
		s.forget(now)
	}
	s.queue = append(s.queue, nonceRecord{username, nonce, exp})
	flush := !s.flushing
	s.flushing = true
	s.mu.Unlock()

	if flush {
		db.updateAsync(db.flushNonces, func(error) {
			// A failed flush leaves the nonces live in memory; only a
			// crash before the next successful commit could forget them.
		})
	}
	return nil
}

// flushNonces appends the queued nonce records in the committer's
// transaction: rows in insertion order, so each commit dirties the last
// page or two of the table instead of one random page per nonce.
func (db *DB) flushNonces(tx *sql.Tx) error {
	s := db.nonces
	s.mu.Lock()
	queue := s.queue
	s.queue, s.flushing = nil, false
	s.mu.Unlock()
	if len(queue) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(queue))
	for _, r := range queue {
		args = append(args, r.username, r.nonce, r.expires)
	}
	return nonceLogInserter.insert(context.Background(), tx, args)
}

var nonceLogInserter = newRowInserter(`INSERT INTO nonce_log (username, nonce, expires)`, `(?, ?, ?)`, 3)

// PruneNonces forgets nonces that expired before t and says how many
// records it removed.
func (db *DB) PruneNonces(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM nonce_log WHERE expires < ?`, before.UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune nonces: %w", err)
	}
	db.nonces.mu.Lock()
	db.nonces.forget(before.UnixMicro())
	db.nonces.mu.Unlock()
	return n, nil
}
