package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// testDefinitionFilter checks FindEmailSendDefinitions' filter: the same
// rules as FindSends' (ASCII-only case folding in Like, canonical
// ObjectIDs, dates as instants, unset fields as null), on the fields in
// store.DefinitionFields, and a refusal of any other field.
func testDefinitionFilter(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	acct := newAccount(t, s, "acct")
	other := newAccount(t, s, "other")

	// want lists below are 1-based positions in this fixture.
	fixture := []store.EmailSendDefinition{
		{CustomerKey: "weekly", Name: "Weekly News", ObjectID: "6a0d2f80-0000-4000-8000-000000000001"},
		{CustomerKey: "accent", Name: "Été sale", ObjectID: "6a0d2f80-0000-4000-8000-000000000002"},
		// Stored from a non-canonical spelling: kept canonical.
		{CustomerKey: "upper", Name: "50% off_now", ObjectID: "{6A0D2F80-0000-4000-8000-0000000000AB}"},
		{CustomerKey: "noname", Name: "", ObjectID: "6a0d2f80-0000-4000-8000-000000000004"},
	}
	var ids []int64
	for i := range fixture {
		d := fixture[i]
		d.AccountID = acct.ID
		d.EmailID = 1
		d.CreatedDate = at(time.Duration(i) * time.Hour)
		d.ModifiedDate = at(time.Duration(i)*time.Hour + time.Millisecond)
		if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertEmailSendDefinition(t.Context(), &d) }); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	id := func(n int) int64 { return ids[n-1] }
	// Another account's definition that matches every filter that
	// matches anything: it must never appear.
	decoy := store.EmailSendDefinition{AccountID: other.ID, CustomerKey: "weekly", Name: "Weekly News",
		ObjectID: "6a0d2f80-0000-4000-8000-0000000000ff", CreatedDate: at(0), ModifiedDate: at(0)}
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertEmailSendDefinition(t.Context(), &decoy) }); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		filter store.Filter
		want   []int
	}{
		{"nil matches all", nil, []int{1, 2, 3, 4}},
		{"ID equals", cond(store.FieldID, store.OpEquals, id(2)), []int{2}},
		{"ID between", cond(store.FieldID, store.OpBetween, id(2), id(3)), []int{2, 3}},
		{"ID IN", cond(store.FieldID, store.OpIn, id(1), id(4), decoy.ID), []int{1, 4}},
		{"CustomerKey equals is case-sensitive", cond(store.FieldCustomerKey, store.OpEquals, "WEEKLY"), nil},
		{"CustomerKey notEquals", cond(store.FieldCustomerKey, store.OpNotEquals, "weekly"), []int{2, 3, 4}},
		{"Name equals", cond(store.FieldName, store.OpEquals, "Weekly News"), []int{1}},
		{"Name isNull (empty)", cond(store.FieldName, store.OpIsNull), []int{4}},
		{"Name isNotNull", cond(store.FieldName, store.OpIsNotNull), []int{1, 2, 3}},
		{"Name like folds ASCII case", cond(store.FieldName, store.OpLike, "weekly%"), []int{1}},
		{"Name like does not fold other case", cond(store.FieldName, store.OpLike, "ÉTÉ%"), nil},
		{"Name like matches other letters as given", cond(store.FieldName, store.OpLike, "Été%"), []int{2}},
		{"Name like _ is one character", cond(store.FieldName, store.OpLike, "_t_ sale"), []int{2}},
		{"Name like % and _ are wildcards", cond(store.FieldName, store.OpLike, "50%off_now"), []int{3}},
		{"Name like many %s", cond(store.FieldName, store.OpLike, strings.Repeat("%e", 30)+"%z"), nil},
		{"ObjectID equals in another spelling", cond(store.FieldObjectID, store.OpEquals, "6A0D2F80-0000-4000-8000-0000000000AB"), []int{3}},
		{"ObjectID equals as stored canonically", cond(store.FieldObjectID, store.OpEquals, "6a0d2f80-0000-4000-8000-0000000000ab"), []int{3}},
		{"ObjectID IN in braces", cond(store.FieldObjectID, store.OpIn, "{6A0D2F80-0000-4000-8000-000000000001}", "x"), []int{1}},
		{"ObjectID notEquals", cond(store.FieldObjectID, store.OpNotEquals, "urn:uuid:6a0d2f80-0000-4000-8000-0000000000ab"), []int{1, 2, 4}},
		{"CreatedDate lessThan", cond(store.FieldCreatedDate, store.OpLessThan, at(2*time.Hour)), []int{1, 2}},
		{"CreatedDate equals to the microsecond", cond(store.FieldCreatedDate, store.OpEquals, at(time.Hour)), []int{2}},
		{"ModifiedDate between", cond(store.FieldModifiedDate, store.OpBetween, at(time.Hour), at(3*time.Hour)), []int{2, 3}},
		{"CreatedDate in another zone is the same instant",
			cond(store.FieldCreatedDate, store.OpEquals, at(time.Hour).In(time.FixedZone("x", 5*3600))), []int{2}},
		{"And", &store.And{Left: cond(store.FieldName, store.OpLike, "%e%"), Right: cond(store.FieldID, store.OpGreaterThan, id(1))}, []int{2}},
		{"Or", &store.Or{Left: cond(store.FieldCustomerKey, store.OpEquals, "weekly"), Right: cond(store.FieldName, store.OpIsNull)}, []int{1, 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := findDefinitions(t, s, acct.ID, c.filter)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, n := range c.want {
				want = append(want, id(n))
			}
			var gotIDs []int64
			for _, d := range got {
				gotIDs = append(gotIDs, d.ID)
			}
			if !slices.Equal(gotIDs, want) {
				t.Errorf("IDs %v, want %v", gotIDs, want)
			}
		})
	}

	// Fields a definition does not have, and filters FindSends refuses,
	// are refused, never answered as "no match".
	refused := []struct {
		name   string
		filter store.Filter
	}{
		{"Status", cond(store.FieldStatus, store.OpEquals, "Scheduled")},
		{"SendDate", cond(store.FieldSendDate, store.OpIsNull)},
		{"EmailName", cond(store.FieldEmailName, store.OpEquals, "x")},
		{"like on ID", cond(store.FieldID, store.OpLike, "1%")},
		{"equals with two values", cond(store.FieldName, store.OpEquals, "a", "b")},
		{"a string for ID", cond(store.FieldID, store.OpEquals, "1")},
	}
	for _, c := range refused {
		t.Run("refuses "+c.name, func(t *testing.T) {
			if got, err := findDefinitions(t, s, acct.ID, c.filter); err == nil || errors.Is(err, store.ErrNotFound) {
				t.Errorf("= %v, %v; want an error", got, err)
			}
		})
	}

	// Every field store.DefinitionFields lists is one the backend filters
	// on (every definition has an ID, an ObjectID and both dates).
	for _, field := range store.DefinitionFields {
		t.Run("field "+string(field), func(t *testing.T) {
			got, err := findDefinitions(t, s, acct.ID, cond(field, store.OpIsNotNull))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				t.Errorf("%s isNotNull matched nothing", field)
			}
		})
	}

	// A lookup by key takes any spelling of the GUID too.
	err := s.View(t.Context(), func(tx store.Tx) error {
		d, err := tx.EmailSendDefinitionByKey(t.Context(), acct.ID, store.SendKey{ObjectID: "6A0D2F80-0000-4000-8000-0000000000AB"})
		if err == nil && d.ID != id(3) {
			t.Errorf("by ObjectID in upper case: definition %d, want %d", d.ID, id(3))
		}
		return err
	})
	if err != nil {
		t.Errorf("by ObjectID in upper case: %v", err)
	}
}

func findDefinitions(t *testing.T, s store.Store, accountID int64, f store.Filter) ([]store.EmailSendDefinition, error) {
	t.Helper()
	got, err := viewRead(t, s, func(tx store.Tx) ([]store.EmailSendDefinition, error) {
		return tx.FindEmailSendDefinitions(t.Context(), accountID, f)
	})
	return got, err
}
