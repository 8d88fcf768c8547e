package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/partnerd/partnerd/store"
)

// Batches (store.Tx): a row per batch, and each send names its batch by
// batch_id.

const batchColumns = `batch_id, account_id, created, hold, hold_changed_at`

func scanBatch(row scanner) (store.Batch, error) {
	var b store.Batch
	var created, changed sql.NullInt64
	if err := row.Scan(&b.ID, &b.AccountID, &created, &b.Hold, &changed); err != nil {
		return store.Batch{}, err
	}
	b.Created, b.HoldChangedAt = goTime(created), goTime(changed)
	return b, nil
}

// InsertBatch stores b, with a new random ID when b.ID is empty.
func (t *txn) InsertBatch(ctx context.Context, b *store.Batch) error {
	return t.insertBatch(ctx, b, false)
}

// insertBatch stores b; used marks it as holding a send already (a send's
// own batch).
func (t *txn) insertBatch(ctx context.Context, b *store.Batch, used bool) error {
	if b.ID == "" {
		b.ID = store.NewBatchID()
	}
	_, err := t.tx.ExecContext(t.ctx(ctx), `
INSERT INTO batches (account_id, batch_id, created, hold, hold_changed_at, used) VALUES (?, ?, ?, ?, ?, ?)`,
		b.AccountID, b.ID, dbTime(b.Created), b.Hold, dbTime(b.HoldChangedAt), used)
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("sqlite: insert batch %q: %w", b.ID, store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("sqlite: insert batch: account %d: %w", b.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: insert batch: %w", err)
	}
	return nil
}

// batchForSend checks the batch s names (ErrNotFound unless it is one of
// the account's), or picks an ID for a batch of its own when it names none.
// Nothing is written: addToBatch does, once the send is in.
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
	_, err := t.tx.ExecContext(t.ctx(ctx), `UPDATE batches SET used = 1 WHERE account_id = ? AND batch_id = ? AND used = 0`,
		s.AccountID, s.BatchID)
	return err
}

// BatchByID finds one of account's batches.
func (t *txn) BatchByID(ctx context.Context, accountID int64, id string) (store.Batch, error) {
	b, err := scanBatch(t.tx.QueryRowContext(t.ctx(ctx),
		`SELECT `+batchColumns+` FROM batches WHERE account_id = ? AND batch_id = ?`, accountID, id))
	if err != nil {
		return store.Batch{}, fmt.Errorf("sqlite: batch %q of account %d: %w", id, accountID, notFoundIfNoRow(err))
	}
	return b, nil
}

// UpdateBatchHold writes b's hold while the batch is still held as from.
func (t *txn) UpdateBatchHold(ctx context.Context, b store.Batch, from store.Hold) error {
	res, err := t.tx.ExecContext(t.ctx(ctx), `
UPDATE batches SET hold = ?, hold_changed_at = ? WHERE account_id = ? AND batch_id = ? AND hold = ?`,
		b.Hold, dbTime(b.HoldChangedAt), b.AccountID, b.ID, from)
	if err == nil {
		err = mustAffect(res)
	}
	if errors.Is(err, store.ErrNotFound) {
		if _, qerr := t.BatchByID(ctx, b.AccountID, b.ID); qerr == nil {
			err = fmt.Errorf("its hold is no longer %q: %w", from, store.ErrConflict)
		} else if !errors.Is(qerr, store.ErrNotFound) {
			err = qerr
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite: update hold of batch %q of account %d: %w", b.ID, b.AccountID, err)
	}
	return nil
}

// SetSoleSendHold sets the batch's hold when sendID is its only send. The
// sends are counted on sends_batch, two at most.
func (t *txn) SetSoleSendHold(ctx context.Context, accountID int64, batchID string, sendID int64, h store.Hold, at time.Time) error {
	// Numbered parameters: each argument is passed (and converted) once;
	// this runs for every send a SOAP Perform acts on.
	_, err := t.tx.ExecContext(t.ctx(ctx), `
UPDATE batches SET hold = ?1, hold_changed_at = ?2
WHERE account_id = ?3 AND batch_id = ?4 AND hold <> ?1
	AND (SELECT count(*) FROM (SELECT id FROM sends WHERE account_id = ?3 AND batch_id = ?4 LIMIT 2)) = 1
	AND EXISTS (SELECT 1 FROM sends WHERE account_id = ?3 AND batch_id = ?4 AND id = ?5)`,
		string(h), dbTime(at), accountID, batchID, sendID)
	if err != nil {
		return fmt.Errorf("sqlite: set hold of batch %q of account %d: %w", batchID, accountID, err)
	}
	return nil
}

// SendsOfBatch returns the sends of account's batch, by ID.
func (t *txn) SendsOfBatch(ctx context.Context, accountID int64, batchID string, limit int) ([]store.Send, error) {
	if limit < 0 {
		return nil, fmt.Errorf("sqlite: sends of batch: negative limit %d", limit)
	}
	q := `SELECT ` + sendColumns + ` FROM sends WHERE account_id = ? AND batch_id = ? ORDER BY id`
	args := []any{accountID, batchID}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	sends, err := queryAll(t.ctx(ctx), t.tx, scanSend, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sends of batch %q: %w", batchID, err)
	}
	return sends, nil
}

// countHeldBatches: the distinct batches of the held sends (each held-send
// query spelled as its partial index's WHERE, as countHeldSends), plus the
// held batches no send is in yet (on batches_held_empty). A send written
// without a batch (a raw legacy row) counts as a batch of its own.
const countHeldBatches = `
SELECT (SELECT count(DISTINCT CASE WHEN batch_id = '' THEN 'send:' || id ELSE batch_id END) FROM (
		SELECT id, batch_id FROM sends WHERE account_id = ? AND status = 'Paused'
		UNION ALL
		SELECT id, batch_id FROM sends WHERE account_id = ? AND status = 'Canceled' AND discarded_at IS NULL AND send_date > ?)
	WHERE batch_id <> ?)
     + (SELECT count(*) FROM batches WHERE account_id = ? AND hold <> '' AND used = 0 AND batch_id <> ?)`

// CountHeldBatches counts account's held batches other than except.
func (t *txn) CountHeldBatches(ctx context.Context, accountID int64, except string, now time.Time) (int, error) {
	var n int
	err := t.tx.QueryRowContext(t.ctx(ctx), countHeldBatches,
		accountID, accountID, now.UnixMicro(), except, accountID, except).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count held batches of account %d: %w", accountID, err)
	}
	return n, nil
}

// HeldBatches lists account's batches with a hold, oldest hold first.
func (t *txn) HeldBatches(ctx context.Context, accountID int64) ([]store.Batch, error) {
	out, err := queryAll(t.ctx(ctx), t.tx, scanBatch, `
SELECT `+batchColumns+` FROM batches WHERE account_id = ? AND hold <> '' ORDER BY hold_changed_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: held batches of account %d: %w", accountID, err)
	}
	return out, nil
}
