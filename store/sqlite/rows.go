package sqlite

import (
	"context"
	"database/sql"
	"strings"
)

// insertChunk is how many rows one multi-row INSERT carries: the request
// log and nonce writers insert a few dozen rows per commit, and one
// statement per row cost a statement's overhead per row (~1 µs through the
// driver, ~5 % of a cancel's CPU for the two tables).
const insertChunk = 16

// rowInserter inserts rows into one table with multi-row INSERTs: chunks
// of insertChunk rows, then the rest a row per statement. Both statement
// texts are fixed, so the driver's statement cache compiles each once.
type rowInserter struct {
	width         int // values per row
	chunk, single string
}

// newRowInserter takes the statement's head ("INSERT INTO t (a, b)") and
// one row's VALUES tuple ("(?, ?)"), whose placeholders number width.
func newRowInserter(head, row string, width int) rowInserter {
	return rowInserter{
		width:  width,
		chunk:  head + " VALUES " + strings.TrimSuffix(strings.Repeat(row+",", insertChunk), ","),
		single: head + " VALUES " + row,
	}
}

// insert inserts the rows of args, r.width values each.
func (r rowInserter) insert(ctx context.Context, tx *sql.Tx, args []any) error {
	n := r.width * insertChunk
	for len(args) >= n {
		if _, err := tx.ExecContext(ctx, r.chunk, args[:n]...); err != nil {
			return err
		}
		args = args[n:]
	}
	for len(args) > 0 {
		if _, err := tx.ExecContext(ctx, r.single, args[:r.width]...); err != nil {
			return err
		}
		args = args[r.width:]
	}
	return nil
}
