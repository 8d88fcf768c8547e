package partnerapi

import (
	"fmt"

	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/xmlw"
)

// resultsResponse writes the response of an operation that answers one
// Result per object — the one place that writes Results, OverallStatus,
// OverallStatusMessage and RequestID, in either of the schema's two
// shapes:
//
//   - the ...ResponseMsg shape (Perform, Schedule): <Results> wraps every
//     <Result>, then OverallStatus, OverallStatusMessage ("n of m objects
//     failed", else empty) and RequestID;
//   - the ...Response shape (Create, Delete): one <Results> per object,
//     then RequestID and OverallStatus.
//
// It is a value, kept on the caller's stack: Perform cancel is the hot
// path.
type resultsResponse struct {
	w         *xmlw.Writer
	tag       string
	msg       bool // the ...ResponseMsg shape
	n, failed int
}

// newResultsMsg starts a ...ResponseMsg named tag in w.
func newResultsMsg(w *xmlw.Writer, tag string) resultsResponse {
	w.Start(tag, "xmlns", soap.NSPartnerAPI)
	return resultsResponse{w: w, tag: tag, msg: true}
}

// newResults starts a ...Response named tag in w.
func newResults(w *xmlw.Writer, tag string) resultsResponse {
	w.Start(tag, "xmlns", soap.NSPartnerAPI)
	return resultsResponse{w: w, tag: tag}
}

// begin starts the next object's Result and writes its head (StatusCode,
// StatusMessage, OrdinalID and, on error, ErrorCode); it says whether the
// object failed. The caller writes the rest and calls end.
func (r *resultsResponse) begin(err error, okMessage string) bool {
	if !r.msg {
		r.w.Start("Results")
	} else {
		if r.n == 0 {
			r.w.Start("Results")
		}
		r.w.Start("Result")
	}
	failed := writeResultHead(r.w, r.n, err, okMessage)
	r.n++
	if failed {
		r.failed++
	}
	return failed
}

// end ends the Result begin started.
func (r *resultsResponse) end() {
	if r.msg {
		r.w.End("Result")
	} else {
		r.w.End("Results")
	}
}

// finish writes the overall fields and ends the response.
func (r *resultsResponse) finish(requestID string) *soap.Response {
	status := overall(r.n, r.failed)
	if r.msg {
		if r.n > 0 {
			r.w.End("Results")
		}
		r.w.Elem("OverallStatus", status)
		if r.failed == 0 {
			r.w.Empty("OverallStatusMessage")
		} else {
			r.w.Elem("OverallStatusMessage", fmt.Sprintf("%d of %d objects failed", r.failed, r.n))
		}
		r.w.Elem("RequestID", requestID)
	} else {
		r.w.Elem("RequestID", requestID)
		r.w.Elem("OverallStatus", status)
	}
	r.w.End(r.tag)
	return &soap.Response{Body: r.w.Buf, Status: status}
}

// refuse ends a ...ResponseMsg that has no Result, as refused as a whole
// with msg (no Action, no Definitions, no Interactions).
func (r *resultsResponse) refuse(requestID, msg string) *soap.Response {
	r.w.Elem("OverallStatus", "Error")
	r.w.Elem("OverallStatusMessage", msg)
	r.w.Elem("RequestID", requestID)
	r.w.End(r.tag)
	return &soap.Response{Body: r.w.Buf, Status: "Error"}
}

// StatusHasErrors is the OverallStatus of a request some of whose objects
// failed, spelled with a space as the real service answers it: fuel-soap
// and sfmc-sdk compare OverallStatus with exactly "Error" or "Has Errors",
// so the documentation's "HasErrors" made a partly failed cancel look
// successful to them.
const StatusHasErrors = "Has Errors"

// overall returns the OverallStatus for n results of which failed failed.
func overall(n, failed int) string {
	switch {
	case failed == 0:
		return "OK"
	case failed == n:
		return "Error"
	default:
		return StatusHasErrors
	}
}

// writeResultHead writes the fields every Result starts with — StatusCode,
// StatusMessage, OrdinalID and, on error, ErrorCode — and says whether the
// object failed.
func writeResultHead(w *xmlw.Writer, ordinal int, err error, okMessage string) bool {
	if err != nil {
		w.Elem("StatusCode", "Error")
		w.Elem("StatusMessage", err.Error())
		w.Int("OrdinalID", int64(ordinal))
		w.Int("ErrorCode", int64(codeOf(err)))
		return true
	}
	w.Elem("StatusCode", "OK")
	w.Elem("StatusMessage", okMessage)
	w.Int("OrdinalID", int64(ordinal))
	return false
}

// fillPending hands the service's outcomes, in order, to the results that
// were passed to it (those pending says were: not refused while decoding,
// and of the type the call served), leaving every other result as it is.
// The service answers one outcome per key it was given, in order, so the
// n-th pending result takes the n-th outcome.
func fillPending[R, O any](results []R, pending func(*R) bool, outs []O, fill func(*R, *O)) {
	j := 0
	for i := range results {
		if r := &results[i]; pending(r) {
			fill(r, &outs[j])
			j++
		}
	}
}
