package partnerapi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/xmlw"
	"github.com/partnerd/partnerd/sending"
)

// recurrenceTypes are the concrete Recurrence types of the schema; an echo
// of the client's Recurrence keeps its type when it is one of them.
var recurrenceTypes = map[string]bool{
	"MinutelyRecurrence": true, "HourlyRecurrence": true, "DailyRecurrence": true,
	"WeeklyRecurrence": true, "MonthlyRecurrence": true, "YearlyRecurrence": true,
}

// scheduleInput is the ScheduleDefinition of a ScheduleRequestMsg.
type scheduleInput struct {
	start          time.Time
	hasStart       bool   // false when absent or DateTime.MinValue (unset)
	startErr       error  // a StartDateTime partnerd cannot keep
	recurrenceType string // the Recurrence's xsi:type
	occurrences    int64
	hasOccurrences bool
}

func readSchedule(el *etree.Element) (scheduleInput, error) {
	var in scheduleInput
	if el == nil || soap.IsNil(el) {
		return in, nil
	}
	var err error
	if in.start, in.hasStart, in.startErr, err = dateField(el, "StartDateTime"); err != nil {
		return in, err
	}
	if r := soap.Child(el, "Recurrence"); r != nil && !soap.IsNil(r) {
		in.recurrenceType = objectType(r)
	}
	if in.occurrences, in.hasOccurrences, err = intField(el, "Occurrences"); err != nil {
		return in, err
	}
	return in, nil
}

// Schedule serves ScheduleRequestMsg with Action start: each Interaction,
// an EmailSendDefinition named by ID, ObjectID or CustomerKey, becomes a
// Send due at the ScheduleDefinition's StartDateTime (at once if it is
// past). partnerd runs a schedule once: a Recurrence is accepted for
// clients that always send one, but more than one Occurrence is refused
// (ErrorCode 140). Each Result's Task carries the new Send's ID (its JobID)
// and ObjectID, through which the send is retrieved, paused or canceled.
func (s *Service) Schedule(ctx context.Context, req *soap.Request) (*soap.Response, error) {
	action := strings.ToLower(strings.TrimSpace(textOf(soap.Child(req.Body, "Action"))))
	sched, err := readSchedule(soap.Child(req.Body, "Schedule"))
	if err != nil {
		return nil, err
	}
	inters := soap.Children(soap.Child(req.Body, "Interactions"), "Interaction")

	results := make([]sending.Started, len(inters))
	var starts []sending.Start
	for i, el := range inters {
		r := &results[i]
		typ := objectType(el)
		if soap.IsNil(el) {
			r.Err = coded(CodeNoObject, "No object specified at 0-based index %d", i)
			continue
		}
		key, err := readSendKey(el)
		if err != nil {
			return nil, err
		}
		switch {
		case action != "start":
			r.Err = coded(CodePerformUnsupportedAct, "Schedule_Validation Error: action %s is not supported (use start)", soap.QuoteInput(action))
		case typ != "EmailSendDefinition":
			r.Err = coded(CodePerformUnsupportedType, "Perform_Unsupported Object Type: Schedule of %s is not supported; schedule an EmailSendDefinition", typeName(typ))
		case sched.startErr != nil:
			r.Err = sched.startErr
		case !sched.hasStart:
			// Absent, or .NET's DateTime.MinValue: a start left unset.
			r.Err = coded(CodeScheduleStartMissing, "Schedule_Recurrence_Start DateTime Not Specified")
		case sched.hasOccurrences && sched.occurrences != 1:
			r.Err = coded(CodeScheduleValidation, "Schedule_Validation Error: partnerd runs a schedule once; Occurrences must be 1, not %d", sched.occurrences)
		default:
			// The service refuses an empty key, after every check above.
			starts = append(starts, sending.Start{Key: key, SendDate: sched.start})
		}
	}

	if len(starts) > 0 {
		svc := s.sending()
		outs, err := svc.StartDefinitions(ctx, req.Principal.AccountID, starts)
		if err != nil {
			return nil, fmt.Errorf("schedule: %w", err)
		}
		fillPending(results, func(r *sending.Started) bool { return r.Err == nil }, outs, func(r, o *sending.Started) { *r = *o })
	}

	resp := newResultsMsg(&xmlw.Writer{}, "ScheduleResponseMsg")
	if len(results) == 0 {
		return resp.refuse(req.RequestID, "No Interactions were given"), nil
	}
	w := resp.w
	for i := range results {
		r := &results[i]
		resp.begin(r.Err, "EmailSendDefinition scheduled")
		writeScheduleEcho(w, sched)
		w.Start("Task")
		if r.Err != nil {
			w.Elem("StatusCode", "Error")
			w.Elem("StatusMessage", r.Err.Error())
			w.Int("ErrorCode", int64(codeOf(r.Err)))
		} else {
			w.Elem("StatusCode", "OK")
			w.Elem("StatusMessage", "OK")
			w.Elem("ID", fmt.Sprint(r.Send.ID))
			w.Elem("InteractionObjectID", r.Send.ObjectID)
		}
		w.End("Task")
		resp.end()
	}
	return resp.finish(req.RequestID), nil
}

// writeScheduleEcho writes the ScheduleResult's Object: the schedule as
// understood. The schema requires a Recurrence (an abstract type, so with
// an xsi:type); a client's own type is kept, DailyRecurrence stands in when
// it sent none.
func writeScheduleEcho(w *xmlw.Writer, in scheduleInput) {
	w.Start("Object")
	rt := in.recurrenceType
	if !recurrenceTypes[rt] {
		rt = "DailyRecurrence"
	}
	w.Empty("Recurrence", "xsi:type", rt)
	if in.hasStart {
		w.Time("StartDateTime", in.start)
	}
	if in.hasOccurrences {
		w.Int("Occurrences", in.occurrences)
	}
	w.End("Object")
}
