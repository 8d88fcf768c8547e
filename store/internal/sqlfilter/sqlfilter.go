// Package sqlfilter translates a store.Filter (a SOAP Retrieve filter) into
// an SQL boolean expression and its arguments, once for every SQL store:
// the whitelist of filterable columns, the checks on operators and values,
// and the And/Or walk with its depth bound live here; a store supplies only
// its Dialect (placeholders, the spelling of true, IN and Like).
//
// Filters come from SOAP clients. Only column names from the whitelists
// and fixed SQL keywords are ever written into the query text; every value
// is a placeholder argument.
package sqlfilter

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/partnerd/partnerd/store"
)

// Kind is the type a filterable column stores its values as.
type Kind int

// The kinds of filterable columns.
const (
	// Int columns hold int64.
	Int Kind = iota
	// String columns hold string.
	String
	// Time columns hold microseconds since the Unix epoch (int64), and
	// NULL when unset.
	Time
)

func (k Kind) String() string {
	return [...]string{"int", "string", "time"}[k]
}

// Column is a filterable column: its SQL name and the kind of its values.
type Column struct {
	Name string
	Kind Kind
}

// SendColumns is the whitelist of fields a Filter on sends may test.
var SendColumns = map[store.Field]Column{
	store.FieldID:           {"id", Int},
	store.FieldEmailID:      {"email_id", Int},
	store.FieldObjectID:     {"object_id", String},
	store.FieldCustomerKey:  {"customer_key", String},
	store.FieldStatus:       {"status", String},
	store.FieldEmailName:    {"email_name", String},
	store.FieldSubject:      {"subject", String},
	store.FieldSendDate:     {"send_date", Time},
	store.FieldSentDate:     {"sent_date", Time},
	store.FieldCreatedDate:  {"created_date", Time},
	store.FieldModifiedDate: {"modified_date", Time},
	store.FieldOrigin:       {"origin", String},
}

// DefinitionColumns is the whitelist of fields a Filter on
// EmailSendDefinitions may test (store.DefinitionFields): the same
// columns, names and kinds as on sends, so that both tables are filtered
// by one translation, plus the definition's name.
var DefinitionColumns = map[store.Field]Column{
	store.FieldID:           SendColumns[store.FieldID],
	store.FieldObjectID:     SendColumns[store.FieldObjectID],
	store.FieldCustomerKey:  SendColumns[store.FieldCustomerKey],
	store.FieldName:         {"name", String},
	store.FieldCreatedDate:  SendColumns[store.FieldCreatedDate],
	store.FieldModifiedDate: SendColumns[store.FieldModifiedDate],
}

var comparisons = map[store.Op]string{
	store.OpEquals:             "=",
	store.OpNotEquals:          "<>",
	store.OpGreaterThan:        ">",
	store.OpLessThan:           "<",
	store.OpGreaterThanOrEqual: ">=",
	store.OpLessThanOrEqual:    "<=",
}

// ErrFilter marks a filter a store cannot evaluate.
var ErrFilter = errors.New("invalid filter")

// Dialect is what one SQL database spells its own way. The translation
// asks every store for the same answers: strings compare byte by byte,
// Like ignores ASCII case only and has no escape character, an unset date
// is NULL and an unset string or int its zero value.
type Dialect struct {
	// True is the expression for an absent filter ("1", "TRUE").
	True string
	// Placeholder is the text for the n'th argument, counting from 1.
	Placeholder func(n int) string
	// In is col's test for membership in vals: at least one value, each
	// already in the column's stored form (int64 for Int and Time
	// columns, string for String ones). It adds its arguments by arg,
	// which returns their placeholders. An error must wrap ErrFilter.
	In func(col Column, field store.Field, vals []any, arg func(any) string) (string, error)
	// Like is col's test against the pattern at placeholder pattern.
	Like func(col, pattern string) string
}

// Where writes a filter as SQL, its values as arguments after the ones the
// query starts with.
type Where struct {
	dialect *Dialect
	columns map[store.Field]Column
	sb      strings.Builder
	args    []any
}

// New starts a translation over the table whose filterable columns are
// columns (SendColumns, DefinitionColumns), whose first arguments are
// args.
func New(d *Dialect, columns map[store.Field]Column, args ...any) *Where {
	return &Where{dialect: d, columns: columns, args: args}
}

// Translate translates f on its own: its SQL and its arguments.
func Translate(d *Dialect, columns map[store.Field]Column, f store.Filter) (string, []any, error) {
	w := New(d, columns)
	if err := w.Filter(f); err != nil {
		return "", nil, err
	}
	return w.SQL(), w.Args(), nil
}

// Arg adds v as an argument and returns its placeholder.
func (w *Where) Arg(v any) string {
	w.args = append(w.args, v)
	return w.dialect.Placeholder(len(w.args))
}

// SQL is the expression written so far.
func (w *Where) SQL() string { return w.sb.String() }

// Args are the arguments so far, the starting ones first.
func (w *Where) Args() []any { return w.args }

// Filter writes f. A nil filter is true.
func (w *Where) Filter(f store.Filter) error {
	return w.filter(f, 0)
}

