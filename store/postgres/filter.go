package postgres

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/partnerd/partnerd/store"
)

// Filters come from SOAP clients. Only column names from filterColumns and
// fixed SQL keywords are ever written into the query text; every value is a
// numbered parameter. The translation gives store/sqlite's answers:
// strings compare byte by byte (the columns are COLLATE "C"); Like ignores
// ASCII case only and has no escape character, as SQLite's LIKE; an unset
// date is NULL and an unset string or int its zero value.

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

// definitionColumns is the whitelist for EmailSendDefinitions
// (store.DefinitionFields): the same columns as on sends, plus the name.
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

// errFilter marks a filter this store cannot evaluate.
var errFilter = errors.New("invalid filter")

// whereBuilder writes a filter as SQL, its values as parameters numbered
// after the ones the query starts with.
type whereBuilder struct {
	columns map[store.Field]filterColumn
	sb      strings.Builder
	args    []any
}

// newWhere starts a builder whose first parameters are args ($1, $2 …).
func newWhere(columns map[store.Field]filterColumn, args ...any) *whereBuilder {
	return &whereBuilder{columns: columns, args: args}
}

// arg adds v as a parameter and returns its placeholder.
func (w *whereBuilder) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *whereBuilder) filter(f store.Filter, depth int) error {
	if depth > store.MaxFilterDepth {
		return fmt.Errorf("%w: nested deeper than %d", errFilter, store.MaxFilterDepth)
	}
	switch f := f.(type) {
	case nil:
		w.sb.WriteString("TRUE")
	case *store.Cond:
		if f == nil {
			w.sb.WriteString("TRUE")
			return nil
		}
		return w.cond(f)
	case *store.And:
		if f == nil {
			w.sb.WriteString("TRUE")
			return nil
		}
		return w.binary("AND", f.Left, f.Right, depth)
	case *store.Or:
		if f == nil {
			w.sb.WriteString("TRUE")
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
	vals := make([]any, len(c.Values))
	for i, v := range c.Values {
		a, err := condArg(col, c, v)
		if err != nil {
			return err
		}
		vals[i] = a
	}

	switch c.Op {
	case store.OpEquals, store.OpNotEquals, store.OpGreaterThan, store.OpLessThan,
		store.OpGreaterThanOrEqual, store.OpLessThanOrEqual:
		if err := want(1); err != nil {
			return err
		}
		fmt.Fprintf(&w.sb, "%s %s %s", col.name, comparisons[c.Op], w.arg(vals[0]))
	case store.OpBetween:
		if err := want(2); err != nil {
			return err
		}
		fmt.Fprintf(&w.sb, "%s BETWEEN %s AND %s", col.name, w.arg(vals[0]), w.arg(vals[1]))
	case store.OpIn:
		if len(vals) == 0 {
			return fmt.Errorf("%w: %s IN takes at least one value", errFilter, c.Field)
		}
		// One array parameter, however many values: no limit on their
		// number, one statement text per shape.
		if col.kind == kindString {
			ss := make([]string, len(vals))
			for i, v := range vals {
				ss[i] = v.(string)
			}
			fmt.Fprintf(&w.sb, "%s = ANY(%s::text[])", col.name, w.arg(ss))
		} else {
			ns := make([]int64, len(vals))
			for i, v := range vals {
				ns[i] = v.(int64)
			}
			fmt.Fprintf(&w.sb, "%s = ANY(%s::bigint[])", col.name, w.arg(ns))
		}
	case store.OpLike:
		if col.kind != kindString {
			return fmt.Errorf("%w: like on %s field %s", errFilter, col.kind, c.Field)
		}
		if err := want(1); err != nil {
			return err
		}
		if len(vals[0].(string)) > store.MaxLikePattern {
			return fmt.Errorf("%w: like pattern of %d bytes; at most %d", errFilter, len(vals[0].(string)), store.MaxLikePattern)
		}
		// lower() under the "C" collation lowers ASCII letters only,
		// and ESCAPE '' makes a backslash an ordinary character: SQLite's
		// LIKE exactly.
		fmt.Fprintf(&w.sb, `lower(%s) LIKE lower(%s::text COLLATE "C") ESCAPE ''`, col.name, w.arg(vals[0]))
	case store.OpIsNull, store.OpIsNotNull:
		if err := want(0); err != nil {
			return err
		}
		w.sb.WriteString(unsetTest(col, c.Op == store.OpIsNull))
	default:
		return fmt.Errorf("%w: unknown operator %q", errFilter, c.Op)
	}
	return nil
}

// condArg is one value of c as its column stores it. ObjectIDs compared
// for (in)equality are spelled as stores keep them.
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

// unsetTest is isNull (or isNotNull) for col: only unset dates are NULL;
// unset strings and ints are stored as empty strings and zeros.
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
			// The zero time is the instant 0001-01-01T00:00:00Z, which
			// no stored date equals: an unset date is NULL.
			return t.UnixMicro(), nil
		}
	}
	return nil, fmt.Errorf("value %v (%T) is not a %s", v, v, kind)
}
