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
// on the same file would not see this one's nonces (WithServeLock enforces
// it for servers). Several processes share the PostgreSQL store instead.
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
	// latest is the latest now (unix µs) a caller gave UseNonce or Prune:
	// the store reads no clock of its own, so records put back after a
	// failed commit, or left at Close, are judged expired by it.
	latest int64

	// queue holds the records not yet committed: the new ones, and those
	// of a flush whose commit failed, put back (see queueFlush). flushing
	// says a flush is already queued (at most one is, so the async queue
	// never fills with them). closed is set by Close, once it has taken
	// the last of the queue: no nonce is accepted after it.
	queue      []nonceRecord
	flushing   bool
	closed     bool
	maxBacklog int // maxNonceBacklog; tests lower it
}

// maxNonceBacklog bounds the nonces accepted but not yet recorded. They
// pile up only while commits fail (a full disk); past the bound UseNonce
// refuses new ones rather than accept nonces that a restart would forget,
// and the memory kept for them stays bounded (~100 bytes a record).
const maxNonceBacklog = 1 << 18 // 262,144

type nonceRecord struct {
	username, nonce string
	expires         int64 // unix µs
}

// nonceBucket is the width of one bucket of expiries, in µs.
const nonceBucket = int64(30 * time.Second / time.Microsecond)

