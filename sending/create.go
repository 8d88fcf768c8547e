package sending

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/store"
)

// NewSend is a Send to create.
type NewSend struct {
	// Key: ObjectID (a new GUID unless it is one) and CustomerKey; an ID
	// is refused (ErrIDGiven), the store assigns it.
	Key         Key
	EmailID     int64
	HasEmail    bool // an Email was named by ID
	EmailName   string
	Subject     string
	FromName    string
	FromAddress string
	ListIDs     []int64
	// SendDate, when zero, is now: the send goes out at once.
	SendDate time.Time
	// Content is the inline Email body and List subscribers.
	Content store.SendContent
	// BatchID: "" gives the send a batch of its own; otherwise one of the
	// account's batches (ErrBatchNotFound), whose hold the send starts
	// under (Paused or Canceled in a held batch).
	BatchID string
	// Origin is the path the send is created by: one of store.Origins,
	// told by the caller (a face knows which of its operations it is
	// serving; marketing which object it schedules). Create fails whole
	// on any other, as a caller's mistake, before storing anything.
	Origin store.Origin
	// OriginID is the campaign's or Single Send's ID for those origins;
	// empty for the others.
	OriginID string
}

// Created is the outcome of one NewSend.
type Created struct {
	Send store.Send // as stored; valid when Err is nil
	Err  error
}

// KeyTakenError is ErrKeyTaken naming the key already used in the account,
// for a face to word: Object is "Send" or "EmailSendDefinition", Field
// "ObjectID" or "CustomerKey".
type KeyTakenError struct {
	Object, Field, Value string
}

func (e *KeyTakenError) Error() string {
	return fmt.Sprintf("A %s with %s %q already exists", e.Object, e.Field, e.Value)
}

func (e *KeyTakenError) Unwrap() error { return ErrKeyTaken }

// CheckKey refuses (ErrBadKey) a CustomerKey or ObjectID holding characters
// that would break a line or a terminal wherever keys are printed
// (partnerd send list, logs): control characters (C0, DEL, C1), Unicode
// line and paragraph separators, and bidirectional overrides that reorder
// what is shown. name names the field in the message.
func CheckKey(name, v string) error {
	for _, r := range v {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
			(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') || r == '\u200e' || r == '\u200f' {
			return detailf(ErrBadKey, "%s must not contain control characters (found U+%04X)", name, r)
		}
	}
	return nil
}

// Dates partnerd keeps: those an xsd:dateTime with a four-digit year
// writes in UTC, which is also what .NET's DateTime holds.
var (
	minDate = time.Time{}
	maxDate = time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
)

// CheckDate refuses (ErrBadDate) a date outside 0001-01-01 to 9999-12-31
// in UTC; name names the field in the message.
func CheckDate(name string, t time.Time) error {
	if t.Before(minDate) || t.After(maxDate) {
		return detailf(ErrBadDate, "%s %s is outside the dates partnerd keeps (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z)",
			name, t.Format(time.RFC3339Nano))
	}
	return nil
}

// checkNewSend applies Create's refusals, in the order a client is told of
// them.
func checkNewSend(in *NewSend) error {
	switch {
	case CheckKey("CustomerKey", in.Key.CustomerKey) != nil:
		return CheckKey("CustomerKey", in.Key.CustomerKey)
	case CheckKey("ObjectID", in.Key.ObjectID) != nil:
		return CheckKey("ObjectID", in.Key.ObjectID)
	case CheckDate("SendDate", in.SendDate) != nil:
		return CheckDate("SendDate", in.SendDate)
	case !in.HasEmail && !hasBody(in.Content):
		return ErrEmailRequired
	case len(in.ListIDs) == 0 && len(in.Content.Recipients) == 0:
		return ErrListRequired
	case in.Key.HasID:
		return ErrIDGiven
	}
	return nil
}

// checkOrigin refuses an origin Create is not told by a known path, and an
// OriginID without an object it names.
func checkOrigin(o store.Origin, id string) error {
	if !o.Valid() {
		return fmt.Errorf("origin %q is not one of %v", o, store.Origins)
	}
	if named := o == store.OriginCampaign || o == store.OriginSingleSend; named != (id != "") {
		return fmt.Errorf("origin %q with OriginID %q: a campaign's or Single Send's send names it, no other", o, id)
	}
	return nil
}

