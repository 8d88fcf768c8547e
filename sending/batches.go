package sending

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/store"
)

// Hold is a batch's pause or cancel state (SendGrid's scheduled send
// status).
type Hold = store.Hold

// The holds of a batch.
const (
	HoldNone   = store.HoldNone
	HoldPause  = store.HoldPause
	HoldCancel = store.HoldCancel
)

// Batch groups sends of one account to pause or cancel them together.
// Every send has one: a send created without one (every SOAP Create and
// EmailSendDefinition start) gets a batch of its own.
type Batch = store.Batch

// Errors of batches, besides ErrHeldLimit and ErrCutoff.
var (
	// ErrBatchNotFound: no batch of the account has the ID (another
	// account's batch is unknown too).
	ErrBatchNotFound = errors.New("invalid batch id")
	// ErrHoldExists: a hold set (POST) on a batch that has one already.
	ErrHoldExists = errors.New("a status for this batch id exists")
	// ErrNoHold: a hold changed (PATCH) or removed (DELETE) on a batch
	// without one.
	ErrNoHold = errors.New("batch id not found")
	// ErrBadHold: a hold other than pause or cancel.
	ErrBadHold = errors.New("status must be pause or cancel")
)

// CreateBatch creates an empty batch of accountID with a new random ID.
func (s *Service) CreateBatch(ctx context.Context, accountID int64) (Batch, error) {
	b := Batch{AccountID: accountID, Created: s.Clock.Now()}
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		b.ID = store.NewBatchIDFrom(s.ids()) // a fresh ID should the transaction run again
		return tx.InsertBatch(ctx, &b)
	})
	if err != nil {
		return Batch{}, err
	}
	return b, nil
}

// Batch finds batch id of accountID (ErrBatchNotFound).
func (s *Service) Batch(ctx context.Context, accountID int64, id string) (Batch, error) {
	var b Batch
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		b, err = batchByID(ctx, tx, accountID, id)
		return err
	})
	return b, err
}

func batchByID(ctx context.Context, tx store.Tx, accountID int64, id string) (Batch, error) {
	b, err := tx.BatchByID(ctx, accountID, id)
	if errors.Is(err, store.ErrNotFound) {
		return Batch{}, fmt.Errorf("%w: %q", ErrBatchNotFound, id)
	}
	return b, err
}

// HeldBatches lists accountID's batches with a hold, oldest hold first.
func (s *Service) HeldBatches(ctx context.Context, accountID int64) ([]Batch, error) {
	var bs []Batch
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		bs, err = tx.HeldBatches(ctx, accountID)
		return err
	})
	return bs, err
}

// SetHold pauses or cancels batch id of accountID: its Scheduled sends
// become Paused or Canceled, and so do the sends created into it later
// (lifecycle.ApplyHold says which send takes which status). With replace
// false (POST /v3/user/scheduled_sends) a batch that has a hold is refused
// with ErrHoldExists; with replace true (PATCH) one without is refused with
// ErrNoHold. A new hold is refused with ErrHeldLimit when the account holds
// as many batches as the policy allows, and any hold with ErrCutoff when a
// send of the batch is inside the cutoff or being sent, so that a hold
// answered OK stops every send of the batch. An empty batch can always be
// held. Also ErrBatchNotFound and ErrBadHold.
func (s *Service) SetHold(ctx context.Context, accountID int64, id string, h Hold, replace bool) (Batch, error) {
	if h != HoldPause && h != HoldCancel {
		return Batch{}, fmt.Errorf("%w, not %q", ErrBadHold, h)
	}
	var out Batch
	err := s.changeHold(ctx, accountID, id, func(tx store.Tx, b Batch, sends []store.Send, now time.Time) (Hold, error) {
		switch {
		case !replace && b.Hold != HoldNone:
			return "", fmt.Errorf("%w (it is %s), try PATCH to update the status", ErrHoldExists, b.Hold)
		case replace && b.Hold == HoldNone:
			return "", fmt.Errorf("%w: batch %q has no status to update", ErrNoHold, id)
		}
		for _, send := range sends {
			if err := s.Policy.HoldBlocked(send, now); err != nil {
				return "", fmt.Errorf("Cannot %s batch %s: %w", h, id, err)
			}
		}
		if b.Hold == HoldNone {
			held := func() (int, error) { return tx.CountHeldBatches(ctx, accountID, b.ID, now) }
			if err := s.Policy.CheckHeld(held); err != nil {
				return "", fmt.Errorf("Cannot %s batch %s: %w", h, id, err)
			}
		}
		return h, nil
	}, &out)
	return out, err
}

