package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partnerd/partnerd/store"
)

// SaveCursor stores c, replacing an earlier cursor of the same request and
// account. ErrExists if the RequestID belongs to another account's cursor.
// Cursors are rows, so a Retrieve continues on any server.
func (t *txn) SaveCursor(ctx context.Context, c store.Cursor) error {
	if c.Expires.IsZero() {
		return fmt.Errorf("postgres: save cursor %s: zero expiry", c.RequestID)
	}
	var err error
	err = t.guarded(ctx, func() error {
		err := mustAffect(t.exec(ctx, `
INSERT INTO cursors (request_id, account_id, query, after_id, expires) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (request_id) DO UPDATE SET query = excluded.query, after_id = excluded.after_id, expires = excluded.expires
WHERE cursors.account_id = excluded.account_id`,
			c.RequestID, c.AccountID, c.Query, c.AfterID, c.Expires.UnixMicro()))
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("postgres: save cursor %s: %w", c.RequestID, store.ErrExists)
		}
		return err
	})
	switch {
	case isForeignKeyViolation(err):
		return fmt.Errorf("postgres: save cursor %s: account %d: %w", c.RequestID, c.AccountID, store.ErrNotFound)
	case errors.Is(err, store.ErrExists):
		return err
	case err != nil:
		return fmt.Errorf("postgres: save cursor %s: %w", c.RequestID, err)
	}
	return nil
}

// Cursor loads accountID's unexpired cursor saved under requestID.
func (t *txn) Cursor(ctx context.Context, accountID int64, requestID string, now time.Time) (store.Cursor, error) {
	c := store.Cursor{RequestID: requestID, AccountID: accountID}
	var expires int64
	err := t.queryRow(ctx, `
SELECT query, after_id, expires FROM cursors WHERE request_id = $1 AND account_id = $2 AND expires >= $3`,
		requestID, accountID, now.UnixMicro()).Scan(&c.Query, &c.AfterID, &expires)
	if err != nil {
		return store.Cursor{}, fmt.Errorf("postgres: cursor %s of account %d: %w", requestID, accountID, notFoundIfNoRow(err))
	}
	c.Expires = time.UnixMicro(expires).UTC()
	return c, nil
}

// PruneCursors deletes cursors that expired before t and says how many.
func (db *DB) PruneCursors(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.execCount(ctx, `DELETE FROM cursors WHERE expires < $1`, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("postgres: prune cursors: %w", err)
	}
	return n, nil
}
