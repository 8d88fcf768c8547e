package perform

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
				r.err = coded(CodePerformUnsupportedAct, "Perform_Unsupported Object Type: action %q is not supported on Send (use cancel, pause or resume)", action)
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
			var send store.Send
			var err error
			if cached, ok := byID[r.key.id]; ok && r.key.hasID {
				send = cached
			} else if byID != nil && r.key.hasID {
				err = store.ErrNotFound
			} else {
				send, err = tx.SendByKey(ctx, accountID, store.SendKey{ID: r.key.id, ObjectID: r.key.objectID, CustomerKey: r.key.customerKey})
			}
			if errors.Is(err, store.ErrNotFound) {
				r.err = fmt.Errorf("%w: %s", errSendNotFound, describeKey(r.key))
				continue
			}
			if err != nil {
				return err
			}
			changed, err := s.Policy.Apply(&send, r.action, now, held)
			if err != nil {
				if !isResultError(err) {
					return err
				}
				r.send, r.err = &send, fmt.Errorf("Cannot %s Send %d: %w", r.action, send.ID, err)
				continue
			}
			if changed {
				if err := tx.UpdateSend(ctx, send); err != nil {
					return err
				}
				if byID != nil {
					// A later Definition of the same Send sees this one's change.
					byID[send.ID] = send
				}
				if send.Status == store.StatusScheduled && !send.SendDate.After(now) {
					nowDue = true
				}
			}
			r.send = &send
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
