// Package lifecycle holds the rules of a scheduled send's life — which
// actions are allowed in which status, the cancel cutoff, the limit on held
// batches, pause expiry, which status a batch's hold gives its sends — in
// one place, so that the SOAP Perform, the REST face and the dispatcher can
// never disagree about them.
package lifecycle

import (
	"errors"
	"fmt"
	"time"

	"github.com/partnerd/partnerd/store"
)

// Policy is the configurable part of the rules.
type Policy struct {
	// CancelCutoff: cancel and pause are refused once now is within this
	// long of the SendDate (the seeds: 10 minutes). Zero allows them up to
	// the SendDate itself.
	CancelCutoff time.Duration
	// HeldLimit caps an account's batches that are paused or pending
	// cancellation at once (the seeds: 100; the live SendGrid pages: 10).
	// A send created over SOAP is a batch of its own, so for SOAP sends it
	// counts sends as before. Zero means no limit.
	HeldLimit int
	// PauseExpiry: a send paused this long past its SendDate is Expired
	// (the seeds: 72 hours).
	PauseExpiry time.Duration
}

// DefaultPolicy is the seeds' policy.
var DefaultPolicy = Policy{CancelCutoff: 10 * time.Minute, HeldLimit: 100, PauseExpiry: 72 * time.Hour}

// Errors of the rules; perform maps each to a Partner API ErrorCode.
var (
	ErrInsideCutoff  = errors.New("the send is inside the cancel cutoff")
	ErrNotActionable = errors.New("the send cannot take this action in its status")
	ErrHeldLimit     = errors.New("too many sends are paused or pending cancellation")
)

// InsideCutoff reports whether s can no longer be canceled or paused at now.
// It holds for every due send (SendDate <= now: the cutoff is never
// negative), so a cancel that succeeds always comes before the send is due,
// and no send that a cancel answered OK for is ever dispatched (the store
// claims and discards only due sends).
func (p Policy) InsideCutoff(s store.Send, now time.Time) bool {
	return !now.Before(s.SendDate.Add(-p.CancelCutoff))
}

// PauseExpired reports whether a send paused at its SendDate has been held
// too long to be resumed at now, and is to be marked Expired.
func (p Policy) PauseExpired(s store.Send, now time.Time) bool {
	return p.PauseExpiry > 0 && now.Sub(s.SendDate) > p.PauseExpiry
}

// PausedExpireBefore is the SendDate before which a Paused send has
// expired at now (PauseExpired as a bound a store can query by), and false
// when paused sends never expire.
func (p Policy) PausedExpireBefore(now time.Time) (time.Time, bool) {
	if p.PauseExpiry <= 0 {
		return time.Time{}, false
	}
	return now.Add(-p.PauseExpiry), true
}

// Action is an action on a send.
type Action string

// The actions Perform accepts on a Send.
const (
	Cancel Action = "cancel"
	Pause  Action = "pause"
	Resume Action = "resume"
)

// Apply applies a to s at now. held is the account's current count of held
// sends (store.Tx.CountHeldSends); it is only consulted when a would add to
// it. Apply returns whether s changed. Repeating an action that already took
// effect (canceling a canceled send) succeeds without change.
func (p Policy) Apply(s *store.Send, a Action, now time.Time, held func() (int, error)) (bool, error) {
	var to store.SendStatus
	switch a {
	case Cancel:
		switch s.Status {
		case store.StatusCanceled:
			return false, nil
		case store.StatusPaused:
			// A paused send is held, not queued for dispatch, so it
			// can be canceled at any time without racing delivery.
			to = store.StatusCanceled
		case store.StatusScheduled:
			if s.SendDate.IsZero() {
				// No SendDate: left by partnerd before it read .NET's
				// DateTime.MinValue as "unset". The dispatcher never
				// claims it, so, like a paused send, it can always be
				// canceled, and once canceled it is held by nothing.
				to = store.StatusCanceled
				break
			}
			if err := p.checkHold(s, now, held); err != nil {
				return false, err
			}
			to = store.StatusCanceled
		default:
			return false, fmt.Errorf("%w: it is %s", ErrNotActionable, s.Status)
		}
	case Pause:
		switch s.Status {
		case store.StatusPaused:
			return false, nil
		case store.StatusScheduled:
			if err := p.checkHold(s, now, held); err != nil {
				return false, err
			}
			to = store.StatusPaused
		default:
			return false, fmt.Errorf("%w: it is %s", ErrNotActionable, s.Status)
		}
	case Resume:
		switch s.Status {
		case store.StatusScheduled:
			return false, nil
		case store.StatusPaused:
			if p.PauseExpired(*s, now) {
				return false, fmt.Errorf("%w: it was paused more than %s past its SendDate and has expired", ErrNotActionable, p.PauseExpiry)
			}
			// Resumed past its SendDate, it is due at once.
			to = store.StatusScheduled
		default:
			return false, fmt.Errorf("%w: it is %s", ErrNotActionable, s.Status)
		}
	default:
		return false, fmt.Errorf("unknown action %q", a)
	}
	s.Status = to
	s.StatusChangedAt = now
	s.ModifiedDate = now
	return true, nil
}

