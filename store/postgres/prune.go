package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/partnerd/partnerd/store"
)

// Prune is store.Store's one housekeeping entry point: expired nonces,
// Retrieve cursors and tokens, then the request log by size, age and count. Each part
// runs whether or not the one before failed. Several servers may prune at
// once: each delete is its own statement, and deleting a row twice is
// deleting it once.
func (db *DB) Prune(ctx context.Context, now time.Time, r store.Retention) (store.Pruned, error) {
	return store.PruneSteps{Backend: "postgres", Nonces: db.PruneNonces, Cursors: db.PruneCursors, Tokens: db.pruneTokens,
		RequestBytes: db.PruneRequestBytes, Requests: db.PruneRequests}.Run(ctx, now, r)
}

// pruneTokens forgets issued tokens that expired before before.
func (db *DB) pruneTokens(ctx context.Context, before time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM issued_tokens WHERE expires_at < $1`, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("postgres: prune tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}

// CountSendsByStatus counts every account's sends by status.
func (db *DB) CountSendsByStatus(ctx context.Context) (map[store.SendStatus]int64, error) {
	rows, err := db.pool.Query(ctx, `SELECT status, count(*) FROM sends GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("postgres: count sends: %w", err)
	}
	defer rows.Close()
	out := map[store.SendStatus]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("postgres: count sends: %w", err)
		}
		out[store.SendStatus(s)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: count sends: %w", err)
	}
	return out, nil
}
