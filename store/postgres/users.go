package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
)

const userColumns = `id, account_id, username, password_hash, password_sealed, disabled, created_at, updated_at`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var created, updated *int64
	err := row.Scan(&u.ID, &u.AccountID, &u.Username, &u.PasswordHash, &u.PasswordSealed, &u.Disabled, &created, &updated)
	u.CreatedAt, u.UpdatedAt = goTime(created), goTime(updated)
	return u, err
}

// insertUser inserts u in t and returns its ID.
func (t *txn) insertUser(ctx context.Context, u store.User) (int64, error) {
	var id int64
	err := t.queryRow(ctx, `
INSERT INTO users (account_id, username, password_hash, password_sealed, disabled, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		u.AccountID, u.Username, u.PasswordHash, u.PasswordSealed, u.Disabled, dbTime(u.CreatedAt), dbTime(u.UpdatedAt)).Scan(&id)
	return id, err
}

// CreateUser stores u and sets u.ID. ErrExists if the username is taken by
// any account's user, ErrNotFound if account u.AccountID is absent.
func (db *DB) CreateUser(ctx context.Context, u *store.User) error {
	var id int64
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		var err error
		id, err = t.insertUser(ctx, *u)
		return err
	})
	switch {
	case isUniqueViolation(err):
		err = store.ErrExists
	case isForeignKeyViolation(err):
		err = fmt.Errorf("account %d: %w", u.AccountID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: create user %q: %w", u.Username, err)
	}
	u.ID = id
	return nil
}

// UserByUsername finds a user with its account's identity and Disabled
// flag, in one read.
func (db *DB) UserByUsername(ctx context.Context, username string) (store.User, store.Account, error) {
	var u store.User
	var a store.Account
	var created, updated *int64
	err := db.pool.QueryRow(ctx, `
SELECT u.id, u.account_id, u.username, u.password_hash, u.password_sealed, u.disabled, u.created_at, u.updated_at,
	a.id, a.username, a.client_id, a.disabled
FROM users u JOIN accounts a ON a.id = u.account_id WHERE u.username = $1`, username).Scan(
		&u.ID, &u.AccountID, &u.Username, &u.PasswordHash, &u.PasswordSealed, &u.Disabled, &created, &updated,
		&a.ID, &a.Username, &a.ClientID, &a.Disabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, store.Account{}, fmt.Errorf("postgres: user %q: %w", username, store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, store.Account{}, fmt.Errorf("postgres: user %q: %w", username, err)
	}
	u.CreatedAt, u.UpdatedAt = goTime(created), goTime(updated)
	return u, a, nil
}

// ListUsers returns account's users by ID.
func (db *DB) ListUsers(ctx context.Context, accountID int64) ([]store.User, error) {
	us, err := queryAll(ctx, db.pool, scanUser, `SELECT `+userColumns+` FROM users WHERE account_id = $1 ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list users of account %d: %w", accountID, err)
	}
	return us, nil
}

// UpdateUser rewrites u's password, disabled flag and UpdatedAt.
func (db *DB) UpdateUser(ctx context.Context, u store.User) error {
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		return mustAffect(t.exec(ctx, `
UPDATE users SET password_hash = $1, password_sealed = $2, disabled = $3, updated_at = $4
WHERE id = $5 AND account_id = $6`,
			u.PasswordHash, u.PasswordSealed, u.Disabled, dbTime(u.UpdatedAt), u.ID, u.AccountID))
	})
	if err != nil {
		return fmt.Errorf("postgres: update user %d of account %d: %w", u.ID, u.AccountID, err)
	}
	return nil
}

// DeleteUser deletes user id of accountID.
func (db *DB) DeleteUser(ctx context.Context, accountID, id int64) error {
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		return mustAffect(t.exec(ctx, `DELETE FROM users WHERE id = $1 AND account_id = $2`, id, accountID))
	})
	if err != nil {
		return fmt.Errorf("postgres: delete user %d of account %d: %w", id, accountID, err)
	}
	return nil
}
