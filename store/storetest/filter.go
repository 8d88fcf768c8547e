package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// cond is shorthand for a *store.Cond.
func cond(f store.Field, op store.Op, values ...any) *store.Cond {
	return &store.Cond{Field: f, Op: op, Values: values}
}

func testFilter(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	acct := newAccount(t, s, "acct")
	other := newAccount(t, s, "other")

	// Five sends whose fields make every case below pick a distinct subset.
	// want lists are 1-based positions in this fixture.
	fixture := []store.Send{
		{CustomerKey: "alpha", EmailID: 10, EmailName: "Welcome Series", Subject: "Hello",
			Status: store.StatusScheduled, SendDate: at(time.Hour)},
		{CustomerKey: "beta", EmailID: 20, EmailName: "Newsletter June", Subject: "News 50% off",
			Status: store.StatusPaused, SendDate: at(2*time.Hour + 7*time.Millisecond)},
		{CustomerKey: "", EmailID: 30, EmailName: "welcome back", Subject: "Hi_there",
			Status: store.StatusComplete, SendDate: at(-time.Hour), SentDate: at(-30 * time.Minute)},
		{CustomerKey: "delta", EmailID: 0, EmailName: "", Subject: "",
			Status: store.StatusCanceled, SendDate: at(3 * time.Hour)},
		{CustomerKey: "epsilon", EmailID: 20, EmailName: "Promo", Subject: "Sale",
			Status: store.StatusComplete, SendDate: at(-2 * time.Hour), SentDate: at(-90 * time.Minute)},
	}
	for i := range fixture {
		f := &fixture[i]
		f.AccountID = acct.ID
		f.ObjectID = newSend(0, "").ObjectID
		f.CreatedDate = at(time.Duration(i-10) * time.Hour)
		f.ModifiedDate = at(time.Duration(i-5) * time.Minute)
	}
	sends := insert(t, s, fixture...)
	id := func(n int) int64 { return sends[n-1].ID }
	// A send of another account that matches every filter below that
	// matches anything: it must never appear.
	decoy := newSend(other.ID, "alpha")
	decoy.Status = store.StatusComplete
	decoy.EmailID = 20
	decoy = insert(t, s, decoy)[0]

	cases := []struct {
		name   string
		filter store.Filter
		want   []int
	}{
		{"nil matches all", nil, []int{1, 2, 3, 4, 5}},

		// int fields
		{"ID equals", cond(store.FieldID, store.OpEquals, id(3)), []int{3}},
		{"ID greaterThan", cond(store.FieldID, store.OpGreaterThan, id(4)), []int{5}},
		{"ID between", cond(store.FieldID, store.OpBetween, id(2), id(4)), []int{2, 3, 4}},
		{"ID IN", cond(store.FieldID, store.OpIn, id(1), id(5), decoy.ID), []int{1, 5}},
		{"EmailID equals", cond(store.FieldEmailID, store.OpEquals, int64(20)), []int{2, 5}},
		{"EmailID notEquals", cond(store.FieldEmailID, store.OpNotEquals, int64(20)), []int{1, 3, 4}},
		{"EmailID greaterThan", cond(store.FieldEmailID, store.OpGreaterThan, int64(20)), []int{3}},
		{"EmailID lessThan", cond(store.FieldEmailID, store.OpLessThan, int64(20)), []int{1, 4}},
		{"EmailID greaterThanOrEqual", cond(store.FieldEmailID, store.OpGreaterThanOrEqual, int64(20)), []int{2, 3, 5}},
		{"EmailID lessThanOrEqual", cond(store.FieldEmailID, store.OpLessThanOrEqual, int64(10)), []int{1, 4}},
		{"EmailID between is inclusive", cond(store.FieldEmailID, store.OpBetween, int64(10), int64(20)), []int{1, 2, 5}},
		{"EmailID IN", cond(store.FieldEmailID, store.OpIn, int64(10), int64(30)), []int{1, 3}},
		{"EmailID isNull (unset)", cond(store.FieldEmailID, store.OpIsNull), []int{4}},
		{"EmailID isNotNull", cond(store.FieldEmailID, store.OpIsNotNull), []int{1, 2, 3, 5}},

		// string fields
		{"CustomerKey equals", cond(store.FieldCustomerKey, store.OpEquals, "beta"), []int{2}},
		{"CustomerKey notEquals", cond(store.FieldCustomerKey, store.OpNotEquals, "beta"), []int{1, 3, 4, 5}},
		{"CustomerKey IN", cond(store.FieldCustomerKey, store.OpIn, "alpha", "delta", "zzz"), []int{1, 4}},
		{"CustomerKey isNull (empty)", cond(store.FieldCustomerKey, store.OpIsNull), []int{3}},
		{"CustomerKey isNotNull", cond(store.FieldCustomerKey, store.OpIsNotNull), []int{1, 2, 4, 5}},
		{"ObjectID equals", cond(store.FieldObjectID, store.OpEquals, sends[1].ObjectID), []int{2}},
		{"Status equals", cond(store.FieldStatus, store.OpEquals, string(store.StatusComplete)), []int{3, 5}},
		{"Status IN", cond(store.FieldStatus, store.OpIn, string(store.StatusPaused), string(store.StatusCanceled)), []int{2, 4}},
		{"EmailName like prefix ignores case", cond(store.FieldEmailName, store.OpLike, "welcome%"), []int{1, 3}},
		{"EmailName like infix", cond(store.FieldEmailName, store.OpLike, "%LETTER%"), []int{2}},
		{"EmailName like one char", cond(store.FieldEmailName, store.OpLike, "Pro_o"), []int{5}},
		{"EmailName like without wildcard is equality", cond(store.FieldEmailName, store.OpLike, "promo"), []int{5}},
		{"Subject like with literal underscore", cond(store.FieldSubject, store.OpLike, "Hi_there"), []int{3}},
		{"Subject equals", cond(store.FieldSubject, store.OpEquals, "News 50% off"), []int{2}},
		{"EmailName greaterThan (bytes)", cond(store.FieldEmailName, store.OpGreaterThan, "P"), []int{1, 3, 5}},
		{"EmailName lessThan", cond(store.FieldEmailName, store.OpLessThan, "P"), []int{2, 4}},
		{"EmailName greaterThanOrEqual", cond(store.FieldEmailName, store.OpGreaterThanOrEqual, "Promo"), []int{1, 3, 5}},
		{"EmailName lessThanOrEqual", cond(store.FieldEmailName, store.OpLessThanOrEqual, "Promo"), []int{2, 4, 5}},
		{"EmailName between", cond(store.FieldEmailName, store.OpBetween, "A", "O"), []int{2}},
		{"Subject isNull (empty)", cond(store.FieldSubject, store.OpIsNull), []int{4}},
		{"values are data, not SQL", cond(store.FieldEmailName, store.OpEquals, "x' OR '1'='1"), nil},
		{"like values are data, not SQL", cond(store.FieldEmailName, store.OpLike, "%' OR 1=1 --"), nil},

		// time fields
		{"SendDate equals", cond(store.FieldSendDate, store.OpEquals, at(time.Hour)), []int{1}},
		{"SendDate equals keeps milliseconds", cond(store.FieldSendDate, store.OpEquals, at(2*time.Hour+7*time.Millisecond)), []int{2}},
		{"SendDate equals misses by a millisecond", cond(store.FieldSendDate, store.OpEquals, at(2*time.Hour)), nil},
		{"SendDate notEquals", cond(store.FieldSendDate, store.OpNotEquals, at(time.Hour)), []int{2, 3, 4, 5}},
		{"SendDate greaterThan", cond(store.FieldSendDate, store.OpGreaterThan, at(2*time.Hour)), []int{2, 4}},
		{"SendDate lessThan", cond(store.FieldSendDate, store.OpLessThan, base), []int{3, 5}},
		{"SendDate greaterThanOrEqual", cond(store.FieldSendDate, store.OpGreaterThanOrEqual, at(2*time.Hour+7*time.Millisecond)), []int{2, 4}},
		{"SendDate lessThanOrEqual", cond(store.FieldSendDate, store.OpLessThanOrEqual, at(-time.Hour)), []int{3, 5}},
		{"SendDate between is inclusive", cond(store.FieldSendDate, store.OpBetween, at(-time.Hour), at(time.Hour)), []int{1, 3}},
		{"SendDate IN", cond(store.FieldSendDate, store.OpIn, at(time.Hour), at(-2*time.Hour)), []int{1, 5}},
		{"SendDate in another zone", cond(store.FieldSendDate, store.OpEquals, at(time.Hour).In(time.FixedZone("X", 3600))), []int{1}},
		{"SentDate isNull (not sent)", cond(store.FieldSentDate, store.OpIsNull), []int{1, 2, 4}},
		{"SentDate isNotNull", cond(store.FieldSentDate, store.OpIsNotNull), []int{3, 5}},
		{"SentDate lessThan skips unsent", cond(store.FieldSentDate, store.OpLessThan, at(time.Hour)), []int{3, 5}},
		{"SentDate notEquals skips unsent", cond(store.FieldSentDate, store.OpNotEquals, at(-30*time.Minute)), []int{5}},
		{"SentDate between", cond(store.FieldSentDate, store.OpBetween, at(-2*time.Hour), at(-time.Hour)), []int{5}},
		{"CreatedDate lessThan", cond(store.FieldCreatedDate, store.OpLessThan, at(-8*time.Hour)), []int{1, 2}},
		{"CreatedDate isNull", cond(store.FieldCreatedDate, store.OpIsNull), nil},
		{"ModifiedDate greaterThanOrEqual", cond(store.FieldModifiedDate, store.OpGreaterThanOrEqual, at(-2*time.Minute)), []int{4, 5}},

		// nesting
		{"And", &store.And{
			Left:  cond(store.FieldStatus, store.OpEquals, string(store.StatusComplete)),
			Right: cond(store.FieldEmailID, store.OpEquals, int64(20)),
		}, []int{5}},
		{"Or", &store.Or{
			Left:  cond(store.FieldStatus, store.OpEquals, string(store.StatusPaused)),
			Right: cond(store.FieldCustomerKey, store.OpEquals, "alpha"),
		}, []int{1, 2}},
		{"And of Or", &store.And{
			Left: &store.Or{
				Left:  cond(store.FieldStatus, store.OpEquals, string(store.StatusPaused)),
				Right: cond(store.FieldStatus, store.OpEquals, string(store.StatusCanceled)),
			},
			Right: cond(store.FieldSendDate, store.OpGreaterThan, at(150*time.Minute)),
		}, []int{4}},
		{"Or of And", &store.Or{
			Left: &store.And{
				Left:  cond(store.FieldEmailID, store.OpEquals, int64(20)),
				Right: cond(store.FieldStatus, store.OpEquals, string(store.StatusPaused)),
			},
			Right: &store.And{
				Left:  cond(store.FieldEmailID, store.OpEquals, int64(30)),
				Right: cond(store.FieldSentDate, store.OpIsNotNull),
			},
		}, []int{2, 3}},
		{"Or binds inside And", &store.And{
			Left: cond(store.FieldEmailID, store.OpEquals, int64(20)),
			Right: &store.Or{
				Left:  cond(store.FieldStatus, store.OpEquals, string(store.StatusPaused)),
				Right: cond(store.FieldCustomerKey, store.OpEquals, "alpha"),
			},
		}, []int{2}},
		{"deep nesting", deepAnd(30, cond(store.FieldEmailID, store.OpEquals, int64(30))), []int{3}},
		{"nesting at the limit", deepAnd(store.MaxFilterDepth, cond(store.FieldEmailID, store.OpEquals, int64(30))), []int{3}},

		// Client-sized inputs (issue 10): more IN values than SQLite takes
		// arguments, a LIKE pattern at SQLite's length limit, .NET's
		// DateTime.MinValue as a value.
		{"ID IN with 40,000 values", cond(store.FieldID, store.OpIn, manyIDs(40_000, id(2), id(4), decoy.ID)...), []int{2, 4}},
		{"CustomerKey IN with 40,000 values", cond(store.FieldCustomerKey, store.OpIn, manyStrings(40_000, "beta", "epsilon", `"quoted" <&>`)...), []int{2, 5}},
		{"SendDate IN with 40,000 values", cond(store.FieldSendDate, store.OpIn, manyTimes(40_000, at(time.Hour), at(-2*time.Hour))...), []int{1, 5}},
		{"like pattern of 50,000 bytes", cond(store.FieldEmailName, store.OpLike, "%"+strings.Repeat("%", store.MaxLikePattern-len("Promo")-1)+"Promo"), []int{5}},
		{"SendDate greaterThan DateTime.MinValue", cond(store.FieldSendDate, store.OpGreaterThan, time.Time{}), []int{1, 2, 3, 4, 5}},
		{"SentDate equals DateTime.MinValue", cond(store.FieldSentDate, store.OpEquals, time.Time{}), nil},
		{"ObjectID equals in upper case", cond(store.FieldObjectID, store.OpEquals, strings.ToUpper(sends[2].ObjectID)), []int{3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := find(t, s, acct.ID, store.SendQuery{Filter: c.filter})
			if err != nil {
				t.Fatalf("FindSends: %v", err)
			}
			var want []int64
			for _, n := range c.want {
				want = append(want, id(n))
			}
			if g := ids(got); !slices.Equal(g, want) {
				t.Errorf("FindSends = %v, want %v (fixture IDs %v)", g, want, ids(sends))
			}
		})
	}

	invalid := []struct {
		name   string
		filter store.Filter
	}{
		{"unknown field", cond("Password", store.OpEquals, "x")},
		{"field name is not a column name", cond("email_id", store.OpEquals, int64(1))},
		{"unknown op", cond(store.FieldEmailID, "regex", int64(1))},
		{"equals without value", cond(store.FieldEmailID, store.OpEquals)},
		{"equals with two values", cond(store.FieldEmailID, store.OpEquals, int64(1), int64(2))},
		{"between with one value", cond(store.FieldSendDate, store.OpBetween, base)},
		{"IN without values", cond(store.FieldStatus, store.OpIn)},
		{"isNull with a value", cond(store.FieldSentDate, store.OpIsNull, base)},
		{"like on an int field", cond(store.FieldEmailID, store.OpLike, "1%")},
		{"like on a time field", cond(store.FieldSendDate, store.OpLike, "2030%")},
		{"string for an int field", cond(store.FieldEmailID, store.OpEquals, "20")},
		{"string for a time field", cond(store.FieldSendDate, store.OpEquals, "2030-06-01")},
		{"int for a string field", cond(store.FieldStatus, store.OpEquals, int64(1))},
		{"invalid inside Or", &store.Or{Left: cond(store.FieldEmailID, store.OpEquals, int64(20)), Right: cond("Nope", store.OpEquals, "x")}},
		{"nested past the limit", deepAnd(store.MaxFilterDepth+1, cond(store.FieldEmailID, store.OpEquals, int64(30)))},
		{"like pattern over the limit", cond(store.FieldEmailName, store.OpLike, strings.Repeat("%", store.MaxLikePattern+1))},
	}
	for _, c := range invalid {
		t.Run("invalid/"+c.name, func(t *testing.T) {
			got, err := find(t, s, acct.ID, store.SendQuery{Filter: c.filter})
			if err == nil {
				t.Errorf("FindSends = %v, want an error", ids(got))
			}
		})
	}
}