func newNonceSet() *nonceSet {
	return &nonceSet{seed: maphash.MakeSeed(), buckets: map[int64]*hashSet{}, maxBacklog: maxNonceBacklog}
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

// loadNonces fills the set with every nonce nonce_log holds. The store has
// no clock to judge them by until a caller gives it a now: those already
// expired are judged so by UseNonce's now, swept from memory by the first
// UseNonce a second later, and deleted by the next Prune.
func (db *DB) loadNonces(ctx context.Context) error {
	rows, err := db.write.QueryContext(ctx, `SELECT username, nonce, expires FROM nonce_log`)
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
// already recorded and unexpired at now (the caller's clock). A
// nonce whose record has expired may be used again. A nonce that is already
// expired when it is recorded is not kept: it could never refuse a request.
//
// The check is a lookup in memory (see nonceSet). The record is appended to
// nonce_log by the group committer, batched with whatever else is queued,
// without making the caller wait for its fsync: a nonce is not an answer we
// gave, and waiting would add a second fsync to every request. A crash can
// forget only the nonces of the last commit that had not reached the disk.
//
// A record whose commit fails is queued again and goes with the next
// commit (the next UseNonce, PruneNonces or WriteReady brings one about),
// and Close writes what is left or fails saying so: a nonce accepted while
// writes fail is still refused after the disk frees and a graceful
// restart. While more than maxNonceBacklog records wait, UseNonce fails.
func (db *DB) UseNonce(ctx context.Context, username, nonce string, expires, now time.Time) error {
	if expires.IsZero() {
		return fmt.Errorf("sqlite: use nonce: zero expiry")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s := db.nonces
	h := s.hash(username, nonce)
	exp := expires.UnixMicro()
	nowUS := now.UnixMicro()

	s.mu.Lock()
	s.latest = max(s.latest, nowUS)
	if s.live(h, nowUS) {
		s.mu.Unlock()
		return fmt.Errorf("sqlite: use nonce of %q: %w", username, store.ErrReplay)
	}
	if exp < nowUS {
		s.mu.Unlock()
		return nil
	}
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("sqlite: use nonce: %w", errClosed)
	}
	if len(s.queue) >= s.maxBacklog {
		n := len(s.queue)
		s.mu.Unlock()
		return fmt.Errorf("sqlite: use nonce: %d accepted nonces are still waiting to be written (the store's writes are failing)", n)
	}
	s.add(h, exp)
	if nowUS-s.lastSweep > int64(time.Second/time.Microsecond) {
		s.lastSweep = nowUS
		s.forget(nowUS)
	}
	s.queue = append(s.queue, nonceRecord{username, nonce, exp})
	flush := !s.flushing
	s.flushing = true
	s.mu.Unlock()

	if flush {
		db.queueFlush()
	}
	return nil
}

// kickNonceFlush queues a flush if records wait and none is queued: after
// a failed commit, the records put back would otherwise wait for the next
// UseNonce.
func (db *DB) kickNonceFlush() {
	s := db.nonces
	s.mu.Lock()
	flush := len(s.queue) > 0 && !s.flushing && !s.closed
	if flush {
		s.flushing = true
	}
	s.mu.Unlock()
	if flush {
		db.queueFlush()
	}
}

// queueFlush hands the committer a flush of the queued records; the caller
// has set s.flushing. The records are taken from the queue when the flush
// runs, and put back if its batch does not commit (or it never ran), so
// that a failed write loses none of them.
func (db *DB) queueFlush() {
	s := db.nonces
	var taken []nonceRecord
	ran := false
	// fn and after both run on the committer (or after alone, in this
	// goroutine, if the store is closing): taken and ran need no lock.
	db.updateAsync(func(tx *sql.Tx) error {
		ran = true
		s.mu.Lock()
		taken = s.queue
		s.queue, s.flushing = nil, false
		s.mu.Unlock()
		return insertNonces(tx, taken)
	}, func(err error) {
		if err == nil {
			return
		}
		s.mu.Lock()
		now := s.latest
		// Older records first, as they were queued; expired ones could
		// never refuse a request and need not be kept.
		back := make([]nonceRecord, 0, len(taken)+len(s.queue))
		for _, r := range taken {
			if r.expires >= now {
				back = append(back, r)
			}
		}
		s.queue = append(back, s.queue...)
		if !ran {
			// The flush never took the queue: none is pending now.
			s.flushing = false
		}
		s.mu.Unlock()
	})
}

// insertNonces appends records to nonce_log in tx: rows in insertion
// order, so each commit dirties the last page or two of the table instead
// of one random page per nonce.
func insertNonces(tx *sql.Tx, records []nonceRecord) error {
	if len(records) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(records))
	for _, r := range records {
		args = append(args, r.username, r.nonce, r.expires)
	}
	return nonceLogInserter.insert(context.Background(), tx, args)
}

// flushNoncesOnClose writes the records still queued once the committer
// has stopped (those of failed commits), and stops UseNonce accepting
// more. Its error names how many accepted nonces a restart would forget.
func (db *DB) flushNoncesOnClose() error {
	s := db.nonces
	s.mu.Lock()
	now := s.latest
	s.closed = true
	var queue []nonceRecord
	for _, r := range s.queue {
		if r.expires >= now {
			queue = append(queue, r)
		}
	}
	s.queue = nil
	s.mu.Unlock()
	if len(queue) == 0 {
		return nil
	}
	err := func() error {
		tx, err := db.write.BeginTx(context.Background(), nil)
		if err != nil {
			return err
		}
		if err := insertNonces(tx, queue); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	}()
	if err != nil {
		return fmt.Errorf("%d accepted nonces could not be written, so a restart would accept them again: %w", len(queue), err)
	}
	return nil
}

var nonceLogInserter = newRowInserter(`INSERT INTO nonce_log (username, nonce, expires)`, `(?, ?, ?)`, 3)

// PruneNonces forgets nonces that expired before t and says how many
// records it removed.
func (db *DB) PruneNonces(ctx context.Context, before time.Time) (int64, error) {
	// Records put back after a failed commit are retried with it.
	db.kickNonceFlush()
	n, err := db.execCount(ctx, `DELETE FROM nonce_log WHERE expires < ?`, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune nonces: %w", err)
	}
	db.nonces.mu.Lock()
	db.nonces.latest = max(db.nonces.latest, before.UnixMicro())
	db.nonces.forget(before.UnixMicro())
	db.nonces.mu.Unlock()
	return n, nil
}
