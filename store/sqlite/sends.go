package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/mattn/go-sqlite3"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
)

const sendColumns = `id, account_id, object_id, customer_key, email_id, email_name, subject,
	from_name, from_address, list_ids, send_date, status, sent_date, number_sent,
	status_changed_at, created_date, modified_date, batch_id, discarded_at IS NOT NULL, origin, origin_id`

func scanSend(row scanner) (store.Send, error) {
	var s store.Send
	var listIDs string
	var sendDate, sentDate, changed, created, modified sql.NullInt64
	err := row.Scan(&s.ID, &s.AccountID, &s.ObjectID, &s.CustomerKey, &s.EmailID, &s.EmailName, &s.Subject,
		&s.FromName, &s.FromAddress, &listIDs, &sendDate, &s.Status, &sentDate, &s.NumberSent,
		&changed, &created, &modified, &s.BatchID, &s.Discarded, &s.Origin, &s.OriginID)
	if err != nil {
		return store.Send{}, err
	}
	if s.ListIDs, err = sqlcodec.DecodeListIDs(listIDs); err != nil {
		return store.Send{}, fmt.Errorf("send %d: list_ids: %w", s.ID, err)
	}
	if len(s.ListIDs) == 0 {
		s.ListIDs = nil // one spelling of "no lists", whatever was stored
	}
	s.SendDate, s.SentDate = goTime(sendDate), goTime(sentDate)
	s.StatusChangedAt, s.CreatedDate, s.ModifiedDate = goTime(changed), goTime(created), goTime(modified)
	return s, nil
}

// SendByKey finds one of account's sends by the first key set in key.
func (t *txn) SendByKey(ctx context.Context, accountID int64, key store.SendKey) (store.Send, error) {
	var q string
	var arg any
	switch {
	case key.ID != 0:
		q, arg = `SELECT `+sendColumns+` FROM sends WHERE account_id = ? AND id = ?`, key.ID
	case key.ObjectID != "":
		q, arg = `SELECT `+sendColumns+` FROM sends WHERE account_id = ? AND object_id = ? ORDER BY key_dup LIMIT 1`, store.CanonicalObjectID(key.ObjectID)
	case key.CustomerKey != "":
		q, arg = `SELECT `+sendColumns+` FROM sends WHERE account_id = ? AND customer_key = ?`, key.CustomerKey
	default:
		return store.Send{}, fmt.Errorf("sqlite: send by key: no key given: %w", store.ErrNotFound)
	}
	s, err := scanSend(t.tx.QueryRowContext(t.ctx(ctx), q, accountID, arg))
	if err != nil {
		return store.Send{}, fmt.Errorf("sqlite: send %+v of account %d: %w", key, accountID, notFoundIfNoRow(err))
	}
	return s, nil
}

