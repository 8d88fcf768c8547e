package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
)

const accountColumns = `id, username, client_id, password_hash, password_sealed, disabled, created_at, updated_at`

func scanAccount(row pgx.Row) (store.Account, error) {
	var a store.Account
	var created, updated *int64
	err := row.Scan(&a.ID, &a.Username, &a.ClientID, &a.PasswordHash, &a.PasswordSealed, &a.Disabled, &created, &updated)
	a.CreatedAt, a.UpdatedAt = goTime(created), goTime(updated)
	return a, err
}

// CreateAccount stores a and sets a.ID. ErrExists if the username is taken.
func (db *DB) CreateAccount(ctx context.Context, a *store.Account) error {
	var id int64
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		return t.queryRow(ctx, `
INSERT INTO accounts (username, client_id, password_hash, password_sealed, disabled, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			a.Username, a.ClientID, a.PasswordHash, a.PasswordSealed, a.Disabled, dbTime(a.CreatedAt), dbTime(a.UpdatedAt)).Scan(&id)
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("postgres: create account %q: %w", a.Username, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("postgres: create account %q: %w", a.Username, err)
	}
	a.ID = id // only once committed, so a failed create leaves a untouched
	return nil
}

// AccountByUsername returns the account logging in as username.
func (db *DB) AccountByUsername(ctx context.Context, username string) (store.Account, error) {
	a, err := scanAccount(db.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE username = $1`, username))
	if err != nil {
		return store.Account{}, fmt.Errorf("postgres: account %q: %w", username, notFoundIfNoRow(err))
	}
	return a, nil
}

// AccountByID returns the account id.
func (db *DB) AccountByID(ctx context.Context, id int64) (store.Account, error) {
	a, err := scanAccount(db.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
	if err != nil {
		return store.Account{}, fmt.Errorf("postgres: account %d: %w", id, notFoundIfNoRow(err))
	}
	return a, nil
}

// UpdateAccount rewrites a.ID's credentials, client ID, disabled flag and
// UpdatedAt; the username is not changed. ErrNotFound if absent.
func (db *DB) UpdateAccount(ctx context.Context, a store.Account) error {
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		return mustAffect(t.exec(ctx, `
UPDATE accounts SET client_id = $1, password_hash = $2, password_sealed = $3, disabled = $4, updated_at = $5
WHERE id = $6`,
			a.ClientID, a.PasswordHash, a.PasswordSealed, a.Disabled, dbTime(a.UpdatedAt), a.ID))
	})
	if err != nil {
		return fmt.Errorf("postgres: update account %d: %w", a.ID, err)
	}
	return nil
}

// ListAccounts returns every account, by ID.
func (db *DB) ListAccounts(ctx context.Context) ([]store.Account, error) {
	as, err := queryAll(ctx, db.pool, scanAccount, `SELECT `+accountColumns+` FROM accounts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list accounts: %w", err)
	}
	return as, nil
}
