package marketing

import (
	"context"
	"unicode/utf8"
)

// copyPrefix names a copy as SendGrid's duplicate does.
const copyPrefix = "Copy of "

// copyName is name as a copy's: "Copy of " before it, the end cut so that
// the whole keeps within MaxTitle characters.
func copyName(name string) string {
	n := copyPrefix + name
	if utf8.RuneCountInString(n) <= MaxTitle {
		return n
	}
	r := []rune(n)
	return string(r[:MaxTitle])
}

// CloneCampaign makes a Draft copy of a campaign of accountID: every field,
// the title as a copy's. Deleting a campaign in progress is what halts it,
// and loses it: a clone first keeps the work (the seed's "clone the email
// first"). ErrNotFound if accountID has no campaign with id; ErrInvalid
// when a field no longer passes (a list deleted since).
func (s *Service) CloneCampaign(ctx context.Context, accountID, id int64) (Campaign, error) {
	c, err := s.Campaign(ctx, accountID, id)
	if err != nil {
		return Campaign{}, err
	}
	f := c.CampaignFields
	f.Title = copyName(f.Title)
	return s.CreateCampaign(ctx, accountID, f)
}

// DuplicateSingleSend makes a draft copy of a Single Send of accountID
// (POST /v3/marketing/singlesends/{id}): every field, named name, or
// "Copy of " and the original's name when name is "". It carries no
// schedule. ErrNotFound if accountID has none with id; ErrInvalid for a
// name over MaxTitle characters or a field that no longer passes.
func (s *Service) DuplicateSingleSend(ctx context.Context, accountID int64, id, name string) (SingleSend, error) {
	ss, err := s.SingleSend(ctx, accountID, id)
	if err != nil {
		return SingleSend{}, err
	}
	f := ss.SingleSendFields
	if name == "" {
		name = copyName(f.Name)
	}
	f.Name = name
	return s.CreateSingleSend(ctx, accountID, SingleSendInput{SingleSendFields: f})
}
