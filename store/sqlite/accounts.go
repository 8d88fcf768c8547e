package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/partnerd/partnerd/store"
)

// accountColumns reads an account with its own user's password (the user
// named as the account; NULL columns when it has none). The account's own
// password columns are empty since migration 13.
const accountColumns = `a.id, a.username, a.client_id, coalesce(u.password_hash, ''), u.password_sealed, a.disabled, a.created_at, a.updated_at`

// accountFrom joins each account with its own user.
const accountFrom = ` FROM accounts a LEFT JOIN users u ON u.account_id = a.id AND u.username = a.username`

func scanAccount(row scanner) (store.Account, error) {
	var a store.Account
	var created, updated sql.NullInt64
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
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
INSERT INTO accounts (username, client_id, disabled, created_at, updated_at)
VALUES (?, ?, ?, ?, ?)`,
			a.Username, a.ClientID, a.Disabled, dbTime(a.CreatedAt), dbTime(a.UpdatedAt))
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if !hasPassword(*a) {
			return nil
		}
		_, err = insertUser(ctx, tx, store.User{AccountID: id, Username: a.Username, PasswordHash: a.PasswordHash,
			PasswordSealed: a.PasswordSealed, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt})
		return err
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlite: create account %q: %w", a.Username, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create account %q: %w", a.Username, err)
	}
	a.ID = id // only once committed, so a failed create leaves a untouched
	return nil
}

// AccountByUsername returns the account named username.
func (db *DB) AccountByUsername(ctx context.Context, username string) (store.Account, error) {
	// A point read by a unique key: not worth the goroutine database/sql
	// starts to watch a cancellable context.
	a, err := scanAccount(db.read.QueryRowContext(context.WithoutCancel(ctx),
		`SELECT `+accountColumns+accountFrom+` WHERE a.username = ?`, username))
	if err != nil {
		return store.Account{}, fmt.Errorf("sqlite: account %q: %w", username, notFoundIfNoRow(err))
	}
	return a, nil
}

// AccountByID returns the account id.
func (db *DB) AccountByID(ctx context.Context, id int64) (store.Account, error) {
	a, err := scanAccount(db.read.QueryRowContext(ctx,
		`SELECT `+accountColumns+accountFrom+` WHERE a.id = ?`, id))
	if err != nil {
		return store.Account{}, fmt.Errorf("sqlite: account %d: %w", id, notFoundIfNoRow(err))
	}
	return a, nil
}

// UpdateAccount rewrites a.ID's client ID, disabled flag and UpdatedAt,
// and its own user's password: rewritten when the own user exists, the
// own user created with it when it does not and a password is given. The
// account's name is its identity and is not changed. ErrNotFound if there
// is no account a.ID.
func (db *DB) UpdateAccount(ctx context.Context, a store.Account) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
UPDATE accounts SET client_id = ?, disabled = ?, updated_at = ?
WHERE id = ?`,
			a.ClientID, a.Disabled, dbTime(a.UpdatedAt), a.ID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `
UPDATE users SET password_hash = ?, password_sealed = ?, updated_at = ?
WHERE account_id = ? AND username = (SELECT username FROM accounts WHERE id = ?)`,
			a.PasswordHash, a.PasswordSealed, dbTime(a.UpdatedAt), a.ID, a.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 || !hasPassword(a) {
			return err
		}
		var name string
		if err := tx.QueryRowContext(ctx, `SELECT username FROM accounts WHERE id = ?`, a.ID).Scan(&name); err != nil {
			return err
		}
		_, err = insertUser(ctx, tx, store.User{AccountID: a.ID, Username: name, PasswordHash: a.PasswordHash,
			PasswordSealed: a.PasswordSealed, CreatedAt: a.UpdatedAt, UpdatedAt: a.UpdatedAt})
		return err
	})
	if isUniqueViolation(err) {
		err = fmt.Errorf("the account's own username is another account's user: %w", store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite: update account %d: %w", a.ID, err)
	}
	return nil
}

// ListAccounts returns every account, by ID.
func (db *DB) ListAccounts(ctx context.Context) ([]store.Account, error) {
	as, err := queryAll(ctx, db.read, scanAccount, `SELECT `+accountColumns+accountFrom+` ORDER BY a.id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list accounts: %w", err)
	}
	return as, nil
}

// notFoundIfNoRow turns the sql.ErrNoRows of a point read into
// store.ErrNotFound, the contract's word for it; other errors pass as
// they are.
func notFoundIfNoRow(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// mustAffect turns an UPDATE or DELETE that matched no row into
// store.ErrNotFound.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
