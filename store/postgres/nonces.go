package postgres

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/partnerd/partnerd/store"
)

// nonceKey is a nonce's row key: a digest of the username and the nonce
// (the username's length first, so that no two pairs share one), so that
// a nonce of any length fits an index entry.
func nonceKey(username, nonce string) []byte {
	h := sha256.New()
	var n [8]byte
	for i := range n {
		n[i] = byte(uint64(len(username)) >> (8 * i))
	}
	h.Write(n[:])
	h.Write([]byte(username))
	h.Write([]byte(nonce))
	return h.Sum(nil)
}

// UseNonce records a WS-Security nonce until expires; ErrReplay if it is
// recorded and live at now. Committed before it returns: every server
// shares the table, so a nonce one accepted is refused by all the others.
// An expired record of the same nonce is taken over; an already expired
// nonce is accepted without being recorded.
func (db *DB) UseNonce(ctx context.Context, username, nonce string, expires, now time.Time) error {
	if expires.IsZero() {
		return fmt.Errorf("postgres: use nonce: zero expiry")
	}
	u := nonceUse{key: nonceKey(username, nonce), username: username, expires: expires.UnixMicro(), now: now.UnixMicro()}
	if u.expires < u.now {
		return db.expiredNonce(ctx, u)
	}
	if err := db.nonces.use(ctx, db, &u); err != nil {
		return fmt.Errorf("postgres: use nonce: %w", err)
	}
	if !u.recorded {
		return fmt.Errorf("postgres: use nonce of %q: %w", username, store.ErrReplay)
	}
	return nil
}

// UseNonceIfCurrent records a nonce as UseNonce does, in the same
// statement that checks that user and acct are still as the caller read
// them: the same password hash and sealed password, the account's name
// and client ID, neither disabled nor deleted. It says false, recording
// nothing, when they are not (or when the nonce is a replay: the caller
// then reads the user again and calls UseNonce, which says which). A
// caller that has kept a user from an earlier request needs no read of its
// own, and a password rotated or a user disabled on any server is seen by
// the next request's statement: the check runs on its snapshot.
func (db *DB) UseNonceIfCurrent(ctx context.Context, user store.User, acct store.Account, nonce string, expires, now time.Time) (bool, error) {
	if expires.IsZero() {
		return false, fmt.Errorf("postgres: use nonce: zero expiry")
	}
	u := nonceUse{key: nonceKey(user.Username, nonce), username: user.Username, expires: expires.UnixMicro(), now: now.UnixMicro(),
		user: &user, acct: &acct}
	if u.expires < u.now {
		return false, nil // rare: the caller's UseNonce handles it
	}
	if err := db.nonces.use(ctx, db, &u); err != nil {
		return false, fmt.Errorf("postgres: use nonce: %w", err)
	}
	return u.recorded, nil
}

