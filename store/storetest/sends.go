package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

func testSends(t *testing.T, open func(*testing.T) store.Store) {
	testSendKeys(t, open)
	t.Run("InsertAndReadByEachKey", func(t *testing.T) {
		s := open(t)
		acct := newAccount(t, s, "acct")
		want := insert(t, s, newSend(acct.ID, "key-1"))[0]
		if !fitsXSDInt(want.ID) {
			t.Fatalf("InsertSend set ID %d, want 1..2^31-1", want.ID)
		}
		keys := []struct {
			name string
			key  store.SendKey
		}{
			{"ID", store.SendKey{ID: want.ID}},
			{"ObjectID", store.SendKey{ObjectID: want.ObjectID}},
			{"CustomerKey", store.SendKey{CustomerKey: want.CustomerKey}},
		}
		for _, k := range keys {
			t.Run(k.name, func(t *testing.T) {
				got, err := sendByKey(t, s, acct.ID, k.key)
				if err != nil {
					t.Fatalf("SendByKey(%+v): %v", k.key, err)
				}
				if d := diffSend(got, want); d != "" {
					t.Errorf("SendByKey(%+v): %s", k.key, d)
				}
			})
		}
	})

	t.Run("KeyPrecedence", func(t *testing.T) {
		// The first key set wins, even when a later one names another send.
		s := open(t)
		acct := newAccount(t, s, "acct")
		sends := insert(t, s, newSend(acct.ID, "first"), newSend(acct.ID, "second"))
		a, b := sends[0], sends[1]
		cases := []struct {
			name string
			key  store.SendKey
			want int64
		}{
			{"ID over ObjectID", store.SendKey{ID: a.ID, ObjectID: b.ObjectID}, a.ID},
			{"ID over CustomerKey", store.SendKey{ID: b.ID, CustomerKey: a.CustomerKey}, b.ID},
			{"ObjectID over CustomerKey", store.SendKey{ObjectID: a.ObjectID, CustomerKey: b.CustomerKey}, a.ID},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := sendByKey(t, s, acct.ID, c.key)
				if err != nil {
					t.Fatalf("SendByKey(%+v): %v", c.key, err)
				}
				if got.ID != c.want {
					t.Errorf("SendByKey(%+v) = send %d, want %d", c.key, got.ID, c.want)
				}
			})
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := open(t)
		acct := newAccount(t, s, "acct")
		sent := insert(t, s, newSend(acct.ID, "k"))[0]
		cases := []struct {
			name string
			key  store.SendKey
		}{
			{"empty key", store.SendKey{}},
			{"unknown ID", store.SendKey{ID: sent.ID + 1000}},
			{"unknown ObjectID", store.SendKey{ObjectID: "00000000-0000-0000-0000-000000000000"}},
			{"unknown CustomerKey", store.SendKey{CustomerKey: "nope"}},
			{"ID wins and is unknown", store.SendKey{ID: sent.ID + 1000, CustomerKey: "k"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := sendByKey(t, s, acct.ID, c.key)
				wantErr(t, "SendByKey", err, store.ErrNotFound)
			})
		}
	})

	t.Run("IDsAreDistinctAndFitXSDInt", func(t *testing.T) {
		s := open(t)
		acct := newAccount(t, s, "acct")
		var batch []store.Send
		for range 20 {
			batch = append(batch, newSend(acct.ID, ""))
		}
		seen := map[int64]bool{}
		for _, sent := range insert(t, s, batch...) {
			if !fitsXSDInt(sent.ID) || seen[sent.ID] {
				t.Errorf("ID %d: duplicate or outside 1..2^31-1", sent.ID)
			}
			seen[sent.ID] = true
		}
	})

	t.Run("PresetID", func(t *testing.T) {
		// A non-zero ID is used as given; later inserts get other IDs.
		s := open(t)
		acct := newAccount(t, s, "acct")
		preset := newSend(acct.ID, "preset")
		preset.ID = 12052743
		preset = insert(t, s, preset)[0]
		if preset.ID != 12052743 {
			t.Fatalf("InsertSend changed the given ID to %d", preset.ID)
		}
		if d := diffSend(mustGet(t, s, acct.ID, 12052743), preset); d != "" {
			t.Errorf("send with a preset ID: %s", d)
		}
		next := insert(t, s, newSend(acct.ID, "next"))[0]
		if next.ID == preset.ID || !fitsXSDInt(next.ID) {
			t.Errorf("next assigned ID %d", next.ID)
		}
		dup := newSend(acct.ID, "dup-id")
		dup.ID = preset.ID
		err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertSend(t.Context(), &dup) })
		wantErr(t, "InsertSend(taken ID)", err, store.ErrExists)
	})

	t.Run("CustomerKeyUniquePerAccount", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "a")
		b := newAccount(t, s, "b")
		insert(t, s, newSend(a.ID, "dup"))
		cases := []struct {
			name string
			send store.Send
			want error
		}{
			{"same key, same account", newSend(a.ID, "dup"), store.ErrExists},
			{"same key, other account", newSend(b.ID, "dup"), nil},
			{"empty key", newSend(a.ID, ""), nil},
			{"another empty key", newSend(a.ID, ""), nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { checkInsert(t, s, c.send, c.want) })
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		acct := newAccount(t, s, "acct")
		sent := insert(t, s, newSend(acct.ID, "k"), newSend(acct.ID, "untouched"))
		want, untouched := sent[0], sent[1]
		from := want.Status

		want.Status = store.StatusComplete
		want.SendDate = at(3*time.Hour + 7*time.Millisecond)
		want.SentDate = at(3*time.Hour + 9*time.Millisecond)
		want.NumberSent = 1234
		want.StatusChangedAt = at(3 * time.Hour)
		want.ModifiedDate = at(3*time.Hour + time.Second)
		want.EmailID, want.EmailName, want.Subject = 77, "new name", "new subject"
		want.FromName, want.FromAddress = "New From", "new@example.com"
		want.ListIDs = []int64{99}
		if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.UpdateSendFrom(t.Context(), want, from) }); err != nil {
			t.Fatalf("UpdateSendFrom: %v", err)
		}
		if d := diffSend(mustGet(t, s, acct.ID, want.ID), want); d != "" {
			t.Errorf("after UpdateSendFrom: %s", d)
		}
		if d := diffSend(mustGet(t, s, acct.ID, untouched.ID), untouched); d != "" {
			t.Errorf("UpdateSendFrom changed another send: %s", d)
		}

		// Back to unsent, no lists: zero values must round-trip too.
		want.SentDate, want.ListIDs, want.NumberSent = time.Time{}, nil, 0
		if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.UpdateSendFrom(t.Context(), want, store.StatusComplete) }); err != nil {
			t.Fatalf("UpdateSendFrom: %v", err)
		}
		if d := diffSend(mustGet(t, s, acct.ID, want.ID), want); d != "" {
			t.Errorf("after UpdateSendFrom to zero values: %s", d)
		}

		missing := want
		missing.ID += 1000
		err := s.Update(t.Context(), func(tx store.Tx) error { return tx.UpdateSendFrom(t.Context(), missing, store.StatusComplete) })
		wantErr(t, "UpdateSendFrom(unknown ID)", err, store.ErrNotFound)
	})

	t.Run("TimesRoundTripInUTC", func(t *testing.T) {
		s := open(t)
		acct := newAccount(t, s, "acct")
		zone := time.FixedZone("UTC-5", -5*3600)
		send := newSend(acct.ID, "zoned")
		send.SendDate = time.Date(2031, 2, 3, 4, 5, 6, 789_000_000, zone)
		send.SentDate = time.Time{}
		send = insert(t, s, send)[0]
		got := mustGet(t, s, acct.ID, send.ID)
		if !sameTime(got.SendDate, send.SendDate) {
			t.Errorf("SendDate = %v, want %v in UTC", got.SendDate, send.SendDate)
		}
		if !got.SentDate.IsZero() {
			t.Errorf("unset SentDate came back as %v", got.SentDate)
		}
	})
}

