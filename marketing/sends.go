package marketing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// message is what every send of one schedule delivers.
type message struct {
	name       string // the send's EmailName: the campaign's title
	subject    string
	html, text string
	recipients []store.Recipient
}

// sendsOf returns the sends a schedule's token names, by ID.
func sendsOf(ctx context.Context, tx store.Tx, accountID int64, token string) ([]store.Send, error) {
	if token == "" {
		return nil, nil
	}
	// The keys are token-0, token-1 …: a range of the (account,
	// CustomerKey) index, where a LIKE (case-insensitive) would read every
	// send of the account. ':' follows the digits in ASCII.
	return tx.FindSends(ctx, accountID, store.SendQuery{
		Filter: &store.Cond{Field: store.FieldCustomerKey, Op: store.OpBetween, Values: []any{token + "-0", token + "-:"}},
	})
}

// tally counts sends by status.
type tally struct {
	n, scheduled, sending, paused, complete, canceled int
}

func count(sends []store.Send) tally {
	t := tally{n: len(sends)}
	for _, s := range sends {
		switch s.Status {
		case store.StatusScheduled:
			t.scheduled++
		case store.StatusSending:
			t.sending++
		case store.StatusPaused:
			t.paused++
		case store.StatusComplete:
			t.complete++
		case store.StatusCanceled:
			t.canceled++
		}
	}
	return t
}

// untouched reports whether no send has been claimed, paused or canceled
// yet: the schedule can still be moved or taken back whole.
func (t tally) untouched() bool { return t.scheduled == t.n }

// createSends creates the sends of one schedule: msg's recipients in
// chunks of at most size, each a send due at sendAt whose CustomerKey is
// token-<chunk>, created with origin and originID (the campaign or Single
// Send the schedule is of). If any is refused, those created are halted
// and the error returned.
func (s *Service) createSends(ctx context.Context, accountID int64, origin store.Origin, originID, token string, sendAt time.Time, msg message) error {
	size := s.chunkSize()
	// One batch holds the schedule's chunks, so that they are held (and
	// counted by the held limit) together, as one SendGrid batch.
	batch, err := s.Sends.CreateBatch(ctx, accountID)
	if err != nil {
		return err
	}
	var news []sending.NewSend
	for i := 0; i < len(msg.recipients); i += size {
		chunk := msg.recipients[i:min(i+size, len(msg.recipients))]
		news = append(news, sending.NewSend{
			Key:       sending.Key{CustomerKey: fmt.Sprintf("%s-%d", token, len(news))},
			EmailName: msg.name,
			Subject:   msg.subject,
			// FromName and FromAddress are left empty: delivery uses the
			// server's default sender (there is no sender store yet).
			SendDate: sendAt,
			Content:  store.SendContent{Subject: msg.subject, HTMLBody: msg.html, TextBody: msg.text, Recipients: chunk},
			BatchID:  batch.ID,
			Origin:   origin,
			OriginID: originID,
		})
	}
	outs, err := s.Sends.Create(ctx, accountID, news)
	if err != nil {
		return err
	}
	for _, o := range outs {
		if o.Err != nil {
			if _, herr := s.halt(ctx, accountID, token); herr != nil {
				return errors.Join(o.Err, herr)
			}
			return fmt.Errorf("marketing: create the sends of %s: %w", token, o.Err)
		}
	}
	return nil
}

// halt takes a schedule's sends out of the queue in its own transaction;
// see haltTx.
func (s *Service) halt(ctx context.Context, accountID int64, token string) (int, error) {
	var n int
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		n, err = haltTx(ctx, tx, accountID, token, s.Clock.Now())
		return err
	})
	return n, err
}

// haltTx cancels, and discards at once, every send of the schedule that
// has not been claimed yet (Scheduled, or Paused by a hold), each by
// compare-and-set on the status it was read in, and says how many. No
// cutoff applies: the compare-and-set against the dispatcher's claim
// decides, and whichever wins the outcome is consistent. A send already
// claimed (Sending) finishes: it is one chunk of at most ChunkSize
// recipients, so "no further send goes out" means that after a halt at
// most the chunks being delivered at that moment complete, and no other.
func haltTx(ctx context.Context, tx store.Tx, accountID int64, token string, now time.Time) (int, error) {
	sends, err := sendsOf(ctx, tx, accountID, token)
	if err != nil {
		return 0, err
	}
	halted := 0
	for _, send := range sends {
		for range 3 { // each retry reads a newer status; a claimed send stops the loop
			if send.Status != store.StatusScheduled && send.Status != store.StatusPaused {
				break
			}
			err := tx.DiscardSendFrom(ctx, accountID, send.ID, send.Status, now)
			if err == nil {
				halted++
				break
			}
			if !errors.Is(err, store.ErrConflict) {
				return halted, err
			}
			if send, err = tx.SendByKey(ctx, accountID, store.SendKey{ID: send.ID}); err != nil {
				return halted, err
			}
		}
	}
	return halted, nil
}

// errUntouched is returned inside a transaction when a send moved while a
// whole schedule was being changed: the transaction rolls back, the caller
// reads the schedule again and answers from what it now is.
var errUntouched = errors.New("a send of the schedule was claimed meanwhile")

// maxRereads bounds how often a call reads a schedule again after
// errUntouched: each read sees a send claimed, so the second answers from it.
const maxRereads = 3

// discardAll discards every send of an untouched schedule, or none
// (errUntouched, to roll back) if one was claimed since it was read.
func discardAll(ctx context.Context, tx store.Tx, accountID int64, sends []store.Send, now time.Time) error {
	for _, send := range sends {
		err := tx.DiscardSendFrom(ctx, accountID, send.ID, store.StatusScheduled, now)
		if errors.Is(err, store.ErrConflict) {
			return errUntouched
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// recipientsOf reads the lists and merges their recipients, each address
// once (compared without case), in list order; a list that does not exist
// is reported as missing.
func recipientsOf(ctx context.Context, tx store.Tx, accountID int64, keys []store.ListKey) (rs []store.Recipient, missing bool, err error) {
	seen := map[string]bool{}
	for _, k := range keys {
		l, err := tx.ListByKey(ctx, accountID, k)
		if errors.Is(err, store.ErrNotFound) {
			missing = true
			continue
		}
		if err != nil {
			return nil, false, err
		}
		for _, r := range l.Recipients {
			key := strings.ToLower(r.Address)
			if seen[key] {
				continue
			}
			seen[key] = true
			rs = append(rs, store.Recipient{Address: r.Address, ListID: l.ID})
		}
	}
	return rs, missing, nil
}
