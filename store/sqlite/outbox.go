package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

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
		query += ` WHERE account_id = ?`
		args = append(args, q.AccountID)
	}
	query += ` ORDER BY id DESC`
	if q.Last > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Last)
	}
	out, err := queryAll(ctx, db.read, scanOutboxEntry, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: outbox: %w", err)
	}
	return out, nil
}

// scanOutboxEntry reads a row of Outbox's SELECT.
func scanOutboxEntry(row scanner) (store.OutboxEntry, error) {
	var e store.OutboxEntry
	var recipients string
	var at sql.NullInt64
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
	err := db.update(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = ?`, a.AccountID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account %d: %w", a.AccountID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		at := a.At.UnixMicro()
		// Canceled and discarded at once, whatever the SendDate: a flushed
		// send must neither go out nor count against the held limit.
		res, err := tx.ExecContext(ctx, `
UPDATE sends SET status = 'Canceled', discarded_at = ?, status_changed_at = ?, modified_date = ?
WHERE account_id = ? AND status IN ('Scheduled', 'Paused')`, at, at, at, a.AccountID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		a.Count = int(n)
		res, err = tx.ExecContext(ctx, `
INSERT INTO operator_actions (action, account_id, actor, detail, count, at, credential) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.Action, a.AccountID, a.Actor, a.Detail, a.Count, dbTime(a.At), a.Credential)
		if err != nil {
			return err
		}
		a.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		a.ID, a.Count = 0, 0
		return fmt.Errorf("sqlite: flush account %d: %w", a.AccountID, err)
	}
	return nil
}

// RecordOperatorAction records a and sets a.ID.
func (db *DB) RecordOperatorAction(ctx context.Context, a *store.OperatorAction) error {
	if a.Action == "" {
		return errors.New("sqlite: record operator action: an action is required")
	}
	var id int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
INSERT INTO operator_actions (action, account_id, actor, detail, count, at, credential) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.Action, a.AccountID, a.Actor, a.Detail, a.Count, dbTime(a.At), a.Credential)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: record operator action %s: %w", a.Action, err)
	}
	a.ID = id
	return nil
}

// OperatorActions lists operator actions, newest first.
func (db *DB) OperatorActions(ctx context.Context, n int) ([]store.OperatorAction, error) {
	query := `SELECT id, action, account_id, actor, detail, count, at, credential FROM operator_actions ORDER BY id DESC`
	var args []any
	if n > 0 {
		query += ` LIMIT ?`
		args = append(args, n)
	}
	out, err := queryAll(ctx, db.read, func(row scanner) (store.OperatorAction, error) {
		var a store.OperatorAction
		var at sql.NullInt64
		err := row.Scan(&a.ID, &a.Action, &a.AccountID, &a.Actor, &a.Detail, &a.Count, &at, &a.Credential)
		a.At = goTime(at)
		return a, err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: operator actions: %w", err)
	}
	return out, nil
}
