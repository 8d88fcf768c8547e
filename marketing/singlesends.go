package marketing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// SingleSendStatus is a Single Send's status as the API answers it.
type SingleSendStatus string

// Single Send statuses (../shared/reference/sendgrid-v3-notes.md §7).
const (
	SingleSendDraft     SingleSendStatus = "draft"
	SingleSendScheduled SingleSendStatus = "scheduled"
	SingleSendTriggered SingleSendStatus = "triggered"
)

// SingleSend is a Single Send as the API answers it.
type SingleSend struct {
	store.SingleSend
	Status SingleSendStatus
}

// SingleSendSchedule answers PUT and DELETE …/schedule: {send_at, status}.
type SingleSendSchedule struct {
	SendAt time.Time // zero: null
	Status SingleSendStatus
}

// SingleSendInput is what POST creates a Single Send from. SendAt only
// pre-fills the time (zero for none): it does not schedule.
type SingleSendInput struct {
	store.SingleSendFields
	SendAt time.Time
}

// SingleSendPatch is a PATCH: the fields the client sent. SendTo and
// EmailConfig, when sent, replace the whole object.
type SingleSendPatch struct {
	Name        Opt[string]
	Categories  Opt[[]string]
	SendAt      Opt[time.Time]
	SendTo      Opt[store.SendTo]
	EmailConfig Opt[store.EmailConfig]
}

// SingleSendPage is one page of GET /v3/marketing/singlesends; NextToken
// is "" on the last.
type SingleSendPage struct {
	Result    []SingleSend
	NextToken string
}

// checkSingleSend applies the rules of create and update: a name of 1 to
// 100 characters, at most 10 categories, at most 50 lists (UUIDs the
// account has), at most 10 segments and, as partnerd has none, no segment.
func checkSingleSend(ctx context.Context, tx store.Tx, accountID int64, f *store.SingleSendFields, sendAt time.Time) error {
	var p problems
	switch {
	case strings.TrimSpace(f.Name) == "":
		p.add("name", "name can't be blank")
	case utf8.RuneCountInString(f.Name) > MaxTitle:
		p.add("name", "name is too long (maximum is %d characters)", MaxTitle)
	}
	if len(f.Categories) > MaxCategories {
		p.add("categories", "a Single Send may have at most %d categories", MaxCategories)
	}
	if err := sending.CheckDate("send_at", sendAt); err != nil {
		p.add("send_at", "%s", err.Error())
	}
	if n := len(f.SendTo.ListIDs); n > MaxSendToLists {
		p.add("send_to.list_ids", "at most %d lists", MaxSendToLists)
	} else {
		for i, id := range f.SendTo.ListIDs {
			if _, err := uuid.Parse(id); err != nil {
				p.add(fmt.Sprintf("send_to.list_ids[%d]", i), "%q is not a list id", id)
				continue
			}
			if _, err := tx.ListByKey(ctx, accountID, store.ListKey{UUID: id}); err != nil {
				if !errors.Is(err, store.ErrNotFound) {
					return err
				}
				p.add(fmt.Sprintf("send_to.list_ids[%d]", i), "list %s does not exist", id)
			}
		}
	}
	switch n := len(f.SendTo.SegmentIDs); {
	case n > MaxSegments:
		p.add("send_to.segment_ids", "at most %d segments", MaxSegments)
	case n > 0:
		p.add("send_to.segment_ids", "segment_ids do not all exist")
	}
	ec := &f.EmailConfig
	if len(ec.HTMLContent) > MaxContent {
		p.add("email_config.html_content", "html_content may be at most 1 MB")
	}
	if len(ec.PlainContent) > MaxContent {
		p.add("email_config.plain_content", "plain_content may be at most 1 MB")
	}
	return p.err()
}

