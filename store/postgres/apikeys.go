package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
)

const apiKeyColumns = `id, account_id, name, scopes, secret_hash, created_at, revoked_at`

func scanAPIKey(row pgx.Row) (store.APIKey, error) {
	var k store.APIKey
	var scopes string
	var created, revoked *int64
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
// The account's row is locked first, so racing creates of one account
// count one after the other.
func (db *DB) CreateAPIKey(ctx context.Context, k store.APIKey, maxLive int) error {
	scopes, err := sqlcodec.EncodeScopes(k.Scopes)
	if err != nil {
		return fmt.Errorf("postgres: create API key: %w", err)
	}
	err = db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		var one int
		err := t.queryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, k.AccountID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("account %d: %w", k.AccountID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if maxLive > 0 {
			var n int
			if err := t.queryRow(ctx,
				`SELECT count(*) FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL`, k.AccountID).Scan(&n); err != nil {
				return err
			}
			if n >= maxLive {
				return store.ErrKeyLimit
			}
		}
		_, err = t.exec(ctx, `
INSERT INTO api_keys (id, account_id, name, scopes, secret_hash, created_at, revoked_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			k.ID, k.AccountID, k.Name, scopes, nonNilBytes(k.SecretHash), dbTime(k.Created), dbTime(k.RevokedAt))
		return err
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("postgres: create API key: %w", store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("postgres: create API key: account %d: %w", k.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: create API key: %w", err)
	}
	return nil
}

// nonNilBytes is b, or an empty slice for nil (a NOT NULL BYTEA column).
func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// APIKeyByID finds a key of any account, revoked or not.
func (db *DB) APIKeyByID(ctx context.Context, id string) (store.APIKey, error) {
	k, err := scanAPIKey(db.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return store.APIKey{}, fmt.Errorf("postgres: API key: %w", notFoundIfNoRow(err))
	}
	return k, nil
}

// APIKeyWithAccount finds a key with its holder's identity and Disabled
// flag, in one read.
func (db *DB) APIKeyWithAccount(ctx context.Context, id string) (store.APIKey, store.Account, error) {
	var k store.APIKey
	var a store.Account
	var scopes string
	var created, revoked, aID, aClientID *int64
	var aUsername *string
	var aDisabled *bool
	err := db.pool.QueryRow(ctx, `
SELECT k.id, k.account_id, k.name, k.scopes, k.secret_hash, k.created_at, k.revoked_at,
	a.id, a.username, a.client_id, a.disabled
FROM api_keys k LEFT JOIN accounts a ON a.id = k.account_id WHERE k.id = $1`, id).Scan(
		&k.ID, &k.AccountID, &k.Name, &scopes, &k.SecretHash, &created, &revoked,
		&aID, &aUsername, &aClientID, &aDisabled)
	if err != nil {
		return k, a, fmt.Errorf("postgres: API key: %w", notFoundIfNoRow(err))
	}
	k.Created, k.RevokedAt = goTime(created), goTime(revoked)
	if k.Scopes, err = sqlcodec.DecodeScopes(scopes); err != nil {
		return k, a, fmt.Errorf("postgres: scopes of API key %s: %w", k.ID, err)
	}
	if aID != nil {
		a = store.Account{ID: *aID, Username: *aUsername, ClientID: *aClientID, Disabled: *aDisabled}
	}
	return k, a, nil
}

// ListAPIKeys returns account's live keys, oldest first.
func (db *DB) ListAPIKeys(ctx context.Context, accountID int64) ([]store.APIKey, error) {
	ks, err := queryAll(ctx, db.pool, scanAPIKey, `SELECT `+apiKeyColumns+` FROM api_keys
WHERE account_id = $1 AND revoked_at IS NULL ORDER BY created_at NULLS FIRST, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list API keys: %w", err)
	}
	return ks, nil
}

// UpdateAPIKey rewrites a live key's name and scopes.
func (db *DB) UpdateAPIKey(ctx context.Context, k store.APIKey) error {
	scopes, err := sqlcodec.EncodeScopes(k.Scopes)
	if err != nil {
		return fmt.Errorf("postgres: update API key: %w", err)
	}
	err = db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		return mustAffect(t.exec(ctx, `
UPDATE api_keys SET name = $1, scopes = $2 WHERE id = $3 AND account_id = $4 AND revoked_at IS NULL`,
			k.Name, scopes, k.ID, k.AccountID))
	})
	if err != nil {
		return fmt.Errorf("postgres: update API key: %w", err)
	}
	return nil
}

// RevokeAPIKey marks a live key revoked.
func (db *DB) RevokeAPIKey(ctx context.Context, accountID int64, id string, at time.Time) error {
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		return mustAffect(t.exec(ctx, `
UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL`,
			at.UnixMicro(), id, accountID))
	})
	if err != nil {
		return fmt.Errorf("postgres: revoke API key: %w", err)
	}
	return nil
}