func hasBody(c store.SendContent) bool { return c.HTMLBody != "" || c.TextBody != "" }

// Create creates sends of accountID, in one transaction, Scheduled at
// their SendDate (now when it is zero) — Paused or Canceled in a batch
// held so (a NewSend naming an unknown batch fails with
// ErrBatchNotFound) — and answers one Created per
// NewSend, in order. A NewSend that is refused (ErrBadKey, ErrBadDate,
// ErrEmailRequired, ErrListRequired, ErrIDGiven, or a KeyTakenError when
// its ObjectID or CustomerKey is already used in the account) does not
// keep the others from being created. A Create retried after a timeout is
// refused with KeyTakenError, and the client finds its first send by the
// key.
func (s *Service) Create(ctx context.Context, accountID int64, sends []NewSend) ([]Created, error) {
	outs := make([]Created, len(sends))
	for i := range sends {
		if err := checkOrigin(sends[i].Origin, sends[i].OriginID); err != nil {
			return nil, fmt.Errorf("sending: create: send %d: %w", i, err)
		}
		outs[i].Err = checkNewSend(&sends[i])
	}
	clk := s.Clock
	err := s.update(ctx, func(tx store.Tx, nowDue *bool) error {
		now := clk.Now()
		var batches map[string]store.Batch // the named batches, read once per call
		for i := range sends {
			in, o := &sends[i], &outs[i]
			if o.Err != nil {
				continue
			}
			status := store.StatusScheduled
			if in.BatchID != "" {
				b, ok := batches[in.BatchID]
				if !ok {
					var err error
					b, err = batchByID(ctx, tx, accountID, in.BatchID)
					if errors.Is(err, ErrBatchNotFound) {
						o.Err = err
						continue
					}
					if err != nil {
						return err
					}
					if batches == nil {
						batches = map[string]store.Batch{}
					}
					batches[in.BatchID] = b
				}
				status = lifecycle.StatusUnderHold(b.Hold)
			}
			send := store.Send{
				AccountID:   accountID,
				ObjectID:    in.Key.ObjectID,
				CustomerKey: in.Key.CustomerKey,
				EmailID:     in.EmailID,
				EmailName:   in.EmailName,
				Subject:     in.Subject,
				FromName:    in.FromName,
				FromAddress: in.FromAddress,
				ListIDs:     in.ListIDs,
				SendDate:    in.SendDate,
				Status:      status,
				BatchID:     in.BatchID,
				Origin:      in.Origin,
				OriginID:    in.OriginID,
				CreatedDate: now, ModifiedDate: now, StatusChangedAt: now,
			}
			if _, err := uuid.Parse(send.ObjectID); err != nil {
				send.ObjectID = s.ids().UUID()
			}
			if send.BatchID == "" {
				send.OwnBatchID = store.NewBatchIDFrom(s.ids())
			}
			if send.SendDate.IsZero() {
				// A Send without a SendDate goes out at once.
				send.SendDate = now
			}
			if err := tx.InsertSend(ctx, &send); err != nil {
				if errors.Is(err, store.ErrExists) {
					o.Err, err = sendKeyTaken(ctx, tx, accountID, in.Key)
					if err != nil {
						return err
					}
					continue
				}
				return err
			}
			if !in.Content.IsZero() {
				if err := tx.SetSendContent(ctx, accountID, send.ID, in.Content); err != nil {
					return err
				}
			}
			o.Send = send
			if send.Status == store.StatusScheduled && !send.SendDate.After(now) {
				*nowDue = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// sendKeyTaken says which of a Send's keys is already used in the account.
func sendKeyTaken(ctx context.Context, tx store.Tx, accountID int64, k Key) (taken, err error) {
	if k.CustomerKey != "" {
		_, err = tx.SendByKey(ctx, accountID, store.SendKey{CustomerKey: k.CustomerKey})
		switch {
		case err == nil:
			return &KeyTakenError{Object: "Send", Field: "CustomerKey", Value: k.CustomerKey}, nil
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return &KeyTakenError{Object: "Send", Field: "ObjectID", Value: k.ObjectID}, nil
}
