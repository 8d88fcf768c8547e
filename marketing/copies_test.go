package marketing_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/marketing"
)

// TestCloneCampaign: a Draft copy of every field under "Copy of " and the
// title; a campaign in progress cloned, then deleted, leaves the clone.
func TestCloneCampaign(t *testing.T) {
	e := newEnv(t)
	l := e.list("subscribers", 3)
	orig := e.campaign(ready(l.ID))
	if _, err := e.svc.ScheduleCampaign(t.Context(), e.acct, orig.ID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	clone, err := e.svc.CloneCampaign(t.Context(), e.acct, orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	if clone.ID == orig.ID || clone.Status != marketing.CampaignDraft || clone.Title != "Copy of Spring" ||
		clone.Subject != orig.Subject || clone.HTMLContent != orig.HTMLContent || !slices.Equal(clone.ListIDs, orig.ListIDs) {
		t.Errorf("clone %+v of %+v", clone, orig)
	}
	if err := e.svc.DeleteCampaign(t.Context(), e.acct, orig.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := e.svc.Campaign(t.Context(), e.acct, clone.ID); err != nil || got.Title != "Copy of Spring" {
		t.Errorf("the clone after the delete: %+v, %v", got, err)
	}
	long := ready(l.ID)
	long.Title = strings.Repeat("é", marketing.MaxTitle)
	c, err := e.svc.CloneCampaign(t.Context(), e.acct, e.campaign(long).ID)
	if err != nil || c.Title != "Copy of "+strings.Repeat("é", marketing.MaxTitle-len("Copy of ")) {
		t.Errorf("a long title's clone: %q, %v", c.Title, err)
	}
	if _, err := e.svc.CloneCampaign(t.Context(), e.other, clone.ID); !errors.Is(err, marketing.ErrNotFound) {
		t.Errorf("another account's clone: %v", err)
	}
	if _, err := e.svc.CloneCampaign(t.Context(), e.acct, 999999); !errors.Is(err, marketing.ErrNotFound) {
		t.Errorf("unknown campaign: %v", err)
	}
}

// TestDuplicateSingleSend: a draft copy, named as asked or "Copy of …",
// without the original's schedule.
func TestDuplicateSingleSend(t *testing.T) {
	e := newEnv(t)
	l := e.list("subscribers", 2)
	orig := e.singleSend(readySS(l.UUID))
	if _, err := e.svc.ScheduleSingleSend(t.Context(), e.acct, orig.ID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	dup, err := e.svc.DuplicateSingleSend(t.Context(), e.acct, orig.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if dup.ID == orig.ID || dup.Name != "Copy of News" || dup.Status != marketing.SingleSendDraft || !dup.SendAt.IsZero() ||
		dup.EmailConfig.Subject != "Hi" || !slices.Equal(dup.SendTo.ListIDs, orig.SendTo.ListIDs) {
		t.Errorf("duplicate %+v of %+v", dup, orig)
	}
	named, err := e.svc.DuplicateSingleSend(t.Context(), e.acct, orig.ID, "Autumn")
	if err != nil || named.Name != "Autumn" {
		t.Errorf("named duplicate %q, %v", named.Name, err)
	}
	if _, err := e.svc.DuplicateSingleSend(t.Context(), e.acct, orig.ID, strings.Repeat("x", marketing.MaxTitle+1)); !errors.Is(err, marketing.ErrInvalid) {
		t.Errorf("too long a name: %v", err)
	}
	if _, err := e.svc.DuplicateSingleSend(t.Context(), e.other, orig.ID, ""); !errors.Is(err, marketing.ErrNotFound) {
		t.Errorf("another account's duplicate: %v", err)
	}
}
