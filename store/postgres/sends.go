package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
	"github.com/partnerd/partnerd/store/internal/sqlfilter"
)

const sendColumns = `id, account_id, object_id, customer_key, email_id, email_name, subject,
	from_name, from_address, list_ids, send_date, status, sent_date, number_sent,
	status_changed_at, created_date, modified_date, batch_id, discarded_at IS NOT NULL, origin, origin_id`

func scanSend(row pgx.Row) (store.Send, error) {
	s, _, err := scanSendWith(row)
	return s, err
}

// scanSendWith reads a send's columns, then extra columns into extra.
func scanSendWith(row pgx.Row, extra ...any) (store.Send, []any, error) {
	var s store.Send
	var listIDs string
	var status, origin string
	var sendDate, sentDate, changed, created, modified *int64
	dest := append([]any{&s.ID, &s.AccountID, &s.ObjectID, &s.CustomerKey, &s.EmailID, &s.EmailName, &s.Subject,
		&s.FromName, &s.FromAddress, &listIDs, &sendDate, &status, &sentDate, &s.NumberSent,
		&changed, &created, &modified, &s.BatchID, &s.Discarded, &origin, &s.OriginID}, extra...)
	if err := row.Scan(dest...); err != nil {
		return store.Send{}, nil, err
	}
	s.Status, s.Origin = store.SendStatus(status), store.Origin(origin)
	var err error
	if s.ListIDs, err = sqlcodec.DecodeListIDs(listIDs); err != nil {
		return store.Send{}, nil, fmt.Errorf("send %d: list_ids: %w", s.ID, err)
	}
	if len(s.ListIDs) == 0 {
		s.ListIDs = nil // one spelling of "no lists", whatever was stored
	}
	s.SendDate, s.SentDate = goTime(sendDate), goTime(sentDate)
	s.StatusChangedAt, s.CreatedDate, s.ModifiedDate = goTime(changed), goTime(created), goTime(modified)
	return s, extra, nil
}

// SendByKey finds one of account's sends by the first key set in key.
func (t *txn) SendByKey(ctx context.Context, accountID int64, key store.SendKey) (store.Send, error) {
	var q string
	var arg any
	switch {
	case key.ID != 0:
		q, arg = `SELECT `+sendColumns+` FROM sends WHERE account_id = $1 AND id = $2`, key.ID
	case key.ObjectID != "":
		q, arg = `SELECT `+sendColumns+` FROM sends WHERE account_id = $1 AND object_id = $2 ORDER BY key_dup LIMIT 1`, store.CanonicalObjectID(key.ObjectID)
	case key.CustomerKey != "":
		q, arg = `SELECT `+sendColumns+` FROM sends WHERE account_id = $1 AND customer_key = $2`, key.CustomerKey
	default:
		return store.Send{}, fmt.Errorf("postgres: send by key: no key given: %w", store.ErrNotFound)
	}
	s, err := scanSend(t.queryRow(ctx, q, accountID, arg))
	if err != nil {
		return store.Send{}, fmt.Errorf("postgres: send %+v of account %d: %w", key, accountID, notFoundIfNoRow(err))
	}
	t.sawSend(s)
	return s, nil
}

