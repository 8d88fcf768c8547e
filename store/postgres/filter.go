package postgres

import (
	"fmt"
	"strconv"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlfilter"
)

// Filters are translated to SQL by sqlfilter, which gives store/sqlite's
// answers; this file is PostgreSQL's dialect of it. Strings compare byte by
// byte because the columns are COLLATE "C".

// dialect spells filters for PostgreSQL: numbered parameters, IN as one
// array parameter, and Like as SQLite's.
var dialect = &sqlfilter.Dialect{
	True:        "TRUE",
	Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	In:          inArray,
	// lower() under the "C" collation lowers ASCII letters only, and
	// ESCAPE '' makes a backslash an ordinary character: SQLite's LIKE
	// exactly.
	Like: func(col, pattern string) string {
		return fmt.Sprintf(`lower(%s) LIKE lower(%s::text COLLATE "C") ESCAPE ''`, col, pattern)
	},
}

// newWhere starts a translation whose first parameters are args ($1, $2 …).
func newWhere(columns map[store.Field]sqlfilter.Column, args ...any) *sqlfilter.Where {
	return sqlfilter.New(dialect, columns, args...)
}

// inArray is col IN vals as one array parameter, however many values: no
// limit on their number, one statement text per shape. Time columns hold
// bigints, as Int ones.
func inArray(col sqlfilter.Column, _ store.Field, vals []any, arg func(any) string) (string, error) {
	if col.Kind == sqlfilter.String {
		ss := make([]string, len(vals))
		for i, v := range vals {
			ss[i] = v.(string)
		}
		return fmt.Sprintf("%s = ANY(%s::text[])", col.Name, arg(ss)), nil
	}
	ns := make([]int64, len(vals))
	for i, v := range vals {
		ns[i] = v.(int64)
	}
	return fmt.Sprintf("%s = ANY(%s::bigint[])", col.Name, arg(ns)), nil
}
