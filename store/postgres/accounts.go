package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
)

// accountColumns reads an account with its own user's password (the user
// named as the account; NULL columns when it has none). The account's own
// password columns are empty since migration 13.
const accountColumns = `a.id, a.username, a.client_id, coalesce(u.password_hash, ''), u.password_sealed, a.disabled, a.created_at, a.updated_at`

// accountFrom joins each account with its own user.
const accountFrom = ` FROM accounts a LEFT JOIN users u ON u.account_id = a.id AND u.username = a.username`

func scanAccount(row pgx.Row) (store.Account, error) {
	var a store.Account
	var created, updated *int64
	err := row.Scan(&a.ID, &a.Username, &a.ClientID, &a.PasswordHash, &a.PasswordSealed, &a.Disabled, &created, &updated)
	a.CreatedAt, a.UpdatedAt = goTime(created), goTime(updated)
	return a, err
}

// hasPassword says whether an Account carries its own user's password.
func hasPassword(a store.Account) bool { return a.PasswordHash != "" || a.PasswordSealed != nil }

// CreateAccount stores a and sets a.ID; with a password, it creates the
// account's own user with it in the same transaction. ErrExists if the
// account name, or the own user's username, is taken.
func (db *DB) CreateAccount(ctx context.Context, a *store.Account) error {
	var id int64
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		if err := t.queryRow(ctx, `
INSERT INTO accounts (username, client_id, disabled, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			a.Username, a.ClientID, a.Disabled, dbTime(a.CreatedAt), dbTime(a.UpdatedAt)).Scan(&id); err != nil {
			return err
		}
		if !hasPassword(*a) {
			return nil
		}
		_, err := t.insertUser(ctx, store.User{AccountID: id, Username: a.Username, PasswordHash: a.PasswordHash,
			PasswordSealed: a.PasswordSealed, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt})
		return err
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

// AccountByUsername returns the account named username.
func (db *DB) AccountByUsername(ctx context.Context, username string) (store.Account, error) {
	a, err := scanAccount(db.pool.QueryRow(ctx, `SELECT `+accountColumns+accountFrom+` WHERE a.username = $1`, username))
	if err != nil {
		return store.Account{}, fmt.Errorf("postgres: account %q: %w", username, notFoundIfNoRow(err))
	}
	return a, nil
}

// AccountByID returns the account id.
func (db *DB) AccountByID(ctx context.Context, id int64) (store.Account, error) {
	a, err := scanAccount(db.pool.QueryRow(ctx, `SELECT `+accountColumns+accountFrom+` WHERE a.id = $1`, id))
	if err != nil {
		return store.Account{}, fmt.Errorf("postgres: account %d: %w", id, notFoundIfNoRow(err))
	}
	return a, nil
}

// UpdateAccount rewrites a.ID's client ID, disabled flag and UpdatedAt,
// and its own user's password: rewritten when the own user exists, the
// own user created with it when it does not and a password is given. The
// account's name is not changed. ErrNotFound if there is no account a.ID.
func (db *DB) UpdateAccount(ctx context.Context, a store.Account) error {
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		var name string
		err := t.queryRow(ctx, `
UPDATE accounts SET client_id = $1, disabled = $2, updated_at = $3 WHERE id = $4 RETURNING username`,
			a.ClientID, a.Disabled, dbTime(a.UpdatedAt), a.ID).Scan(&name)
		if err != nil {
			return notFoundIfNoRow(err)
		}
		tag, err := t.exec(ctx, `
UPDATE users SET password_hash = $1, password_sealed = $2, updated_at = $3 WHERE account_id = $4 AND username = $5`,
			a.PasswordHash, a.PasswordSealed, dbTime(a.UpdatedAt), a.ID, name)
		if err != nil || tag.RowsAffected() > 0 || !hasPassword(a) {
			return err
		}
		_, err = t.insertUser(ctx, store.User{AccountID: a.ID, Username: name, PasswordHash: a.PasswordHash,
			PasswordSealed: a.PasswordSealed, CreatedAt: a.UpdatedAt, UpdatedAt: a.UpdatedAt})
		return err
	})
	if isUniqueViolation(err) {
		err = fmt.Errorf("the account's own username is another account's user: %w", store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("postgres: update account %d: %w", a.ID, err)
	}
	return nil
}

// ListAccounts returns every account, by ID.
func (db *DB) ListAccounts(ctx context.Context) ([]store.Account, error) {
	as, err := queryAll(ctx, db.pool, scanAccount, `SELECT `+accountColumns+accountFrom+` ORDER BY a.id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list accounts: %w", err)
	}
	return as, nil
}