// manyIDs is n IDs that name no send, followed by want.
func manyIDs(n int, want ...int64) []any {
	vals := make([]any, 0, n+len(want))
	for i := range n {
		vals = append(vals, int64(1_500_000_000+i))
	}
	for _, w := range want {
		vals = append(vals, w)
	}
	return vals
}

// manyStrings is n strings that match nothing, followed by want.
func manyStrings(n int, want ...string) []any {
	vals := make([]any, 0, n+len(want))
	for i := range n {
		vals = append(vals, fmt.Sprintf("no-such-key-%d", i))
	}
	for _, w := range want {
		vals = append(vals, w)
	}
	return vals
}

// manyTimes is n times that match nothing, followed by want.
func manyTimes(n int, want ...time.Time) []any {
	vals := make([]any, 0, n+len(want))
	for i := range n {
		vals = append(vals, at(time.Duration(i+1)*time.Microsecond+1000*time.Hour))
	}
	for _, w := range want {
		vals = append(vals, w)
	}
	return vals
}

// deepAnd nests f inside n Ands with an always-true left side, as a client
// building a filter one condition at a time would.
func deepAnd(n int, f store.Filter) store.Filter {
	for range n {
		f = &store.And{Left: cond(store.FieldID, store.OpGreaterThan, int64(0)), Right: f}
	}
	return f
}

