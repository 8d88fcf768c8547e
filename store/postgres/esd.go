package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
	"github.com/partnerd/partnerd/store/internal/sqlfilter"
)

// SetSendContent stores what send sendID of accountID delivers.
func (t *txn) SetSendContent(ctx context.Context, accountID, sendID int64, c store.SendContent) error {
	if err := t.sendExists(ctx, accountID, sendID); err != nil {
		return fmt.Errorf("postgres: set content of send %d: %w", sendID, err)
	}
	enc, err := sqlcodec.EncodeContent(c)
	if err != nil {
		return fmt.Errorf("postgres: set content of send %d: %w", sendID, err)
	}
	_, err = t.exec(ctx, `
INSERT INTO send_contents (send_id, content) VALUES ($1, $2)
ON CONFLICT (send_id) DO UPDATE SET content = excluded.content`, sendID, enc)
	if err != nil {
		return fmt.Errorf("postgres: set content of send %d: %w", sendID, err)
	}
	return nil
}

// SendContent loads what send sendID of accountID delivers.
func (t *txn) SendContent(ctx context.Context, accountID, sendID int64) (store.SendContent, error) {
	if err := t.sendExists(ctx, accountID, sendID); err != nil {
		return store.SendContent{}, fmt.Errorf("postgres: content of send %d: %w", sendID, err)
	}
	var enc string
	err := t.queryRow(ctx, `SELECT content FROM send_contents WHERE send_id = $1`, sendID).Scan(&enc)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.SendContent{}, nil
	}
	if err != nil {
		return store.SendContent{}, fmt.Errorf("postgres: content of send %d: %w", sendID, err)
	}
	c, err := sqlcodec.DecodeContent(enc)
	if err != nil {
		return store.SendContent{}, fmt.Errorf("postgres: content of send %d: %w", sendID, err)
	}
	return c, nil
}

// sendExists is nil when account has send id, ErrNotFound otherwise.
func (t *txn) sendExists(ctx context.Context, accountID, id int64) error {
	var one int
	err := t.queryRow(ctx, `SELECT 1 FROM sends WHERE account_id = $1 AND id = $2`, accountID, id).Scan(&one)
	return notFoundIfNoRow(err)
}

const esdColumns = `id, account_id, object_id, customer_key, name, description, email_id, email_subject,
	from_name, from_address, list_ids, send_classification, content, created_date, modified_date`

func scanESD(row pgx.Row) (store.EmailSendDefinition, error) {
	var d store.EmailSendDefinition
	var lists, content string
	var created, modified *int64
	err := row.Scan(&d.ID, &d.AccountID, &d.ObjectID, &d.CustomerKey, &d.Name, &d.Description, &d.EmailID,
		&d.EmailSubject, &d.FromName, &d.FromAddress, &lists, &d.SendClassification, &content, &created, &modified)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal([]byte(lists), &d.ListIDs); err != nil {
		return d, fmt.Errorf("email send definition %d: list_ids: %w", d.ID, err)
	}
	if len(d.ListIDs) == 0 {
		d.ListIDs = nil
	}
	if d.Content, err = sqlcodec.DecodeContent(content); err != nil {
		return d, fmt.Errorf("email send definition %d: %w", d.ID, err)
	}
	d.CreatedDate, d.ModifiedDate = goTime(created), goTime(modified)
	return d, nil
}

// InsertEmailSendDefinition stores d and sets d.ID; d.ObjectID is kept in
// its canonical spelling.
func (t *txn) InsertEmailSendDefinition(ctx context.Context, d *store.EmailSendDefinition) error {
	d.ObjectID = store.CanonicalObjectID(d.ObjectID)
	lists, err := sqlcodec.EncodeListIDs(d.ListIDs)
	if err != nil {
		return fmt.Errorf("postgres: insert email send definition: %w", err)
	}
	content, err := sqlcodec.EncodeContent(d.Content)
	if err != nil {
		return fmt.Errorf("postgres: insert email send definition: %w", err)
	}
	var id int64
	err = t.guarded(ctx, func() error {
		return t.queryRow(ctx, `
INSERT INTO email_send_definitions (account_id, object_id, customer_key, name, description, email_id,
	email_subject, from_name, from_address, list_ids, send_classification, content, created_date, modified_date)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
			d.AccountID, d.ObjectID, d.CustomerKey, d.Name, d.Description, d.EmailID, d.EmailSubject,
			d.FromName, d.FromAddress, lists, d.SendClassification, content, dbTime(d.CreatedDate), dbTime(d.ModifiedDate)).Scan(&id)
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("postgres: insert email send definition: customer key %q in account %d: %w", d.CustomerKey, d.AccountID, store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("postgres: insert email send definition: account %d: %w", d.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: insert email send definition: %w", err)
	}
	d.ID = id
	return nil
}

// EmailSendDefinitionByKey finds one of account's definitions by the first
// key set in key.
func (t *txn) EmailSendDefinitionByKey(ctx context.Context, accountID int64, key store.SendKey) (store.EmailSendDefinition, error) {
	q := `SELECT ` + esdColumns + ` FROM email_send_definitions WHERE account_id = $1 AND `
	var arg any
	switch {
	case key.ID != 0:
		q, arg = q+`id = $2`, key.ID
	case key.ObjectID != "":
		// Definitions stored in a client's spelling (imports) are
		// found too, the canonical row first.
		d, err := scanESD(t.queryRow(ctx, q+`object_id IN ($2, $3) ORDER BY object_id = $2 DESC LIMIT 1`, accountID,
			store.CanonicalObjectID(key.ObjectID), key.ObjectID))
		return d, esdByKeyErr(key, accountID, err)
	case key.CustomerKey != "":
		q, arg = q+`customer_key = $2`, key.CustomerKey
	default:
		return store.EmailSendDefinition{}, fmt.Errorf("postgres: email send definition: no key given: %w", store.ErrNotFound)
	}
	d, err := scanESD(t.queryRow(ctx, q, accountID, arg))
	return d, esdByKeyErr(key, accountID, err)
}

func esdByKeyErr(key store.SendKey, accountID int64, err error) error {
	if err != nil {
		return fmt.Errorf("postgres: email send definition %+v of account %d: %w", key, accountID, notFoundIfNoRow(err))
	}
	return nil
}

// FindEmailSendDefinitions returns account's definitions that f matches,
// by ID, filtered by the translation that filters sends.
func (t *txn) FindEmailSendDefinitions(ctx context.Context, accountID int64, f store.Filter) ([]store.EmailSendDefinition, error) {
	w := newWhere(sqlfilter.DefinitionColumns, accountID)
	if err := w.Filter(f); err != nil {
		return nil, fmt.Errorf("postgres: find email send definitions: %w", err)
	}
	out, err := txQueryAll(ctx, t, scanESD, `SELECT `+esdColumns+` FROM email_send_definitions WHERE account_id = $1 AND (`+w.SQL()+`) ORDER BY id`,
		w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("postgres: find email send definitions: %w", err)
	}
	return out, nil
}

// DeleteEmailSendDefinition deletes one of account's definitions by ID.
func (t *txn) DeleteEmailSendDefinition(ctx context.Context, accountID, id int64) error {
	err := mustAffect(t.exec(ctx, `DELETE FROM email_send_definitions WHERE account_id = $1 AND id = $2`, accountID, id))
	if err != nil {
		return fmt.Errorf("postgres: delete email send definition %d of account %d: %w", id, accountID, err)
	}
	return nil
}
