package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/partnerd/partnerd/store"
)

const accountColumns = `id, username, client_id, password_hash, password_sealed, disabled, created_at, updated_at`

func scanAccount(row scanner) (store.Account, error) {
	var a store.Account
	var created, updated sql.NullInt64
	err := row.Scan(&a.ID, &a.Username, &a.ClientID, &a.PasswordHash, &a.PasswordSealed, &a.Disabled, &created, &updated)
	a.CreatedAt, a.UpdatedAt = goTime(created), goTime(updated)
	return a, err
}

// CreateAccount stores a and sets a.ID. ErrExists if the username is taken.
func (db *DB) CreateAccount(ctx context.Context, a *store.Account) error {
	var id int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
INSERT INTO accounts (username, client_id, password_hash, password_sealed, disabled, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.Username, a.ClientID, a.PasswordHash, a.PasswordSealed, a.Disabled, dbTime(a.CreatedAt), dbTime(a.UpdatedAt))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
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

// AccountByUsername returns the account logging in as username.
func (db *DB) AccountByUsername(ctx context.Context, username string) (store.Account, error) {
	// A point read by a unique key: not worth the goroutine database/sql
	// starts to watch a cancellable context.
	a, err := scanAccount(db.read.QueryRowContext(context.WithoutCancel(ctx),
		`SELECT `+accountColumns+` FROM accounts WHERE username = ?`, username))
	if err != nil {
		return store.Account{}, fmt.Errorf("sqlite: account %q: %w", username, notFoundIfNoRow(err))
	}
	return a, nil
}

// AccountByID returns the account id.
func (db *DB) AccountByID(ctx context.Context, id int64) (store.Account, error) {
	a, err := scanAccount(db.read.QueryRowContext(ctx,
		`SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if err != nil {
		return store.Account{}, fmt.Errorf("sqlite: account %d: %w", id, notFoundIfNoRow(err))
	}
	return a, nil
}

// UpdateAccount rewrites a.ID's credentials, client ID, disabled flag and
// UpdatedAt. The username is the login's identity and is not changed.
// ErrNotFound if there is no account a.ID.
func (db *DB) UpdateAccount(ctx context.Context, a store.Account) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
UPDATE accounts SET client_id = ?, password_hash = ?, password_sealed = ?, disabled = ?, updated_at = ?
WHERE id = ?`,
			a.ClientID, a.PasswordHash, a.PasswordSealed, a.Disabled, dbTime(a.UpdatedAt), a.ID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: update account %d: %w", a.ID, err)
	}
	return nil
}

// ListAccounts returns every account, by ID.
func (db *DB) ListAccounts(ctx context.Context) ([]store.Account, error) {
	as, err := queryAll(ctx, db.read, scanAccount, `SELECT `+accountColumns+` FROM accounts ORDER BY id`)
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
