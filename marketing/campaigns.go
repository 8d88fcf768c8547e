package marketing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// CampaignStatus is a legacy campaign's status as the API answers it.
type CampaignStatus string

// Campaign statuses (../shared/reference/sendgrid-v3-notes.md §6).
const (
	CampaignDraft      CampaignStatus = "Draft"
	CampaignScheduled  CampaignStatus = "Scheduled"
	CampaignInProgress CampaignStatus = "In Progress"
	CampaignSent       CampaignStatus = "Sent"
	CampaignPaused     CampaignStatus = "Paused"
	CampaignCanceled   CampaignStatus = "Canceled"
)

// Campaign is a legacy campaign as the API answers it: the stored row and
// the status read from its sends.
type Campaign struct {
	store.Campaign
	Status CampaignStatus
}

// CampaignSchedule answers the schedule calls: {id, send_at, status}.
type CampaignSchedule struct {
	ID     int64
	SendAt time.Time // zero when not scheduled (GET answers null)
	Status CampaignStatus
}

// CampaignPatch is a PATCH: the fields the client sent.
type CampaignPatch struct {
	Title                Opt[string]
	Subject              Opt[string]
	SenderID             Opt[*int64]
	ListIDs              Opt[[]int64]
	SegmentIDs           Opt[[]int64]
	Categories           Opt[[]string]
	SuppressionGroupID   Opt[*int64]
	CustomUnsubscribeURL Opt[string]
	IPPool               Opt[string]
	HTMLContent          Opt[string]
	PlainContent         Opt[string]
	Editor               Opt[string]
}

func (p CampaignPatch) apply(f *store.CampaignFields) {
	p.Title.apply(&f.Title)
	p.Subject.apply(&f.Subject)
	p.SenderID.apply(&f.SenderID)
	p.ListIDs.apply(&f.ListIDs)
	p.SegmentIDs.apply(&f.SegmentIDs)
	p.Categories.apply(&f.Categories)
	p.SuppressionGroupID.apply(&f.SuppressionGroupID)
	p.CustomUnsubscribeURL.apply(&f.CustomUnsubscribeURL)
	p.IPPool.apply(&f.IPPool)
	p.HTMLContent.apply(&f.HTMLContent)
	p.PlainContent.apply(&f.PlainContent)
	p.Editor.apply(&f.Editor)
}

// checkCampaign applies the rules of create and update: a title of 1 to
// 100 characters, at most 10 categories, content of at most 1 MB each,
// lists the account has, and no segments (partnerd has none, so any
// segment id is unknown).
func checkCampaign(ctx context.Context, tx store.Tx, accountID int64, f *store.CampaignFields) error {
	var p problems
	switch {
	case strings.TrimSpace(f.Title) == "":
		p.add("title", "title can't be blank")
	case utf8.RuneCountInString(f.Title) > MaxTitle:
		p.add("title", "title is too long (maximum is %d characters)", MaxTitle)
	}
	if len(f.Categories) > MaxCategories {
		p.add("categories", "a campaign may have at most %d categories", MaxCategories)
	}
	if len(f.HTMLContent) > MaxContent {
		p.add("html_content", "html_content may be at most 1 MB")
	}
	if len(f.PlainContent) > MaxContent {
		p.add("plain_content", "plain_content may be at most 1 MB")
	}
	for _, id := range f.ListIDs {
		if _, err := tx.ListByKey(ctx, accountID, store.ListKey{ID: id}); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			p.add("list_ids", "list_ids do not all exist")
			break
		}
	}
	if len(f.SegmentIDs) > 0 {
		p.add("segment_ids", "segment_ids do not all exist")
	}
	return p.err()
}

// campaignStatus reads a campaign's status from its state and its sends.
func campaignStatus(c store.Campaign, sends []store.Send) CampaignStatus {
	if c.State != store.StateScheduled {
		return CampaignDraft
	}
	t := count(sends)
	switch {
	case t.untouched(): // none claimed yet (or none created yet)
		return CampaignScheduled
	case t.sending > 0:
		return CampaignInProgress
	case t.paused > 0:
		return CampaignPaused
	case t.scheduled > 0:
		return CampaignInProgress // some delivered, some still to go
	case t.complete > 0:
		return CampaignSent
	case t.canceled > 0:
		return CampaignCanceled
	}
	return CampaignSent // every send ended Expired or Error: nothing more will go
}

