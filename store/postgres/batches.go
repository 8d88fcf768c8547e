package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
)

// Batches (store.Tx): a row per batch, and each send names its batch by
// batch_id, as in store/sqlite.

const batchColumns = `batch_id, account_id, created, hold, hold_changed_at`

func scanBatch(row pgx.Row) (store.Batch, error) {
	var b store.Batch
	var hold string
	var created, changed *int64
	if err := row.Scan(&b.ID, &b.AccountID, &created, &hold, &changed); err != nil {
		return store.Batch{}, err
	}
	b.Hold = store.Hold(hold)
	b.Created, b.HoldChangedAt = goTime(created), goTime(changed)
	return b, nil
}

// InsertBatch stores b, with a new random ID when b.ID is empty.
func (t *txn) InsertBatch(ctx context.Context, b *store.Batch) error {
	return t.insertBatch(ctx, b, false)
}

// insertBatch stores b; used marks it as holding a send already.
func (t *txn) insertBatch(ctx context.Context, b *store.Batch, used bool) error {
	if b.ID == "" {
		b.ID = store.NewBatchID()
	}
	err := t.guarded(ctx, func() error {
		_, err := t.exec(ctx, `
INSERT INTO batches (account_id, batch_id, created, hold, hold_changed_at, used) VALUES ($1, $2, $3, $4, $5, $6)`,
			b.AccountID, b.ID, dbTime(b.Created), string(b.Hold), dbTime(b.HoldChangedAt), used)
		return err
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("postgres: insert batch %q: %w", b.ID, store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("postgres: insert batch: account %d: %w", b.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: insert batch: %w", err)
	}
	return nil
}

// batchForSend checks the batch s names, or picks an ID for a batch of its
// own; addToBatch writes it once the send is in.
func (t *txn) batchForSend(ctx context.Context, s store.Send) (string, error) {
	if s.BatchID == "" {
		if s.OwnBatchID != "" {
			return s.OwnBatchID, nil
		}
		return store.NewBatchID(), nil
	}
	if _, err := t.BatchByID(ctx, s.AccountID, s.BatchID); err != nil {
		return "", err
	}
	return s.BatchID, nil
}

// addToBatch records that send s is in its batch: a batch of its own is
// created, a named one marked as used.
func (t *txn) addToBatch(ctx context.Context, s store.Send, own bool) error {
	if own {
		b := store.Batch{ID: s.BatchID, AccountID: s.AccountID, Created: s.CreatedDate}
		return t.insertBatch(ctx, &b, true)
	}
	_, err := t.exec(ctx, `UPDATE batches SET used = true WHERE account_id = $1 AND batch_id = $2 AND NOT used`,
		s.AccountID, s.BatchID)
	return err
}

// BatchByID finds one of account's batches.
func (t *txn) BatchByID(ctx context.Context, accountID int64, id string) (store.Batch, error) {
	b, err := scanBatch(t.queryRow(ctx,
		`SELECT `+batchColumns+` FROM batches WHERE account_id = $1 AND batch_id = $2`, accountID, id))
	if err != nil {
		return store.Batch{}, fmt.Errorf("postgres: batch %q of account %d: %w", id, accountID, notFoundIfNoRow(err))
	}
	return b, nil
}

// UpdateBatchHold writes b's hold while the batch is still held as from.
func (t *txn) UpdateBatchHold(ctx context.Context, b store.Batch, from store.Hold) error {
	err := mustAffect(t.exec(ctx, `
UPDATE batches SET hold = $1, hold_changed_at = $2 WHERE account_id = $3 AND batch_id = $4 AND hold = $5`,
		string(b.Hold), dbTime(b.HoldChangedAt), b.AccountID, b.ID, string(from)))
	if errors.Is(err, store.ErrNotFound) {
		err = t.conflictIfExists(ctx, err, fmt.Sprintf("its hold is no longer %q", from),
			`SELECT count(*) FROM batches WHERE account_id = $1 AND batch_id = $2`, b.AccountID, b.ID)
	}
	if err != nil {
		return fmt.Errorf("postgres: update hold of batch %q of account %d: %w", b.ID, b.AccountID, err)
	}
	return nil
}

// SetSoleSendHold sets the batch's hold when sendID is its only send. In a
// group member it goes with the next statement (group.go).
func (t *txn) SetSoleSendHold(ctx context.Context, accountID int64, batchID string, sendID int64, h store.Hold, at time.Time) error {
	const q = `
UPDATE batches SET hold = $1, hold_changed_at = $2
WHERE account_id = $3 AND batch_id = $4 AND hold <> $1
	AND (SELECT count(*) FROM (SELECT id FROM sends WHERE account_id = $3 AND batch_id = $4 LIMIT 2) two) = 1
	AND EXISTS (SELECT 1 FROM sends WHERE account_id = $3 AND batch_id = $4 AND id = $5)`
	args := []any{string(h), dbTime(at), accountID, batchID, sendID}
	if t.deferExec(q, args...) {
		return nil
	}
	if _, err := t.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("postgres: set hold of batch %q of account %d: %w", batchID, accountID, err)
	}
	return nil
}

// SendsOfBatch returns the sends of account's batch, by ID.
func (t *txn) SendsOfBatch(ctx context.Context, accountID int64, batchID string, limit int) ([]store.Send, error) {
	if limit < 0 {
		return nil, fmt.Errorf("postgres: sends of batch: negative limit %d", limit)
	}
	q := `SELECT ` + sendColumns + ` FROM sends WHERE account_id = $1 AND batch_id = $2 ORDER BY id`
	args := []any{accountID, batchID}
	if limit > 0 {
		q += ` LIMIT $3`
		args = append(args, limit)
	}
	sends, err := txQueryAll(ctx, t, scanSend, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: sends of batch %q: %w", batchID, err)
	}
	return sends, nil
}

// countHeldBatches: the distinct batches of the held sends, plus the held
// batches no send is in yet (as store/sqlite counts them).
const countHeldBatches = `
SELECT (SELECT count(DISTINCT CASE WHEN batch_id = '' THEN 'send:' || id ELSE batch_id END) FROM (
		SELECT id, batch_id FROM sends WHERE account_id = $1 AND status = 'Paused'
		UNION ALL
		SELECT id, batch_id FROM sends WHERE account_id = $1 AND status = 'Canceled' AND discarded_at IS NULL AND send_date > $2) held
	WHERE batch_id <> $3)
     + (SELECT count(*) FROM batches WHERE account_id = $1 AND hold <> '' AND NOT used AND batch_id <> $3)`

// CountHeldBatches counts account's held batches other than except.
func (t *txn) CountHeldBatches(ctx context.Context, accountID int64, except string, now time.Time) (int, error) {
	var n int
	err := t.queryRow(ctx, countHeldBatches, accountID, now.UnixMicro(), except).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: count held batches of account %d: %w", accountID, err)
	}
	return n, nil
}

// HeldBatches lists account's batches with a hold, oldest hold first.
func (t *txn) HeldBatches(ctx context.Context, accountID int64) ([]store.Batch, error) {
	out, err := txQueryAll(ctx, t, scanBatch, `
SELECT `+batchColumns+` FROM batches WHERE account_id = $1 AND hold <> '' ORDER BY hold_changed_at NULLS FIRST, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: held batches of account %d: %w", accountID, err)
	}
	return out, nil
}