// expiredNonce accepts a nonce already expired at now without recording
// it; a live record of it still makes it a replay.
func (db *DB) expiredNonce(ctx context.Context, u nonceUse) error {
	var live bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM nonces WHERE key = $1 AND expires >= $2)`, u.key, u.now).Scan(&live)
	if err != nil {
		return fmt.Errorf("postgres: use nonce: %w", err)
	}
	if live {
		return fmt.Errorf("postgres: use nonce of %q: %w", u.username, store.ErrReplay)
	}
	return nil
}

// nonceUse is one request's nonce on its way to the table.
type nonceUse struct {
	key          []byte
	username     string
	expires, now int64          // unix µs
	user         *store.User    // with acct: record only while they are as read
	acct         *store.Account // (UseNonceIfCurrent); nil: unconditionally
	recorded     bool           // set before done is closed
	err          error
	done         chan struct{}
}

// nonceBatcher records the nonces of concurrent requests in one statement
// and one commit (a group commit). A nonce is a durable write of every
// authenticated request; alone it was a round trip and a WAL flush each,
// the largest single cost of a short request on PostgreSQL
// (BENCHMARKS.md). One batch is in flight at a time: the requests that
// arrive meanwhile form the next, so a lone request waits for its own
// statement only, and under load the flushes grow, not multiply. Each
// request still gets its answer only after the commit that holds its
// nonce.
type nonceBatcher struct {
	q batchQueue[*nonceUse]
}

// maxNonceBatch bounds one statement's rows (and its arrays' size).
const maxNonceBatch = 512

// nonceFlushTimeout bounds one batch's statement: it runs for many
// requests, under none of their contexts.
const nonceFlushTimeout = 30 * time.Second

// use queues u and waits for its batch's outcome (or ctx: the nonce may
// then still be recorded, for a request that has given up).
func (b *nonceBatcher) use(ctx context.Context, db *DB, u *nonceUse) error {
	u.done = make(chan struct{})
	b.q.add(u, maxNonceBatch, db.flushNonces)
	select {
	case <-u.done:
		return u.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flushNonces records batch in one statement and answers each of its
// requests.
func (db *DB) flushNonces(batch []*nonceUse) {
	// A nonce twice in one batch: the later ones are replays of the
	// first (and one statement may not insert a key twice).
	var rows []*nonceUse
	seen := make(map[string]bool, len(batch))
	for _, u := range batch {
		if seen[string(u.key)] {
			continue
		}
		seen[string(u.key)] = true
		rows = append(rows, u)
	}
	n := len(rows)
	keys, names := make([][]byte, n), make([]string, n)
	expires, nows := make([]int64, n), make([]int64, n)
	userIDs, hashes, sealed := make([]int64, n), make([]string, n), make([][]byte, n)
	acctIDs, acctNames, clientIDs := make([]int64, n), make([]string, n), make([]int64, n)
	for i, u := range rows {
		keys[i], names[i], expires[i], nows[i] = u.key, u.username, u.expires, u.now
		if u.user != nil {
			userIDs[i], hashes[i], sealed[i] = u.user.ID, u.user.PasswordHash, u.user.PasswordSealed
			acctIDs[i], acctNames[i], clientIDs[i] = u.acct.ID, u.acct.Username, u.acct.ClientID
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), nonceFlushTimeout)
	defer cancel()
	recorded := make(map[string]bool, n)
	// A row with user ID 0 is recorded unconditionally; any other only
	// while its user and account are as the caller read them, checked on
	// this statement's snapshot. A conflict takes over an expired record
	// only (each row's own now).
	rs, err := db.pool.Query(ctx, `
WITH r AS (
	SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::bigint[],
		$5::bigint[], $6::text[], $7::bytea[], $8::bigint[], $9::text[], $10::bigint[])
		AS r(key, username, expires, now, user_id, hash, sealed, account_id, account_name, client_id)
)
INSERT INTO nonces (key, username, expires)
SELECT r.key, r.username, r.expires FROM r
WHERE r.user_id = 0 OR EXISTS (
	SELECT 1 FROM users u JOIN accounts a ON a.id = u.account_id
	WHERE u.id = r.user_id AND u.username = r.username AND u.password_hash = r.hash
		AND u.password_sealed IS NOT DISTINCT FROM r.sealed AND NOT u.disabled
		AND a.id = r.account_id AND a.username = r.account_name AND a.client_id = r.client_id AND NOT a.disabled)
ON CONFLICT (key) DO UPDATE SET expires = excluded.expires
	WHERE nonces.expires < (SELECT r.now FROM r WHERE r.key = excluded.key)
RETURNING key`, keys, names, expires, nows, userIDs, hashes, sealed, acctIDs, acctNames, clientIDs)
	if err == nil {
		for rs.Next() {
			var k []byte
			if err = rs.Scan(&k); err != nil {
				break
			}
			recorded[string(k)] = true
		}
		rs.Close()
		if err == nil {
			err = rs.Err()
		}
	}
	for _, u := range batch {
		if err != nil {
			u.err = err
		} else {
			u.recorded = recorded[string(u.key)]
			delete(recorded, string(u.key)) // a duplicate in the batch is a replay
		}
		close(u.done)
	}
}

// PruneNonces forgets nonces that expired before before and says how many.
func (db *DB) PruneNonces(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.execCount(ctx, `DELETE FROM nonces WHERE expires < $1`, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("postgres: prune nonces: %w", err)
	}
	return n, nil
}