// singleSendStatus reads a Single Send's status: triggered once any of
// its sends has been taken up (claimed, or held or canceled by hand).
func singleSendStatus(ss store.SingleSend, sends []store.Send) SingleSendStatus {
	switch {
	case ss.State != store.StateScheduled:
		return SingleSendDraft
	case count(sends).untouched():
		return SingleSendScheduled
	}
	return SingleSendTriggered
}

func singleSend(ctx context.Context, tx store.Tx, accountID int64, id string) (SingleSend, []store.Send, error) {
	ss, err := tx.SingleSendByID(ctx, accountID, canonicalUUID(id))
	if err != nil {
		return SingleSend{}, nil, notFound(err, "single send "+id)
	}
	sends, err := sendsOf(ctx, tx, accountID, ss.ScheduleToken)
	if err != nil {
		return SingleSend{}, nil, err
	}
	return SingleSend{SingleSend: ss, Status: singleSendStatus(ss, sends)}, sends, nil
}

// canonicalUUID spells a UUID as stored; anything else is looked up as
// given (and not found).
func canonicalUUID(id string) string {
	if u, err := uuid.Parse(id); err == nil {
		return u.String()
	}
	return id
}

// CreateSingleSend creates a draft Single Send of accountID. ErrInvalid
// when in breaks a rule of checkSingleSend.
func (s *Service) CreateSingleSend(ctx context.Context, accountID int64, in SingleSendInput) (SingleSend, error) {
	now := s.Clock.Now()
	ss := store.SingleSend{ID: s.ids().UUID(), AccountID: accountID, SingleSendFields: in.SingleSendFields,
		State: store.StateDraft, SendAt: in.SendAt, Created: now, Updated: now}
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		if err := checkSingleSend(ctx, tx, accountID, &ss.SingleSendFields, ss.SendAt); err != nil {
			return err
		}
		return tx.InsertSingleSend(ctx, &ss)
	})
	if err != nil {
		return SingleSend{}, err
	}
	return SingleSend{SingleSend: ss, Status: SingleSendDraft}, nil
}

// SingleSend reads one. ErrNotFound if accountID has none with id.
func (s *Service) SingleSend(ctx context.Context, accountID int64, id string) (SingleSend, error) {
	var out SingleSend
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		out, _, err = singleSend(ctx, tx, accountID, id)
		return err
	})
	return out, err
}

// SingleSends lists accountID's Single Sends in creation order: pageSize
// of them (DefaultPage when 0, 1 to MaxPage) after the page token (""
// for the first page; an opaque token from an earlier page's NextToken).
func (s *Service) SingleSends(ctx context.Context, accountID int64, pageSize int, pageToken string) (SingleSendPage, error) {
	var p problems
	if pageSize < 0 || pageSize > MaxPage {
		p.add("page_size", "page_size must be between 1 and %d", MaxPage)
	}
	var after int64
	if pageToken != "" {
		n, err := strconv.ParseInt(pageToken, 10, 64)
		if err != nil || n < 0 {
			p.add("page_token", "invalid page_token")
		}
		after = n
	}
	if err := p.err(); err != nil {
		return SingleSendPage{}, err
	}
	if pageSize == 0 {
		pageSize = DefaultPage
	}
	var page SingleSendPage
	err := s.Store.View(ctx, func(tx store.Tx) error {
		// One more than asked: whether there is a next page.
		rows, err := tx.FindSingleSends(ctx, accountID, after, pageSize+1)
		if err != nil {
			return err
		}
		if len(rows) > pageSize {
			rows = rows[:pageSize]
			page.NextToken = strconv.FormatInt(rows[pageSize-1].Seq, 10)
		}
		page.Result = make([]SingleSend, len(rows))
		for i, ss := range rows {
			sends, err := sendsOf(ctx, tx, accountID, ss.ScheduleToken)
			if err != nil {
				return err
			}
			page.Result[i] = SingleSend{SingleSend: ss, Status: singleSendStatus(ss, sends)}
		}
		return nil
	})
	return page, err
}