func (w *Where) filter(f store.Filter, depth int) error {
	// A client's filter is parsed from XML into a tree; without a bound a
	// hostile one could exhaust the stack here or the database's
	// expression depth limit (SQLite's is 1000) there.
	if depth > store.MaxFilterDepth {
		return fmt.Errorf("%w: nested deeper than %d", ErrFilter, store.MaxFilterDepth)
	}
	switch f := f.(type) {
	case nil:
		w.sb.WriteString(w.dialect.True)
	case *store.Cond:
		if f == nil {
			w.sb.WriteString(w.dialect.True)
			return nil
		}
		return w.cond(f)
	case *store.And:
		if f == nil {
			w.sb.WriteString(w.dialect.True)
			return nil
		}
		return w.binary("AND", f.Left, f.Right, depth)
	case *store.Or:
		if f == nil {
			w.sb.WriteString(w.dialect.True)
			return nil
		}
		return w.binary("OR", f.Left, f.Right, depth)
	default:
		return fmt.Errorf("%w: unknown filter type %T", ErrFilter, f)
	}
	return nil
}

func (w *Where) binary(op string, left, right store.Filter, depth int) error {
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

// cond writes c after checking its field, operator and number of values,
// then its values.
func (w *Where) cond(c *store.Cond) error {
	col, ok := w.columns[c.Field]
	if !ok {
		return fmt.Errorf("%w: unknown field %q", ErrFilter, c.Field)
	}
	want := func(n int) error {
		if len(c.Values) != n {
			return fmt.Errorf("%w: %s %s takes %d value(s), got %d", ErrFilter, c.Field, c.Op, n, len(c.Values))
		}
		return nil
	}
	switch c.Op {
	case store.OpEquals, store.OpNotEquals, store.OpGreaterThan, store.OpLessThan,
		store.OpGreaterThanOrEqual, store.OpLessThanOrEqual, store.OpLike:
		if c.Op == store.OpLike && col.Kind != String {
			return fmt.Errorf("%w: like on %s field %s", ErrFilter, col.Kind, c.Field)
		}
		if err := want(1); err != nil {
			return err
		}
	case store.OpBetween:
		if err := want(2); err != nil {
			return err
		}
	case store.OpIn:
		if len(c.Values) == 0 {
			return fmt.Errorf("%w: %s IN takes at least one value", ErrFilter, c.Field)
		}
	case store.OpIsNull, store.OpIsNotNull:
		if err := want(0); err != nil {
			return err
		}
		w.sb.WriteString(unsetTest(col, c.Op == store.OpIsNull))
		return nil
	default:
		return fmt.Errorf("%w: unknown operator %q", ErrFilter, c.Op)
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
	case store.OpBetween:
		fmt.Fprintf(&w.sb, "%s BETWEEN %s AND %s", col.Name, w.Arg(vals[0]), w.Arg(vals[1]))
	case store.OpIn:
		sql, err := w.dialect.In(col, c.Field, vals, w.Arg)
		if err != nil {
			return err
		}
		w.sb.WriteString(sql)
	case store.OpLike:
		// A longer pattern SQLite would fail the whole statement with
		// ("LIKE or GLOB pattern too complex"); every store refuses it.
		if p := vals[0].(string); len(p) > store.MaxLikePattern {
			return fmt.Errorf("%w: like pattern of %d bytes; at most %d", ErrFilter, len(p), store.MaxLikePattern)
		}
		w.sb.WriteString(w.dialect.Like(col.Name, w.Arg(vals[0])))
	default:
		fmt.Fprintf(&w.sb, "%s %s %s", col.Name, comparisons[c.Op], w.Arg(vals[0]))
	}
	return nil
}

// condArg is one value of c as its column stores it. ObjectIDs compared
// for (in)equality are spelled as stores keep them (store.CanonicalObjectID).
func condArg(col Column, c *store.Cond, v any) (any, error) {
	a, err := filterArg(col.Kind, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", ErrFilter, c.Field, c.Op, err)
	}
	if s, ok := a.(string); ok && c.Field == store.FieldObjectID && c.Op != store.OpLike {
		a = store.CanonicalObjectID(s)
	}
	return a, nil
}

// unsetTest is isNull (or isNotNull) for col. The Go model has no NULL:
// a field is "null" when it holds its zero value. Only unset dates are
// stored as NULL; unset strings and ints are stored as empty strings and
// zeros.
func unsetTest(col Column, isNull bool) string {
	var unset, set string
	switch col.Kind {
	case Time:
		unset, set = " IS NULL", " IS NOT NULL"
	case String:
		unset, set = " = ''", " <> ''"
	default:
		unset, set = " = 0", " <> 0"
	}
	if isNull {
		return col.Name + unset
	}
	return col.Name + set
}

// filterArg converts a filter value to the column's stored form.
func filterArg(kind Kind, v any) (any, error) {
	switch kind {
	case Int:
		switch n := v.(type) {
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		case int32:
			return int64(n), nil
		}
	case String:
		if s, ok := v.(string); ok {
			return s, nil
		}
		if s, ok := v.(store.SendStatus); ok {
			return string(s), nil
		}
	case Time:
		if t, ok := v.(time.Time); ok {
			// The zero time is the instant 0001-01-01T00:00:00Z (.NET's
			// DateTime.MinValue), which no stored date equals: an unset
			// date is NULL and only isNull finds it.
			return t.UnixMicro(), nil
		}
	}
	return nil, fmt.Errorf("value %v (%T) is not a %s", v, v, kind)
}
