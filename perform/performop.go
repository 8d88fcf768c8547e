package perform

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/partnerd/partnerd/internal/xmlw"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/soap"
	"github.com/partnerd/partnerd/store"
)

// apiObjectTypes are object types of the Partner API that partnerd knows but
// cannot Perform on (ErrorCode 100); any other unknown type is 105.
var apiObjectTypes = map[string]bool{
	"Email": true, "List": true, "ScheduleDefinition": true, "Subscriber": true,
	"DataExtension": true, "TriggeredSendDefinition": true, "Campaign": true,
	"EmailSendDefinition": true, "SendDefinition": true, "SenderProfile": true,
}

// performResult is the outcome of one Definition.
type performResult struct {
	send    *store.Send  // the send after the action, when found
	key     sendKeyInput // what the client gave, echoed when not found
	typ     string       // the Definition's xsi:type
	action  lifecycle.Action
	err     error
	message string
}

// Perform serves PerformRequestMsg: Action cancel, pause or resume on Send
// definitions, all applied in one transaction that commits before the
// response is written.
func (s *Service) Perform(ctx context.Context, req *soap.Request) (*soap.Response, error) {
	action := strings.ToLower(strings.TrimSpace(textOf(soap.Child(req.Body, "Action"))))
	defs := soap.Children(soap.Child(req.Body, "Definitions"), "Definition")
	if action != "" && allOfType(defs, "EmailSendDefinition") {
		return s.performESDs(ctx, req, action, defs)
	}

	// Decode every definition before touching the store: a malformed value
	// faults the whole request and nothing is applied.
	results := make([]performResult, len(defs))
	for i, d := range defs {
		r := &results[i]
		r.typ = sendIfUntyped(objectType(d))
		r.action = lifecycle.Action(action)
		if soap.IsNil(d) {
			r.err = coded(CodeNoObject, "No object specified at 0-based index %d", i)
			continue
		}
		switch {
		case r.typ == "Send":
			k, err := readSendKey(d)
			if err != nil {
				return nil, err
			}
			r.key = k
			switch r.action {
			case lifecycle.Cancel, lifecycle.Pause, lifecycle.Resume:
				if k.empty() {
					r.err = errSendKeyMissing
				}
			default:
				r.err = coded(CodePerformUnsupportedAct, "Perform_Unsupported Object Type: action %s is not supported on Send (use cancel, pause or resume)", soap.QuoteInput(action))
			}
		case apiObjectTypes[r.typ]:
			r.err = coded(CodePerformNotSupported, "The Perform method is not supported for the %s object", r.typ)
		default:
			r.err = coded(CodePerformUnsupportedType, "Perform_Unsupported Object Type: %s", r.typ)
		}
	}

	if action == "" || len(defs) == 0 {
		w := &xmlw.Writer{}
		msg := "No Definitions were given"
		if action == "" {
			msg = "No Action was given"
		}
		w.Start("PerformResponseMsg", "xmlns", soap.NSPartnerAPI)
		w.Elem("OverallStatus", "Error")
		w.Elem("OverallStatusMessage", msg)
		w.Elem("RequestID", req.RequestID)
		w.End("PerformResponseMsg")
		return &soap.Response{Body: w.Buf, Status: "Error"}, nil
	}

	accountID := req.Principal.AccountID
	nowDue := false
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		now := s.Clock.Now()
		nowDue = false
		held := func() (int, error) { return tx.CountHeldSends(ctx, accountID, now) }
		byID, err := prefetchByID(ctx, tx, accountID, results)
		if err != nil {
			return err
		}
		for i := range results {
			r := &results[i]
			if r.err != nil {
				continue
			}
			// The usual key, an ID, names one send: it is read into
			// single, kept off the heap (a batch reads 100).
			var single [1]store.Send
			sends, err := s.sendsOfKey(ctx, tx, accountID, r.key, byID, single[:0])
			if err != nil {
				return err
			}
			if len(sends) == 0 {
				r.err = fmt.Errorf("%w: %s", errSendNotFound, describeKey(r.key))
				continue
			}
			// A key names one send; a store written before ObjectIDs
			// were unique may hold several with one ObjectID. The
			// action reaches every one, and the Result is OK only if
			// every one ends in the requested state: an OK cancel
			// means nothing of that key goes out.
			for _, send := range sends {
				send, err := s.apply(ctx, tx, send, r.action, now, held)
				if err != nil {
					if !isResultError(err) {
						return err
					}
					if r.err == nil {
						r.send, r.err = &send, fmt.Errorf("Cannot %s Send %d: %w", r.action, send.ID, err)
					}
					continue
				}
				if byID != nil {
					// A later Definition of the same Send sees this one's change.
					byID[send.ID] = send
				}
				if send.Status == store.StatusScheduled && !send.SendDate.After(now) {
					nowDue = true
				}
				if r.send == nil {
					r.send = &send
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("perform: %w", err)
	}
	if nowDue {
		s.due()
	}

	w := &xmlw.Writer{Buf: make([]byte, 0, 512+400*len(results))}
	failed := 0
	w.Start("PerformResponseMsg", "xmlns", soap.NSPartnerAPI)
	w.Start("Results")
	for i := range results {
		r := &results[i]
		if r.err != nil {
			failed++
		}
		writePerformResult(w, r, i, req.Principal.ClientID)
	}
	w.End("Results")
	status := overall(len(results), failed)
	w.Elem("OverallStatus", status)
	writeOverallMessage(w, len(results), failed)
	w.Elem("RequestID", req.RequestID)
	w.End("PerformResponseMsg")
	return &soap.Response{Body: w.Buf, Status: status}, nil
}

// sendsOfKey finds every send of the account that k names: by ID (from
// byID when the batch was prefetched), else every send with the ObjectID,
// else the one with the CustomerKey. A send found by ID is appended to buf.
func (s *Service) sendsOfKey(ctx context.Context, tx store.Tx, accountID int64, k sendKeyInput, byID map[int64]store.Send, buf []store.Send) ([]store.Send, error) {
	var f store.Filter
	switch {
	case k.hasID && byID != nil:
		if send, ok := byID[k.id]; ok {
			return append(buf, send), nil
		}
		return nil, nil
	case k.hasID:
		send, err := tx.SendByKey(ctx, accountID, store.SendKey{ID: k.id})
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return append(buf, send), nil
	case k.objectID != "":
		f = &store.Cond{Field: store.FieldObjectID, Op: store.OpEquals, Values: []any{k.objectID}}
	default:
		f = &store.Cond{Field: store.FieldCustomerKey, Op: store.OpEquals, Values: []any{k.customerKey}}
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
// (7093) instead of answered OK while it goes out.
func (s *Service) apply(ctx context.Context, tx store.Tx, send store.Send, action lifecycle.Action, now time.Time, held func() (int, error)) (store.Send, error) {
	for range maxConflicts {
		read := send.Status
		changed, err := s.Policy.Apply(&send, action, now, held)
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
	return send, fmt.Errorf("%w: it changed status while being %s", lifecycle.ErrNotActionable, pastTense[action])
}

// prefetchByID loads, in one query, every Send that two or more Definitions
// name by ID (a cancel-batch of 100 Definitions would otherwise make 100
// lookups). It returns nil when there is nothing to gain; with a non-nil
// map, an ID-keyed Definition whose ID is absent from it does not exist.
func prefetchByID(ctx context.Context, tx store.Tx, accountID int64, results []performResult) (map[int64]store.Send, error) {
	var ids []any
	for i := range results {
		if results[i].err == nil && results[i].key.hasID {
			ids = append(ids, results[i].key.id)
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

func writeOverallMessage(w *xmlw.Writer, n, failed int) {
	if failed == 0 {
		w.Empty("OverallStatusMessage")
		return
	}
	w.Elem("OverallStatusMessage", fmt.Sprintf("%d of %d objects failed", failed, n))
}

var pastTense = map[lifecycle.Action]string{lifecycle.Cancel: "canceled", lifecycle.Pause: "paused", lifecycle.Resume: "resumed"}

// writePerformResult writes one Result. The schema requires both Object and
// Task in every PerformResult, so both are always written.
func writePerformResult(w *xmlw.Writer, r *performResult, ordinal int, clientID int64) {
	w.Start("Result")
	taskStatus, taskMessage := "OK", "OK"
	if writeResultHead(w, ordinal, r.err, "Send "+pastTense[r.action]) {
		taskStatus, taskMessage = "Error", r.err.Error()
	}
	switch {
	case r.send != nil:
		writeSend(w, "Object", r.send, clientID, echoProps(r.send))
	case r.typ == "Send":
		writeSendKey(w, "Object", r.key)
	case apiObjectTypes[r.typ]:
		w.Empty("Object", "xsi:type", r.typ)
	default:
		// An unknown type cannot be echoed as an xsi:type the schema
		// would resolve, so the Object is the plain APIObject.
		w.Empty("Object")
	}
	w.Start("Task")
	w.Elem("StatusCode", taskStatus)
	w.Elem("StatusMessage", taskMessage)
	if r.err != nil {
		w.Int("ErrorCode", int64(codeOf(r.err)))
	}
	if r.send != nil {
		w.Elem("ID", fmt.Sprint(r.send.ID))
	}
	w.End("Task")
	w.End("Result")
}

func describeKey(k sendKeyInput) string {
	switch {
	case k.hasID:
		return fmt.Sprintf("no Send with ID %d", k.id)
	case k.objectID != "":
		return fmt.Sprintf("no Send with ObjectID %s", k.objectID)
	default:
		return fmt.Sprintf("no Send with CustomerKey %s", k.customerKey)
	}
}

func textOf(el *etree.Element) string {
	if el == nil || soap.IsNil(el) {
		return ""
	}
	return el.Text()
}