// UpdateSingleSend applies patch to a draft Single Send:
// ErrSingleSendNotDraft once scheduled, ErrInvalid when the result breaks
// a rule.
func (s *Service) UpdateSingleSend(ctx context.Context, accountID int64, id string, patch SingleSendPatch) (SingleSend, error) {
	var out SingleSend
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		ss, err := tx.SingleSendByID(ctx, accountID, canonicalUUID(id))
		if err != nil {
			return notFound(err, "single send "+id)
		}
		if ss.State != store.StateDraft {
			return ErrSingleSendNotDraft
		}
		patch.Name.apply(&ss.Name)
		patch.Categories.apply(&ss.Categories)
		patch.SendAt.apply(&ss.SendAt)
		patch.SendTo.apply(&ss.SendTo)
		patch.EmailConfig.apply(&ss.EmailConfig)
		if err := checkSingleSend(ctx, tx, accountID, &ss.SingleSendFields, ss.SendAt); err != nil {
			return err
		}
		ss.Updated = s.Clock.Now()
		if err := tx.UpdateSingleSend(ctx, &ss); err != nil {
			return err
		}
		out = SingleSend{SingleSend: ss, Status: SingleSendDraft}
		return nil
	})
	return out, err
}

// DeleteSingleSend deletes a Single Send for good; a scheduled or
// triggered one is halted first, in the same transaction, as a campaign
// is (see DeleteCampaign).
func (s *Service) DeleteSingleSend(ctx context.Context, accountID int64, id string) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		ss, err := tx.SingleSendByID(ctx, accountID, canonicalUUID(id))
		if err != nil {
			return notFound(err, "single send "+id)
		}
		if _, err := haltTx(ctx, tx, accountID, ss.ScheduleToken, s.Clock.Now()); err != nil {
			return err
		}
		return tx.DeleteSingleSend(ctx, accountID, ss.ID)
	})
}

