package sendgrid

import (
	"errors"
	"net/http"

	"github.com/partnerd/partnerd/sending"
)

// scheduledSend is ScheduledSendStatus: a batch and its hold.
type scheduledSend struct {
	BatchID string `json:"batch_id"`
	Status  Hold   `json:"status"`
}

// Messages of the scheduled_sends endpoints.
const (
	msgHoldExists = "a status for this batch id exists, try PATCH to update the status"
	// msgHeldLimit is BP's wording, kept exactly (field ""): clients may
	// match on it. The limit itself goes to the log.
	msgHeldLimit = "max limit reached"
	msgCutoff    = "the batch's sends are due in less than the cutoff: they can no longer be paused or canceled"
	msgBadStatus = "status must be pause or cancel"
	msgBatchReq  = "batch_id is required"
	msgStatusReq = "status is required"
)

// holdError maps the batch rules' errors for POST and PATCH. notFound is the
// status of an unknown batch: 400 "invalid batch id" on POST, 404 "batch id
// not found" on PATCH.
func holdError(err error, notFound int) *apiError {
	switch {
	case errors.Is(err, ErrBatchNotFound) && notFound == http.StatusNotFound,
		errors.Is(err, ErrNoHold):
		return errNoField(http.StatusNotFound, msgBatchNotFound)
	case errors.Is(err, ErrBatchNotFound):
		return errField(http.StatusBadRequest, "batch_id", msgBatchInvalid)
	case errors.Is(err, ErrHoldExists):
		return errField(http.StatusBadRequest, "batch_id", msgHoldExists)
	case errors.Is(err, ErrBadHold):
		return errField(http.StatusBadRequest, "status", msgBadStatus)
	case errors.Is(err, sending.ErrHeldLimit):
		e := errField(http.StatusBadRequest, "", msgHeldLimit)
		e.detail = err.Error()
		return e
	case errors.Is(err, sending.ErrCutoff):
		e := errField(http.StatusBadRequest, "batch_id", msgCutoff)
		e.detail = err.Error()
		return e
	}
	return internal("hold", err)
}

// readHold reads {"batch_id"?, "status"} and names every missing or wrong
// member.
func readHold(r *http.Request, wantBatch bool) (batchID string, h Hold, e *apiError) {
	o, e := readObject(r, false)
	if e != nil {
		return "", "", e
	}
	bad := &apiError{status: http.StatusBadRequest}
	if wantBatch {
		v, present, msg := o.str("batch_id")
		switch {
		case msg != "":
			bad.errs = append(bad.errs, fieldError{Field: field("batch_id"), Message: msg})
		case !present || v == "":
			bad.errs = append(bad.errs, fieldError{Field: field("batch_id"), Message: msgBatchReq})
		}
		batchID = v
	}
	v, present, msg := o.str("status")
	switch {
	case msg != "":
		bad.errs = append(bad.errs, fieldError{Field: field("status"), Message: msg})
	case !present || v == "":
		bad.errs = append(bad.errs, fieldError{Field: field("status"), Message: msgStatusReq})
	case Hold(v) != HoldPause && Hold(v) != HoldCancel:
		bad.errs = append(bad.errs, fieldError{Field: field("status"), Message: msgBadStatus})
	}
	if len(bad.errs) > 0 {
		return "", "", bad
	}
	return batchID, Hold(v), nil
}

// createScheduledSend is POST /v3/user/scheduled_sends: 201 with the echo.
func (h *Handler) createScheduledSend(w http.ResponseWriter, r *http.Request, c *caller) {
	id, hold, e := readHold(r, true)
	if e != nil {
		writeError(w, r, e)
		return
	}
	b, err := h.cfg.Batches.SetHold(r.Context(), c.principal.AccountID, id, hold, false)
	if err != nil {
		writeError(w, r, holdError(err, http.StatusBadRequest))
		return
	}
	writeJSON(w, http.StatusCreated, scheduledSend{BatchID: b.ID, Status: b.Hold})
}

// listScheduledSends is GET /v3/user/scheduled_sends: a bare array of the
// held batches, [] when there are none.
func (h *Handler) listScheduledSends(w http.ResponseWriter, r *http.Request, c *caller) {
	bs, err := h.cfg.Batches.HeldBatches(r.Context(), c.principal.AccountID)
	if err != nil {
		writeError(w, r, internal("held batches", err))
		return
	}
	out := make([]scheduledSend, 0, len(bs))
	for _, b := range bs {
		out = append(out, scheduledSend{BatchID: b.ID, Status: b.Hold})
	}
	writeJSON(w, http.StatusOK, out)
}

// getScheduledSend is GET /v3/user/scheduled_sends/{batch_id}: an array of
// one, or 404 when the batch is unknown or has no hold.
func (h *Handler) getScheduledSend(w http.ResponseWriter, r *http.Request, c *caller) {
	b, err := h.cfg.Batches.Batch(r.Context(), c.principal.AccountID, r.PathValue("batch_id"))
	switch {
	case errors.Is(err, ErrBatchNotFound) || (err == nil && b.Hold == HoldNone):
		writeError(w, r, errNoField(http.StatusNotFound, msgBatchNotFound))
	case err != nil:
		writeError(w, r, internal("get batch", err))
	default:
		writeJSON(w, http.StatusOK, []scheduledSend{{BatchID: b.ID, Status: b.Hold}})
	}
}

// updateScheduledSend is PATCH /v3/user/scheduled_sends/{batch_id}
// {"status"}: 204, or 404 when the batch has no hold to change.
func (h *Handler) updateScheduledSend(w http.ResponseWriter, r *http.Request, c *caller) {
	_, hold, e := readHold(r, false)
	if e != nil {
		writeError(w, r, e)
		return
	}
	if _, err := h.cfg.Batches.SetHold(r.Context(), c.principal.AccountID, r.PathValue("batch_id"), hold, true); err != nil {
		writeError(w, r, holdError(err, http.StatusNotFound))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteScheduledSend is DELETE /v3/user/scheduled_sends/{batch_id}: the
// batch's sends are active again; 204, or 404 without a hold.
func (h *Handler) deleteScheduledSend(w http.ResponseWriter, r *http.Request, c *caller) {
	err := h.cfg.Batches.ReleaseHold(r.Context(), c.principal.AccountID, r.PathValue("batch_id"))
	switch {
	case errors.Is(err, ErrNoHold) || errors.Is(err, ErrBatchNotFound):
		writeError(w, r, errNoField(http.StatusNotFound, msgBatchNotFound))
	case err != nil:
		writeError(w, r, internal("release hold", err))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
