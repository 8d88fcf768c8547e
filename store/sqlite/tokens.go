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

const tokenClientColumns = `id, account_id, mid, scopes, secret_hash, created_at, revoked_at`

func scanTokenClient(row scanner) (store.TokenClient, error) { return scanTokenClientAnd(row) }

// CreateTokenClient stores c.
func (db *DB) CreateTokenClient(ctx context.Context, c store.TokenClient) error {
	scopes, err := sqlcodec.EncodeScopes(c.Scopes)
	if err != nil {
		return fmt.Errorf("sqlite: create token client: %w", err)
	}
	err = db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
INSERT INTO token_clients (id, account_id, mid, scopes, secret_hash, created_at, revoked_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.AccountID, c.MID, scopes, c.SecretHash, dbTime(c.Created), dbTime(c.RevokedAt))
		return err
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("sqlite: create token client: %w", store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("sqlite: create token client: account %d: %w", c.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: create token client: %w", err)
	}
	return nil
}

// TokenClientWithAccount finds a client with its account's identity, in
// one read (a LEFT JOIN: a client whose account is gone comes with a zero
// one).
func (db *DB) TokenClientWithAccount(ctx context.Context, id string) (store.TokenClient, store.Account, error) {
	var a store.Account
	var aID, aClientID sql.NullInt64
	var aUsername sql.NullString
	var aDisabled sql.NullBool
	c, err := scanTokenClientAnd(db.read.QueryRowContext(context.WithoutCancel(ctx), `
SELECT c.id, c.account_id, c.mid, c.scopes, c.secret_hash, c.created_at, c.revoked_at,
	a.id, a.username, a.client_id, a.disabled
FROM token_clients c LEFT JOIN accounts a ON a.id = c.account_id WHERE c.id = ?`, id),
		&aID, &aUsername, &aClientID, &aDisabled)
	if errors.Is(err, sql.ErrNoRows) {
		return c, a, fmt.Errorf("sqlite: token client: %w", store.ErrNotFound)
	}
	if err != nil {
		return c, a, fmt.Errorf("sqlite: token client: %w", err)
	}
	if aID.Valid {
		a = store.Account{ID: aID.Int64, Username: aUsername.String, ClientID: aClientID.Int64, Disabled: aDisabled.Bool}
	}
	return c, a, nil
}

// scanTokenClientAnd scans a client's columns followed by more.
func scanTokenClientAnd(row scanner, more ...any) (store.TokenClient, error) {
	var c store.TokenClient
	var scopes string
	var created, revoked sql.NullInt64
	dest := append([]any{&c.ID, &c.AccountID, &c.MID, &scopes, &c.SecretHash, &created, &revoked}, more...)
	if err := row.Scan(dest...); err != nil {
		return c, err
	}
	c.Created, c.RevokedAt = goTime(created), goTime(revoked)
	var err error
	if c.Scopes, err = sqlcodec.DecodeScopes(scopes); err != nil {
		return c, fmt.Errorf("scopes of token client %s: %w", c.ID, err)
	}
	return c, nil
}

// ListTokenClients returns account's live clients, oldest first.
func (db *DB) ListTokenClients(ctx context.Context, accountID int64) ([]store.TokenClient, error) {
	cs, err := queryAll(ctx, db.read, scanTokenClient, `SELECT `+tokenClientColumns+` FROM token_clients
WHERE account_id = ? AND revoked_at IS NULL ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list token clients: %w", err)
	}
	return cs, nil
}

// RevokeTokenClient marks a live client revoked.
func (db *DB) RevokeTokenClient(ctx context.Context, accountID int64, id string, at time.Time) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
UPDATE token_clients SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL`,
			at.UnixMicro(), id, accountID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: revoke token client: %w", err)
	}
	return nil
}

// InsertToken stores t; Prune forgets expired tokens.
func (db *DB) InsertToken(ctx context.Context, t store.IssuedToken, now time.Time) error {
	scopes, err := sqlcodec.EncodeScopes(t.Scopes)
	if err != nil {
		return fmt.Errorf("sqlite: insert token: %w", err)
	}
	err = db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
INSERT INTO issued_tokens (hash, kind, client_id, account_id, scopes, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.Hash, t.Kind, t.ClientID, t.AccountID, scopes, dbTime(t.Created), t.Expires.UnixMicro())
		return err
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("sqlite: insert token: %w", store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("sqlite: insert token: client %s: %w", t.ClientID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: insert token: %w", err)
	}
	return nil
}

// TokenWithClient finds a token with its client and account in one read.
func (db *DB) TokenWithClient(ctx context.Context, hash []byte) (store.IssuedToken, store.TokenClient, store.Account, error) {
	var t store.IssuedToken
	var a store.Account
	var tScopes string
	var tCreated sql.NullInt64
	var tExpires int64
	var aID, aClientID sql.NullInt64
	var aUsername sql.NullString
	var aDisabled sql.NullBool
	// A point read on every SOAP request made with a token.
	c, err := scanTokenClientAnd(db.read.QueryRowContext(context.WithoutCancel(ctx), `
SELECT c.id, c.account_id, c.mid, c.scopes, c.secret_hash, c.created_at, c.revoked_at,
	t.hash, t.kind, t.client_id, t.account_id, t.scopes, t.created_at, t.expires_at,
	a.id, a.username, a.client_id, a.disabled
FROM issued_tokens t JOIN token_clients c ON c.id = t.client_id LEFT JOIN accounts a ON a.id = t.account_id
WHERE t.hash = ?`, hash),
		&t.Hash, &t.Kind, &t.ClientID, &t.AccountID, &tScopes, &tCreated, &tExpires,
		&aID, &aUsername, &aClientID, &aDisabled)
	if errors.Is(err, sql.ErrNoRows) {
		return t, c, a, fmt.Errorf("sqlite: token: %w", store.ErrNotFound)
	}
	if err != nil {
		return t, c, a, fmt.Errorf("sqlite: token: %w", err)
	}
	t.Created, t.Expires = goTime(tCreated), time.UnixMicro(tExpires).UTC()
	if t.Scopes, err = sqlcodec.DecodeScopes(tScopes); err != nil {
		return t, c, a, fmt.Errorf("sqlite: scopes of token: %w", err)
	}
	if aID.Valid {
		a = store.Account{ID: aID.Int64, Username: aUsername.String, ClientID: aClientID.Int64, Disabled: aDisabled.Bool}
	}
	return t, c, a, nil
}

// ConsumeToken deletes the token with hash.
func (db *DB) ConsumeToken(ctx context.Context, hash []byte) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM issued_tokens WHERE hash = ?`, hash)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: consume token: %w", err)
	}
	return nil
}
