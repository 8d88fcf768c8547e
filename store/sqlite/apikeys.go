package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
)

const apiKeyColumns = `id, account_id, name, scopes, secret_hash, created_at, revoked_at`

func scanAPIKey(row scanner) (store.APIKey, error) {
	var k store.APIKey
	var scopes string
	var created, revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.AccountID, &k.Name, &scopes, &k.SecretHash, &created, &revoked); err != nil {
		return k, err
	}
	k.Created, k.RevokedAt = goTime(created), goTime(revoked)
	var err error
	if k.Scopes, err = sqlcodec.DecodeScopes(scopes); err != nil {
		return k, fmt.Errorf("scopes of API key %s: %w", k.ID, err)
	}
	return k, nil
}

// CreateAPIKey stores k unless the account already has maxLive live keys.
// The count and the insert run in one write transaction, and SQLite has
// one writer, so racing creates cannot pass the limit together.
func (db *DB) CreateAPIKey(ctx context.Context, k store.APIKey, maxLive int) error {
	scopes, err := sqlcodec.EncodeScopes(k.Scopes)
	if err != nil {
		return fmt.Errorf("sqlite: create API key: %w", err)
	}
	err = db.update(ctx, func(tx *sql.Tx) error {
		if maxLive > 0 {
			var n int
			if err := tx.QueryRowContext(ctx,
				`SELECT count(*) FROM api_keys WHERE account_id = ? AND revoked_at IS NULL`, k.AccountID).Scan(&n); err != nil {
				return err
			}
			if n >= maxLive {
				return store.ErrKeyLimit
			}
		}
		_, err := tx.ExecContext(ctx, `
INSERT INTO api_keys (id, account_id, name, scopes, secret_hash, created_at, revoked_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.AccountID, k.Name, scopes, k.SecretHash, dbTime(k.Created), dbTime(k.RevokedAt))
		return err
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("sqlite: create API key: %w", store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("sqlite: create API key: account %d: %w", k.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: create API key: %w", err)
	}
	return nil
}

// APIKeyByID finds a key of any account, revoked or not.
func (db *DB) APIKeyByID(ctx context.Context, id string) (store.APIKey, error) {
	// A point read by the primary key on every REST request: like
	// AccountByUsername, not worth database/sql's cancellation goroutine.
	k, err := scanAPIKey(db.read.QueryRowContext(context.WithoutCancel(ctx),
		`SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIKey{}, fmt.Errorf("sqlite: API key: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("sqlite: API key: %w", err)
	}
	return k, nil
}

// APIKeyWithAccount finds a key of any account with its holder's identity
// and Disabled flag, in one read (a LEFT JOIN: a key whose account is gone
// comes with a zero one). The account's credentials are not read: a key
// is checked against its own hash.
func (db *DB) APIKeyWithAccount(ctx context.Context, id string) (store.APIKey, store.Account, error) {
	var k store.APIKey
	var a store.Account
	var scopes string
	var created, revoked, aID, aClientID sql.NullInt64
	var aUsername sql.NullString
	var aDisabled sql.NullBool
	err := db.read.QueryRowContext(context.WithoutCancel(ctx), `
SELECT k.id, k.account_id, k.name, k.scopes, k.secret_hash, k.created_at, k.revoked_at,
	a.id, a.username, a.client_id, a.disabled
FROM api_keys k LEFT JOIN accounts a ON a.id = k.account_id WHERE k.id = ?`, id).Scan(
		&k.ID, &k.AccountID, &k.Name, &scopes, &k.SecretHash, &created, &revoked,
		&aID, &aUsername, &aClientID, &aDisabled)
	if errors.Is(err, sql.ErrNoRows) {
		return k, a, fmt.Errorf("sqlite: API key: %w", store.ErrNotFound)
	}
	if err != nil {
		return k, a, fmt.Errorf("sqlite: API key: %w", err)
	}
	k.Created, k.RevokedAt = goTime(created), goTime(revoked)
	if k.Scopes, err = sqlcodec.DecodeScopes(scopes); err != nil {
		return k, a, fmt.Errorf("sqlite: scopes of API key %s: %w", k.ID, err)
	}
	if aID.Valid {
		a = store.Account{ID: aID.Int64, Username: aUsername.String, ClientID: aClientID.Int64, Disabled: aDisabled.Bool}
	}
	return k, a, nil
}

// ListAPIKeys returns account's live keys, oldest first.
func (db *DB) ListAPIKeys(ctx context.Context, accountID int64) ([]store.APIKey, error) {
	ks, err := queryAll(ctx, db.read, scanAPIKey, `SELECT `+apiKeyColumns+` FROM api_keys
WHERE account_id = ? AND revoked_at IS NULL ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list API keys: %w", err)
	}
	return ks, nil
}

// UpdateAPIKey rewrites a live key's name and scopes.
func (db *DB) UpdateAPIKey(ctx context.Context, k store.APIKey) error {
	scopes, err := sqlcodec.EncodeScopes(k.Scopes)
	if err != nil {
		return fmt.Errorf("sqlite: update API key: %w", err)
	}
	err = db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
UPDATE api_keys SET name = ?, scopes = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL`,
			k.Name, scopes, k.ID, k.AccountID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: update API key: %w", err)
	}
	return nil
}

// RevokeAPIKey marks a live key revoked.
func (db *DB) RevokeAPIKey(ctx context.Context, accountID int64, id string, at time.Time) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
UPDATE api_keys SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL`,
			at.UnixMicro(), id, accountID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: revoke API key: %w", err)
	}
	return nil
}
