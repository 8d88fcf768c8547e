package sqlite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerd/partnerd/store"
)

// Filters come from SOAP clients. Only column names from filterColumns and
// fixed SQL keywords are ever written into the query text; every value is a
// placeholder argument.

type valueKind int

const (
	kindInt valueKind = iota
	kindString
	kindTime
)

func (k valueKind) String() string {
	return [...]string{"int", "string", "time"}[k]
}

type filterColumn struct {
	name string
	kind valueKind
}

// filterColumns is the whitelist of fields a Filter on sends may test.
var filterColumns = map[store.Field]filterColumn{
	store.FieldID:           {"id", kindInt},
	store.FieldEmailID:      {"email_id", kindInt},
	store.FieldObjectID:     {"object_id", kindString},
	store.FieldCustomerKey:  {"customer_key", kindString},
	store.FieldStatus:       {"status", kindString},
	store.FieldEmailName:    {"email_name", kindString},
	store.FieldSubject:      {"subject", kindString},
	store.FieldSendDate:     {"send_date", kindTime},
	store.FieldSentDate:     {"sent_date", kindTime},
	store.FieldCreatedDate:  {"created_date", kindTime},
	store.FieldModifiedDate: {"modified_date", kindTime},
}

// definitionColumns is the whitelist of fields a Filter on
// EmailSendDefinitions may test (store.DefinitionFields): the same
// columns, names and kinds as on sends, so that both tables are filtered
// by one translation, plus the definition's name.
var definitionColumns = map[store.Field]filterColumn{
	store.FieldID:           filterColumns[store.FieldID],
	store.FieldObjectID:     filterColumns[store.FieldObjectID],
	store.FieldCustomerKey:  filterColumns[store.FieldCustomerKey],
	store.FieldName:         {"name", kindString},
	store.FieldCreatedDate:  filterColumns[store.FieldCreatedDate],
	store.FieldModifiedDate: filterColumns[store.FieldModifiedDate],
}

var comparisons = map[store.Op]string{
	store.OpEquals:             "=",
	store.OpNotEquals:          "<>",
	store.OpGreaterThan:        ">",
	store.OpLessThan:           "<",
	store.OpGreaterThanOrEqual: ">=",
	store.OpLessThanOrEqual:    "<=",
}

// maxFilterDepth bounds And/Or nesting. A client's filter is parsed from
// XML into a tree; without a bound a hostile one could exhaust the stack
// here or SQLite's expression depth limit (1000) there.
const maxFilterDepth = store.MaxFilterDepth

// inListAsJSON is the length from which an IN list goes to SQLite as one
// JSON array argument (IN (SELECT value FROM json_each(?))) rather than one
// placeholder per value: SQLite takes at most 32,766 arguments per
// statement, and a client may send more values than that. Shorter lists
// keep their placeholders, the plan a batch of Definitions by ID is tuned
// for.
const inListAsJSON = 1000

// errFilter marks a filter this store cannot evaluate.
var errFilter = errors.New("invalid filter")

// whereClause translates f into an SQL boolean expression over the sends
// table and its arguments. A nil filter is "1" (true).
func whereClause(f store.Filter) (string, []any, error) {
	return whereClauseOver(filterColumns, f)
}

// whereClauseOver translates f into an SQL boolean expression over the
// table whose filterable columns are columns (filterColumns,
// definitionColumns), and its arguments.
func whereClauseOver(columns map[store.Field]filterColumn, f store.Filter) (string, []any, error) {
	w := whereBuilder{columns: columns}
	if err := w.filter(f, 0); err != nil {
		return "", nil, err
	}
	return w.sb.String(), w.args, nil
}

type whereBuilder struct {
	columns map[store.Field]filterColumn
	sb      strings.Builder
	args    []any
}

func (w *whereBuilder) filter(f store.Filter, depth int) error {
	if depth > maxFilterDepth {
		return fmt.Errorf("%w: nested deeper than %d", errFilter, maxFilterDepth)
	}
	switch f := f.(type) {
	case nil:
		w.sb.WriteString("1")
	case *store.Cond:
		if f == nil {
			w.sb.WriteString("1")
			return nil
		}
		return w.cond(f)
	case *store.And:
		if f == nil {
			w.sb.WriteString("1")
			return nil
		}
		return w.binary("AND", f.Left, f.Right, depth)
	case *store.Or:
		if f == nil {
			w.sb.WriteString("1")
			return nil
		}
		return w.binary("OR", f.Left, f.Right, depth)
	default:
		return fmt.Errorf("%w: unknown filter type %T", errFilter, f)
	}
	return nil
}

func (w *whereBuilder) binary(op string, left, right store.Filter, depth int) error {
	w.sb.WriteString("(")
	if err := w.filter(left, depth+1); err != nil {
		return err
	}
	w.sb.WriteString(" " + op + " ")
	if err := w.filter(right, depth+1); err != nil {
		return err
	}
	w.sb.WriteString(")")
	return nil
}

