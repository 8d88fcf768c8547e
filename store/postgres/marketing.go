package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
)

// Lists, campaigns and Single Sends (store.MarketingTx), as in store/sqlite.

// InsertList stores l with its recipients and sets l.ID.
func (t *txn) InsertList(ctx context.Context, l *store.MarketingList) error {
	recipients := l.Recipients
	if recipients == nil {
		recipients = []store.ListRecipient{}
	}
	enc, err := json.Marshal(recipients)
	if err != nil {
		return fmt.Errorf("postgres: insert list: %w", err)
	}
	var id int64
	err = t.guarded(ctx, func() error {
		return t.queryRow(ctx, `
INSERT INTO marketing_lists (account_id, uuid, name, created, recipient_count, recipients)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, l.AccountID, l.UUID, l.Name, dbTime(l.Created), len(l.Recipients), string(enc)).Scan(&id)
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("postgres: insert list %q in account %d: %w", l.Name, l.AccountID, store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("postgres: insert list: account %d: %w", l.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: insert list: %w", err)
	}
	l.ID = id
	l.RecipientCount = len(l.Recipients)
	return nil
}

// ListByKey finds one of account's lists, with its recipients.
func (t *txn) ListByKey(ctx context.Context, accountID int64, k store.ListKey) (store.MarketingList, error) {
	q := `SELECT id, account_id, uuid, name, created, recipient_count, recipients FROM marketing_lists WHERE account_id = $1 AND `
	var arg any
	switch {
	case k.ID != 0:
		q, arg = q+`id = $2`, k.ID
	case k.UUID != "":
		q, arg = q+`uuid = $2`, k.UUID
	case k.Name != "":
		q, arg = q+`name = $2`, k.Name
	default:
		return store.MarketingList{}, fmt.Errorf("postgres: list: no key given: %w", store.ErrNotFound)
	}
	var l store.MarketingList
	var created *int64
	var enc string
	err := t.queryRow(ctx, q, accountID, arg).Scan(&l.ID, &l.AccountID, &l.UUID, &l.Name, &created, &l.RecipientCount, &enc)
	if err != nil {
		return l, fmt.Errorf("postgres: list %+v of account %d: %w", k, accountID, notFoundIfNoRow(err))
	}
	if err := json.Unmarshal([]byte(enc), &l.Recipients); err != nil {
		return l, fmt.Errorf("postgres: list %d: recipients: %w", l.ID, err)
	}
	if len(l.Recipients) == 0 {
		l.Recipients = nil
	}
	l.Created = goTime(created)
	return l, nil
}

// FindLists returns account's lists by ID, without their recipients.
func (t *txn) FindLists(ctx context.Context, accountID int64) ([]store.MarketingList, error) {
	out, err := txQueryAll(ctx, t, func(row pgx.Row) (store.MarketingList, error) {
		var l store.MarketingList
		var created *int64
		err := row.Scan(&l.ID, &l.AccountID, &l.UUID, &l.Name, &created, &l.RecipientCount)
		l.Created = goTime(created)
		return l, err
	}, `
SELECT id, account_id, uuid, name, created, recipient_count FROM marketing_lists WHERE account_id = $1 ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: find lists: %w", err)
	}
	return out, nil
}

// scheduled is what campaigns and single_sends rows have in common.
type scheduled struct {
	state   string
	sendAt  *int64
	token   string
	version int64
	created *int64
	updated *int64
	fields  string
}

const campaignColumns = `id, account_id, state, send_at, schedule_token, version, created, updated, fields`

func scanCampaign(row pgx.Row) (store.Campaign, error) {
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
		return fmt.Errorf("postgres: insert campaign: %w", err)
	}
	var id int64
	err = t.guarded(ctx, func() error {
		return t.queryRow(ctx, `
INSERT INTO campaigns (account_id, state, send_at, schedule_token, version, created, updated, fields)
VALUES ($1, $2, $3, $4, 1, $5, $6, $7) RETURNING id`, c.AccountID, string(c.State), dbTime(c.SendAt), c.ScheduleToken,
			dbTime(c.Created), dbTime(c.Updated), string(fields)).Scan(&id)
	})
	switch {
	case isForeignKeyViolation(err):
		return fmt.Errorf("postgres: insert campaign: account %d: %w", c.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: insert campaign: %w", err)
	}
	c.ID, c.Version = id, 1
	return nil
}

// CampaignByID finds one of account's campaigns.
func (t *txn) CampaignByID(ctx context.Context, accountID, id int64) (store.Campaign, error) {
	c, err := scanCampaign(t.queryRow(ctx,
		`SELECT `+campaignColumns+` FROM campaigns WHERE account_id = $1 AND id = $2`, accountID, id))
	if err != nil {
		return c, fmt.Errorf("postgres: campaign %d of account %d: %w", id, accountID, notFoundIfNoRow(err))
	}
	return c, nil
}

// FindCampaigns returns account's campaigns, newest first.
func (t *txn) FindCampaigns(ctx context.Context, accountID int64, limit, offset int) ([]store.Campaign, error) {
	out, err := txQueryAll(ctx, t, scanCampaign, `SELECT `+campaignColumns+` FROM campaigns
WHERE account_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3`, accountID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("postgres: find campaigns: %w", err)
	}
	return out, nil
}

// UpdateCampaign rewrites c while its version is still c.Version.
func (t *txn) UpdateCampaign(ctx context.Context, c *store.Campaign) error {
	fields, err := json.Marshal(c.CampaignFields)
	if err != nil {
		return fmt.Errorf("postgres: update campaign %d: %w", c.ID, err)
	}
	err = mustAffect(t.exec(ctx, `
UPDATE campaigns SET state = $1, send_at = $2, schedule_token = $3, updated = $4, fields = $5, version = version + 1
WHERE account_id = $6 AND id = $7 AND version = $8`,
		string(c.State), dbTime(c.SendAt), c.ScheduleToken, dbTime(c.Updated), string(fields), c.AccountID, c.ID, c.Version))
	if errors.Is(err, store.ErrNotFound) {
		err = t.conflictIfExists(ctx, err, "it changed since it was read",
			`SELECT count(*) FROM campaigns WHERE account_id = $1 AND id = $2`, c.AccountID, c.ID)
	}
	if err != nil {
		return fmt.Errorf("postgres: update campaign %d of account %d: %w", c.ID, c.AccountID, err)
	}
	c.Version++
	return nil
}

// DeleteCampaign deletes one of account's campaigns.
func (t *txn) DeleteCampaign(ctx context.Context, accountID, id int64) error {
	err := mustAffect(t.exec(ctx, `DELETE FROM campaigns WHERE account_id = $1 AND id = $2`, accountID, id))
	if err != nil {
		return fmt.Errorf("postgres: delete campaign %d of account %d: %w", id, accountID, err)
	}
	return nil
}

const singleSendColumns = `seq, id, account_id, state, send_at, schedule_token, version, created, updated, fields`

func scanSingleSend(row pgx.Row) (store.SingleSend, error) {
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
		return fmt.Errorf("postgres: insert single send: %w", err)
	}
	var seq int64
	err = t.guarded(ctx, func() error {
		return t.queryRow(ctx, `
INSERT INTO single_sends (id, account_id, state, send_at, schedule_token, version, created, updated, fields)
VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8) RETURNING seq`, s.ID, s.AccountID, string(s.State), dbTime(s.SendAt), s.ScheduleToken,
			dbTime(s.Created), dbTime(s.Updated), string(fields)).Scan(&seq)
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("postgres: insert single send %s: %w", s.ID, store.ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("postgres: insert single send: account %d: %w", s.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: insert single send: %w", err)
	}
	s.Seq, s.Version = seq, 1
	return nil
}

// SingleSendByID finds one of account's Single Sends.
func (t *txn) SingleSendByID(ctx context.Context, accountID int64, id string) (store.SingleSend, error) {
	s, err := scanSingleSend(t.queryRow(ctx,
		`SELECT `+singleSendColumns+` FROM single_sends WHERE account_id = $1 AND id = $2`, accountID, id))
	if err != nil {
		return s, fmt.Errorf("postgres: single send %s of account %d: %w", id, accountID, notFoundIfNoRow(err))
	}
	return s, nil
}

// FindSingleSends returns account's Single Sends after afterSeq, in
// creation order.
func (t *txn) FindSingleSends(ctx context.Context, accountID int64, afterSeq int64, limit int) ([]store.SingleSend, error) {
	out, err := txQueryAll(ctx, t, scanSingleSend, `SELECT `+singleSendColumns+` FROM single_sends
WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, accountID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: find single sends: %w", err)
	}
	return out, nil
}

// UpdateSingleSend rewrites s while its version is still s.Version.
func (t *txn) UpdateSingleSend(ctx context.Context, s *store.SingleSend) error {
	fields, err := json.Marshal(s.SingleSendFields)
	if err != nil {
		return fmt.Errorf("postgres: update single send %s: %w", s.ID, err)
	}
	err = mustAffect(t.exec(ctx, `
UPDATE single_sends SET state = $1, send_at = $2, schedule_token = $3, updated = $4, fields = $5, version = version + 1
WHERE account_id = $6 AND id = $7 AND version = $8`,
		string(s.State), dbTime(s.SendAt), s.ScheduleToken, dbTime(s.Updated), string(fields), s.AccountID, s.ID, s.Version))
	if errors.Is(err, store.ErrNotFound) {
		err = t.conflictIfExists(ctx, err, "it changed since it was read",
			`SELECT count(*) FROM single_sends WHERE account_id = $1 AND id = $2`, s.AccountID, s.ID)
	}
	if err != nil {
		return fmt.Errorf("postgres: update single send %s of account %d: %w", s.ID, s.AccountID, err)
	}
	s.Version++
	return nil
}

// DeleteSingleSend deletes one of account's Single Sends.
func (t *txn) DeleteSingleSend(ctx context.Context, accountID int64, id string) error {
	err := mustAffect(t.exec(ctx, `DELETE FROM single_sends WHERE account_id = $1 AND id = $2`, accountID, id))
	if err != nil {
		return fmt.Errorf("postgres: delete single send %s of account %d: %w", id, accountID, err)
	}
	return nil
}

// DiscardSendFrom cancels and discards send sendID while it is still in
// status from (compare-and-set in the UPDATE itself).
func (t *txn) DiscardSendFrom(ctx context.Context, accountID, sendID int64, from store.SendStatus, now time.Time) error {
	at := now.UnixMicro()
	err := mustAffect(t.exec(ctx, `
UPDATE sends SET status = 'Canceled', discarded_at = $1, status_changed_at = $1, modified_date = $1
WHERE account_id = $2 AND id = $3 AND status = $4`, at, accountID, sendID, string(from)))
	if errors.Is(err, store.ErrNotFound) {
		err = t.conflictIfExists(ctx, err, "it changed since it was read",
			`SELECT count(*) FROM sends WHERE account_id = $1 AND id = $2`, accountID, sendID)
	}
	if err != nil {
		return fmt.Errorf("postgres: discard send %d of account %d: %w", sendID, accountID, err)
	}
	return nil
}