// campaign reads one campaign and its status, in tx.
func campaign(ctx context.Context, tx store.Tx, accountID, id int64) (Campaign, []store.Send, error) {
	c, err := tx.CampaignByID(ctx, accountID, id)
	if err != nil {
		return Campaign{}, nil, notFound(err, fmt.Sprintf("campaign %d", id))
	}
	sends, err := sendsOf(ctx, tx, accountID, c.ScheduleToken)
	if err != nil {
		return Campaign{}, nil, err
	}
	return Campaign{Campaign: c, Status: campaignStatus(c, sends)}, sends, nil
}

// CreateCampaign creates a Draft campaign of accountID. ErrInvalid (a
// *ValidationError) when f breaks a rule of checkCampaign.
func (s *Service) CreateCampaign(ctx context.Context, accountID int64, f store.CampaignFields) (Campaign, error) {
	now := s.Clock.Now()
	c := store.Campaign{AccountID: accountID, CampaignFields: f, State: store.StateDraft, Created: now, Updated: now}
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		if err := checkCampaign(ctx, tx, accountID, &c.CampaignFields); err != nil {
			return err
		}
		return tx.InsertCampaign(ctx, &c)
	})
	if err != nil {
		return Campaign{}, err
	}
	return Campaign{Campaign: c, Status: CampaignDraft}, nil
}

// Campaign reads one campaign. ErrNotFound if accountID has none with id.
func (s *Service) Campaign(ctx context.Context, accountID, id int64) (Campaign, error) {
	var c Campaign
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		c, _, err = campaign(ctx, tx, accountID, id)
		return err
	})
	return c, err
}

// Campaigns lists accountID's campaigns, newest first: at most limit
// (DefaultLimit when 0; ErrInvalid when negative) after skipping offset.
func (s *Service) Campaigns(ctx context.Context, accountID int64, limit, offset int) ([]Campaign, error) {
	var p problems
	if limit < 0 {
		p.add("limit", "limit must be at least 1")
	}
	if offset < 0 {
		p.add("offset", "offset must not be negative")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	var out []Campaign
	err := s.Store.View(ctx, func(tx store.Tx) error {
		cs, err := tx.FindCampaigns(ctx, accountID, limit, offset)
		if err != nil {
			return err
		}
		out = make([]Campaign, len(cs))
		for i, c := range cs {
			sends, err := sendsOf(ctx, tx, accountID, c.ScheduleToken)
			if err != nil {
				return err
			}
			out[i] = Campaign{Campaign: c, Status: campaignStatus(c, sends)}
		}
		return nil
	})
	return out, err
}

// UpdateCampaign applies patch to a Draft campaign: ErrNotDraft once it
// has been scheduled, ErrInvalid when the result breaks a rule.
func (s *Service) UpdateCampaign(ctx context.Context, accountID, id int64, patch CampaignPatch) (Campaign, error) {
	var out Campaign
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		c, err := tx.CampaignByID(ctx, accountID, id)
		if err != nil {
			return notFound(err, fmt.Sprintf("campaign %d", id))
		}
		if c.State != store.StateDraft {
			return ErrNotDraft
		}
		patch.apply(&c.CampaignFields)
		if err := checkCampaign(ctx, tx, accountID, &c.CampaignFields); err != nil {
			return err
		}
		c.Updated = s.Clock.Now()
		if err := tx.UpdateCampaign(ctx, &c); err != nil {
			return err
		}
		out = Campaign{Campaign: c, Status: CampaignDraft}
		return nil
	})
	return out, err
}

// DeleteCampaign deletes a campaign, whatever its status. One that is
// scheduled or in progress is halted first, in the same transaction: every
// send of it not yet claimed is canceled and discarded (see haltTx: a
// chunk being delivered at that moment may finish; no other goes out).
// This is SendGrid's way to stop a campaign in progress (seed 000/001).
func (s *Service) DeleteCampaign(ctx context.Context, accountID, id int64) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		c, err := tx.CampaignByID(ctx, accountID, id)
		if err != nil {
			return notFound(err, fmt.Sprintf("campaign %d", id))
		}
		if _, err := haltTx(ctx, tx, accountID, c.ScheduleToken, s.Clock.Now()); err != nil {
			return err
		}
		return tx.DeleteCampaign(ctx, accountID, id)
	})
}

