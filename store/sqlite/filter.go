package sqlite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlfilter"
)

// Filters are translated to SQL by sqlfilter; this file is SQLite's
// dialect of it.

// dialect spells filters for SQLite: "?" placeholders, and LIKE as it is,
// since SQLite's LIKE already ignores ASCII case only and has no escape
// character unless given one.
var dialect = &sqlfilter.Dialect{
	True:        "1",
	Placeholder: func(int) string { return "?" },
	In:          inValues,
	Like:        func(col, pattern string) string { return col + " LIKE " + pattern },
}

// inListAsJSON is the length from which an IN list goes to SQLite as one
// JSON array argument (IN (SELECT value FROM json_each(?))) rather than one
// placeholder per value: SQLite takes at most 32,766 arguments per
// statement, and a client may send more values than that. Shorter lists
// keep their placeholders, the plan a batch of Definitions by ID is tuned
// for.
const inListAsJSON = 1000

// whereClause translates f into an SQL boolean expression over the sends
// table and its arguments. A nil filter is "1" (true).
func whereClause(f store.Filter) (string, []any, error) {
	return whereClauseOver(sqlfilter.SendColumns, f)
}

// whereClauseOver translates f into an SQL boolean expression over the
// table whose filterable columns are columns (sqlfilter.SendColumns,
// sqlfilter.DefinitionColumns), and its arguments.
func whereClauseOver(columns map[store.Field]sqlfilter.Column, f store.Filter) (string, []any, error) {
	return sqlfilter.Translate(dialect, columns, f)
}

// inValues is col IN vals: a placeholder per value, or for many values a
// test against the members of one JSON array argument. json_each gives
// back integers as INTEGER and strings as TEXT, the types the STRICT
// columns hold, so the comparison is the one the placeholders would make.
func inValues(col sqlfilter.Column, field store.Field, vals []any, arg func(any) string) (string, error) {
	if len(vals) < inListAsJSON {
		ph := make([]string, len(vals))
		for i, v := range vals {
			ph[i] = arg(v)
		}
		return col.Name + " IN (" + strings.Join(ph, ", ") + ")", nil
	}
	for i, v := range vals {
		if s, ok := v.(string); ok && !utf8.ValidString(s) {
			// JSON would carry it as U+FFFD: another string.
			return "", fmt.Errorf("%w: %s IN: value %d is not valid UTF-8", sqlfilter.ErrFilter, field, i)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(vals); err != nil {
		return "", fmt.Errorf("%w: %s IN: %w", sqlfilter.ErrFilter, field, err)
	}
	return col.Name + " IN (SELECT value FROM json_each(" + arg(strings.TrimSuffix(buf.String(), "\n")) + "))", nil
}