// ScheduleSingleSend schedules a draft Single Send at sendAt, or now when
// sendAt is zero (PUT …/schedule with "now"): its recipients (its lists',
// or with send_to.all every list's of the account) are split into sends as
// a campaign's are. ErrSingleSendNotDraft once scheduled; ErrInvalid for a
// time before now, or without a subject, content, a list (or all), or
// recipients. The 72-hour ceiling of mail/send does not apply.
func (s *Service) ScheduleSingleSend(ctx context.Context, accountID int64, id string, sendAt time.Time) (SingleSendSchedule, error) {
	if err := sending.CheckDate("send_at", sendAt); err != nil {
		return SingleSendSchedule{}, &ValidationError{Problems: []FieldError{{Field: "send_at", Message: err.Error()}}}
	}
	var (
		token string
		msg   message
		ssID  string
	)
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		ss, err := tx.SingleSendByID(ctx, accountID, canonicalUUID(id))
		if err != nil {
			return notFound(err, "single send "+id)
		}
		if ss.State != store.StateDraft {
			return ErrSingleSendNotDraft
		}
		now := s.Clock.Now()
		var p problems
		switch {
		case sendAt.IsZero():
			sendAt = now
		case sendAt.Before(now):
			p.add("send_at", "send_at must not be in the past")
		}
		ec := ss.EmailConfig
		if strings.TrimSpace(ec.Subject) == "" {
			p.add("email_config.subject", "subject can't be blank")
		}
		if ec.HTMLContent == "" && ec.PlainContent == "" {
			p.add("email_config.html_content", "html_content and plain_content can't both be blank")
		}
		var keys []store.ListKey
		if ss.SendTo.All {
			lists, err := tx.FindLists(ctx, accountID)
			if err != nil {
				return err
			}
			for _, l := range lists {
				keys = append(keys, store.ListKey{ID: l.ID})
			}
		} else {
			for _, u := range ss.SendTo.ListIDs {
				keys = append(keys, store.ListKey{UUID: u})
			}
		}
		rs, missing, err := recipientsOf(ctx, tx, accountID, keys)
		switch {
		case err != nil:
			return err
		case !ss.SendTo.All && len(ss.SendTo.ListIDs) == 0:
			p.add("send_to.list_ids", "a Single Send needs at least 1 list, or send_to.all")
		case missing:
			p.add("send_to.list_ids", "list_ids do not all exist")
		case len(rs) == 0:
			p.add("send_to.list_ids", "the Single Send's lists have no recipients")
		}
		if err := p.err(); err != nil {
			return err
		}
		ssID = ss.ID
		token = newToken(s.ids(), "singlesend-"+ss.ID[:8])
		msg = message{name: ss.Name, subject: ec.Subject, html: ec.HTMLContent, text: ec.PlainContent, recipients: rs}
		ss.State, ss.SendAt, ss.ScheduleToken, ss.Updated = store.StateScheduled, sendAt, token, now
		return tx.UpdateSingleSend(ctx, &ss)
	})
	if errors.Is(err, store.ErrConflict) {
		err = ErrSingleSendNotDraft
	}
	if err != nil {
		return SingleSendSchedule{}, err
	}
	if err := s.createSends(ctx, accountID, store.OriginSingleSend, canonicalUUID(id), token, sendAt, msg); err != nil {
		rerr := s.Store.Update(ctx, func(tx store.Tx) error {
			ss, err := tx.SingleSendByID(ctx, accountID, ssID)
			if err != nil || ss.ScheduleToken != token {
				return err
			}
			ss.State, ss.ScheduleToken, ss.Updated = store.StateDraft, "", s.Clock.Now()
			return tx.UpdateSingleSend(ctx, &ss)
		})
		return SingleSendSchedule{}, errors.Join(err, rerr)
	}
	// As for campaigns: halt the new sends if a delete or unschedule ran
	// while they were being created.
	var out SingleSendSchedule
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		ss, _, err := singleSend(ctx, tx, accountID, ssID)
		if errors.Is(err, ErrNotFound) || (err == nil && ss.ScheduleToken != token) {
			_, err := haltTx(ctx, tx, accountID, token, s.Clock.Now())
			out = SingleSendSchedule{SendAt: sendAt, Status: SingleSendDraft}
			return err
		}
		if err != nil {
			return err
		}
		out = SingleSendSchedule{SendAt: ss.SendAt, Status: ss.Status}
		return nil
	})
	return out, err
}

// UnscheduleSingleSend returns a scheduled Single Send to draft, its sends
// canceled and discarded, and answers its send_at (kept, as a pre-filled
// time) and status. A draft one is answered as it is; a triggered one
// (some send already claimed) is ErrTriggered: only a delete stops it.
func (s *Service) UnscheduleSingleSend(ctx context.Context, accountID int64, id string) (SingleSendSchedule, error) {
	var out SingleSendSchedule
	for range maxRereads {
		err := s.Store.Update(ctx, func(tx store.Tx) error {
			ss, sends, err := singleSend(ctx, tx, accountID, id)
			if err != nil {
				return err
			}
			switch ss.Status {
			case SingleSendDraft:
				out = SingleSendSchedule{SendAt: ss.SendAt, Status: SingleSendDraft}
				return nil
			case SingleSendTriggered:
				return ErrTriggered
			}
			now := s.Clock.Now()
			if err := discardAll(ctx, tx, accountID, sends, now); err != nil {
				return err
			}
			ss.State, ss.ScheduleToken, ss.Updated = store.StateDraft, "", now
			if err := tx.UpdateSingleSend(ctx, &ss.SingleSend); err != nil {
				return err
			}
			out = SingleSendSchedule{SendAt: ss.SendAt, Status: SingleSendDraft}
			return nil
		})
		if !errors.Is(err, errUntouched) {
			return out, err
		}
	}
	return SingleSendSchedule{}, ErrTriggered
}
