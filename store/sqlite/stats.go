package sqlite

import (
	"context"
	"fmt"

	"github.com/partnerd/partnerd/store"
)

// CountSendsByStatus counts every account's sends by status, for the
// metrics scrape: one grouped query on a read connection, answered from the
// (status, send_date) index.
func (db *DB) CountSendsByStatus(ctx context.Context) (map[store.SendStatus]int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT status, COUNT(*) FROM sends GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: count sends: %w", err)
	}
	defer rows.Close()
	out := map[store.SendStatus]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("sqlite: count sends: %w", err)
		}
		out[store.SendStatus(s)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: count sends: %w", err)
	}
	return out, nil
}
