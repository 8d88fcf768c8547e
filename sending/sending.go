// Package sending is the transport-neutral core of partnerd's scheduled
// sends: act on sends by key (cancel, pause, resume), create sends, and turn
// EmailSendDefinitions into sends. Every face (the SOAP Partner API today,
// REST and a console next) decodes its own wire format into these Go types,
// calls the Service and maps its sentinel errors to its own codes, so that
// the rules — who sees which send, the cutoff, the held limit, the
// compare-and-set retry, when the dispatcher is woken — are written once.
//
// Each call runs in one store transaction, committed before it returns;
// OnDue is raised after the commit when the call left a send due now.
package sending

import (
	"context"
	"errors"
	"fmt"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/ids"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/store"
)

// Service applies the rules over one store. It is a small value: a face may
// build one per call from its own configuration without allocating.
type Service struct {
	Store  store.Store
	Clock  clock.Clock
	Policy lifecycle.Policy
	// OnDue, when set, is called after a commit that left a send due now
	// (resumed past its SendDate, created without a future one, started).
	OnDue func()
	// IDs draws the ObjectIDs and batch IDs of what the service creates
	// (nil: random); a deterministic server passes a seeded source.
	IDs ids.Source
}

// ids is the service's ID source.
func (s *Service) ids() ids.Source { return ids.OrRandom(s.IDs) }

// Errors of the rules. Outcome errors wrap one of these (with details in
// their message); faces test them with errors.Is and map them to codes.
var (
	// ErrNotFound: no send (or definition) of the account has the key.
	// Another account's send is answered as unknown, never as forbidden.
	ErrNotFound = errors.New("Send not found")
	// ErrKeyMissing: neither ID, ObjectID nor CustomerKey was given.
	ErrKeyMissing = errors.New("A Send must be identified by ID, ObjectID or CustomerKey")
	// ErrCutoff, ErrStatus and ErrHeldLimit are lifecycle's rules.
	ErrCutoff    = lifecycle.ErrInsideCutoff
	ErrStatus    = lifecycle.ErrNotActionable
	ErrHeldLimit = lifecycle.ErrHeldLimit
	// ErrAction: an action the object does not take.
	ErrAction = errors.New("unsupported action")
	// ErrKeyTaken: a Create names a key already used in the account.
	ErrKeyTaken = errors.New("key already exists")
	// ErrBadKey: a key holds control characters.
	ErrBadKey = errors.New("invalid key")
	// ErrBadDate: a date partnerd cannot keep as given.
	ErrBadDate = errors.New("date out of range")
	// ErrEmailRequired, ErrListRequired, ErrIDGiven: a Create (of a Send or
	// an EmailSendDefinition) that lacks what it delivers, or names the ID
	// the server assigns.
	ErrEmailRequired = errors.New("An email ID, Partner Key, or body must be specified")
	ErrListRequired  = errors.New("A list must be specified")
	ErrIDGiven       = errors.New("ID is assigned by the server and cannot be given on Create")
	// ErrDefinitionNotFound: no EmailSendDefinition of the account has the key.
	ErrDefinitionNotFound = errors.New("EmailSendDefinition not found")
	// ErrDefinitionKeyMissing: a definition named by nothing.
	ErrDefinitionKeyMissing = errors.New("An EmailSendDefinition must be identified by ID, ObjectID or CustomerKey")
)

// detail is an error whose message is written in full (the wording faces
// answer with) and that wraps one of the sentinels above.
type detail struct {
	kind error
	msg  string
}

func (e *detail) Error() string { return e.msg }
func (e *detail) Unwrap() error { return e.kind }

// detailf is an error of kind with its own message.
func detailf(kind error, format string, args ...any) error {
	return &detail{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// IsRule reports whether err is an outcome of the rules (answered per key
// or per object) rather than a failure of the store.
func IsRule(err error) bool {
	var d *detail
	return errors.As(err, &d) ||
		errors.Is(err, ErrNotFound) || errors.Is(err, ErrKeyMissing) ||
		errors.Is(err, ErrCutoff) || errors.Is(err, ErrStatus) || errors.Is(err, ErrHeldLimit) ||
		errors.Is(err, ErrBatchNotFound) || errors.Is(err, ErrHoldExists) || errors.Is(err, ErrNoHold) || errors.Is(err, ErrBadHold)
}

// Key names a send or a definition: by ID when HasID, else by ObjectID,
// else by CustomerKey.
type Key struct {
	ID          int64
	HasID       bool
	ObjectID    string
	CustomerKey string
}

// Empty reports whether k names nothing.
func (k Key) Empty() bool { return !k.HasID && k.ObjectID == "" && k.CustomerKey == "" }

// update runs fn in one store transaction and, once it has committed,
// wakes the dispatcher when fn left a send due now (fn sets *nowDue; a
// transaction run again starts with it false).
func (s *Service) update(ctx context.Context, fn func(tx store.Tx, nowDue *bool) error) error {
	var nowDue bool
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		nowDue = false
		return fn(tx, &nowDue)
	})
	if err == nil && nowDue {
		s.due()
	}
	return err
}

func (s *Service) due() {
	if s.OnDue != nil {
		s.OnDue()
	}
}
