package sendgrid

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// fieldError is one item of an ErrorResponse's errors[]. Field is nil for a
// problem with no field (written as JSON null, as real servers do, not the
// string "null" of the OpenAPI examples).
type fieldError struct {
	Field   *string `json:"field"`
	Message string  `json:"message"`
}

// errorResponse is SendGrid's ErrorResponse: {"errors":[{"field","message"}]}.
type errorResponse struct {
	Errors []fieldError `json:"errors"`
}

// apiError is a refusal ready to be written: its status and its items.
type apiError struct {
	status int
	errs   []fieldError
	// detail says more than the client is told, for the logs only.
	detail string
}

func field(name string) *string { return &name }

// errNoField is a refusal with one item and a null field.
func errNoField(status int, msg string) *apiError {
	return &apiError{status: status, errs: []fieldError{{Message: msg}}}
}

// errField is a refusal with one item naming a field.
func errField(status int, name, msg string) *apiError {
	return &apiError{status: status, errs: []fieldError{{Field: field(name), Message: msg}}}
}

// Messages written by more than one endpoint.
const (
	msgAuthRequired  = "authorization required"
	msgForbidden     = "access forbidden"
	msgTooMany       = "too many requests"
	msgNotFound      = "not found"
	msgMethod        = "method not allowed"
	msgBadJSON       = "Request body is not valid JSON"
	msgNotObject     = "Request body must be a JSON object"
	msgTooLarge      = "request body too large"
	msgNUL           = "Request body must not contain the NUL character (\\u0000)"
	msgInternal      = "internal error"
	msgBatchInvalid  = "invalid batch id"
	msgBatchNotFound = "batch id not found"
	msgKeyNotFound   = "unable to find API Key"
	msgMissingArg    = "missing required argument"
)

// invalidGrantBody is the 401 for a wrong, revoked or rotated key, byte for
// byte as real servers send it (notes §1.1): unlike the other errors it
// carries "help": null and puts message first, and clients match on it.
const invalidGrantBody = `{"errors":[{"message":"The provided authorization grant is invalid, expired, or revoked","field":null,"help":null}]}`

// writeJSON writes v as the whole body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own response types reach here; they always marshal.
		status, b = http.StatusInternalServerError, []byte(`{"errors":[{"field":null,"message":"internal error"}]}`)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes e as an ErrorResponse and records its detail.
func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	if e.detail != "" {
		infoOf(r).SetDetail(e.detail)
	} else if len(e.errs) > 0 {
		infoOf(r).SetDetail(e.errs[0].Message)
	}
	writeJSON(w, e.status, errorResponse{Errors: e.errs})
}
