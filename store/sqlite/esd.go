package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
	"github.com/partnerd/partnerd/store/internal/sqlfilter"
)

// SetSendContent stores what send sendID of accountID delivers.
func (t *txn) SetSendContent(ctx context.Context, accountID, sendID int64, c store.SendContent) error {
	if err := t.sendExists(ctx, accountID, sendID); err != nil {
		return fmt.Errorf("sqlite: set content of send %d: %w", sendID, err)
	}
	enc, err := sqlcodec.EncodeContent(c)
	if err != nil {
		return fmt.Errorf("sqlite: set content of send %d: %w", sendID, err)
	}
	_, err = t.tx.ExecContext(t.ctx(ctx), `
INSERT INTO send_contents (send_id, content) VALUES (?, ?)
ON CONFLICT (send_id) DO UPDATE SET content = excluded.content`, sendID, enc)
	if err != nil {
		return fmt.Errorf("sqlite: set content of send %d: %w", sendID, err)
	}
	return nil
}

// SendContent loads what send sendID of accountID delivers.
func (t *txn) SendContent(ctx context.Context, accountID, sendID int64) (store.SendContent, error) {
	if err := t.sendExists(ctx, accountID, sendID); err != nil {
		return store.SendContent{}, fmt.Errorf("sqlite: content of send %d: %w", sendID, err)
	}
	var enc string
	err := t.tx.QueryRowContext(t.ctx(ctx), `SELECT content FROM send_contents WHERE send_id = ?`, sendID).Scan(&enc)
	if errors.Is(err, sql.ErrNoRows) {
		return store.SendContent{}, nil
	}
	if err != nil {
		return store.SendContent{}, fmt.Errorf("sqlite: content of send %d: %w", sendID, err)
	}
	c, err := sqlcodec.DecodeContent(enc)
	if err != nil {
		return store.SendContent{}, fmt.Errorf("sqlite: content of send %d: %w", sendID, err)
	}
	return c, nil
}

// sendExists is nil when account has send id, ErrNotFound otherwise: the
// content tables are keyed by send alone, so the account scope is checked
// here.
func (t *txn) sendExists(ctx context.Context, accountID, id int64) error {
	var one int
	err := t.tx.QueryRowContext(t.ctx(ctx), `SELECT 1 FROM sends WHERE account_id = ? AND id = ?`, accountID, id).Scan(&one)
	return notFoundIfNoRow(err)
}

const esdColumns = `id, account_id, object_id, customer_key, name, description, email_id, email_subject,
	from_name, from_address, list_ids, send_classification, content, created_date, modified_date`

func scanESD(row scanner) (store.EmailSendDefinition, error) {
	var d store.EmailSendDefinition
	var lists, content string
	var created, modified sql.NullInt64
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

// InsertEmailSendDefinition stores d and sets d.ID. d.ObjectID is kept
// in its canonical spelling, as a send's is, so that a filter or a lookup
// by any spelling of the GUID finds it.
func (t *txn) InsertEmailSendDefinition(ctx context.Context, d *store.EmailSendDefinition) error {
	d.ObjectID = store.CanonicalObjectID(d.ObjectID)
	lists, err := sqlcodec.EncodeListIDs(d.ListIDs)
	if err != nil {
		return fmt.Errorf("sqlite: insert email send definition: %w", err)
	}
	content, err := sqlcodec.EncodeContent(d.Content)
	if err != nil {
		return fmt.Errorf("sqlite: insert email send definition: %w", err)
	}
	res, err := t.tx.ExecContext(t.ctx(ctx), `
INSERT INTO email_send_definitions (account_id, object_id, customer_key, name, description, email_id,
	email_subject, from_name, from_address, list_ids, send_classification, content, created_date, modified_date)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.AccountID, d.ObjectID, d.CustomerKey, d.Name, d.Description, d.EmailID, d.EmailSubject,
		d.FromName, d.FromAddress, lists, d.SendClassification, content, dbTime(d.CreatedDate), dbTime(d.ModifiedDate))
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("sqlite: insert email send definition: customer key %q in account %d: %w", d.CustomerKey, d.AccountID, store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("sqlite: insert email send definition: account %d: %w", d.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: insert email send definition: %w", err)
	}
	if d.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("sqlite: insert email send definition: %w", err)
	}
	return nil
}

// EmailSendDefinitionByKey finds one of account's definitions by the first
// key set in key.
func (t *txn) EmailSendDefinitionByKey(ctx context.Context, accountID int64, key store.SendKey) (store.EmailSendDefinition, error) {
	q := `SELECT ` + esdColumns + ` FROM email_send_definitions WHERE account_id = ? AND `
	var arg any
	switch {
	case key.ID != 0:
		q, arg = q+`id = ?`, key.ID
	case key.ObjectID != "":
		// Definitions stored before ObjectIDs were canonical on insert
		// keep the client's spelling: look for that too, preferring the
		// canonical row.
		q += `object_id IN (?, ?)`
		d, err := scanESD(t.tx.QueryRowContext(t.ctx(ctx), q+` ORDER BY object_id = ? DESC LIMIT 1`, accountID,
			store.CanonicalObjectID(key.ObjectID), key.ObjectID, store.CanonicalObjectID(key.ObjectID)))
		return d, esdByKeyErr(key, accountID, err)
	case key.CustomerKey != "":
		q, arg = q+`customer_key = ?`, key.CustomerKey
	default:
		return store.EmailSendDefinition{}, fmt.Errorf("sqlite: email send definition: no key given: %w", store.ErrNotFound)
	}
	d, err := scanESD(t.tx.QueryRowContext(t.ctx(ctx), q, accountID, arg))
	return d, esdByKeyErr(key, accountID, err)
}

// esdByKeyErr is the error EmailSendDefinitionByKey answers for err.
func esdByKeyErr(key store.SendKey, accountID int64, err error) error {
	if err != nil {
		return fmt.Errorf("sqlite: email send definition %+v of account %d: %w", key, accountID, notFoundIfNoRow(err))
	}
	return nil
}

// FindEmailSendDefinitions returns account's definitions that f matches,
// by ID, filtered by the SQL that filters sends (whereClauseOver).
func (t *txn) FindEmailSendDefinitions(ctx context.Context, accountID int64, f store.Filter) ([]store.EmailSendDefinition, error) {
	where, args, err := whereClauseOver(sqlfilter.DefinitionColumns, f)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find email send definitions: %w", err)
	}
	out, err := queryAll(t.ctx(ctx), t.tx, scanESD, `SELECT `+esdColumns+` FROM email_send_definitions WHERE account_id = ? AND (`+where+`) ORDER BY id`,
		append([]any{accountID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find email send definitions: %w", err)
	}
	return out, nil
}

// DeleteEmailSendDefinition deletes one of account's definitions by ID.
func (t *txn) DeleteEmailSendDefinition(ctx context.Context, accountID, id int64) error {
	res, err := t.tx.ExecContext(t.ctx(ctx), `DELETE FROM email_send_definitions WHERE account_id = ? AND id = ?`, accountID, id)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete email send definition %d of account %d: %w", id, accountID, err)
	}
	return nil
}
