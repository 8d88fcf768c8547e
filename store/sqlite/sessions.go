package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/partnerd/partnerd/store"
)

var (
	_ store.SessionStore = (*DB)(nil)
)

// CreateSession stores s, and forgets the sessions that expired by
// s.Created, so that the table holds only live sessions without a sweeper.
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	if len(s.IDHash) == 0 || s.Expires.IsZero() {
		return errors.New("sqlite: create session: an ID hash and an expiry are required")
	}
	err := db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE expires <= ?`, s.Created.UnixMicro()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
INSERT INTO console_sessions (id_hash, account_id, actor, csrf, password_stamp, created, expires)
VALUES (?, ?, ?, ?, ?, ?, ?)`, s.IDHash, s.AccountID, s.Actor, s.CSRF, s.PasswordStamp, dbTime(s.Created), s.Expires.UnixMicro())
		if sqliteCode(err) == sqlite3.ErrConstraintPrimaryKey {
			return fmt.Errorf("session: %w", store.ErrExists)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// SessionByHash finds a live session.
func (db *DB) SessionByHash(ctx context.Context, idHash []byte, now time.Time) (store.Session, error) {
	var s store.Session
	var created sql.NullInt64
	var expires int64
	err := db.read.QueryRowContext(ctx, `
SELECT id_hash, account_id, actor, csrf, password_stamp, created, expires
FROM console_sessions WHERE id_hash = ? AND expires > ?`, idHash, now.UnixMicro()).
		Scan(&s.IDHash, &s.AccountID, &s.Actor, &s.CSRF, &s.PasswordStamp, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("sqlite: session: %w", err)
	}
	s.Created = goTime(created)
	s.Expires = time.UnixMicro(expires).UTC()
	return s, nil
}

// DeleteSession ends one session.
func (db *DB) DeleteSession(ctx context.Context, idHash []byte) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash = ?`, idHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	return nil
}

// DeleteAccountSessions ends every session of an account.
func (db *DB) DeleteAccountSessions(ctx context.Context, accountID int64) (int, error) {
	var n int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE account_id = ?`, accountID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete sessions of account %d: %w", accountID, err)
	}
	return int(n), nil
}