// testSendKeys checks that a key names at most one send of an account
// (issue 10: a Create retried after a timeout made two sends with one
// ObjectID, and a cancel by that ObjectID stopped only one of them).
func testSendKeys(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("ObjectIDUniquePerAccount", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "a")
		b := newAccount(t, s, "b")
		first := insert(t, s, newSend(a.ID, "first"))[0]
		withObjectID := func(accountID int64, objectID string) store.Send {
			send := newSend(accountID, "")
			send.ObjectID = objectID
			return send
		}
		cases := []struct {
			name string
			send store.Send
			want error
		}{
			{"same ObjectID, same account", withObjectID(a.ID, first.ObjectID), store.ErrExists},
			{"same GUID in upper case", withObjectID(a.ID, strings.ToUpper(first.ObjectID)), store.ErrExists},
			{"same GUID in braces", withObjectID(a.ID, "{"+first.ObjectID+"}"), store.ErrExists},
			{"same ObjectID, other account", withObjectID(b.ID, first.ObjectID), nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { checkInsert(t, s, c.send, c.want) })
		}
		got, err := find(t, s, a.ID, store.SendQuery{Filter: cond(store.FieldObjectID, store.OpEquals, first.ObjectID)})
		if err != nil || len(got) != 1 {
			t.Errorf("sends of account a with the ObjectID: %v, %v; want exactly one", ids(got), err)
		}
		// Any spelling of the GUID finds it.
		err = s.View(t.Context(), func(tx store.Tx) error {
			got, err := tx.SendByKey(t.Context(), a.ID, store.SendKey{ObjectID: strings.ToUpper(first.ObjectID)})
			if err == nil && got.ID != first.ID {
				t.Errorf("SendByKey(upper-case ObjectID) = send %d, want %d", got.ID, first.ID)
			}
			return err
		})
		if err != nil {
			t.Errorf("SendByKey(upper-case ObjectID): %v", err)
		}
	})

	t.Run("ObjectIDCanonicalAndAssigned", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "a")
		upper, empty := newSend(a.ID, "upper"), newSend(a.ID, "empty")
		upper.ObjectID = "{6A0D2F80-0000-4000-8000-0000000000AB}"
		empty.ObjectID = ""
		sends := insert(t, s, upper, empty, newSend(a.ID, ""))
		if want := "6a0d2f80-0000-4000-8000-0000000000ab"; sends[0].ObjectID != want || mustGet(t, s, a.ID, sends[0].ID).ObjectID != want {
			t.Errorf("ObjectID stored as %q, want %q", mustGet(t, s, a.ID, sends[0].ID).ObjectID, want)
		}
		if sends[1].ObjectID == "" || sends[1].ObjectID == sends[2].ObjectID {
			t.Errorf("sends inserted without an ObjectID got %q and %q, want two new GUIDs", sends[1].ObjectID, sends[2].ObjectID)
		}
	})

	t.Run("RacingInsertsOfOneKey", func(t *testing.T) {
		// Two Creates retried at once: the store, not a check before the
		// insert, must let only one through.
		s := open(t)
		a := newAccount(t, s, "a")
		objectID := newSend(a.ID, "").ObjectID
		const n = 8
		errs := make(chan error, n)
		for i := range n {
			go func() {
				send := newSend(a.ID, "")
				send.ObjectID = objectID
				if i%2 == 1 {
					send.ObjectID = ""
					send.CustomerKey = "racing-key"
				}
				errs <- s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertSend(t.Context(), &send) })
			}()
		}
		got := make([]error, n)
		for i := range got {
			got[i] = <-errs
		}
		if ok := winners(t, "InsertSend", store.ErrExists, got); ok != 2 {
			t.Errorf("%d racing inserts succeeded, want 2 (one per key)", ok)
		}
	})

	t.Run("DatesOutOfRangeRefused", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "a")
		for _, d := range []time.Time{
			time.Date(0, 12, 31, 23, 0, 0, 0, time.UTC),
			time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		} {
			send := newSend(a.ID, "")
			send.SendDate = d
			err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertSend(t.Context(), &send) })
			if err == nil {
				t.Errorf("InsertSend with SendDate %v: no error", d)
			}
		}
		// The first and last instants of the range round-trip.
		for _, d := range []time.Time{
			time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
			time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
		} {
			send := insert(t, s, func() store.Send { x := newSend(a.ID, ""); x.SendDate = d; return x }())[0]
			if got := mustGet(t, s, a.ID, send.ID).SendDate; !sameTime(got, d) {
				t.Errorf("SendDate %v came back as %v", d, got)
			}
		}
	})

	t.Run("UpdateSendFrom", func(t *testing.T) {
		// A cancel reads a Scheduled send, a dispatcher claims it, and
		// then the cancel writes: the write must fail, not turn the
		// claimed send Canceled while it goes out.
		s := open(t)
		a := newAccount(t, s, "a")
		due := newSend(a.ID, "due")
		due.SendDate = at(-time.Minute)
		sends := insert(t, s, due, newSend(a.ID, "later"))
		read := mustGet(t, s, a.ID, sends[0].ID)
		claimed, err := s.ClaimDueSends(t.Context(), store.Claim{Now: base, Owner: "d1", LeaseUntil: at(time.Minute), Limit: 10})
		if err != nil || len(claimed) != 1 {
			t.Fatalf("ClaimDueSends = %d sends, %v; want 1", len(claimed), err)
		}
		canceled := read
		canceled.Status = store.StatusCanceled
		err = s.Update(t.Context(), func(tx store.Tx) error {
			return tx.UpdateSendFrom(t.Context(), canceled, read.Status)
		})
		wantErr(t, "UpdateSendFrom(claimed send)", err, store.ErrConflict)
		if got := mustGet(t, s, a.ID, read.ID).Status; got != store.StatusSending {
			t.Errorf("claimed send is %s after a refused update, want Sending", got)
		}

		later := mustGet(t, s, a.ID, sends[1].ID)
		want := later
		want.Status, want.StatusChangedAt, want.ModifiedDate = store.StatusCanceled, base, base
		if err := s.Update(t.Context(), func(tx store.Tx) error {
			return tx.UpdateSendFrom(t.Context(), want, later.Status)
		}); err != nil {
			t.Fatalf("UpdateSendFrom(unchanged send): %v", err)
		}
		if d := diffSend(mustGet(t, s, a.ID, later.ID), want); d != "" {
			t.Errorf("after UpdateSendFrom: %s", d)
		}

		missing := want
		missing.ID += 1000
		err = s.Update(t.Context(), func(tx store.Tx) error {
			return tx.UpdateSendFrom(t.Context(), missing, store.StatusScheduled)
		})
		wantErr(t, "UpdateSendFrom(unknown ID)", err, store.ErrNotFound)
		other := newAccount(t, s, "other")
		hijack := want
		hijack.AccountID = other.ID
		err = s.Update(t.Context(), func(tx store.Tx) error {
			return tx.UpdateSendFrom(t.Context(), hijack, store.StatusCanceled)
		})
		wantErr(t, "UpdateSendFrom(another account's send)", err, store.ErrNotFound)
	})
}

