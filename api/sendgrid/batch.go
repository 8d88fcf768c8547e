package sendgrid

import (
	"errors"
	"net/http"
)

// batchResponse is MailBatchResponse.
type batchResponse struct {
	BatchID string `json:"batch_id"`
}

// createBatch is POST /v3/mail/batch: 201 {"batch_id"}. The body, if any,
// is ignored (the clients send none, or "{}").
func (h *Handler) createBatch(w http.ResponseWriter, r *http.Request, c *caller) {
	b, err := h.cfg.Batches.CreateBatch(r.Context(), c.principal.AccountID)
	if err != nil {
		writeError(w, r, internal("create batch", err))
		return
	}
	writeJSON(w, http.StatusCreated, batchResponse{BatchID: b.ID})
}

// getBatch is GET /v3/mail/batch/{batch_id}: 200 when the account created
// the batch, otherwise 400 "invalid batch id" (the endpoint has no 404).
func (h *Handler) getBatch(w http.ResponseWriter, r *http.Request, c *caller) {
	b, err := h.cfg.Batches.Batch(r.Context(), c.principal.AccountID, r.PathValue("batch_id"))
	switch {
	case errors.Is(err, ErrBatchNotFound):
		writeError(w, r, errNoField(http.StatusBadRequest, msgBatchInvalid))
	case err != nil:
		writeError(w, r, internal("get batch", err))
	default:
		writeJSON(w, http.StatusOK, batchResponse{BatchID: b.ID})
	}
}

// internal is a 500 that tells the client nothing and the log everything.
func internal(what string, err error) *apiError {
	return &apiError{status: http.StatusInternalServerError, errs: []fieldError{{Message: msgInternal}}, detail: what + ": " + err.Error()}
}
