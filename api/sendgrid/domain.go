package sendgrid

// The names of the domain this face speaks of, from the packages that own
// them: the batch rules of package sending and the API keys of package auth.

import (
	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/sending"
)

// Hold, Batch: a batch and its pause/cancel state (package sending).
type (
	Hold  = sending.Hold
	Batch = sending.Batch
)

// The holds a batch can have.
const (
	HoldNone   = sending.HoldNone
	HoldPause  = sending.HoldPause
	HoldCancel = sending.HoldCancel
)

// APIKey is one key of an account, without its secret (package auth).
type APIKey = auth.APIKey

// Errors the face maps to its answers.
var (
	ErrBatchNotFound = sending.ErrBatchNotFound
	ErrHoldExists    = sending.ErrHoldExists
	ErrNoHold        = sending.ErrNoHold
	ErrBadHold       = sending.ErrBadHold
	ErrKeyMissing    = auth.ErrKeyMissing
	ErrKeyInvalid    = auth.ErrKeyInvalid
	ErrKeyNotFound   = auth.ErrKeyNotFound
)

// hasScope: granted allows need (auth.HasScope).
func hasScope(granted []string, need string) bool { return auth.HasScope(granted, need) }