func testPaging(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	acct := newAccount(t, s, "acct")
	other := newAccount(t, s, "other")
	var batch []store.Send
	for i := range 25 {
		send := newSend(acct.ID, "")
		if i%3 == 0 {
			send.Status = store.StatusPaused
		}
		batch = append(batch, send)
		// Interleave another account's sends so that IDs have gaps.
		batch = append(batch, newSend(other.ID, ""))
	}
	inserted := insert(t, s, batch...)
	var all, paused []int64
	for _, send := range inserted {
		if send.AccountID != acct.ID {
			continue
		}
		all = append(all, send.ID)
		if send.Status == store.StatusPaused {
			paused = append(paused, send.ID)
		}
	}
	slices.Sort(all)
	slices.Sort(paused)
	isPaused := cond(store.FieldStatus, store.OpEquals, string(store.StatusPaused))

	cases := []struct {
		name   string
		filter store.Filter
		limit  int
		want   []int64
		pages  int
	}{
		{"all, pages of 7", nil, 7, all, 4},
		{"all, pages of 25", nil, 25, all, 1},
		{"all, pages of 1", nil, 1, all, 25},
		{"paused, pages of 3", isPaused, 3, paused, 3},
		{"no limit", nil, 0, all, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []int64
			var after int64
			pages := 0
			for {
				page, err := find(t, s, acct.ID, store.SendQuery{Filter: c.filter, AfterID: after, Limit: c.limit})
				if err != nil {
					t.Fatalf("FindSends: %v", err)
				}
				if len(page) == 0 {
					break
				}
				pages++
				if c.limit > 0 && len(page) > c.limit {
					t.Fatalf("page of %d sends, limit %d", len(page), c.limit)
				}
				got = append(got, ids(page)...)
				after = page[len(page)-1].ID
				if pages > len(c.want)+1 {
					t.Fatal("paging does not end")
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("pages gave %v, want %v", got, c.want)
			}
			if pages != c.pages {
				t.Errorf("%d non-empty pages, want %d", pages, c.pages)
			}
		})
	}

	t.Run("AfterID past the end", func(t *testing.T) {
		got, err := find(t, s, acct.ID, store.SendQuery{AfterID: all[len(all)-1]})
		if err != nil || len(got) != 0 {
			t.Errorf("FindSends = %v, %v; want none", ids(got), err)
		}
	})
}

