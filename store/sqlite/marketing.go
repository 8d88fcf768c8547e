package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/partnerd/partnerd/store"
)

// Lists, campaigns and Single Sends (store.MarketingTx), over the tables
// of migration 11.

// InsertList stores l with its recipients and sets l.ID.
func (t *txn) InsertList(ctx context.Context, l *store.MarketingList) error {
	recipients := l.Recipients
	if recipients == nil {
		recipients = []store.ListRecipient{}
	}
	enc, err := json.Marshal(recipients)
	if err != nil {
		return fmt.Errorf("sqlite: insert list: %w", err)
	}
	res, err := t.tx.ExecContext(t.ctx(ctx), `
INSERT INTO marketing_lists (account_id, uuid, name, created, recipient_count, recipients)
VALUES (?, ?, ?, ?, ?, ?)`, l.AccountID, l.UUID, l.Name, dbTime(l.Created), len(l.Recipients), string(enc))
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("sqlite: insert list %q in account %d: %w", l.Name, l.AccountID, store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("sqlite: insert list: account %d: %w", l.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: insert list: %w", err)
	}
	if l.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("sqlite: insert list: %w", err)
	}
	l.RecipientCount = len(l.Recipients)
	return nil
}

// ListByKey finds one of account's lists, with its recipients.
func (t *txn) ListByKey(ctx context.Context, accountID int64, k store.ListKey) (store.MarketingList, error) {
	q := `SELECT id, account_id, uuid, name, created, recipient_count, recipients FROM marketing_lists WHERE account_id = ? AND `
	var arg any
	switch {
	case k.ID != 0:
		q, arg = q+`id = ?`, k.ID
	case k.UUID != "":
		q, arg = q+`uuid = ?`, k.UUID
	case k.Name != "":
		q, arg = q+`name = ?`, k.Name
	default:
		return store.MarketingList{}, fmt.Errorf("sqlite: list: no key given: %w", store.ErrNotFound)
	}
	var l store.MarketingList
	var created sql.NullInt64
	var enc string
	err := t.tx.QueryRowContext(t.ctx(ctx), q, accountID, arg).Scan(&l.ID, &l.AccountID, &l.UUID, &l.Name, &created, &l.RecipientCount, &enc)
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("sqlite: list %+v of account %d: %w", k, accountID, store.ErrNotFound)
	}
	if err != nil {
		return l, fmt.Errorf("sqlite: list %+v of account %d: %w", k, accountID, err)
	}
	if err := json.Unmarshal([]byte(enc), &l.Recipients); err != nil {
		return l, fmt.Errorf("sqlite: list %d: recipients: %w", l.ID, err)
	}
	if len(l.Recipients) == 0 {
		l.Recipients = nil
	}
	l.Created = goTime(created)
	return l, nil
}

