package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
)

// Outbox lists delivered sends, newest first.
func (db *DB) Outbox(ctx context.Context, q store.OutboxQuery) ([]store.OutboxEntry, error) {
	query := `
SELECT id, send_id, account_id, object_id, subject, from_name, from_address, recipients,
	html_body, text_body, number_sent, transport, message_id, attempt, delivered_at
FROM outbox`
	var args []any
	if q.AccountID != 0 {
		args = append(args, q.AccountID)
		query += ` WHERE account_id = $1`
	}
	query += ` ORDER BY id DESC`
	if q.Last > 0 {
		args = append(args, q.Last)
		query += ` LIMIT $` + strconv.Itoa(len(args))
	}
	out, err := queryAll(ctx, db.pool, scanOutboxEntry, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: outbox: %w", err)
	}
	return out, nil
}

func scanOutboxEntry(row pgx.Row) (store.OutboxEntry, error) {
	var e store.OutboxEntry
	var recipients string
	var at *int64
	if err := row.Scan(&e.ID, &e.SendID, &e.AccountID, &e.ObjectID, &e.Subject, &e.FromName, &e.FromAddress,
		&recipients, &e.HTMLBody, &e.TextBody, &e.NumberSent, &e.Transport, &e.MessageID, &e.Attempt, &at); err != nil {
		return store.OutboxEntry{}, err
	}
	if err := json.Unmarshal([]byte(recipients), &e.Recipients); err != nil {
		return store.OutboxEntry{}, fmt.Errorf("entry %d: recipients: %w", e.ID, err)
	}
	if len(e.Recipients) == 0 {
		e.Recipients = nil
	}
	e.DeliveredAt = goTime(at)
	return e, nil
}

// FlushAccount cancels and discards every Scheduled and Paused send of
// a.AccountID, and records the action, in one transaction.
func (db *DB) FlushAccount(ctx context.Context, a *store.OperatorAction) error {
	if a.Action == "" {
		a.Action = "flush"
	}
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		var one int
		err := t.queryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, a.AccountID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("account %d: %w", a.AccountID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		at := a.At.UnixMicro()
		tag, err := t.exec(ctx, `
UPDATE sends SET status = 'Canceled', discarded_at = $1, status_changed_at = $1, modified_date = $1
WHERE account_id = $2 AND status IN ('Scheduled', 'Paused')`, at, a.AccountID)
		if err != nil {
			return err
		}
		a.Count = int(tag.RowsAffected())
		return t.queryRow(ctx, `
INSERT INTO operator_actions (action, account_id, actor, detail, count, at, credential) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			a.Action, a.AccountID, a.Actor, a.Detail, a.Count, dbTime(a.At), a.Credential).Scan(&a.ID)
	})
	if err != nil {
		a.ID, a.Count = 0, 0
		return fmt.Errorf("postgres: flush account %d: %w", a.AccountID, err)
	}
	return nil
}

// RecordOperatorAction records a and sets a.ID.
func (db *DB) RecordOperatorAction(ctx context.Context, a *store.OperatorAction) error {
	if a.Action == "" {
		return errors.New("postgres: record operator action: an action is required")
	}
	var id int64
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		return t.queryRow(ctx, `
INSERT INTO operator_actions (action, account_id, actor, detail, count, at, credential) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			a.Action, a.AccountID, a.Actor, a.Detail, a.Count, dbTime(a.At), a.Credential).Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("postgres: record operator action %s: %w", a.Action, err)
	}
	a.ID = id
	return nil
}

// OperatorActions lists operator actions, newest first.
func (db *DB) OperatorActions(ctx context.Context, n int) ([]store.OperatorAction, error) {
	query := `SELECT id, action, account_id, actor, detail, count, at, credential FROM operator_actions ORDER BY id DESC`
	var args []any
	if n > 0 {
		query += ` LIMIT $1`
		args = append(args, n)
	}
	out, err := queryAll(ctx, db.pool, func(row pgx.Row) (store.OperatorAction, error) {
		var a store.OperatorAction
		var at *int64
		err := row.Scan(&a.ID, &a.Action, &a.AccountID, &a.Actor, &a.Detail, &a.Count, &at, &a.Credential)
		a.At = goTime(at)
		return a, err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: operator actions: %w", err)
	}
	return out, nil
}