// ScheduleCampaign schedules a Draft campaign at sendAt: its lists'
// recipients are split into sends of at most ChunkSize recipients, all due
// at sendAt. ErrAlreadyScheduled once scheduled (or sent), ErrPastSendAt
// for a time not after now, ErrInvalid without a subject, content, a list,
// or recipients in its lists.
func (s *Service) ScheduleCampaign(ctx context.Context, accountID, id int64, sendAt time.Time) (CampaignSchedule, error) {
	if err := sending.CheckDate("send_at", sendAt); err != nil {
		return CampaignSchedule{}, &ValidationError{Problems: []FieldError{{Field: "send_at", Message: err.Error()}}}
	}
	return s.scheduleCampaign(ctx, accountID, id, sendAt, false)
}

// SendCampaignNow schedules a Draft campaign for now (ErrSendNotDraft
// otherwise): POST …/schedules/now. Its status is Scheduled until the
// dispatcher claims its first send.
func (s *Service) SendCampaignNow(ctx context.Context, accountID, id int64) (CampaignSchedule, error) {
	return s.scheduleCampaign(ctx, accountID, id, time.Time{}, true)
}

func (s *Service) scheduleCampaign(ctx context.Context, accountID, id int64, sendAt time.Time, now bool) (CampaignSchedule, error) {
	var (
		token string
		msg   message
	)
	// 1. Mark the campaign scheduled (compare-and-set on its version: of
	// two schedules racing, one wins) and read its recipients.
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		c, err := tx.CampaignByID(ctx, accountID, id)
		if err != nil {
			return notFound(err, fmt.Sprintf("campaign %d", id))
		}
		if c.State != store.StateDraft {
			if now {
				return ErrSendNotDraft
			}
			return ErrAlreadyScheduled
		}
		at := s.Clock.Now()
		if now {
			sendAt = at
		} else if !sendAt.After(at) {
			return ErrPastSendAt
		}
		var p problems
		if strings.TrimSpace(c.Subject) == "" {
			p.add("subject", "subject can't be blank")
		}
		if c.HTMLContent == "" && c.PlainContent == "" {
			p.add("content", "html_content and plain_content can't both be blank")
		}
		keys := make([]store.ListKey, len(c.ListIDs))
		for i, id := range c.ListIDs {
			keys[i] = store.ListKey{ID: id}
		}
		rs, missing, err := recipientsOf(ctx, tx, accountID, keys)
		switch {
		case err != nil:
			return err
		case len(c.ListIDs) == 0:
			p.add("list_ids", "You must select at least 1 segment or 1 list to send to.")
		case missing:
			p.add("list_ids", "list_ids do not all exist")
		case len(rs) == 0:
			p.add("list_ids", "the campaign's lists have no recipients")
		}
		if err := p.err(); err != nil {
			return err
		}
		token = newToken(s.ids(), fmt.Sprintf("campaign-%d", c.ID))
		msg = message{name: c.Title, subject: c.Subject, html: c.HTMLContent, text: c.PlainContent, recipients: rs}
		c.State, c.SendAt, c.ScheduleToken, c.Updated = store.StateScheduled, sendAt, token, at
		return tx.UpdateCampaign(ctx, &c)
	})
	if errors.Is(err, store.ErrConflict) {
		// Another call changed the campaign between our read and write;
		// within one SQLite transaction this cannot happen, elsewhere the
		// other call won.
		err = ErrAlreadyScheduled
	}
	if err != nil {
		return CampaignSchedule{}, err
	}
	// 2. Create its sends.
	if err := s.createSends(ctx, accountID, store.OriginCampaign, strconv.FormatInt(id, 10), token, sendAt, msg); err != nil {
		// Back to Draft, unless a delete or unschedule has moved it on.
		rerr := s.Store.Update(ctx, func(tx store.Tx) error {
			c, err := tx.CampaignByID(ctx, accountID, id)
			if err != nil || c.ScheduleToken != token {
				return err
			}
			c.State, c.SendAt, c.ScheduleToken, c.Updated = store.StateDraft, time.Time{}, "", s.Clock.Now()
			return tx.UpdateCampaign(ctx, &c)
		})
		return CampaignSchedule{}, errors.Join(err, rerr)
	}
	// 3. A delete or unschedule that ran between 1 and 2 found no sends
	// to halt: halt them now.
	var out CampaignSchedule
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		c, _, err := campaign(ctx, tx, accountID, id)
		if errors.Is(err, ErrNotFound) || (err == nil && c.ScheduleToken != token) {
			_, err := haltTx(ctx, tx, accountID, token, s.Clock.Now())
			out = CampaignSchedule{ID: id, SendAt: sendAt, Status: CampaignCanceled}
			return err
		}
		if err != nil {
			return err
		}
		out = CampaignSchedule{ID: id, SendAt: c.SendAt, Status: c.Status}
		return nil
	})
	return out, err
}

