package sending

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/partnerd/partnerd/internal/ids"
	"github.com/partnerd/partnerd/store"
)

// EmailSendDefinitions are templates: a definition names an Email and Lists
// (or inline content) and a sender, and starting it creates a Send — due at
// once (Perform start) or at a chosen date (Schedule).

// NewDefinition is an EmailSendDefinition to create. Its ObjectID becomes
// a new GUID unless it is one; its CustomerKey defaults to the ObjectID.
type NewDefinition struct {
	store.EmailSendDefinition
	// IDGiven: the client named an ID, which the store assigns
	// (ErrIDGiven).
	IDGiven bool
}

// DefinitionOutcome is the outcome of one definition created or deleted.
type DefinitionOutcome struct {
	Definition store.EmailSendDefinition // valid when Err is nil
	Err        error
}

// Start asks for a Send from the definition Key names.
type Start struct {
	Key Key
	// FromName and FromAddress, when set, override the definition's
	// sender (Perform start's SenderProfile).
	FromName, FromAddress string
	// SendDate, when zero, is now.
	SendDate time.Time
}

// Started is the outcome of one Start.
type Started struct {
	Definition store.EmailSendDefinition // the definition started
	Send       store.Send                // the Send it became; valid when Err is nil
	Err        error
}

func checkNewDefinition(d *NewDefinition) error {
	switch {
	case CheckKey("CustomerKey", d.CustomerKey) != nil:
		return CheckKey("CustomerKey", d.CustomerKey)
	case CheckKey("ObjectID", d.ObjectID) != nil:
		return CheckKey("ObjectID", d.ObjectID)
	case d.EmailID == 0 && !hasBody(d.Content):
		return ErrEmailRequired
	case len(d.ListIDs) == 0 && len(d.Content.Recipients) == 0:
		return ErrListRequired
	case d.IDGiven:
		return ErrIDGiven
	}
	return nil
}

// CreateDefinitions creates EmailSendDefinitions of accountID in one
// transaction, one outcome per definition, in order: ErrBadKey,
// ErrEmailRequired, ErrListRequired, ErrIDGiven, or a KeyTakenError on a
// CustomerKey already used.
func (s *Service) CreateDefinitions(ctx context.Context, accountID int64, defs []NewDefinition) ([]DefinitionOutcome, error) {
	outs := make([]DefinitionOutcome, len(defs))
	for i := range defs {
		outs[i].Err = checkNewDefinition(&defs[i])
	}
	clk := s.Clock
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		now := clk.Now()
		for i := range defs {
			o := &outs[i]
			if o.Err != nil {
				continue
			}
			d := defs[i].EmailSendDefinition
			d.AccountID, d.CreatedDate, d.ModifiedDate = accountID, now, now
			if _, err := uuid.Parse(d.ObjectID); err != nil {
				d.ObjectID = s.ids().UUID()
			}
			if d.CustomerKey == "" {
				// The real service gives a definition without one its
				// ObjectID as CustomerKey; Perform start needs a key.
				d.CustomerKey = d.ObjectID
			}
			if err := tx.InsertEmailSendDefinition(ctx, &d); err != nil {
				if errors.Is(err, store.ErrExists) {
					o.Err = &KeyTakenError{Object: "EmailSendDefinition", Field: "CustomerKey", Value: d.CustomerKey}
					continue
				}
				return err
			}
			o.Definition = d
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// DeleteDefinitions deletes the definitions keys name, in one transaction,
// one outcome per key (the definition deleted), in order: ErrKeyMissing or
// ErrDefinitionNotFound. Sends already started from one are kept.
func (s *Service) DeleteDefinitions(ctx context.Context, accountID int64, keys []Key) ([]DefinitionOutcome, error) {
	outs := make([]DefinitionOutcome, len(keys))
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		for i, k := range keys {
			o := &outs[i]
			*o = DefinitionOutcome{}
			if k.Empty() {
				o.Err = ErrKeyMissing
				continue
			}
			d, err := definitionByKey(ctx, tx, accountID, k)
			if err != nil {
				if o.Err = err; !errors.Is(err, ErrDefinitionNotFound) {
					return err
				}
				continue
			}
			if err := tx.DeleteEmailSendDefinition(ctx, accountID, d.ID); err != nil {
				return err
			}
			o.Definition = d
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// StartDefinitions turns each definition a Start names into a Send, in one
// transaction, one outcome per Start, in order: ErrDefinitionKeyMissing or
// ErrDefinitionNotFound. The Send carries the definition's Email, Lists,
// subject (else its content's), name, sender and inline content, and is
// due at the Start's SendDate (now when zero).
func (s *Service) StartDefinitions(ctx context.Context, accountID int64, starts []Start) ([]Started, error) {
	outs := make([]Started, len(starts))
	clk := s.Clock
	err := s.update(ctx, func(tx store.Tx, nowDue *bool) error {
		now := clk.Now()
		for i, st := range starts {
			o := &outs[i]
			*o = Started{}
			if st.Key.Empty() {
				o.Err = ErrDefinitionKeyMissing
				continue
			}
			d, err := definitionByKey(ctx, tx, accountID, st.Key)
			if err != nil {
				if o.Err = err; !errors.Is(err, ErrDefinitionNotFound) {
					return err
				}
				continue
			}
			date := st.SendDate
			if date.IsZero() {
				date = now
			}
			o.Definition = d
			if o.Send, err = startDefinition(ctx, tx, d, st.FromName, st.FromAddress, date, now, s.ids()); err != nil {
				return err
			}
			if !date.After(now) {
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

// definitionByKey finds one of the account's definitions; ErrDefinitionNotFound
// (with the key in its message) when there is none.
func definitionByKey(ctx context.Context, tx store.Tx, accountID int64, k Key) (store.EmailSendDefinition, error) {
	d, err := tx.EmailSendDefinitionByKey(ctx, accountID, store.SendKey{ID: k.ID, ObjectID: k.ObjectID, CustomerKey: k.CustomerKey})
	if errors.Is(err, store.ErrNotFound) {
		return d, detailf(ErrDefinitionNotFound, "No EmailSendDefinition matches %s", k.describe())
	}
	return d, err
}

// startDefinition creates a Send from definition d, due at sendDate, in
// tx: "an EmailSendDefinition becomes a Send".
func startDefinition(ctx context.Context, tx store.Tx, d store.EmailSendDefinition, fromName, fromAddress string, sendDate, now time.Time, src ids.Source) (store.Send, error) {
	send := store.Send{
		AccountID: d.AccountID, ObjectID: src.UUID(), OwnBatchID: store.NewBatchIDFrom(src),
		EmailID: d.EmailID, Subject: d.EmailSubject, FromName: d.FromName, FromAddress: d.FromAddress,
		ListIDs: d.ListIDs, SendDate: sendDate, Status: store.StatusScheduled,
		Origin:      store.OriginDefinition,
		CreatedDate: now, ModifiedDate: now, StatusChangedAt: now,
	}
	if send.Subject == "" {
		send.Subject = d.Content.Subject
	}
	if d.Name != "" {
		send.EmailName = d.Name
	}
	if fromName != "" {
		send.FromName = fromName
	}
	if fromAddress != "" {
		send.FromAddress = fromAddress
	}
	if err := tx.InsertSend(ctx, &send); err != nil {
		return send, err
	}
	if !d.Content.IsZero() {
		if err := tx.SetSendContent(ctx, d.AccountID, send.ID, d.Content); err != nil {
			return send, err
		}
	}
	return send, nil
}
