package sendgrid

// Placeholders for the parts of contract12.md that are not on main yet: the
// batches of package sending and the API keys of package auth. They match
// the contract exactly, so that at merge this file is deleted and each name
// is qualified (Hold → sending.Hold, APIKey → auth.APIKey, ErrKeyInvalid →
// auth.ErrKeyInvalid, hasScope → auth.HasScope, …); setSendBatch becomes
// the assignment it documents.

import (
	"errors"
	"time"

	"github.com/partnerd/partnerd/sending"
)

// Hold is a batch's pause/cancel state (sending.Hold).
type Hold string

// The holds a batch can have (sending.HoldNone, HoldPause, HoldCancel).
const (
	HoldNone   Hold = ""
	HoldPause  Hold = "pause"
	HoldCancel Hold = "cancel"
)

// Batch groups sends for pause and cancel (sending.Batch).
type Batch struct {
	ID            string // 32 characters [A-Za-z0-9], random; a SOAP send's own batch may use a derived id
	AccountID     int64
	Created       time.Time
	Hold          Hold
	HoldChangedAt time.Time // zero when never held
}

// Errors of the batch rules (sending.Err*).
var (
	ErrBatchNotFound = errors.New("invalid batch id") // unknown, or another account's
	ErrHoldExists    = errors.New("a status for this batch id exists")
	ErrNoHold        = errors.New("batch id not found") // PATCH/DELETE of a batch without a hold
	ErrBadHold       = errors.New("status must be pause or cancel")
)

// ScopeFull grants every scope (auth.ScopeFull).
const ScopeFull = "*"

// APIKey is one key of an account, without its secret (auth.APIKey).
type APIKey struct {
	ID        string
	AccountID int64
	Name      string
	Scopes    []string
	Created   time.Time
}

// Errors of the key rules (auth.Err*).
var (
	ErrKeyMissing  = errors.New("authorization required") // no/empty Bearer
	ErrKeyInvalid  = errors.New("The provided authorization grant is invalid, expired, or revoked")
	ErrKeyNotFound = errors.New("unable to find API Key")
)

// hasScope stands for auth.HasScope: granted allows need.
func hasScope(granted []string, need string) bool {
	for _, g := range granted {
		if g == ScopeFull || g == need {
			return true
		}
	}
	return false
}

// setSendBatch stands for `ns.BatchID = batchID` (NewSend gains BatchID in
// the contract). Until then the face checks the batch itself (mailsend.go)
// and the send gets a batch of its own.
func setSendBatch(ns *sending.NewSend, batchID string) { _, _ = ns, batchID }