// RescheduleCampaign moves a Scheduled campaign, none of whose sends has
// been claimed, to sendAt (PATCH …/schedules): ErrNotScheduled otherwise,
// ErrPastSendAt for a time not after now.
func (s *Service) RescheduleCampaign(ctx context.Context, accountID, id int64, sendAt time.Time) (CampaignSchedule, error) {
	if err := sending.CheckDate("send_at", sendAt); err != nil {
		return CampaignSchedule{}, &ValidationError{Problems: []FieldError{{Field: "send_at", Message: err.Error()}}}
	}
	var out CampaignSchedule
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		c, sends, err := campaign(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		if c.Status != CampaignScheduled {
			return ErrNotScheduled
		}
		now := s.Clock.Now()
		if !sendAt.After(now) {
			return ErrPastSendAt
		}
		for _, send := range sends {
			send.SendDate, send.ModifiedDate = sendAt, now
			if err := tx.UpdateSendFrom(ctx, send, store.StatusScheduled); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return ErrNotScheduled // claimed meanwhile: roll every date back
				}
				return err
			}
		}
		c.SendAt, c.Updated = sendAt, now
		if err := tx.UpdateCampaign(ctx, &c.Campaign); err != nil {
			return err
		}
		out = CampaignSchedule{ID: id, SendAt: sendAt, Status: CampaignScheduled}
		return nil
	})
	return out, err
}

// CampaignScheduleOf answers GET …/schedules: the campaign's send time
// (zero in Draft) and status.
func (s *Service) CampaignScheduleOf(ctx context.Context, accountID, id int64) (CampaignSchedule, error) {
	c, err := s.Campaign(ctx, accountID, id)
	if err != nil {
		return CampaignSchedule{}, err
	}
	return CampaignSchedule{ID: id, SendAt: c.SendAt, Status: c.Status}, nil
}

// UnscheduleCampaign returns a Scheduled campaign to Draft, its sends
// canceled and discarded (DELETE …/schedules). One whose sends have begun
// is refused with the documented error of its status (ErrInProgress,
// ErrSent, ErrPaused, ErrCanceled): only a delete stops it then. A Draft
// campaign is ErrNotScheduled.
func (s *Service) UnscheduleCampaign(ctx context.Context, accountID, id int64) error {
	for range maxRereads {
		err := s.Store.Update(ctx, func(tx store.Tx) error {
			c, sends, err := campaign(ctx, tx, accountID, id)
			if err != nil {
				return err
			}
			switch c.Status {
			case CampaignDraft:
				return ErrNotScheduled
			case CampaignInProgress:
				return ErrInProgress
			case CampaignSent:
				return ErrSent
			case CampaignPaused:
				return ErrPaused
			case CampaignCanceled:
				return ErrCanceled
			}
			now := s.Clock.Now()
			if err := discardAll(ctx, tx, accountID, sends, now); err != nil {
				return err
			}
			c.State, c.SendAt, c.ScheduleToken, c.Updated = store.StateDraft, time.Time{}, "", now
			return tx.UpdateCampaign(ctx, &c.Campaign)
		})
		// A send claimed between the read and the discard: read again,
		// and answer from what the campaign now is (In Progress).
		if !errors.Is(err, errUntouched) {
			return err
		}
	}
	return ErrInProgress
}
