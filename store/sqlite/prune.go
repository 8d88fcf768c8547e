package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/partnerd/partnerd/store"
)

// Prune is store.Store's one housekeeping entry point: expired nonces and
// Retrieve cursors (every Retrieve with more rows than a page saves one,
// and nothing else deletes them), issued tokens long expired (InsertToken
// forgets a client's expired tokens only when it is issued another: a
// client that stops asking would keep its last ones), then the request log by size, age and
// count. Each part runs whether or not the one before failed, in its own
// transactions: the request log is deleted a chunk at a time, so the
// committer is never held for long.
func (db *DB) Prune(ctx context.Context, now time.Time, r store.Retention) (store.Pruned, error) {
	return store.PruneSteps{Backend: "sqlite", Nonces: db.PruneNonces, Cursors: db.PruneCursors, Tokens: db.pruneTokens,
		RequestBytes: db.PruneRequestBytes, Requests: db.PruneRequests}.Run(ctx, now, r)
}

// pruneTokens forgets the issued tokens that expired before before. It
// scans the table (its index leads with the client): the table holds at
// most what the live clients were issued over one lifetime plus
// Retention.ExpiredTokenAge, and Prune runs once a minute.
func (db *DB) pruneTokens(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.execCount(ctx, `DELETE FROM issued_tokens WHERE expires_at < ?`, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune tokens: %w", err)
	}
	return n, nil
}