// InsertSend stores s and sets s.ID. A non-zero s.ID is used as given
// (imports, fixtures), and the identity then carries on above it. ErrExists
// if that ID, that ObjectID or s.CustomerKey is taken; the transaction goes
// on (a savepoint).
func (t *txn) InsertSend(ctx context.Context, s *store.Send) error {
	lists, err := sqlcodec.EncodeListIDs(s.ListIDs)
	if err != nil {
		return fmt.Errorf("postgres: insert send: %w", err)
	}
	if err := sqlcodec.CheckSendDates(*s); err != nil {
		return fmt.Errorf("postgres: insert send: %w", err)
	}
	if s.ObjectID == "" {
		s.ObjectID = uuid.NewString()
	}
	s.ObjectID = store.CanonicalObjectID(s.ObjectID)
	if s.ID != 0 && !fitsXSDInt(s.ID) {
		return fmt.Errorf("postgres: insert send: ID %d is not a positive xsd:int", s.ID)
	}
	batchID, err := t.batchForSend(ctx, *s)
	if err != nil {
		return fmt.Errorf("postgres: insert send: %w", err)
	}
	var id int64
	err = t.guarded(ctx, func() error {
		const cols = `account_id, object_id, customer_key, email_id, email_name, subject,
	from_name, from_address, list_ids, send_date, status, sent_date, number_sent,
	status_changed_at, created_date, modified_date, batch_id, origin, origin_id`
		args := []any{s.AccountID, s.ObjectID, s.CustomerKey, s.EmailID, s.EmailName, s.Subject,
			s.FromName, s.FromAddress, lists, dbTime(s.SendDate), string(s.Status), dbTime(s.SentDate), s.NumberSent,
			dbTime(s.StatusChangedAt), dbTime(s.CreatedDate), dbTime(s.ModifiedDate), batchID, string(s.Origin), s.OriginID}
		if s.ID != 0 {
			if err := t.queryRow(ctx, `INSERT INTO sends (id, `+cols+`)
VALUES ($20, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING id`,
				append(args, s.ID)...).Scan(&id); err != nil {
				return err
			}
			// A preset ID moves the identity past it, as SQLite's
			// AUTOINCREMENT does: a later insert never meets it.
			_, err := t.exec(ctx, `
SELECT setval(seq, $1) FROM pg_get_serial_sequence('sends', 'id') AS seq
WHERE $1 > coalesce(pg_sequence_last_value(seq::regclass), 0)`, id)
			return err
		}
		if err := t.queryRow(ctx, `INSERT INTO sends (`+cols+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING id`, args...).Scan(&id); err != nil {
			return err
		}
		// Clients hold send IDs as xsd:int: failing here makes the
		// caller's Update roll the insert back.
		if !fitsXSDInt(id) {
			return fmt.Errorf("ID %d does not fit in an xsd:int", id)
		}
		return nil
	})
	switch {
	case isUniqueViolation(err) && constraint(err) == "sends_pkey":
		return fmt.Errorf("postgres: insert send: ID %d: %w", s.ID, store.ErrExists)
	case isUniqueViolation(err) && strings.Contains(constraint(err), "object_id"):
		return fmt.Errorf("postgres: insert send: ObjectID %q in account %d: %w", s.ObjectID, s.AccountID, store.ErrExists)
	case isUniqueViolation(err):
		return fmt.Errorf("postgres: insert send: customer key %q in account %d: %w", s.CustomerKey, s.AccountID, store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("postgres: insert send: account %d: %w", s.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: insert send: %w", err)
	}
	named := s.BatchID
	s.ID, s.BatchID, s.Discarded = id, batchID, false
	if err := t.addToBatch(ctx, *s, named == ""); err != nil {
		s.ID, s.BatchID = 0, named
		return fmt.Errorf("postgres: insert send: %w", err)
	}
	return nil
}

// fitsXSDInt is true for an ID a SOAP client can hold.
func fitsXSDInt(id int64) bool { return id > 0 && id <= math.MaxInt32 }

// UpdateSendFrom rewrites the mutable fields of send s.ID of s.AccountID
// while the send is still in status from and not discarded
// (compare-and-set: ErrConflict when it moved).
func (t *txn) UpdateSendFrom(ctx context.Context, s store.Send, from store.SendStatus) error {
	if from == "" {
		return fmt.Errorf("postgres: update send %d: no status to compare with", s.ID)
	}
	lists, err := sqlcodec.EncodeListIDs(s.ListIDs)
	if err != nil {
		return fmt.Errorf("postgres: update send %d: %w", s.ID, err)
	}
	if err := sqlcodec.CheckSendDates(s); err != nil {
		return fmt.Errorf("postgres: update send %d: %w", s.ID, err)
	}
	const update = `
UPDATE sends SET email_id = $1, email_name = $2, subject = $3, from_name = $4, from_address = $5,
	list_ids = $6, send_date = $7, status = $8, sent_date = $9, number_sent = $10,
	status_changed_at = $11, modified_date = $12
WHERE account_id = $13 AND id = $14 AND status = $15 AND discarded_at IS NULL`
	args := []any{s.EmailID, s.EmailName, s.Subject, s.FromName, s.FromAddress,
		lists, dbTime(s.SendDate), string(s.Status), dbTime(s.SentDate), s.NumberSent,
		dbTime(s.StatusChangedAt), dbTime(s.ModifiedDate),
		s.AccountID, s.ID, string(from)}
	// A send this transaction read in status from, and has not changed
	// since, is still so: its snapshot holds, and a concurrent change
	// fails the UPDATE with a serialization failure, not a miss. So the
	// write may go with the next statement; a miss all the same divides
	// by zero, which loses the group rather than pass the COMMIT.
	if t.readAs(s.AccountID, s.ID, from) && t.deferExec(`WITH w AS (`+update+`
RETURNING 1) SELECT 1 / count(*) FROM w`, args...) {
		t.sawSend(s)
		return nil
	}
	err = mustAffect(t.exec(ctx, update, args...))
	if err == nil {
		t.sawSend(s)
	}
	if errors.Is(err, store.ErrNotFound) {
		err = t.conflictIfExists(ctx, err, fmt.Sprintf("it is no longer %s", from),
			`SELECT count(*) FROM sends WHERE account_id = $1 AND id = $2`, s.AccountID, s.ID)
	}
	if err != nil {
		return fmt.Errorf("postgres: update send %d of account %d: %w", s.ID, s.AccountID, err)
	}
	return nil
}

// conflictIfExists turns the ErrNotFound of a compare-and-set that matched
// no row into ErrConflict (saying why) when the row exists, as exists
// counts it.
func (t *txn) conflictIfExists(ctx context.Context, notFound error, why, exists string, args ...any) error {
	var n int
	if err := t.queryRow(ctx, exists, args...).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%s: %w", why, store.ErrConflict)
	}
	return notFound
}

// FindSends returns account's sends matching q, by ID.
func (t *txn) FindSends(ctx context.Context, accountID int64, q store.SendQuery) ([]store.Send, error) {
	if q.Limit < 0 {
		return nil, fmt.Errorf("postgres: find sends: negative limit %d", q.Limit)
	}
	w := newWhere(sqlfilter.SendColumns, accountID, q.AfterID)
	if err := w.Filter(q.Filter); err != nil {
		return nil, fmt.Errorf("postgres: find sends: %w", err)
	}
	// The filter goes last and parenthesized, so an Or in it cannot
	// escape the account scope.
	query := `SELECT ` + sendColumns + ` FROM sends WHERE account_id = $1 AND id > $2 AND (` + w.SQL() + `) ORDER BY id`
	if q.Limit > 0 {
		query += ` LIMIT ` + w.Arg(q.Limit)
	}
	sends, err := txQueryAll(ctx, t, scanSend, query, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("postgres: find sends: %w", err)
	}
	return sends, nil
}

// CountHeldSends counts account's sends that are Paused, or Canceled and
// still waiting in the queue for their SendDate.
func (t *txn) CountHeldSends(ctx context.Context, accountID int64, now time.Time) (int, error) {
	var n int
	err := t.queryRow(ctx, `
SELECT (SELECT count(*) FROM sends WHERE account_id = $1 AND status = 'Paused')
     + (SELECT count(*) FROM sends WHERE account_id = $1 AND status = 'Canceled' AND discarded_at IS NULL AND send_date > $2)`,
		accountID, now.UnixMicro()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: count held sends of account %d: %w", accountID, err)
	}
	return n, nil
}
