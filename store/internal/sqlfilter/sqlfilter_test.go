package sqlfilter

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// testDialect numbers its placeholders and marks its IN and Like, so that
// a test sees which parts of the SQL the dialect wrote.
var testDialect = &Dialect{
	True:        "T",
	Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	In: func(col Column, _ store.Field, vals []any, arg func(any) string) (string, error) {
		ph := make([]string, len(vals))
		for i, v := range vals {
			ph[i] = arg(v)
		}
		return col.Name + " IN<" + strings.Join(ph, ",") + ">", nil
	},
	Like: func(col, pattern string) string { return col + " LIKE<" + pattern + ">" },
}

func cond(f store.Field, op store.Op, vals ...any) *store.Cond {
	return &store.Cond{Field: f, Op: op, Values: vals}
}

func TestTranslate(t *testing.T) {
	when := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	cases := []struct {
		name string
		f    store.Filter
		sql  string
		args []any
	}{
		{"nil", nil, "T", nil},
		{"nil cond", (*store.Cond)(nil), "T", nil},
		{"nil and", (*store.And)(nil), "T", nil},
		{"equals int", cond(store.FieldID, store.OpEquals, 7), "id = $3", []any{int64(7)}},
		{"object ID canonical", cond(store.FieldObjectID, store.OpNotEquals, "AbC"), "object_id <> $3", []any{"abc"}},
		{"object ID like as given", cond(store.FieldObjectID, store.OpLike, "AbC%"), "object_id LIKE<$3>", []any{"AbC%"}},
		{"status value", cond(store.FieldStatus, store.OpIn, store.SendStatus("Paused"), "Sent"), "status IN<$3,$4>", []any{"Paused", "Sent"}},
		{"between times", cond(store.FieldSendDate, store.OpBetween, when, when.Add(time.Second)),
			"send_date BETWEEN $3 AND $4", []any{when.UnixMicro(), when.Add(time.Second).UnixMicro()}},
		{"unset date", cond(store.FieldSentDate, store.OpIsNull), "sent_date IS NULL", nil},
		{"set string", cond(store.FieldSubject, store.OpIsNotNull), "subject <> ''", nil},
		{"unset int", cond(store.FieldEmailID, store.OpIsNull), "email_id = 0", nil},
		{"and or", &store.And{
			Left:  cond(store.FieldID, store.OpGreaterThanOrEqual, int32(1)),
			Right: &store.Or{Left: nil, Right: cond(store.FieldEmailName, store.OpLessThan, "m")},
		}, "(id >= $3 AND (T OR email_name < $4))", []any{int64(1), "m"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := New(testDialect, SendColumns, "a", "b")
			if err := w.Filter(c.f); err != nil {
				t.Fatal(err)
			}
			if w.SQL() != c.sql {
				t.Errorf("SQL = %q, want %q", w.SQL(), c.sql)
			}
			if want := append([]any{"a", "b"}, c.args...); !reflect.DeepEqual(w.Args(), want) {
				t.Errorf("args = %#v, want %#v", w.Args(), want)
			}
		})
	}
}

func TestTranslateRefuses(t *testing.T) {
	deep := store.Filter(cond(store.FieldID, store.OpEquals, 1))
	for range store.MaxFilterDepth + 1 {
		deep = &store.And{Left: deep, Right: nil}
	}
	cases := []struct {
		name    string
		columns map[store.Field]Column
		f       store.Filter
		says    string
	}{
		{"unknown field", SendColumns, cond("Nope", store.OpEquals, "x"), `unknown field "Nope"`},
		{"name on sends", SendColumns, cond(store.FieldName, store.OpEquals, "x"), "unknown field"},
		{"email ID on definitions", DefinitionColumns, cond(store.FieldEmailID, store.OpEquals, 1), "unknown field"},
		{"unknown operator", SendColumns, cond(store.FieldID, "near", 1), `unknown operator "near"`},
		{"too many values", SendColumns, cond(store.FieldID, store.OpEquals, 1, 2), "takes 1 value(s), got 2"},
		{"between one value", SendColumns, cond(store.FieldID, store.OpBetween, 1), "takes 2 value(s), got 1"},
		{"isNull with value", SendColumns, cond(store.FieldSendDate, store.OpIsNull, time.Now()), "takes 0 value(s), got 1"},
		{"empty IN", SendColumns, cond(store.FieldID, store.OpIn), "IN takes at least one value"},
		{"like on int", SendColumns, cond(store.FieldID, store.OpLike, "1%"), "like on int field"},
		{"like on time", SendColumns, cond(store.FieldSendDate, store.OpLike, "2026%"), "like on time field"},
		{"long pattern", SendColumns, cond(store.FieldSubject, store.OpLike, strings.Repeat("%", store.MaxLikePattern+1)), "like pattern of"},
		{"string for int", SendColumns, cond(store.FieldID, store.OpEquals, "1"), "is not a int"},
		{"int for time", SendColumns, cond(store.FieldSendDate, store.OpGreaterThan, 1), "is not a time"},
		{"bad IN member", SendColumns, cond(store.FieldID, store.OpIn, 1, "2"), "is not a int"},
		{"too deep", SendColumns, deep, fmt.Sprintf("nested deeper than %d", store.MaxFilterDepth)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Translate(testDialect, c.columns, c.f)
			if !errors.Is(err, ErrFilter) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("err = %v, want ErrFilter saying %q", err, c.says)
			}
		})
	}
	if _, _, err := Translate(testDialect, SendColumns, deep.(*store.And).Left); err != nil {
		t.Errorf("a filter nested %d deep: %v", store.MaxFilterDepth, err)
	}
}
