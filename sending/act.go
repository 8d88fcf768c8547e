package sending

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/store"
)

// Outcome is what an action did to the sends of one key.
type Outcome struct {
	// Send is the send after the action (the first of the key's sends,
	// or the first the action failed on); valid when Found.
	Send  store.Send
	Found bool
	// Err is nil when every send of the key ended in the requested state.
	// Otherwise it wraps ErrKeyMissing, ErrNotFound, ErrCutoff, ErrStatus or
	// ErrHeldLimit.
	Err error

	key Key // the key, copied so that the caller's slice stays off the heap
}

// pastTense names the state an action leaves a send in.
var pastTense = map[lifecycle.Action]string{lifecycle.Cancel: "canceled", lifecycle.Pause: "paused", lifecycle.Resume: "resumed"}

// PastTense is "canceled", "paused" or "resumed".
func PastTense(a lifecycle.Action) string { return pastTense[a] }

// Act applies action (cancel, pause or resume) to the sends of accountID
// that each key names, in one transaction, and answers one Outcome per key,
// in order. A key names one send; a store written before ObjectIDs were
// unique may hold several with one ObjectID: the action reaches every one,
// and the Outcome is OK only if every one ends in the requested state (an
// OK cancel means nothing of that key goes out). A later key naming the
// same send sees an earlier key's change. A send whose batch holds it
// alone carries the action to the batch's hold (pause, cancel, none on
// resume), so that the REST face shows it; the held limit counts batches.
// The error is a failure of the store, or ErrAction for an action sends do
// not take.
func (s *Service) Act(ctx context.Context, accountID int64, action lifecycle.Action, keys []Key) ([]Outcome, error) {
	switch action {
	case lifecycle.Cancel, lifecycle.Pause, lifecycle.Resume:
	default:
		return nil, detailf(ErrAction, "action %q is not supported on Send", action)
	}
	outs := make([]Outcome, len(keys))
	if len(keys) == 0 {
		return outs, nil
	}
	for i := range keys {
		outs[i].key = keys[i]
	}
	// The closure copies what it needs so that s itself stays off the heap
	// (a face builds a Service per call).
	clk, policy := s.Clock, s.Policy
	err := s.update(ctx, func(tx store.Tx, nowDue *bool) error {
		now := clk.Now()
		byID, err := prefetchByID(ctx, tx, accountID, outs)
		if err != nil {
			return err
		}
		for i := range outs {
			o := &outs[i]
			k := o.key
			*o = Outcome{key: k}
			if k.Empty() {
				o.Err = ErrKeyMissing
				continue
			}
			// The usual key, an ID, names one send: it is read into
			// single, kept off the heap (a batch reads 100).
			var single [1]store.Send
			sends, err := sendsOfKey(ctx, tx, accountID, k, byID, single[:0])
			if err != nil {
				return err
			}
			if len(sends) == 0 {
				o.Err = fmt.Errorf("%w: no Send with %s", ErrNotFound, k.describe())
				continue
			}
			for _, send := range sends {
				// The held limit counts batches: holding this send
				// adds one unless its batch is held already.
				batchID, was := send.BatchID, send.Status
				held := func() (int, error) { return tx.CountHeldBatches(ctx, accountID, batchID, now) }
				send, err := apply(ctx, tx, policy, send, action, now, held)
				if err != nil {
					if !IsRule(err) {
						return err
					}
					if o.Err == nil {
						o.Send, o.Found = send, true
						o.Err = fmt.Errorf("Cannot %s Send %d: %w", action, send.ID, err)
					}
					continue
				}
				if send.Status != was {
					// A repeat (canceling a canceled send) changed
					// nothing, and its batch was mirrored the first time.
					if err := syncOwnHold(ctx, tx, send, action, now); err != nil {
						return err
					}
				}
				if byID != nil {
					byID[send.ID] = send
				}
				if send.Status == store.StatusScheduled && !send.SendDate.After(now) {
					*nowDue = true
				}
				if !o.Found {
					o.Send, o.Found = send, true
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// sendsOfKey finds every send of the account that k names: by ID (from
// byID when the batch was prefetched), else every send with the ObjectID,
// else the one with the CustomerKey. A send found by ID is appended to buf.
func sendsOfKey(ctx context.Context, tx store.Tx, accountID int64, k Key, byID map[int64]store.Send, buf []store.Send) ([]store.Send, error) {
	var f store.Filter
	switch {
	case k.HasID && byID != nil:
		if send, ok := byID[k.ID]; ok {
			return append(buf, send), nil
		}
		return nil, nil
	case k.HasID:
		send, err := tx.SendByKey(ctx, accountID, store.SendKey{ID: k.ID})
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return append(buf, send), nil
	case k.ObjectID != "":
		f = &store.Cond{Field: store.FieldObjectID, Op: store.OpEquals, Values: []any{k.ObjectID}}
	default:
		f = &store.Cond{Field: store.FieldCustomerKey, Op: store.OpEquals, Values: []any{k.CustomerKey}}
	}
	return tx.FindSends(ctx, accountID, store.SendQuery{Filter: f})
}

// maxConflicts bounds how often apply re-reads a send that changed under
// it; each retry sees a newer status, so more than a few means the send is
// being moved faster than it can be read.
const maxConflicts = 3

// apply applies action to send and writes the change, compare-and-set on
// the status it was read in: if a dispatcher claimed the send in between
// (possible wherever the store's transactions do not serialize with the
// claim), the write fails with ErrConflict and the rules are applied again
// to the send as it now is — a cancel of a send now Sending is then refused
// (ErrStatus) instead of answered OK while it goes out.
func apply(ctx context.Context, tx store.Tx, policy lifecycle.Policy, send store.Send, action lifecycle.Action, now time.Time, held func() (int, error)) (store.Send, error) {
	for range maxConflicts {
		read := send.Status
		changed, err := policy.Apply(&send, action, now, held)
		if err != nil || !changed {
			return send, err
		}
		err = tx.UpdateSendFrom(ctx, send, read)
		if !errors.Is(err, store.ErrConflict) {
			return send, err
		}
		if send, err = tx.SendByKey(ctx, send.AccountID, store.SendKey{ID: send.ID}); err != nil {
			return send, err
		}
	}
	return send, fmt.Errorf("%w: it changed status while being %s", ErrStatus, pastTense[action])
}

// prefetchByID loads, in one query, every Send that two or more keys name
// by ID (a cancel-batch of 100 would otherwise make 100 lookups). It
// returns nil when there is nothing to gain; with a non-nil map, an ID key
// whose ID is absent from it does not exist.
func prefetchByID(ctx context.Context, tx store.Tx, accountID int64, outs []Outcome) (map[int64]store.Send, error) {
	var ids []any
	for i := range outs {
		if k := outs[i].key; k.HasID {
			ids = append(ids, k.ID)
		}
	}
	if len(ids) < 2 {
		return nil, nil
	}
	sends, err := tx.FindSends(ctx, accountID, store.SendQuery{Filter: &store.Cond{Field: store.FieldID, Op: store.OpIn, Values: ids}})
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]store.Send, len(sends))
	for _, s := range sends {
		byID[s.ID] = s
	}
	return byID, nil
}

// describe names k by the field the look-up goes by (ID, then ObjectID,
// then CustomerKey), as "ID 5", for the messages of the not-found errors.
func (k Key) describe() string {
	switch {
	case k.HasID:
		return fmt.Sprintf("ID %d", k.ID)
	case k.ObjectID != "":
		return "ObjectID " + k.ObjectID
	default:
		return "CustomerKey " + k.CustomerKey
	}
}
