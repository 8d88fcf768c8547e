package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerd/partnerd/store"
)

// testMarketing: lists, campaigns and Single Sends (store.MarketingTx),
// and DiscardSendFrom.
func testMarketing(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("Lists", func(t *testing.T) { testLists(t, open(t)) })
	t.Run("Campaigns", func(t *testing.T) { testCampaigns(t, open(t)) })
	t.Run("SingleSends", func(t *testing.T) { testSingleSends(t, open(t)) })
	t.Run("DiscardSendFrom", func(t *testing.T) { testDiscardSendFrom(t, open(t)) })
}

// tryUpdate runs fn in an Update of s and returns its error.
func tryUpdate(t *testing.T, s store.Store, fn func(tx store.Tx) error) error {
	t.Helper()
	return s.Update(t.Context(), fn)
}

func testLists(t *testing.T, s store.Store) {
	a, b := newAccount(t, s, "a"), newAccount(t, s, "b")
	l := store.MarketingList{AccountID: a.ID, UUID: uuid.NewString(), Name: "Spring", Created: base,
		Recipients: []store.ListRecipient{{Address: "x@example.com", Name: "X"}, {Address: "y@example.com"}}}
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.InsertList(t.Context(), &l) }); err != nil || l.ID == 0 || l.RecipientCount != 2 {
		t.Fatalf("InsertList: ID %d count %d, %v", l.ID, l.RecipientCount, err)
	}
	dup := l
	dup.UUID = uuid.NewString()
	wantErr(t, "a duplicate name", tryUpdate(t, s, func(tx store.Tx) error { return tx.InsertList(t.Context(), &dup) }), store.ErrExists)
	dup.AccountID = b.ID
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.InsertList(t.Context(), &dup) }); err != nil {
		t.Errorf("the same name in another account: %v", err)
	}
	empty := store.MarketingList{AccountID: a.ID, UUID: uuid.NewString(), Name: "Empty", Created: base}
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.InsertList(t.Context(), &empty) }); err != nil {
		t.Fatal(err)
	}
	for _, k := range []store.ListKey{{ID: l.ID}, {UUID: l.UUID}, {Name: "Spring"}} {
		var got store.MarketingList
		err := s.View(t.Context(), func(tx store.Tx) error {
			var err error
			got, err = tx.ListByKey(t.Context(), a.ID, k)
			return err
		})
		if err != nil || got.ID != l.ID || got.UUID != l.UUID || got.Name != l.Name || !sameTime(got.Created, base) ||
			!reflect.DeepEqual(got.Recipients, l.Recipients) || got.RecipientCount != 2 {
			t.Errorf("by %+v: %+v, %v", k, got, err)
		}
	}
	err := s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListByKey(t.Context(), b.ID, store.ListKey{ID: l.ID})
		return err
	})
	wantErr(t, "another account's list", err, store.ErrNotFound)
	var lists []store.MarketingList
	if err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		lists, err = tx.FindLists(t.Context(), a.ID)
		return err
	}); err != nil || len(lists) != 2 || lists[0].ID != l.ID || lists[0].RecipientCount != 2 || lists[0].Recipients != nil ||
		lists[1].ID != empty.ID || lists[1].RecipientCount != 0 {
		t.Errorf("FindLists = %+v, %v", lists, err)
	}
}