// ReleaseHold removes the hold of batch id of accountID (DELETE): its
// sends become active again, due at once when their time has passed; a
// canceled send whose time has passed stays discarded, and a paused one
// held more than the pause expiry past it is Expired. ErrNoHold for a batch
// without a hold, ErrBatchNotFound.
func (s *Service) ReleaseHold(ctx context.Context, accountID int64, id string) error {
	return s.changeHold(ctx, accountID, id, func(_ store.Tx, b Batch, _ []store.Send, _ time.Time) (Hold, error) {
		if b.Hold == HoldNone {
			return "", fmt.Errorf("%w: batch %q has no status to remove", ErrNoHold, id)
		}
		return HoldNone, nil
	}, nil)
}

// changeHold is SetHold's and ReleaseHold's one transaction: read the batch
// and its sends, let decide refuse or name the new hold, then write the
// hold (compare-and-set on the one read) and move each send to the status
// the hold gives it (compare-and-set on its status, re-read and re-applied
// on a conflict). The dispatcher is woken when a send was left due.
func (s *Service) changeHold(ctx context.Context, accountID int64, id string,
	decide func(tx store.Tx, b Batch, sends []store.Send, now time.Time) (Hold, error), out *Batch) error {
	clk, policy := s.Clock, s.Policy
	return s.update(ctx, func(tx store.Tx, nowDue *bool) error {
		now := clk.Now()
		b, err := batchByID(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		sends, err := tx.SendsOfBatch(ctx, accountID, b.ID, 0)
		if err != nil {
			return err
		}
		h, err := decide(tx, b, sends, now)
		if err != nil {
			return err
		}
		if h != b.Hold {
			from := b.Hold
			b.Hold, b.HoldChangedAt = h, now
			if err := tx.UpdateBatchHold(ctx, b, from); err != nil {
				return err
			}
		}
		for _, send := range sends {
			send, err := applyHold(ctx, tx, policy, send, h, now)
			if err != nil {
				return err
			}
			if send.Status == store.StatusScheduled && !send.SendDate.After(now) {
				*nowDue = true
			}
		}
		if out != nil {
			*out = b
		}
		return nil
	})
}

// applyHold moves send to the status hold h gives it and writes it,
// compare-and-set on the status it was read in; on a conflict (the
// dispatcher moved it) the rule is applied again to the send as it now is.
func applyHold(ctx context.Context, tx store.Tx, policy lifecycle.Policy, send store.Send, h Hold, now time.Time) (store.Send, error) {
	for range maxConflicts {
		read := send.Status
		if !policy.ApplyHold(&send, h, now) {
			return send, nil
		}
		err := tx.UpdateSendFrom(ctx, send, read)
		if !errors.Is(err, store.ErrConflict) {
			return send, err
		}
		if send, err = tx.SendByKey(ctx, send.AccountID, store.SendKey{ID: send.ID}); err != nil {
			return send, err
		}
		if h != HoldNone {
			// Moved under a pause or cancel: if it is now going out,
			// the hold cannot be answered OK.
			if err := policy.HoldBlocked(send, now); err != nil {
				return send, err
			}
		}
	}
	return send, fmt.Errorf("%w: send %d changed status while its batch's status was being set", ErrStatus, send.ID)
}

// syncOwnHold mirrors a SOAP action on send onto its batch when the batch
// holds that send alone, so that REST sees it as a paused or canceled
// batch: pause → pause, cancel → cancel, resume → no hold. A batch shared
// with other sends keeps its hold: one send's status says nothing of the
// others'.
func syncOwnHold(ctx context.Context, tx store.Tx, send store.Send, action lifecycle.Action, now time.Time) error {
	if send.BatchID == "" {
		return nil
	}
	var h Hold
	switch action {
	case lifecycle.Pause:
		h = HoldPause
	case lifecycle.Cancel:
		h = HoldCancel
	default:
		h = HoldNone
	}
	return tx.SetSoleSendHold(ctx, send.AccountID, send.BatchID, send.ID, h, now)
}
