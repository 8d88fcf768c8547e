package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
)

var _ store.SessionStore = (*DB)(nil)

// CreateSession stores s, and forgets the sessions that expired by
// s.Created, so that the table holds only live sessions without a sweeper.
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	if len(s.IDHash) == 0 || s.Expires.IsZero() {
		return errors.New("postgres: create session: an ID hash and an expiry are required")
	}
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		if _, err := t.exec(ctx, `DELETE FROM console_sessions WHERE expires <= $1`, s.Created.UnixMicro()); err != nil {
			return err
		}
		_, err := t.exec(ctx, `
INSERT INTO console_sessions (id_hash, account_id, actor, csrf, password_stamp, created, expires)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.IDHash, s.AccountID, s.Actor, s.CSRF, s.PasswordStamp, dbTime(s.Created), s.Expires.UnixMicro())
		return err
	})
	if isUniqueViolation(err) {
		err = fmt.Errorf("session: %w", store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("postgres: create session: %w", err)
	}
	return nil
}

// SessionByHash finds a live session.
func (db *DB) SessionByHash(ctx context.Context, idHash []byte, now time.Time) (store.Session, error) {
	var s store.Session
	var created *int64
	var expires int64
	err := db.pool.QueryRow(ctx, `
SELECT id_hash, account_id, actor, csrf, password_stamp, created, expires
FROM console_sessions WHERE id_hash = $1 AND expires > $2`, idHash, now.UnixMicro()).
		Scan(&s.IDHash, &s.AccountID, &s.Actor, &s.CSRF, &s.PasswordStamp, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Session{}, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("postgres: session: %w", err)
	}
	s.Created = goTime(created)
	s.Expires = time.UnixMicro(expires).UTC()
	return s, nil
}

// DeleteSession ends one session.
func (db *DB) DeleteSession(ctx context.Context, idHash []byte) error {
	if _, err := db.execCount(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("postgres: delete session: %w", err)
	}
	return nil
}

// DeleteAccountSessions ends every session of an account.
func (db *DB) DeleteAccountSessions(ctx context.Context, accountID int64) (int, error) {
	n, err := db.execCount(ctx, `DELETE FROM console_sessions WHERE account_id = $1`, accountID)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete sessions of account %d: %w", accountID, err)
	}
	return int(n), nil
}
