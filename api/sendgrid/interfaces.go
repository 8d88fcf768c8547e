package sendgrid

import (
	"context"

	"time"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
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

// Marketing is what the face needs of lists, legacy campaigns and Single
// Sends; *marketing.Service implements it. Errors are marketing's
// sentinels and *marketing.ValidationError, mapped in one table
// (marketingErrors, campaigns.go); any other is the server's fault.
type Marketing interface {
	Lists(ctx context.Context, accountID int64) ([]store.MarketingList, error)

	CreateCampaign(ctx context.Context, accountID int64, f store.CampaignFields) (marketing.Campaign, error)
	Campaign(ctx context.Context, accountID, id int64) (marketing.Campaign, error)
	Campaigns(ctx context.Context, accountID int64, limit, offset int) ([]marketing.Campaign, error)
	UpdateCampaign(ctx context.Context, accountID, id int64, patch marketing.CampaignPatch) (marketing.Campaign, error)
	DeleteCampaign(ctx context.Context, accountID, id int64) error
	ScheduleCampaign(ctx context.Context, accountID, id int64, sendAt time.Time) (marketing.CampaignSchedule, error)
	SendCampaignNow(ctx context.Context, accountID, id int64) (marketing.CampaignSchedule, error)
	RescheduleCampaign(ctx context.Context, accountID, id int64, sendAt time.Time) (marketing.CampaignSchedule, error)
	CampaignScheduleOf(ctx context.Context, accountID, id int64) (marketing.CampaignSchedule, error)
	UnscheduleCampaign(ctx context.Context, accountID, id int64) error

	CreateSingleSend(ctx context.Context, accountID int64, in marketing.SingleSendInput) (marketing.SingleSend, error)
	SingleSend(ctx context.Context, accountID int64, id string) (marketing.SingleSend, error)
	SingleSends(ctx context.Context, accountID int64, pageSize int, pageToken string) (marketing.SingleSendPage, error)
	UpdateSingleSend(ctx context.Context, accountID int64, id string, patch marketing.SingleSendPatch) (marketing.SingleSend, error)
	DeleteSingleSend(ctx context.Context, accountID int64, id string) error
	DuplicateSingleSend(ctx context.Context, accountID int64, id, name string) (marketing.SingleSend, error)
	ScheduleSingleSend(ctx context.Context, accountID int64, id string, sendAt time.Time) (marketing.SingleSendSchedule, error)
	UnscheduleSingleSend(ctx context.Context, accountID int64, id string) (marketing.SingleSendSchedule, error)
}
