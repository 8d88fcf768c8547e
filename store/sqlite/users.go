package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/partnerd/partnerd/store"
)

const userColumns = `id, account_id, username, password_hash, password_sealed, disabled, created_at, updated_at`

func scanUser(row scanner) (store.User, error) {
	var u store.User
	var created, updated sql.NullInt64
	err := row.Scan(&u.ID, &u.AccountID, &u.Username, &u.PasswordHash, &u.PasswordSealed, &u.Disabled, &created, &updated)
	u.CreatedAt, u.UpdatedAt = goTime(created), goTime(updated)
	return u, err
}

// insertUser inserts u in tx and returns its ID.
func insertUser(ctx context.Context, tx *sql.Tx, u store.User) (int64, error) {
	res, err := tx.ExecContext(ctx, `
INSERT INTO users (account_id, username, password_hash, password_sealed, disabled, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.AccountID, u.Username, u.PasswordHash, u.PasswordSealed, u.Disabled, dbTime(u.CreatedAt), dbTime(u.UpdatedAt))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// CreateUser stores u and sets u.ID. ErrExists if the username is taken by
// any account's user, ErrNotFound if account u.AccountID is absent.
func (db *DB) CreateUser(ctx context.Context, u *store.User) error {
	var id int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		// Checked rather than left to the foreign key, which a store whose
		// foreign keys are off would not enforce.
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = ?`, u.AccountID).Scan(&one); err != nil {
			return notFoundIfNoRow(err)
		}
		var err error
		id, err = insertUser(ctx, tx, *u)
		return err
	})
	if isUniqueViolation(err) {
		err = store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user %q: %w", u.Username, err)
	}
	u.ID = id
	return nil
}

// UserByUsername finds a user with its account's identity and Disabled
// flag, in one read.
func (db *DB) UserByUsername(ctx context.Context, username string) (store.User, store.Account, error) {
	var u store.User
	var a store.Account
	var created, updated sql.NullInt64
	// A point read by a unique key, on every SOAP request: not worth the
	// goroutine database/sql starts to watch a cancellable context.
	err := db.read.QueryRowContext(context.WithoutCancel(ctx), `
SELECT u.id, u.account_id, u.username, u.password_hash, u.password_sealed, u.disabled, u.created_at, u.updated_at,
	a.id, a.username, a.client_id, a.disabled
FROM users u JOIN accounts a ON a.id = u.account_id WHERE u.username = ?`, username).Scan(
		&u.ID, &u.AccountID, &u.Username, &u.PasswordHash, &u.PasswordSealed, &u.Disabled, &created, &updated,
		&a.ID, &a.Username, &a.ClientID, &a.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, store.Account{}, fmt.Errorf("sqlite: user %q: %w", username, store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, store.Account{}, fmt.Errorf("sqlite: user %q: %w", username, err)
	}
	u.CreatedAt, u.UpdatedAt = goTime(created), goTime(updated)
	return u, a, nil
}

// ListUsers returns account's users by ID.
func (db *DB) ListUsers(ctx context.Context, accountID int64) ([]store.User, error) {
	us, err := queryAll(ctx, db.read, scanUser, `SELECT `+userColumns+` FROM users WHERE account_id = ? ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users of account %d: %w", accountID, err)
	}
	return us, nil
}

// UpdateUser rewrites u's password, disabled flag and UpdatedAt.
func (db *DB) UpdateUser(ctx context.Context, u store.User) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
UPDATE users SET password_hash = ?, password_sealed = ?, disabled = ?, updated_at = ?
WHERE id = ? AND account_id = ?`,
			u.PasswordHash, u.PasswordSealed, u.Disabled, dbTime(u.UpdatedAt), u.ID, u.AccountID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: update user %d of account %d: %w", u.ID, u.AccountID, err)
	}
	return nil
}

// DeleteUser deletes user id of accountID.
func (db *DB) DeleteUser(ctx context.Context, accountID, id int64) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ? AND account_id = ?`, id, accountID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete user %d of account %d: %w", id, accountID, err)
	}
	return nil
}
