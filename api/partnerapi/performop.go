package partnerapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/xmlw"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/sending"
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
	send    *store.Send      // the send after the action, when found
	key     sending.Key      // what the client gave, echoed when not found
	typ     string           // the Definition's xsi:type
	started *sending.Started // an EmailSendDefinition started
	action  lifecycle.Action
	err     error
}

// Perform serves PerformRequestMsg, each Definition by its own type:
// Action cancel, pause or resume on Sends, start on EmailSendDefinitions
// (esd.go). Each kind is applied in one transaction that commits before
// the response is written.
func (s *Service) Perform(ctx context.Context, req *soap.Request) (*soap.Response, error) {
	action := strings.ToLower(strings.TrimSpace(textOf(soap.Child(req.Body, "Action"))))
	defs := soap.Children(soap.Child(req.Body, "Definitions"), "Definition")
	var starts []sending.Start

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
				// An empty key is the service's to refuse.
			default:
				r.err = coded(CodePerformUnsupportedAct, "Perform_Unsupported Object Type: action %s is not supported on Send (use cancel, pause or resume)", soap.QuoteInput(action))
			}
		case r.typ == "EmailSendDefinition":
			k, err := readSendKey(d)
			if err != nil {
				return nil, err
			}
			r.key = k
			if action != "start" {
				r.err = coded(CodePerformUnsupportedAct, "Perform_Unsupported Object Type: action %s is not supported on EmailSendDefinition (use start)", soap.QuoteInput(action))
				continue
			}
			st := sending.Start{Key: k}
			st.FromName, st.FromAddress = senderOf(d)
			starts = append(starts, st)
		case apiObjectTypes[r.typ]:
			r.err = coded(CodePerformNotSupported, "The Perform method is not supported for the %s object", r.typ)
		default:
			r.err = coded(CodePerformUnsupportedType, "Perform_Unsupported Object Type: %s", r.typ)
		}
	}

	if action == "" || len(defs) == 0 {
		msg := "No Definitions were given"
		if action == "" {
			msg = "No Action was given"
		}
		resp := newResultsMsg(&xmlw.Writer{}, "PerformResponseMsg")
		return resp.refuse(req.RequestID, msg), nil
	}

	// The Send Definitions that decoded go to the service, in order; each
	// Outcome lands back in its Definition's result.
	// The usual request names one send: its key stays on the stack.
	var one [1]sending.Key
	keys := one[:0]
	for i := range results {
		if results[i].err == nil && results[i].typ == "Send" {
			keys = append(keys, results[i].key)
		}
	}
	if len(keys) > 0 {
		svc := s.sending()
		outs, err := svc.Act(ctx, req.Principal.AccountID, lifecycle.Action(action), keys)
		if err != nil {
			return nil, fmt.Errorf("perform: %w", err)
		}
		fillPending(results, func(r *performResult) bool { return r.err == nil && r.typ == "Send" }, outs, func(r *performResult, o *sending.Outcome) {
			r.err = o.Err
			if o.Found {
				r.send = &o.Send
			}
		})
	}

	if len(starts) > 0 {
		svc := s.sending()
		outs, err := svc.StartDefinitions(ctx, req.Principal.AccountID, starts)
		if err != nil {
			return nil, fmt.Errorf("perform start: %w", err)
		}
		fillPending(results, func(r *performResult) bool { return r.err == nil && r.typ == "EmailSendDefinition" }, outs, func(r *performResult, o *sending.Started) {
			r.started, r.err = o, o.Err
		})
	}

	resp := newResultsMsg(&xmlw.Writer{Buf: make([]byte, 0, 512+400*len(results))}, "PerformResponseMsg")
	for i := range results {
		writePerformResult(&resp, &results[i], req.Principal.ClientID)
	}
	return resp.finish(req.RequestID), nil
}

// writePerformResult writes one Result. The schema requires both Object and
// Task in every PerformResult, so both are always written.
func writePerformResult(resp *resultsResponse, r *performResult, clientID int64) {
	w := resp.w
	if r.typ == "EmailSendDefinition" {
		writeStartResult(resp, r, clientID)
		return
	}
	taskStatus, taskMessage := "OK", "OK"
	if resp.begin(r.err, "Send "+sending.PastTense(r.action)) {
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
	resp.end()
}

func textOf(el *etree.Element) string {
	if el == nil || soap.IsNil(el) {
		return ""
	}
	return el.Text()
}