func testCampaigns(t *testing.T, s store.Store) {
	a, b := newAccount(t, s, "a"), newAccount(t, s, "b")
	sender, group := int64(3), int64(0)
	c := store.Campaign{AccountID: a.ID, State: store.StateDraft, Created: base, Updated: base,
		CampaignFields: store.CampaignFields{Title: "T", Subject: "S", SenderID: &sender, ListIDs: []int64{1, 2},
			SegmentIDs: []int64{}, Categories: []string{"c"}, SuppressionGroupID: &group, CustomUnsubscribeURL: "https://u",
			IPPool: "p", HTMLContent: "<p>h</p>", PlainContent: "h", Editor: "code"}}
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.InsertCampaign(t.Context(), &c) }); err != nil || c.ID == 0 || c.Version != 1 {
		t.Fatalf("InsertCampaign: ID %d version %d, %v", c.ID, c.Version, err)
	}
	read := func(accountID, id int64) (store.Campaign, error) {
		var got store.Campaign
		err := s.View(t.Context(), func(tx store.Tx) error {
			var err error
			got, err = tx.CampaignByID(t.Context(), accountID, id)
			return err
		})
		return got, err
	}
	got, err := read(a.ID, c.ID)
	if err != nil || !reflect.DeepEqual(got.CampaignFields, c.CampaignFields) || got.State != store.StateDraft ||
		!got.SendAt.IsZero() || !sameTime(got.Created, base) || got.Version != 1 {
		t.Errorf("CampaignByID:\n got %+v, %v\nwant %+v", got, err, c)
	}
	_, err = read(b.ID, c.ID)
	wantErr(t, "another account's campaign", err, store.ErrNotFound)

	// Compare-and-set on the version.
	stale := got
	got.State, got.SendAt, got.ScheduleToken, got.Updated = store.StateScheduled, at(time.Hour), "tok", at(time.Minute)
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCampaign(t.Context(), &got) }); err != nil || got.Version != 2 {
		t.Fatalf("UpdateCampaign: version %d, %v", got.Version, err)
	}
	stale.Title = "lost"
	wantErr(t, "an update of a stale read", tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCampaign(t.Context(), &stale) }), store.ErrConflict)
	again, _ := read(a.ID, c.ID)
	if again.State != store.StateScheduled || !sameTime(again.SendAt, at(time.Hour)) || again.ScheduleToken != "tok" || again.Title != "T" || again.Version != 2 {
		t.Errorf("after update: %+v", again)
	}
	other := got
	other.AccountID = b.ID
	wantErr(t, "updating another account's campaign", tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCampaign(t.Context(), &other) }), store.ErrNotFound)

	// Newest first, limit and offset.
	for i := range 3 {
		n := store.Campaign{AccountID: a.ID, State: store.StateDraft, CampaignFields: store.CampaignFields{Title: fmt.Sprint(i)}}
		if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.InsertCampaign(t.Context(), &n) }); err != nil {
			t.Fatal(err)
		}
	}
	var page []store.Campaign
	if err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		page, err = tx.FindCampaigns(t.Context(), a.ID, 2, 1)
		return err
	}); err != nil || len(page) != 2 || page[0].Title != "1" || page[1].Title != "0" {
		t.Errorf("FindCampaigns(2, 1) = %+v, %v", page, err)
	}

	wantErr(t, "deleting another account's campaign", tryUpdate(t, s, func(tx store.Tx) error { return tx.DeleteCampaign(t.Context(), b.ID, c.ID) }), store.ErrNotFound)
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.DeleteCampaign(t.Context(), a.ID, c.ID) }); err != nil {
		t.Fatal(err)
	}
	_, err = read(a.ID, c.ID)
	wantErr(t, "a deleted campaign", err, store.ErrNotFound)
	// A deleted campaign's ID is never given again.
	n := store.Campaign{AccountID: a.ID, State: store.StateDraft}
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.InsertCampaign(t.Context(), &n) }); err != nil || n.ID <= c.ID+3 {
		t.Errorf("a new campaign got ID %d after %d was deleted (%v)", n.ID, c.ID+3, err)
	}
}