// checkHold is what a cancel or a pause of a Scheduled send must pass
// alike: not inside the cutoff, and a held slot free.
func (p Policy) checkHold(s *store.Send, now time.Time, held func() (int, error)) error {
	if p.InsideCutoff(*s, now) {
		return fmt.Errorf("%w: it is due at %s and cancel or pause must come at least %s before", ErrInsideCutoff, s.SendDate.UTC().Format(time.RFC3339), p.CancelCutoff)
	}
	return p.checkHeld(held)
}

func (p Policy) checkHeld(held func() (int, error)) error {
	if p.HeldLimit <= 0 || held == nil {
		return nil
	}
	n, err := held()
	if err != nil {
		return err
	}
	if n >= p.HeldLimit {
		return fmt.Errorf("%w: the limit is %d per account", ErrHeldLimit, p.HeldLimit)
	}
	return nil
}

// A batch's hold (SendGrid's scheduled send status) is carried by its
// sends' statuses, so that the dispatcher, which knows only statuses, needs
// no rule of its own: a paused batch's sends are Paused (held past their
// SendDate, Expired after PauseExpiry), a canceled batch's are Canceled
// (discarded at their SendDate). The functions below are the one place
// that says which status a send takes under which hold.

// HoldBlocked refuses (ErrInsideCutoff) to pause or cancel a batch that
// holds s at now: s is Scheduled inside the cutoff, or already Sending. A
// hold answered OK must stop every send of the batch, as a cancel answered
// OK over SOAP does; the sends that are past holding (Complete, Expired,
// Error) are left as they are and do not block it.
func (p Policy) HoldBlocked(s store.Send, now time.Time) error {
	switch {
	case s.Status == store.StatusSending:
		return fmt.Errorf("%w: send %d is being sent", ErrInsideCutoff, s.ID)
	case s.Status == store.StatusScheduled && !s.SendDate.IsZero() && p.InsideCutoff(s, now):
		return fmt.Errorf("%w: send %d is due at %s and cancel or pause must come at least %s before",
			ErrInsideCutoff, s.ID, s.SendDate.UTC().Format(time.RFC3339), p.CancelCutoff)
	}
	return nil
}

// StatusUnderHold is the status a new send of a batch held as h starts in.
func StatusUnderHold(h store.Hold) store.SendStatus {
	switch h {
	case store.HoldPause:
		return store.StatusPaused
	case store.HoldCancel:
		return store.StatusCanceled
	}
	return store.StatusScheduled
}

// ApplyHold moves s to the status its batch's new hold h gives it at now,
// and reports whether it changed. HoldBlocked has been checked for a pause
// or a cancel.
//
//   - pause: Scheduled → Paused; a Canceled send still waiting for its
//     SendDate → Paused.
//   - cancel: Scheduled or Paused → Canceled (kept in the queue, discarded
//     at its SendDate, at once if it has passed).
//   - none (the hold removed): Paused → Scheduled, due at once if its
//     SendDate has passed, or Expired if it was held more than PauseExpiry
//     past it; a Canceled send whose SendDate is still ahead → Scheduled;
//     one whose time has passed stays discarded.
//
// Sends Sending, Complete, Expired or Error, and discarded ones, never
// change.
func (p Policy) ApplyHold(s *store.Send, h store.Hold, now time.Time) bool {
	waiting := s.Status == store.StatusCanceled && !s.Discarded && s.SendDate.After(now)
	to := s.Status
	switch h {
	case store.HoldPause:
		if s.Status == store.StatusScheduled || waiting {
			to = store.StatusPaused
		}
	case store.HoldCancel:
		if s.Status == store.StatusScheduled || s.Status == store.StatusPaused {
			to = store.StatusCanceled
		}
	case store.HoldNone:
		switch {
		case s.Status == store.StatusPaused && p.PauseExpired(*s, now):
			to = store.StatusExpired
		case s.Status == store.StatusPaused || waiting:
			to = store.StatusScheduled
		}
	}
	if to == s.Status {
		return false
	}
	s.Status = to
	s.StatusChangedAt = now
	s.ModifiedDate = now
	return true
}

// CheckHeld refuses (ErrHeldLimit) to hold one more batch when held, the
// account's held batches other than the one about to be held, has reached
// the limit.
func (p Policy) CheckHeld(held func() (int, error)) error { return p.checkHeld(held) }
