package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/partnerd/partnerd/store"
)

// UseNonce records username's nonce until expires; ErrReplay if it is
// already recorded and unexpired (by the DB's clock, see WithClock). An
// expired record is taken over in place, so a nonce cache that has not been
// pruned yet does not turn a legitimate reuse into a replay.
func (db *DB) UseNonce(ctx context.Context, username, nonce string, expires time.Time) error {
	if expires.IsZero() {
		return fmt.Errorf("sqlite: use nonce: zero expiry")
	}
	now := db.clock.Now()
	err := db.update(ctx, func(tx *sql.Tx) error {
		// One statement, so that check and record cannot be split: the
		// conflict clause only overwrites a row that has expired.
		res, err := tx.ExecContext(ctx, `
INSERT INTO nonces (username, nonce, expires) VALUES (?, ?, ?)
ON CONFLICT (username, nonce) DO UPDATE SET expires = excluded.expires
WHERE nonces.expires < ?`,
			username, nonce, expires.UnixMicro(), now.UnixMicro())
		if err != nil {
			return err
		}
		err = mustAffect(res)
		if errors.Is(err, store.ErrNotFound) {
			return store.ErrReplay
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: use nonce of %q: %w", username, err)
	}
	return nil
}

// PruneNonces forgets nonces that expired before t and says how many.
func (db *DB) PruneNonces(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM nonces WHERE expires < ?`, before.UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune nonces: %w", err)
	}
	return n, nil
}