func testSingleSends(t *testing.T, s store.Store) {
	a, b := newAccount(t, s, "a"), newAccount(t, s, "b")
	sender := int64(9)
	ss := store.SingleSend{ID: uuid.NewString(), AccountID: a.ID, State: store.StateDraft, SendAt: at(time.Hour), Created: base, Updated: base,
		SingleSendFields: store.SingleSendFields{Name: "N", Categories: []string{"c"},
			SendTo: store.SendTo{ListIDs: []string{uuid.NewString()}, All: true},
			EmailConfig: store.EmailConfig{Subject: "S", HTMLContent: "<p>h</p>", PlainContent: "h", GenerateUniquePlainContent: true,
				Editor: "code", SenderID: &sender, CustomUnsubscribeURL: "https://u", IPPool: "p"}}}
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.InsertSingleSend(t.Context(), &ss) }); err != nil || ss.Seq == 0 || ss.Version != 1 {
		t.Fatalf("InsertSingleSend: seq %d, %v", ss.Seq, err)
	}
	dup := ss
	wantErr(t, "a duplicate id", tryUpdate(t, s, func(tx store.Tx) error { return tx.InsertSingleSend(t.Context(), &dup) }), store.ErrExists)
	read := func(accountID int64, id string) (store.SingleSend, error) {
		var got store.SingleSend
		err := s.View(t.Context(), func(tx store.Tx) error {
			var err error
			got, err = tx.SingleSendByID(t.Context(), accountID, id)
			return err
		})
		return got, err
	}
	got, err := read(a.ID, ss.ID)
	if err != nil || !reflect.DeepEqual(got.SingleSendFields, ss.SingleSendFields) || !sameTime(got.SendAt, at(time.Hour)) || got.Seq != ss.Seq {
		t.Errorf("SingleSendByID:\n got %+v, %v\nwant %+v", got, err, ss)
	}
	_, err = read(b.ID, ss.ID)
	wantErr(t, "another account's Single Send", err, store.ErrNotFound)
	stale := got
	got.State, got.ScheduleToken = store.StateScheduled, "tok"
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSingleSend(t.Context(), &got) }); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "an update of a stale read", tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSingleSend(t.Context(), &stale) }), store.ErrConflict)
	second := store.SingleSend{ID: uuid.NewString(), AccountID: a.ID, State: store.StateDraft}
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.InsertSingleSend(t.Context(), &second) }); err != nil {
		t.Fatal(err)
	}
	var page []store.SingleSend
	if err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		page, err = tx.FindSingleSends(t.Context(), a.ID, ss.Seq, 10)
		return err
	}); err != nil || len(page) != 1 || page[0].ID != second.ID {
		t.Errorf("FindSingleSends after the first = %+v, %v", page, err)
	}
	wantErr(t, "deleting another account's", tryUpdate(t, s, func(tx store.Tx) error { return tx.DeleteSingleSend(t.Context(), b.ID, ss.ID) }), store.ErrNotFound)
	if err := tryUpdate(t, s, func(tx store.Tx) error { return tx.DeleteSingleSend(t.Context(), a.ID, ss.ID) }); err != nil {
		t.Fatal(err)
	}
	_, err = read(a.ID, ss.ID)
	wantErr(t, "a deleted Single Send", err, store.ErrNotFound)
}

// testDiscardSendFrom: a send is canceled and discarded at once while it
// is in the status given; a claimed one is ErrConflict and keeps going; a
// discarded send is never claimed and never counts as held.
func testDiscardSendFrom(t *testing.T, s store.Store) {
	a, b := newAccount(t, s, "a"), newAccount(t, s, "b")
	sends := insert(t, s, sendAt(a.ID, "d1", time.Hour, store.StatusScheduled), sendAt(a.ID, "d2", -time.Minute, store.StatusScheduled))
	discard := func(accountID, id int64, from store.SendStatus) error {
		return tryUpdate(t, s, func(tx store.Tx) error { return tx.DiscardSendFrom(t.Context(), accountID, id, from, base) })
	}
	wantErr(t, "another account's send", discard(b.ID, sends[0].ID, store.StatusScheduled), store.ErrNotFound)
	if err := discard(a.ID, sends[0].ID, store.StatusScheduled); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, a.ID, sends[0].ID); got.Status != store.StatusCanceled || !sameTime(got.StatusChangedAt, base) {
		t.Errorf("discarded send: %+v", got)
	}
	if n := countHeld(t, s, a.ID, base); n != 0 {
		t.Errorf("a discarded send counts as held (%d)", n)
	}
	claimed := claim(t, s, base, "d", 10)
	if len(claimed) != 1 || claimed[0].ID != sends[1].ID {
		t.Fatalf("claimed %v, want only the undiscarded send", claimedIDs(claimed))
	}
	err := discard(a.ID, sends[1].ID, store.StatusScheduled)
	wantErr(t, "a claimed send", err, store.ErrConflict)
	if got := mustGet(t, s, a.ID, sends[1].ID); got.Status != store.StatusSending {
		t.Errorf("a refused discard changed the send to %s", got.Status)
	}
	if err := discard(a.ID, 1<<40, store.StatusScheduled); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an absent send: %v", err)
	}
	for _, c := range claim(t, s, at(2*time.Hour), "d", 10) {
		if c.ID == sends[0].ID {
			t.Errorf("a discarded send was claimed")
		}
	}
}