func (w *whereBuilder) cond(c *store.Cond) error {
	col, ok := w.columns[c.Field]
	if !ok {
		return fmt.Errorf("%w: unknown field %q", errFilter, c.Field)
	}
	want := func(n int) error {
		if len(c.Values) != n {
			return fmt.Errorf("%w: %s %s takes %d value(s), got %d", errFilter, c.Field, c.Op, n, len(c.Values))
		}
		return nil
	}

	switch c.Op {
	case store.OpEquals, store.OpNotEquals, store.OpGreaterThan, store.OpLessThan,
		store.OpGreaterThanOrEqual, store.OpLessThanOrEqual:
		if err := want(1); err != nil {
			return err
		}
		fmt.Fprintf(&w.sb, "%s %s ?", col.name, comparisons[c.Op])
	case store.OpBetween:
		if err := want(2); err != nil {
			return err
		}
		fmt.Fprintf(&w.sb, "%s BETWEEN ? AND ?", col.name)
	case store.OpIn:
		if len(c.Values) == 0 {
			return fmt.Errorf("%w: %s IN takes at least one value", errFilter, c.Field)
		}
		if len(c.Values) >= inListAsJSON {
			return w.inJSON(col, c)
		}
		w.sb.WriteString(col.name + " IN (?" + strings.Repeat(", ?", len(c.Values)-1) + ")")
	case store.OpLike:
		if col.kind != kindString {
			return fmt.Errorf("%w: like on %s field %s", errFilter, col.kind, c.Field)
		}
		if err := want(1); err != nil {
			return err
		}
		if p, ok := c.Values[0].(string); ok && len(p) > store.MaxLikePattern {
			// SQLite would fail the whole statement ("LIKE or GLOB
			// pattern too complex").
			return fmt.Errorf("%w: like pattern of %d bytes; at most %d", errFilter, len(p), store.MaxLikePattern)
		}
		// SQLite's LIKE is case-insensitive for ASCII, as the contract
		// asks (PostgreSQL would use ILIKE).
		fmt.Fprintf(&w.sb, "%s LIKE ?", col.name)
	case store.OpIsNull, store.OpIsNotNull:
		if err := want(0); err != nil {
			return err
		}
		w.sb.WriteString(unsetTest(col, c.Op == store.OpIsNull))
		return nil
	default:
		return fmt.Errorf("%w: unknown operator %q", errFilter, c.Op)
	}

	for _, v := range c.Values {
		a, err := condArg(col, c, v)
		if err != nil {
			return err
		}
		w.args = append(w.args, a)
	}
	return nil
}

// condArg is one value of c as its column stores it. ObjectIDs compared
// for (in)equality are spelled as stores keep them (store.CanonicalObjectID).
func condArg(col filterColumn, c *store.Cond, v any) (any, error) {
	a, err := filterArg(col.kind, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", errFilter, c.Field, c.Op, err)
	}
	if s, ok := a.(string); ok && c.Field == store.FieldObjectID && c.Op != store.OpLike {
		a = store.CanonicalObjectID(s)
	}
	return a, nil
}

// inJSON writes c, an IN with many values, as a test against the members
// of one JSON array argument. json_each gives back integers as INTEGER and
// strings as TEXT, the types the STRICT columns hold, so the comparison is
// the one the placeholders would make.
func (w *whereBuilder) inJSON(col filterColumn, c *store.Cond) error {
	vals := make([]any, len(c.Values))
	for i, v := range c.Values {
		a, err := condArg(col, c, v)
		if err != nil {
			return err
		}
		if s, ok := a.(string); ok && !utf8.ValidString(s) {
			// JSON would carry it as U+FFFD: another string.
			return fmt.Errorf("%w: %s IN: value %d is not valid UTF-8", errFilter, c.Field, i)
		}
		vals[i] = a
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(vals); err != nil {
		return fmt.Errorf("%w: %s IN: %w", errFilter, c.Field, err)
	}
	w.sb.WriteString(col.name + " IN (SELECT value FROM json_each(?))")
	w.args = append(w.args, strings.TrimSuffix(buf.String(), "\n"))
	return nil
}

// unsetTest is isNull (or isNotNull) for col. The Go model has no NULL:
// a field is "null" when it holds its zero value. Only unset dates are
// stored as NULL; unset strings and ints are stored as
// empty strings and zeros.
func unsetTest(col filterColumn, isNull bool) string {
	var unset, set string
	switch col.kind {
	case kindTime:
		unset, set = " IS NULL", " IS NOT NULL"
	case kindString:
		unset, set = " = ''", " <> ''"
	default:
		unset, set = " = 0", " <> 0"
	}
	if isNull {
		return col.name + unset
	}
	return col.name + set
}

// filterArg converts a filter value to the column's stored form.
func filterArg(kind valueKind, v any) (any, error) {
	switch kind {
	case kindInt:
		switch n := v.(type) {
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		case int32:
			return int64(n), nil
		}
	case kindString:
		if s, ok := v.(string); ok {
			return s, nil
		}
		if s, ok := v.(store.SendStatus); ok {
			return string(s), nil
		}
	case kindTime:
		if t, ok := v.(time.Time); ok {
			// The zero time is the instant 0001-01-01T00:00:00Z (.NET's
			// DateTime.MinValue), which no stored date equals: an unset
			// date is NULL and only isNull finds it.
			return t.UnixMicro(), nil
		}
	}
	return nil, fmt.Errorf("value %v (%T) is not a %s", v, v, kind)
}
