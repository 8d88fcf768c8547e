package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
)

// The dispatcher's queue (store.Queue). Several dispatchers, in several
// servers, work at once: a claim locks the rows it takes with FOR UPDATE
// SKIP LOCKED, so two claims never take one send and never wait for each
// other; every transition is compare-and-set on the status.

// ClaimDueSends moves up to c.Limit due or orphaned sends to Sending under
// c.Owner's lease and returns them with their content.
func (db *DB) ClaimDueSends(ctx context.Context, c store.Claim) ([]store.ClaimedSend, error) {
	if c.Limit <= 0 {
		return nil, fmt.Errorf("postgres: claim due sends: limit %d must be positive", c.Limit)
	}
	var claimed []store.ClaimedSend
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		claimed = nil
		now := c.Now.UnixMicro()
		scanID := func(row pgx.Row) (id int64, err error) { return id, row.Scan(&id) }
		// Orphans first: they have waited longest.
		ids, err := txQueryAll(ctx, t, scanID, `
SELECT id FROM sends WHERE status = 'Sending' AND lease_until < $1
ORDER BY send_date, id LIMIT $2 FOR UPDATE SKIP LOCKED`, now, c.Limit)
		if err != nil {
			return err
		}
		if n := c.Limit - len(ids); n > 0 {
			due, err := txQueryAll(ctx, t, scanID, `
SELECT id FROM sends WHERE status = 'Scheduled' AND send_date <= $1
ORDER BY send_date, id LIMIT $2 FOR UPDATE SKIP LOCKED`, now, n)
			if err != nil {
				return err
			}
			ids = append(ids, due...)
		}
		if len(ids) == 0 {
			return nil
		}
		// The rows are locked: nothing moves them between the SELECT and
		// this UPDATE. status_changed_at only moves for a send newly
		// Sending.
		if _, err := t.exec(ctx, `
UPDATE sends SET
	status_changed_at = CASE WHEN status = 'Sending' THEN status_changed_at ELSE $1 END,
	modified_date = $1, status = 'Sending', claim_owner = $2, lease_until = $3,
	dispatch_attempts = dispatch_attempts + 1
WHERE id = ANY($4)`, now, c.Owner, c.LeaseUntil.UnixMicro(), ids); err != nil {
			return err
		}
		rows, err := t.tx.Query(ctx, `
SELECT `+sendColumns+`, dispatch_attempts, coalesce((SELECT content FROM send_contents WHERE send_id = id), '')
FROM sends WHERE id = ANY($1) ORDER BY send_date, id`, ids)
		if err != nil {
			return t.note(err)
		}
		defer rows.Close()
		for rows.Next() {
			var cs store.ClaimedSend
			var content string
			s, _, err := scanSendWith(rows, &cs.Attempt, &content)
			if err != nil {
				return err
			}
			cs.Send = s
			if cs.Content, err = sqlcodec.DecodeContent(content); err != nil {
				return fmt.Errorf("send %d: %w", s.ID, err)
			}
			claimed = append(claimed, cs)
		}
		return t.note(rows.Err())
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim due sends: %w", err)
	}
	return claimed, nil
}

// CompleteSends inserts each entry into the outbox and completes its send,
// in one transaction. Each send is locked before it is looked at, so a
// second dispatcher completing it waits, then finds the outbox row.
func (db *DB) CompleteSends(ctx context.Context, entries []store.OutboxEntry) (int, error) {
	done := 0
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		done = 0
		for i := range entries {
			entries[i].ID = 0
		}
		for i := range entries {
			e := &entries[i]
			var status string
			var accountID int64
			err := t.queryRow(ctx, `SELECT status, account_id FROM sends WHERE id = $1 FOR UPDATE`, e.SendID).Scan(&status, &accountID)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if err != nil || store.SendStatus(status) != store.StatusSending {
				continue
			}
			recipients, err := json.Marshal(nonNil(e.Recipients))
			if err != nil {
				return err
			}
			// DO NOTHING: a send the outbox already holds was completed
			// by someone else, not a failure of this batch.
			var id int64
			err = t.queryRow(ctx, `
INSERT INTO outbox (send_id, account_id, object_id, subject, from_name, from_address, recipients,
	html_body, text_body, number_sent, transport, message_id, attempt, delivered_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (send_id) DO NOTHING RETURNING id`,
				e.SendID, accountID, e.ObjectID, e.Subject, e.FromName, e.FromAddress, string(recipients),
				e.HTMLBody, e.TextBody, e.NumberSent, e.Transport, e.MessageID, e.Attempt, dbTime(e.DeliveredAt)).Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			at := dbTime(e.DeliveredAt)
			if _, err := t.exec(ctx, `
UPDATE sends SET status = 'Complete', sent_date = $1, number_sent = $2, status_changed_at = $1,
	modified_date = $1, lease_until = NULL
WHERE id = $3`, at, e.NumberSent, e.SendID); err != nil {
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
		return 0, fmt.Errorf("postgres: complete sends: %w", err)
	}
	return done, nil
}

// FailSend moves a Sending send to Error.
func (db *DB) FailSend(ctx context.Context, sendID int64, now time.Time) error {
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		return mustAffect(t.exec(ctx, `
UPDATE sends SET status = 'Error', status_changed_at = $1, modified_date = $1, lease_until = NULL
WHERE id = $2 AND status = 'Sending'`, now.UnixMicro(), sendID))
	})
	if err != nil {
		return fmt.Errorf("postgres: fail send %d: %w", sendID, err)
	}
	return nil
}

// DiscardCanceledSends marks due Canceled sends as discarded.
func (db *DB) DiscardCanceledSends(ctx context.Context, now time.Time) (int, error) {
	n, err := db.execCount(ctx, `
UPDATE sends SET discarded_at = $1
WHERE status = 'Canceled' AND discarded_at IS NULL AND send_date <= $1`, now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("postgres: discard canceled sends: %w", err)
	}
	return int(n), nil
}

// ExpirePausedSends moves Paused sends due before sendDateBefore to Expired.
func (db *DB) ExpirePausedSends(ctx context.Context, sendDateBefore, now time.Time) (int, error) {
	n, err := db.execCount(ctx, `
UPDATE sends SET status = 'Expired', status_changed_at = $1, modified_date = $1
WHERE status = 'Paused' AND send_date < $2`, now.UnixMicro(), sendDateBefore.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("postgres: expire paused sends: %w", err)
	}
	return int(n), nil
}

// NextDueSend is the earliest SendDate of a Scheduled send.
func (db *DB) NextDueSend(ctx context.Context) (time.Time, bool, error) {
	var next *int64
	err := db.pool.QueryRow(ctx, `SELECT min(send_date) FROM sends WHERE status = 'Scheduled'`).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("postgres: next due send: %w", err)
	}
	return goTime(next), next != nil, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
