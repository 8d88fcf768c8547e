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

const tokenClientColumns = `id, account_id, mid, scopes, secret_hash, created_at, revoked_at`

func scanTokenClient(row pgx.Row) (store.TokenClient, error) { return scanTokenClientAnd(row) }

// scanTokenClientAnd scans a client's columns followed by more.
func scanTokenClientAnd(row pgx.Row, more ...any) (store.TokenClient, error) {
	var c store.TokenClient
	var scopes string
	var created, revoked *int64
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

// accountIdentity is the identity and Disabled flag of an account read
// through a LEFT JOIN: a zero Account when the account is gone.
type accountIdentity struct {
	id, clientID *int64
	username     *string
	disabled     *bool
}

func (a *accountIdentity) dest() []any { return []any{&a.id, &a.username, &a.clientID, &a.disabled} }

func (a *accountIdentity) account() store.Account {
	if a.id == nil {
		return store.Account{}
	}
	return store.Account{ID: *a.id, Username: *a.username, ClientID: *a.clientID, Disabled: *a.disabled}
}

// CreateTokenClient stores c.
func (db *DB) CreateTokenClient(ctx context.Context, c store.TokenClient) error {
	scopes, err := sqlcodec.EncodeScopes(c.Scopes)
	if err != nil {
		return fmt.Errorf("postgres: create token client: %w", err)
	}
	err = db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		_, err := t.exec(ctx, `
INSERT INTO token_clients (id, account_id, mid, scopes, secret_hash, created_at, revoked_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			c.ID, c.AccountID, c.MID, scopes, nonNilBytes(c.SecretHash), dbTime(c.Created), dbTime(c.RevokedAt))
		return err
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("postgres: create token client: %w", store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("postgres: create token client: account %d: %w", c.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: create token client: %w", err)
	}
	return nil
}

// TokenClientWithAccount finds a client with its account's identity, in
// one read.
func (db *DB) TokenClientWithAccount(ctx context.Context, id string) (store.TokenClient, store.Account, error) {
	var a accountIdentity
	c, err := scanTokenClientAnd(db.pool.QueryRow(ctx, `
SELECT c.id, c.account_id, c.mid, c.scopes, c.secret_hash, c.created_at, c.revoked_at,
	a.id, a.username, a.client_id, a.disabled
FROM token_clients c LEFT JOIN accounts a ON a.id = c.account_id WHERE c.id = $1`, id), a.dest()...)
	if err != nil {
		return c, store.Account{}, fmt.Errorf("postgres: token client: %w", notFoundIfNoRow(err))
	}
	return c, a.account(), nil
}

// ListTokenClients returns account's live clients, oldest first.
func (db *DB) ListTokenClients(ctx context.Context, accountID int64) ([]store.TokenClient, error) {
	cs, err := queryAll(ctx, db.pool, scanTokenClient, `SELECT `+tokenClientColumns+` FROM token_clients
WHERE account_id = $1 AND revoked_at IS NULL ORDER BY created_at NULLS FIRST, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list token clients: %w", err)
	}
	return cs, nil
}

// RevokeTokenClient marks a live client revoked.
func (db *DB) RevokeTokenClient(ctx context.Context, accountID int64, id string, at time.Time) error {
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		return mustAffect(t.exec(ctx, `
UPDATE token_clients SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL`,
			at.UnixMicro(), id, accountID))
	})
	if err != nil {
		return fmt.Errorf("postgres: revoke token client: %w", err)
	}
	return nil
}

// InsertToken stores tok; Prune forgets expired tokens.
func (db *DB) InsertToken(ctx context.Context, tok store.IssuedToken, now time.Time) error {
	scopes, err := sqlcodec.EncodeScopes(tok.Scopes)
	if err != nil {
		return fmt.Errorf("postgres: insert token: %w", err)
	}
	err = db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		_, err := t.exec(ctx, `
INSERT INTO issued_tokens (hash, kind, client_id, account_id, scopes, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			nonNilBytes(tok.Hash), tok.Kind, tok.ClientID, tok.AccountID, scopes, dbTime(tok.Created), tok.Expires.UnixMicro())
		return err
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("postgres: insert token: %w", store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("postgres: insert token: client %s: %w", tok.ClientID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: insert token: %w", err)
	}
	return nil
}

// TokenWithClient finds a token with its client and account in one read.
func (db *DB) TokenWithClient(ctx context.Context, hash []byte) (store.IssuedToken, store.TokenClient, store.Account, error) {
	var tok store.IssuedToken
	var a accountIdentity
	var tScopes string
	var tCreated *int64
	var tExpires int64
	c, err := scanTokenClientAnd(db.pool.QueryRow(ctx, `
SELECT c.id, c.account_id, c.mid, c.scopes, c.secret_hash, c.created_at, c.revoked_at,
	t.hash, t.kind, t.client_id, t.account_id, t.scopes, t.created_at, t.expires_at,
	a.id, a.username, a.client_id, a.disabled
FROM issued_tokens t JOIN token_clients c ON c.id = t.client_id LEFT JOIN accounts a ON a.id = t.account_id
WHERE t.hash = $1`, hash),
		append([]any{&tok.Hash, &tok.Kind, &tok.ClientID, &tok.AccountID, &tScopes, &tCreated, &tExpires}, a.dest()...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return tok, c, store.Account{}, fmt.Errorf("postgres: token: %w", store.ErrNotFound)
	}
	if err != nil {
		return tok, c, store.Account{}, fmt.Errorf("postgres: token: %w", err)
	}
	tok.Created, tok.Expires = goTime(tCreated), time.UnixMicro(tExpires).UTC()
	if tok.Scopes, err = sqlcodec.DecodeScopes(tScopes); err != nil {
		return tok, c, store.Account{}, fmt.Errorf("postgres: scopes of token: %w", err)
	}
	return tok, c, a.account(), nil
}

// ConsumeToken deletes the token with hash; of two racing consumers, the
// row lock lets exactly one delete it.
func (db *DB) ConsumeToken(ctx context.Context, hash []byte) error {
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		return mustAffect(t.exec(ctx, `DELETE FROM issued_tokens WHERE hash = $1`, hash))
	})
	if err != nil {
		return fmt.Errorf("postgres: consume token: %w", err)
	}
	return nil
}