func testCountHeldSends(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	acct := newAccount(t, s, "acct")
	other := newAccount(t, s, "other")
	mk := func(accountID int64, status store.SendStatus, sendDate time.Time) store.Send {
		send := newSend(accountID, "")
		send.Status, send.SendDate = status, sendDate
		return send
	}
	// Positions are referred to in the comments below.
	insert(t, s,
		mk(acct.ID, store.StatusScheduled, at(time.Hour)),   // never held
		mk(acct.ID, store.StatusPaused, at(time.Hour)),      // held always
		mk(acct.ID, store.StatusPaused, at(-100*time.Hour)), // held always, even long past
		mk(acct.ID, store.StatusCanceled, at(2*time.Hour)),  // held until base+2h
		mk(acct.ID, store.StatusCanceled, at(-time.Hour)),   // never held at the times below
		mk(acct.ID, store.StatusComplete, at(time.Hour)),
		mk(acct.ID, store.StatusExpired, at(time.Hour)),
		mk(acct.ID, store.StatusSending, at(time.Hour)),
		mk(acct.ID, store.StatusError, at(time.Hour)),
		mk(other.ID, store.StatusPaused, at(time.Hour)), // another account's
		mk(other.ID, store.StatusCanceled, at(time.Hour)),
	)
	cases := []struct {
		name string
		now  time.Time
		want int
	}{
		{"canceled send still queued", base, 3},
		{"a millisecond before its SendDate", at(2*time.Hour - time.Millisecond), 3},
		{"at its SendDate it is no longer queued", at(2 * time.Hour), 2},
		{"long after", at(1000 * time.Hour), 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.View(t.Context(), func(tx store.Tx) error {
				n, err := tx.CountHeldSends(t.Context(), acct.ID, c.now)
				if err == nil && n != c.want {
					t.Errorf("CountHeldSends at %v = %d, want %d", c.now, n, c.want)
				}
				return err
			})
			if err != nil {
				t.Fatalf("CountHeldSends: %v", err)
			}
		})
	}
}
