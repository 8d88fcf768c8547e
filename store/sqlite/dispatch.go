package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
)

// The dispatcher's queue (store.Queue). SQLite has one writer at a time, so
// a claim made in a write transaction is exclusive without row locks; the
// same statements become SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL.

// ClaimDueSends moves up to c.Limit due or orphaned sends to Sending under
// c.Owner's lease and returns them with their content.
func (db *DB) ClaimDueSends(ctx context.Context, c store.Claim) ([]store.ClaimedSend, error) {
	if c.Limit <= 0 {
		return nil, fmt.Errorf("sqlite: claim due sends: limit %d must be positive", c.Limit)
	}
	var claimed []store.ClaimedSend
	err := db.update(ctx, func(tx *sql.Tx) error {
		claimed = nil
		now := c.Now.UnixMicro()
		// Orphans first: they have waited longest.
		ids, err := queryIDs(ctx, tx, `
SELECT id FROM sends WHERE status = 'Sending' AND lease_until < ?
ORDER BY send_date, id LIMIT ?`, now, c.Limit)
		if err != nil {
			return err
		}
		if n := c.Limit - len(ids); n > 0 {
			due, err := queryIDs(ctx, tx, `
SELECT id FROM sends WHERE status = 'Scheduled' AND send_date <= ?
ORDER BY send_date, id LIMIT ?`, now, n)
			if err != nil {
				return err
			}
			ids = append(ids, due...)
		}
		if len(ids) == 0 {
			return nil
		}
		in, args := inList(ids)
		// status_changed_at only moves for a send newly Sending: a
		// reclaimed orphan has been Sending since its first claim.
		_, err = tx.ExecContext(ctx, `
UPDATE sends SET
	status_changed_at = CASE WHEN status = 'Sending' THEN status_changed_at ELSE ? END,
	modified_date = ?, status = 'Sending', claim_owner = ?, lease_until = ?,
	dispatch_attempts = dispatch_attempts + 1
WHERE id IN (`+in+`)`, append([]any{now, now, c.Owner, c.LeaseUntil.UnixMicro()}, args...)...)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `
SELECT `+sendColumns+`, dispatch_attempts, coalesce((SELECT content FROM send_contents WHERE send_id = id), '')
FROM sends WHERE id IN (`+in+`) ORDER BY send_date, id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var cs store.ClaimedSend
			var content string
			s, err := scanSend(scanFunc(func(dest ...any) error {
				return rows.Scan(append(dest, &cs.Attempt, &content)...)
			}))
			if err != nil {
				return err
			}
			cs.Send = s
			if cs.Content, err = sqlcodec.DecodeContent(content); err != nil {
				return fmt.Errorf("send %d: %w", s.ID, err)
			}
			claimed = append(claimed, cs)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim due sends: %w", err)
	}
	return claimed, nil
}

// scanFunc adapts a function to scanner, so that scanSend can read a row
// that has more columns than a send.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// CompleteSends inserts each entry into the outbox and completes its send.
func (db *DB) CompleteSends(ctx context.Context, entries []store.OutboxEntry) (int, error) {
	done := 0
	err := db.update(ctx, func(tx *sql.Tx) error {
		done = 0
		for i := range entries {
			e := &entries[i]
			e.ID = 0
			var status store.SendStatus
			var accountID int64
			err := tx.QueryRowContext(ctx, `SELECT status, account_id FROM sends WHERE id = ?`, e.SendID).Scan(&status, &accountID)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err != nil || status != store.StatusSending {
				continue
			}
			recipients, err := json.Marshal(nonNil(e.Recipients))
			if err != nil {
				return err
			}
			// DO NOTHING rather than an error: a send the outbox already
			// holds was completed by someone else, which is not a failure
			// of this batch.
			res, err := tx.ExecContext(ctx, `
INSERT INTO outbox (send_id, account_id, object_id, subject, from_name, from_address, recipients,
	html_body, text_body, number_sent, transport, message_id, attempt, delivered_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (send_id) DO NOTHING`,
				e.SendID, accountID, e.ObjectID, e.Subject, e.FromName, e.FromAddress, string(recipients),
				e.HTMLBody, e.TextBody, e.NumberSent, e.Transport, e.MessageID, e.Attempt, dbTime(e.DeliveredAt))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				if err != nil {
					return err
				}
				continue
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			at := dbTime(e.DeliveredAt)
			if _, err := tx.ExecContext(ctx, `
UPDATE sends SET status = 'Complete', sent_date = ?, number_sent = ?, status_changed_at = ?,
	modified_date = ?, lease_until = NULL
WHERE id = ?`, at, e.NumberSent, at, at, e.SendID); err != nil {
				return err
			}
			e.AccountID, e.ID = accountID, id
			done++
		}
		return nil
	})
	if err != nil {
		for i := range entries {
			entries[i].ID = 0
		}
		return 0, fmt.Errorf("sqlite: complete sends: %w", err)
	}
	return done, nil
}

// FailSend moves a Sending send to Error.
func (db *DB) FailSend(ctx context.Context, sendID int64, now time.Time) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
UPDATE sends SET status = 'Error', status_changed_at = ?, modified_date = ?, lease_until = NULL
WHERE id = ? AND status = 'Sending'`, now.UnixMicro(), now.UnixMicro(), sendID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("sqlite: fail send %d: %w", sendID, err)
	}
	return nil
}

// DiscardCanceledSends marks due Canceled sends as discarded.
func (db *DB) DiscardCanceledSends(ctx context.Context, now time.Time) (int, error) {
	// The literal 'Canceled' and "discarded_at IS NULL" let SQLite use
	// the partial index sends_canceled_pending.
	n, err := db.execCount(ctx, `
UPDATE sends SET discarded_at = ?
WHERE status = 'Canceled' AND discarded_at IS NULL AND send_date <= ?`, now.UnixMicro(), now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlite: discard canceled sends: %w", err)
	}
	return int(n), nil
}

// ExpirePausedSends moves Paused sends due before sendDateBefore to Expired.
func (db *DB) ExpirePausedSends(ctx context.Context, sendDateBefore, now time.Time) (int, error) {
	n, err := db.execCount(ctx, `
UPDATE sends SET status = 'Expired', status_changed_at = ?, modified_date = ?
WHERE status = 'Paused' AND send_date < ?`, now.UnixMicro(), now.UnixMicro(), sendDateBefore.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlite: expire paused sends: %w", err)
	}
	return int(n), nil
}

// NextDueSend is the earliest SendDate of a Scheduled send.
func (db *DB) NextDueSend(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT min(send_date) FROM sends WHERE status = 'Scheduled'`).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: next due send: %w", err)
	}
	return goTime(next), next.Valid, nil
}

func queryIDs(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]int64, error) {
	return queryAll(ctx, tx, func(row scanner) (id int64, err error) {
		return id, row.Scan(&id)
	}, q, args...)
}

// querier is what a read runs on: the read pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll runs query and returns every row as scan reads it, in order
// (nil for none). Errors come back bare: the caller says what it was
// reading.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// execCount runs one statement in a write transaction and says how many
// rows it changed (the housekeeping deletes and bulk status moves).
func (db *DB) execCount(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// inList is "?, ?, …" for ids, and ids as arguments.
func inList(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", "), args
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