func testIsolation(t *testing.T, open func(*testing.T) store.Store) {
	// Account A must not see or touch account B's send by any route, even
	// knowing all of its keys.
	s := open(t)
	a := newAccount(t, s, "a")
	b := newAccount(t, s, "b")
	mine := newSend(a.ID, "mine")
	mine.Status = store.StatusScheduled
	theirs := newSend(b.ID, "theirs")
	theirs.Status = store.StatusPaused
	mine = insert(t, s, mine)[0]
	theirs = insert(t, s, theirs)[0]
	const theirCursor = "b-request"
	err := s.Update(t.Context(), func(tx store.Tx) error {
		return tx.SaveCursor(t.Context(), store.Cursor{RequestID: theirCursor, AccountID: b.ID, Query: []byte("q"), AfterID: 5, Expires: at(time.Hour)})
	})
	if err != nil {
		t.Fatalf("SaveCursor: %v", err)
	}

	for _, key := range []store.SendKey{{ID: theirs.ID}, {ObjectID: theirs.ObjectID}, {CustomerKey: theirs.CustomerKey}} {
		t.Run("SendByKey"+keyName(key), func(t *testing.T) {
			_, err := sendByKey(t, s, a.ID, key)
			wantErr(t, "SendByKey("+keyName(key)+")", err, store.ErrNotFound)
		})
	}

	t.Run("UpdateSendFrom", func(t *testing.T) {
		hijack := theirs
		hijack.AccountID = a.ID
		hijack.Status = store.StatusCanceled
		err := s.Update(t.Context(), func(tx store.Tx) error { return tx.UpdateSendFrom(t.Context(), hijack, theirs.Status) })
		wantErr(t, "UpdateSendFrom of another account's send", err, store.ErrNotFound)
		if d := diffSend(mustGet(t, s, b.ID, theirs.ID), theirs); d != "" {
			t.Errorf("their send changed: %s", d)
		}
	})

	t.Run("FindSends", func(t *testing.T) {
		cases := []struct {
			name   string
			filter store.Filter
		}{
			{"nil filter", nil},
			{"by their ID", &store.Cond{Field: store.FieldID, Op: store.OpEquals, Values: []any{theirs.ID}}},
			// An Or must stay inside the account scope.
			{"Or reaching for their ID", &store.Or{
				Left:  &store.Cond{Field: store.FieldID, Op: store.OpEquals, Values: []any{theirs.ID}},
				Right: &store.Cond{Field: store.FieldID, Op: store.OpEquals, Values: []any{mine.ID}},
			}},
			{"Or with isNotNull", &store.Or{
				Left:  &store.Cond{Field: store.FieldCustomerKey, Op: store.OpIsNotNull},
				Right: &store.Cond{Field: store.FieldID, Op: store.OpGreaterThan, Values: []any{int64(0)}},
			}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := find(t, s, a.ID, store.SendQuery{Filter: c.filter})
				if err != nil {
					t.Fatalf("FindSends: %v", err)
				}
				for _, g := range got {
					if g.AccountID != a.ID {
						t.Errorf("FindSends for account %d returned send %d of account %d", a.ID, g.ID, g.AccountID)
					}
				}
			})
		}
	})

	t.Run("CountHeldSends", func(t *testing.T) {
		err := s.View(t.Context(), func(tx store.Tx) error {
			n, err := tx.CountHeldSends(t.Context(), a.ID, base)
			if err == nil && n != 0 {
				t.Errorf("CountHeldSends(a) = %d, want 0 (only b has a paused send)", n)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Cursor", func(t *testing.T) {
		err := s.View(t.Context(), func(tx store.Tx) error {
			_, err := tx.Cursor(t.Context(), a.ID, theirCursor, base)
			return err
		})
		wantErr(t, "Cursor of another account", err, store.ErrNotFound)

		// Saving under their request ID must not take over their cursor;
		// whether it errors is the implementation's choice.
		_ = s.Update(t.Context(), func(tx store.Tx) error {
			return tx.SaveCursor(t.Context(), store.Cursor{RequestID: theirCursor, AccountID: a.ID, Query: []byte("evil"), AfterID: 99, Expires: at(2 * time.Hour)})
		})
		err = s.View(t.Context(), func(tx store.Tx) error {
			c, err := tx.Cursor(t.Context(), b.ID, theirCursor, base)
			if err == nil && (string(c.Query) != "q" || c.AfterID != 5) {
				t.Errorf("their cursor was overwritten: %+v", c)
			}
			return err
		})
		if err != nil {
			t.Errorf("their cursor: %v", err)
		}
	})
}

func keyName(k store.SendKey) string {
	switch {
	case k.ID != 0:
		return "ID"
	case k.ObjectID != "":
		return "ObjectID"
	default:
		return "CustomerKey"
	}
}

// sendByKey reads one of account's sends by key, in a View.
func sendByKey(t *testing.T, s store.Store, accountID int64, key store.SendKey) (store.Send, error) {
	t.Helper()
	return viewRead(t, s, func(tx store.Tx) (store.Send, error) { return tx.SendByKey(t.Context(), accountID, key) })
}

// checkInsert inserts send and wants the error want (nil: that it is
// stored).
func checkInsert(t *testing.T, s store.Store, send store.Send, want error) {
	t.Helper()
	err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertSend(t.Context(), &send) })
	if want == nil {
		if err != nil {
			t.Fatalf("InsertSend: %v", err)
		}
		return
	}
	wantErr(t, "InsertSend", err, want)
}