// InsertSend stores s and sets s.ID. A non-zero s.ID is used as given
// (imports, fixtures); AUTOINCREMENT then carries on above it. s.ObjectID
// is stored, and left in s, in its canonical spelling. ErrExists if that
// ID, that ObjectID or s.CustomerKey is taken (the unique indexes decide,
// so two inserts racing for one key cannot both succeed).
func (t *txn) InsertSend(ctx context.Context, s *store.Send) error {
	lists, err := sqlcodec.EncodeListIDs(s.ListIDs)
	if err != nil {
		return fmt.Errorf("sqlite: insert send: %w", err)
	}
	if err := sqlcodec.CheckSendDates(*s); err != nil {
		return fmt.Errorf("sqlite: insert send: %w", err)
	}
	if s.ObjectID == "" {
		// Every Send has an ObjectID, and no two share one.
		s.ObjectID = uuid.NewString()
	}
	s.ObjectID = store.CanonicalObjectID(s.ObjectID)
	// A non-zero s.ID is kept (imports, fixtures); zero lets SQLite assign.
	var presetID any
	if s.ID != 0 {
		if !fitsXSDInt(s.ID) {
			return fmt.Errorf("sqlite: insert send: ID %d is not a positive xsd:int", s.ID)
		}
		presetID = s.ID
	}
	batchID, err := t.batchForSend(ctx, *s)
	if err != nil {
		return fmt.Errorf("sqlite: insert send: %w", err)
	}
	res, err := t.tx.ExecContext(t.ctx(ctx), `
INSERT INTO sends (id, account_id, object_id, customer_key, email_id, email_name, subject,
	from_name, from_address, list_ids, send_date, status, sent_date, number_sent,
	status_changed_at, created_date, modified_date, batch_id, origin, origin_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		presetID, s.AccountID, s.ObjectID, s.CustomerKey, s.EmailID, s.EmailName, s.Subject,
		s.FromName, s.FromAddress, lists, dbTime(s.SendDate), s.Status, dbTime(s.SentDate), s.NumberSent,
		dbTime(s.StatusChangedAt), dbTime(s.CreatedDate), dbTime(s.ModifiedDate), batchID, string(s.Origin), s.OriginID)
	switch {
	case sqliteCode(err) == sqlite3.ErrConstraintPrimaryKey:
		return fmt.Errorf("sqlite: insert send: ID %d: %w", s.ID, store.ErrExists)
	case isUniqueViolation(err) && strings.Contains(err.Error(), "object_id"):
		return fmt.Errorf("sqlite: insert send: ObjectID %q in account %d: %w", s.ObjectID, s.AccountID, store.ErrExists)
	case isUniqueViolation(err):
		return fmt.Errorf("sqlite: insert send: customer key %q in account %d: %w", s.CustomerKey, s.AccountID, store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("sqlite: insert send: account %d: %w", s.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: insert send: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("sqlite: insert send: %w", err)
	}
	// Clients hold send IDs as xsd:int. Failing here makes the caller's
	// Update roll the insert back instead of handing out an ID they would
	// overflow on.
	if !fitsXSDInt(id) {
		return fmt.Errorf("sqlite: insert send: ID %d does not fit in an xsd:int", id)
	}
	// The batch is written after the send, so that a send refused
	// (a key taken) leaves no batch behind in a transaction that goes on.
	named := s.BatchID
	s.ID, s.BatchID, s.Discarded = id, batchID, false
	if err := t.addToBatch(ctx, *s, named == ""); err != nil {
		s.ID, s.BatchID = 0, named
		return fmt.Errorf("sqlite: insert send: %w", err)
	}
	return nil
}

// fitsXSDInt is true for an ID a SOAP client can hold.
func fitsXSDInt(id int64) bool { return id > 0 && id <= math.MaxInt32 }

// UpdateSendFrom rewrites the mutable fields of send s.ID of s.AccountID
// while the send is still in status from (compare-and-set: a send another
// writer moved on is ErrConflict). The status is compared in the UPDATE
// itself, so nothing can come between the check and the write. A
// discarded send is out of the queue for good: it is never moved again
// (ErrConflict). The keys (ObjectID, CustomerKey), the batch, the account
// and CreatedDate never change.
func (t *txn) UpdateSendFrom(ctx context.Context, s store.Send, from store.SendStatus) error {
	if from == "" {
		return fmt.Errorf("sqlite: update send %d: no status to compare with", s.ID)
	}
	lists, err := sqlcodec.EncodeListIDs(s.ListIDs)
	if err != nil {
		return fmt.Errorf("sqlite: update send %d: %w", s.ID, err)
	}
	if err := sqlcodec.CheckSendDates(s); err != nil {
		return fmt.Errorf("sqlite: update send %d: %w", s.ID, err)
	}
	res, err := t.tx.ExecContext(t.ctx(ctx), `
UPDATE sends SET email_id = ?, email_name = ?, subject = ?, from_name = ?, from_address = ?,
	list_ids = ?, send_date = ?, status = ?, sent_date = ?, number_sent = ?,
	status_changed_at = ?, modified_date = ?
WHERE account_id = ? AND id = ? AND status = ? AND discarded_at IS NULL`,
		s.EmailID, s.EmailName, s.Subject, s.FromName, s.FromAddress,
		lists, dbTime(s.SendDate), s.Status, dbTime(s.SentDate), s.NumberSent,
		dbTime(s.StatusChangedAt), dbTime(s.ModifiedDate),
		s.AccountID, s.ID, from)
	if err == nil {
		err = mustAffect(res)
	}
	if errors.Is(err, store.ErrNotFound) {
		// No row: either no such send, or it left status from.
		var n int
		if qerr := t.tx.QueryRowContext(t.ctx(ctx), `SELECT count(*) FROM sends WHERE account_id = ? AND id = ?`,
			s.AccountID, s.ID).Scan(&n); qerr != nil {
			err = qerr
		} else if n > 0 {
			err = fmt.Errorf("it is no longer %s: %w", from, store.ErrConflict)
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite: update send %d of account %d: %w", s.ID, s.AccountID, err)
	}
	return nil
}

// FindSends returns account's sends matching q, by ID.
func (t *txn) FindSends(ctx context.Context, accountID int64, q store.SendQuery) ([]store.Send, error) {
	if q.Limit < 0 {
		return nil, fmt.Errorf("sqlite: find sends: negative limit %d", q.Limit)
	}
	where, args, err := whereClause(q.Filter)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find sends: %w", err)
	}
	// The filter goes last and parenthesized, so an Or in it cannot
	// escape the account scope.
	scope := `account_id = ?`
	if byIDs(q.Filter) {
		// A lookup of given IDs (a batch of Definitions by ID): "+"
		// keeps SQLite from planning it on the (account_id, id) index,
		// which costs an index descent and then a table descent per ID,
		// so that it reads each row straight by its rowid instead.
		scope = `+account_id = ?`
	}
	query := `SELECT ` + sendColumns + ` FROM sends WHERE ` + scope + ` AND id > ? AND (` + where + `) ORDER BY id`
	args = append([]any{accountID, q.AfterID}, args...)
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	sends, err := queryAll(t.ctx(ctx), t.tx, scanSend, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find sends: %w", err)
	}
	return sends, nil
}

// byIDs reports whether f selects sends by ID equality or an ID list only.
func byIDs(f store.Filter) bool {
	c, ok := f.(*store.Cond)
	return ok && c.Field == store.FieldID && (c.Op == store.OpIn || c.Op == store.OpEquals)
}

const countHeldSends = `
SELECT (SELECT count(*) FROM sends WHERE account_id = ? AND status = 'Paused')
     + (SELECT count(*) FROM sends WHERE account_id = ? AND status = 'Canceled' AND discarded_at IS NULL AND send_date > ?)`

// CountHeldSends counts account's sends that are Paused, or Canceled and
// still waiting in the queue for their SendDate.
func (t *txn) CountHeldSends(ctx context.Context, accountID int64, now time.Time) (int, error) {
	var n int
	// Two counts, each on its partial index (sends_paused,
	// sends_canceled_held): SQLite uses a partial index only for a query
	// that spells out its WHERE, literals and all.
	err := t.tx.QueryRowContext(t.ctx(ctx), countHeldSends, accountID, accountID, now.UnixMicro()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count held sends of account %d: %w", accountID, err)
	}
	return n, nil
}