// FindLists returns account's lists by ID, without their recipients.
func (t *txn) FindLists(ctx context.Context, accountID int64) ([]store.MarketingList, error) {
	out, err := queryAll(t.ctx(ctx), t.tx, func(row scanner) (store.MarketingList, error) {
		var l store.MarketingList
		var created sql.NullInt64
		err := row.Scan(&l.ID, &l.AccountID, &l.UUID, &l.Name, &created, &l.RecipientCount)
		l.Created = goTime(created)
		return l, err
	}, `
SELECT id, account_id, uuid, name, created, recipient_count FROM marketing_lists WHERE account_id = ? ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find lists: %w", err)
	}
	return out, nil
}

// scheduled is what campaigns and single_sends rows have in common beyond
// their key.
type scheduled struct {
	state   string
	sendAt  sql.NullInt64
	token   string
	version int64
	created sql.NullInt64
	updated sql.NullInt64
	fields  string
}

const campaignColumns = `id, account_id, state, send_at, schedule_token, version, created, updated, fields`

func scanCampaign(row scanner) (store.Campaign, error) {
	var c store.Campaign
	var r scheduled
	if err := row.Scan(&c.ID, &c.AccountID, &r.state, &r.sendAt, &r.token, &r.version, &r.created, &r.updated, &r.fields); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(r.fields), &c.CampaignFields); err != nil {
		return c, fmt.Errorf("campaign %d: fields: %w", c.ID, err)
	}
	c.State, c.SendAt, c.ScheduleToken, c.Version = store.ScheduleState(r.state), goTime(r.sendAt), r.token, r.version
	c.Created, c.Updated = goTime(r.created), goTime(r.updated)
	return c, nil
}

// InsertCampaign stores c and sets c.ID and c.Version.
func (t *txn) InsertCampaign(ctx context.Context, c *store.Campaign) error {
	fields, err := json.Marshal(c.CampaignFields)
	if err != nil {
		return fmt.Errorf("sqlite: insert campaign: %w", err)
	}
	res, err := t.tx.ExecContext(t.ctx(ctx), `
INSERT INTO campaigns (account_id, state, send_at, schedule_token, version, created, updated, fields)
VALUES (?, ?, ?, ?, 1, ?, ?, ?)`, c.AccountID, c.State, dbTime(c.SendAt), c.ScheduleToken,
		dbTime(c.Created), dbTime(c.Updated), string(fields))
	switch {
	case isForeignKeyViolation(err):
		return fmt.Errorf("sqlite: insert campaign: account %d: %w", c.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: insert campaign: %w", err)
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("sqlite: insert campaign: %w", err)
	}
	c.Version = 1
	return nil
}

// CampaignByID finds one of account's campaigns.
func (t *txn) CampaignByID(ctx context.Context, accountID, id int64) (store.Campaign, error) {
	c, err := scanCampaign(t.tx.QueryRowContext(t.ctx(ctx),
		`SELECT `+campaignColumns+` FROM campaigns WHERE account_id = ? AND id = ?`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("sqlite: campaign %d of account %d: %w", id, accountID, store.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("sqlite: campaign %d of account %d: %w", id, accountID, err)
	}
	return c, nil
}

// FindCampaigns returns account's campaigns, newest first.
func (t *txn) FindCampaigns(ctx context.Context, accountID int64, limit, offset int) ([]store.Campaign, error) {
	out, err := queryAll(t.ctx(ctx), t.tx, scanCampaign, `SELECT `+campaignColumns+` FROM campaigns
WHERE account_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`, accountID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find campaigns: %w", err)
	}
	return out, nil
}

// UpdateCampaign rewrites c while its version is still c.Version.
func (t *txn) UpdateCampaign(ctx context.Context, c *store.Campaign) error {
	fields, err := json.Marshal(c.CampaignFields)
	if err != nil {
		return fmt.Errorf("sqlite: update campaign %d: %w", c.ID, err)
	}
	res, err := t.tx.ExecContext(t.ctx(ctx), `
UPDATE campaigns SET state = ?, send_at = ?, schedule_token = ?, updated = ?, fields = ?, version = version + 1
WHERE account_id = ? AND id = ? AND version = ?`,
		c.State, dbTime(c.SendAt), c.ScheduleToken, dbTime(c.Updated), string(fields), c.AccountID, c.ID, c.Version)
	if err = t.casOutcome(ctx, res, err, `SELECT count(*) FROM campaigns WHERE account_id = ? AND id = ?`, c.AccountID, c.ID); err != nil {
		return fmt.Errorf("sqlite: update campaign %d of account %d: %w", c.ID, c.AccountID, err)
	}
	c.Version++
	return nil
}

// casOutcome turns the result of a compare-and-set UPDATE into nil,
// ErrConflict (the row exists, as exists counts it, but moved on) or
// ErrNotFound.
func (t *txn) casOutcome(ctx context.Context, res sql.Result, err error, exists string, args ...any) error {
	if err == nil {
		err = mustAffect(res)
	}
	if errors.Is(err, store.ErrNotFound) {
		var n int
		if qerr := t.tx.QueryRowContext(t.ctx(ctx), exists, args...).Scan(&n); qerr != nil {
			return qerr
		}
		if n > 0 {
			return fmt.Errorf("it changed since it was read: %w", store.ErrConflict)
		}
	}
	return err
}

// DeleteCampaign deletes one of account's campaigns.
func (t *txn) DeleteCampaign(ctx context.Context, accountID, id int64) error {
	res, err := t.tx.ExecContext(t.ctx(ctx), `DELETE FROM campaigns WHERE account_id = ? AND id = ?`, accountID, id)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete campaign %d of account %d: %w", id, accountID, err)
	}
	return nil
}

const singleSendColumns = `seq, id, account_id, state, send_at, schedule_token, version, created, updated, fields`

func scanSingleSend(row scanner) (store.SingleSend, error) {
	var s store.SingleSend
	var r scheduled
	if err := row.Scan(&s.Seq, &s.ID, &s.AccountID, &r.state, &r.sendAt, &r.token, &r.version, &r.created, &r.updated, &r.fields); err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(r.fields), &s.SingleSendFields); err != nil {
		return s, fmt.Errorf("single send %s: fields: %w", s.ID, err)
	}
	s.State, s.SendAt, s.ScheduleToken, s.Version = store.ScheduleState(r.state), goTime(r.sendAt), r.token, r.version
	s.Created, s.Updated = goTime(r.created), goTime(r.updated)
	return s, nil
}

// InsertSingleSend stores s and sets s.Seq and s.Version.
func (t *txn) InsertSingleSend(ctx context.Context, s *store.SingleSend) error {
	fields, err := json.Marshal(s.SingleSendFields)
	if err != nil {
		return fmt.Errorf("sqlite: insert single send: %w", err)
	}
	res, err := t.tx.ExecContext(t.ctx(ctx), `
INSERT INTO single_sends (id, account_id, state, send_at, schedule_token, version, created, updated, fields)
VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`, s.ID, s.AccountID, s.State, dbTime(s.SendAt), s.ScheduleToken,
		dbTime(s.Created), dbTime(s.Updated), string(fields))
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("sqlite: insert single send %s: %w", s.ID, store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("sqlite: insert single send: account %d: %w", s.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: insert single send: %w", err)
	}
	if s.Seq, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("sqlite: insert single send: %w", err)
	}
	s.Version = 1
	return nil
}

// SingleSendByID finds one of account's Single Sends.
func (t *txn) SingleSendByID(ctx context.Context, accountID int64, id string) (store.SingleSend, error) {
	s, err := scanSingleSend(t.tx.QueryRowContext(t.ctx(ctx),
		`SELECT `+singleSendColumns+` FROM single_sends WHERE account_id = ? AND id = ?`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("sqlite: single send %s of account %d: %w", id, accountID, store.ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("sqlite: single send %s of account %d: %w", id, accountID, err)
	}
	return s, nil
}

// FindSingleSends returns account's Single Sends after afterSeq, in
// creation order.
func (t *txn) FindSingleSends(ctx context.Context, accountID int64, afterSeq int64, limit int) ([]store.SingleSend, error) {
	out, err := queryAll(t.ctx(ctx), t.tx, scanSingleSend, `SELECT `+singleSendColumns+` FROM single_sends
WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?`, accountID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find single sends: %w", err)
	}
	return out, nil
}

// UpdateSingleSend rewrites s while its version is still s.Version.
func (t *txn) UpdateSingleSend(ctx context.Context, s *store.SingleSend) error {
	fields, err := json.Marshal(s.SingleSendFields)
	if err != nil {
		return fmt.Errorf("sqlite: update single send %s: %w", s.ID, err)
	}
	res, err := t.tx.ExecContext(t.ctx(ctx), `
UPDATE single_sends SET state = ?, send_at = ?, schedule_token = ?, updated = ?, fields = ?, version = version + 1
WHERE account_id = ? AND id = ? AND version = ?`,
		s.State, dbTime(s.SendAt), s.ScheduleToken, dbTime(s.Updated), string(fields), s.AccountID, s.ID, s.Version)
	if err = t.casOutcome(ctx, res, err, `SELECT count(*) FROM single_sends WHERE account_id = ? AND id = ?`, s.AccountID, s.ID); err != nil {
		return fmt.Errorf("sqlite: update single send %s of account %d: %w", s.ID, s.AccountID, err)
	}
	s.Version++
	return nil
}

// DeleteSingleSend deletes one of account's Single Sends.
func (t *txn) DeleteSingleSend(ctx context.Context, accountID int64, id string) error {
	res, err := t.tx.ExecContext(t.ctx(ctx), `DELETE FROM single_sends WHERE account_id = ? AND id = ?`, accountID, id)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete single send %s of account %d: %w", id, accountID, err)
	}
	return nil
}

// DiscardSendFrom cancels and discards send sendID while it is still in
// status from. The status is compared in the UPDATE itself, so a
// dispatcher's claim cannot come between the check and the write.
func (t *txn) DiscardSendFrom(ctx context.Context, accountID, sendID int64, from store.SendStatus, now time.Time) error {
	at := now.UnixMicro()
	res, err := t.tx.ExecContext(t.ctx(ctx), `
UPDATE sends SET status = 'Canceled', discarded_at = ?, status_changed_at = ?, modified_date = ?
WHERE account_id = ? AND id = ? AND status = ?`, at, at, at, accountID, sendID, from)
	if err = t.casOutcome(ctx, res, err, `SELECT count(*) FROM sends WHERE account_id = ? AND id = ?`, accountID, sendID); err != nil {
		return fmt.Errorf("sqlite: discard send %d of account %d: %w", sendID, accountID, err)
	}
	return nil
}
