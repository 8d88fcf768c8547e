package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
// recorded and live at now. One statement, committed before it returns:
// every server shares the table, so a nonce one accepted is refused by
// all the others. An expired record of the same nonce is taken over; an
// already expired nonce is accepted without being recorded.
func (db *DB) UseNonce(ctx context.Context, username, nonce string, expires, now time.Time) error {
	if expires.IsZero() {
		return fmt.Errorf("postgres: use nonce: zero expiry")
	}
	exp, nowUS := expires.UnixMicro(), now.UnixMicro()
	key := nonceKey(username, nonce)
	if exp < nowUS {
		// Nothing to record; a live record still makes it a replay.
		var live bool
		err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM nonces WHERE key = $1 AND expires >= $2)`, key, nowUS).Scan(&live)
		if err != nil {
			return fmt.Errorf("postgres: use nonce: %w", err)
		}
		if live {
			return fmt.Errorf("postgres: use nonce of %q: %w", username, store.ErrReplay)
		}
		return nil
	}
	var one int
	err := db.pool.QueryRow(ctx, `
INSERT INTO nonces (key, username, expires) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE nonces.expires < $4
RETURNING 1`, key, username, exp, nowUS).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: use nonce of %q: %w", username, store.ErrReplay)
	}
	if err != nil {
		return fmt.Errorf("postgres: use nonce: %w", err)
	}
	return nil
}

// PruneNonces forgets nonces that expired before before and says how many.
func (db *DB) PruneNonces(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.execCount(ctx, `DELETE FROM nonces WHERE expires < $1`, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("postgres: prune nonces: %w", err)
	}
	return n, nil
}
