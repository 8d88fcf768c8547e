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
//
// The check is a read, and the record is written by the group committer
// without making the caller wait for its fsync: a nonce is not an answer we
// gave, and waiting would add a second fsync to every request. Until the
// record is committed the nonce is held in db.pendingNonces, so a replay
// racing its own commit is still refused; a crash can forget only the
// nonces of the last commit that had not reached the disk.
func (db *DB) UseNonce(ctx context.Context, username, nonce string, expires time.Time) error {
	if expires.IsZero() {
		return fmt.Errorf("sqlite: use nonce: zero expiry")
	}
	key := username + "\x00" + nonce
	now := db.clock.Now()
	db.nonceMu.Lock()
	if exp, pending := db.pendingNonces[key]; pending && exp >= now.UnixMicro() {
		db.nonceMu.Unlock()
		return fmt.Errorf("sqlite: use nonce of %q: %w", username, store.ErrReplay)
	}
	db.pendingNonces[key] = expires.UnixMicro()
	db.nonceMu.Unlock()
	release := func() {
		db.nonceMu.Lock()
		if db.pendingNonces[key] == expires.UnixMicro() {
			delete(db.pendingNonces, key)
		}
		db.nonceMu.Unlock()
	}

	var stored sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT expires FROM nonces WHERE username = ? AND nonce = ?`, username, nonce).Scan(&stored)
	switch {
	case err == nil && stored.Valid && stored.Int64 >= now.UnixMicro():
		release()
		return fmt.Errorf("sqlite: use nonce of %q: %w", username, store.ErrReplay)
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		release()
		return fmt.Errorf("sqlite: use nonce of %q: %w", username, err)
	}
	db.updateAsync(func(tx *sql.Tx) error {
		_, err := tx.Exec(`
INSERT INTO nonces (username, nonce, expires) VALUES (?, ?, ?)
ON CONFLICT (username, nonce) DO UPDATE SET expires = excluded.expires
WHERE nonces.expires < ?`,
			username, nonce, expires.UnixMicro(), now.UnixMicro())
		return err
	}, func(error) { release() })
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
