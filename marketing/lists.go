package marketing

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/partnerd/partnerd/store"
)

// MaxListRecipients bounds one list (a list is read whole when scheduled).
const MaxListRecipients = 1_000_000

// CreateList creates a list of accountID named name with recipients, given
// an int ID (legacy campaigns' list_ids) and a UUID (Single Sends'
// send_to.list_ids). Each address must be a bare address (a@example.com);
// one given twice (without regard to case) is kept once. ErrInvalid for a
// blank or too long name or a bad address, ErrListExists for a name taken.
func (s *Service) CreateList(ctx context.Context, accountID int64, name string, recipients []store.ListRecipient) (store.MarketingList, error) {
	var p problems
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		p.add("name", "name can't be blank")
	case utf8.RuneCountInString(name) > MaxTitle:
		p.add("name", "name is too long (maximum is %d characters)", MaxTitle)
	}
	if len(recipients) > MaxListRecipients {
		p.add("recipients", "a list holds at most %d recipients", MaxListRecipients)
	}
	var kept []store.ListRecipient
	seen := map[string]bool{}
	for i, r := range recipients {
		addr := strings.TrimSpace(r.Address)
		if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr {
			p.add(fmt.Sprintf("recipients[%d]", i), "%q is not an email address", r.Address)
			continue
		}
		if key := strings.ToLower(addr); !seen[key] {
			seen[key] = true
			kept = append(kept, store.ListRecipient{Address: addr, Name: strings.TrimSpace(r.Name)})
		}
	}
	if err := p.err(); err != nil {
		return store.MarketingList{}, err
	}
	l := store.MarketingList{AccountID: accountID, UUID: s.ids().UUID(), Name: name, Created: s.Clock.Now(), Recipients: kept}
	err := s.Store.Update(ctx, func(tx store.Tx) error { return tx.InsertList(ctx, &l) })
	if errors.Is(err, store.ErrExists) {
		return store.MarketingList{}, fmt.Errorf("list %q: %w", name, ErrListExists)
	}
	if err != nil {
		return store.MarketingList{}, err
	}
	return l, nil
}

// List finds one of accountID's lists (by ID, UUID or name), with its
// recipients. ErrNotFound if none.
func (s *Service) List(ctx context.Context, accountID int64, k store.ListKey) (store.MarketingList, error) {
	var l store.MarketingList
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		l, err = tx.ListByKey(ctx, accountID, k)
		return err
	})
	return l, notFound(err, "list")
}

// Lists returns accountID's lists by ID, with their recipient counts.
func (s *Service) Lists(ctx context.Context, accountID int64) ([]store.MarketingList, error) {
	var ls []store.MarketingList
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		ls, err = tx.FindLists(ctx, accountID)
		return err
	})
	return ls, err
}
