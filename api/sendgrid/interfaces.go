package sendgrid

import (
	"context"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/sending"
)

// Batches is what the face needs of the batch rules; *sending.Service
// implements it (contract12.md). Errors are ErrBatchNotFound, ErrHoldExists,
// ErrNoHold, ErrBadHold, sending.ErrHeldLimit and sending.ErrCutoff; any
// other is the server's fault.
type Batches interface {
	CreateBatch(ctx context.Context, accountID int64) (Batch, error)
	Batch(ctx context.Context, accountID int64, id string) (Batch, error)
	SetHold(ctx context.Context, accountID int64, id string, h Hold, replace bool) (Batch, error)
	ReleaseHold(ctx context.Context, accountID int64, id string) error
	HeldBatches(ctx context.Context, accountID int64) ([]Batch, error)
}

// Sends creates the sends of mail/send; *sending.Service implements it.
type Sends interface {
	Create(ctx context.Context, accountID int64, sends []sending.NewSend) ([]sending.Created, error)
}

// Keys verifies and manages API keys; *auth.Keys implements it. Errors are
// ErrKeyMissing, ErrKeyInvalid (Verify) and ErrKeyNotFound.
type Keys interface {
	Verify(ctx context.Context, token string) (auth.Principal, APIKey, error)
	Create(ctx context.Context, accountID int64, name string, scopes []string) (key APIKey, secret string, err error)
	List(ctx context.Context, accountID int64, limit int) ([]APIKey, error)
	Get(ctx context.Context, accountID int64, id string) (APIKey, error)
	Rename(ctx context.Context, accountID int64, id, name string) (APIKey, error)
	Replace(ctx context.Context, accountID int64, id, name string, scopes []string) (APIKey, error)
	Revoke(ctx context.Context, accountID int64, id string) error
}
