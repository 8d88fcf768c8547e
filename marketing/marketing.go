// Package marketing is the domain of SendGrid's marketing sends over
// partnerd's store: recipient lists, legacy Marketing Campaigns
// (/v3/campaigns) and Single Sends (/v3/marketing/singlesends). A face
// decodes its wire format into these Go types, calls the Service, and maps
// the sentinel errors below to its codes; the REST handlers are written
// against this API.
//
// A campaign or Single Send is sent by ordinary sends: scheduling it splits
// its lists' recipients into sends of at most ChunkSize recipients, created
// through package sending, all due at its send time, so that the dispatcher
// delivers them like any other send and SOAP Retrieve sees them. Their
// CustomerKeys carry the schedule's token ("campaign-12-<hex>-0", …), which
// is how a campaign finds its sends; what it is now (Scheduled, In
// Progress, Sent …) is read from them, never stored.
//
// Each call runs in one store transaction, but for scheduling, which takes
// three: the campaign is marked scheduled (which no concurrent schedule can
// also do: compare-and-set on its version), then its sends are created
// (sending.Service.Create commits its own), then the campaign is read again
// and, if a delete or unschedule ran in between, the new sends are halted.
// A crash between the first two leaves a campaign Scheduled with no sends:
// nothing goes out, and unscheduling it returns it to Draft.
//
// Senders: there is no sender store yet. sender_id is kept and answered as
// given but not resolved: everything a campaign sends goes from the
// server's default sender (serve --smtp-from).
package marketing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/ids"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// DefaultChunkSize is how many recipients one send of a campaign carries
// when Service.ChunkSize is not set.
const DefaultChunkSize = 100

// Limits of the API (../shared/reference/sendgrid-v3-notes.md §6, §7).
const (
	MaxTitle       = 100 // campaign title, Single Send name, list name (characters)
	MaxCategories  = 10
	MaxContent     = 1 << 20 // html_content, plain_content (bytes)
	MaxSendToLists = 50      // Single Send send_to.list_ids
	MaxSegments    = 10      // Single Send send_to.segment_ids
	DefaultLimit   = 10      // GET /v3/campaigns without limit
	DefaultPage    = 100     // GET /v3/marketing/singlesends without page_size
	MaxPage        = 100
)

// SendCreator creates sends and the batch that holds a schedule's chunks:
// *sending.Service.
type SendCreator interface {
	CreateBatch(ctx context.Context, accountID int64) (sending.Batch, error)
	Create(ctx context.Context, accountID int64, sends []sending.NewSend) ([]sending.Created, error)
}

// Service applies the rules of lists, campaigns and Single Sends over one
// store.
type Service struct {
	Store store.Store
	Clock clock.Clock
	// Sends creates the sends a schedule makes (a *sending.Service over
	// the same store, whose OnDue wakes the dispatcher).
	Sends SendCreator
	// ChunkSize is the most recipients one send carries (DefaultChunkSize
	// when 0).
	ChunkSize int
	// IDs draws list and Single Send IDs and schedule tokens (nil:
	// random); a deterministic server passes a seeded source.
	IDs ids.Source
}

// ids is the service's ID source.
func (s *Service) ids() ids.Source { return ids.OrRandom(s.IDs) }

func (s *Service) chunkSize() int {
	if s.ChunkSize > 0 {
		return s.ChunkSize
	}
	return DefaultChunkSize
}

// Errors of the rules. Those with a SendGrid wording carry it as their
// message; faces test them with errors.Is.
var (
	// ErrNotFound: no campaign, Single Send or list of the account has the
	// id (another account's is unknown too).
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the input breaks a field's rule; the error is a
	// *ValidationError listing every problem.
	ErrInvalid = errors.New("invalid input")
	// ErrListExists: the account already has a list of that name.
	ErrListExists = errors.New("a list with this name already exists")

	ErrNotDraft         = errors.New("You may only update a campaign when it is in draft mode.")
	ErrAlreadyScheduled = errors.New("You cannot POST to a campaign that has already sent or scheduled. However you can update a scheduled campaign with a PATCH.")
	ErrPastSendAt       = errors.New("Please choose a future time for sending your campaign.")
	ErrNotScheduled     = errors.New("You cannot update the send_at value of non-scheduled campaign.")
	ErrSendNotDraft     = errors.New("You may only send a campaign when it is in draft mode.")
	// Unschedule of a campaign no longer Scheduled: the documented 403s.
	ErrInProgress = errors.New("This campaign is already In Progress.")
	ErrSent       = errors.New("This campaign is already Sent.")
	ErrPaused     = errors.New("This campaign is already Paused.")
	ErrCanceled   = errors.New("This campaign is already Canceled.")

	// Single Sends. SendGrid documents no wording for these; ours.
	ErrSingleSendNotDraft = errors.New("only a Single Send in draft status can be changed or scheduled; unschedule it first")
	ErrTriggered          = errors.New("this Single Send has already been triggered and can no longer be unscheduled")
)

// FieldError is one problem with the input: the field as the API names it
// ("title", "send_to.list_ids") and what is wrong.
type FieldError struct {
	Field   string
	Message string
}

// ValidationError is ErrInvalid with every problem found, in field order.
type ValidationError struct {
	Problems []FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Field + ": " + p.Message
	}
	return strings.Join(msgs, "; ")
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

// problems collects FieldErrors.
type problems []FieldError

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// err is nil without problems, else a *ValidationError.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}

// Opt is an optional field of a patch: Set when the client sent it (a
// null included, for the pointer types).
type Opt[T any] struct {
	Set   bool
	Value T
}

// Some is an Opt that is set.
func Some[T any](v T) Opt[T] { return Opt[T]{Set: true, Value: v} }

func (o Opt[T]) apply(dst *T) {
	if o.Set {
		*dst = o.Value
	}
}

// newToken is a fresh schedule token for kind ("campaign-12"): its sends'
// CustomerKeys are the token, a dash and the chunk's number. Random, so
// that sends of an earlier schedule of the same campaign are never taken
// for the current one's.
func newToken(src ids.Source, kind string) string {
	return kind + "-" + ids.Hex(src, 8)
}

// notFound maps the store's ErrNotFound to ours.
func notFound(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}
