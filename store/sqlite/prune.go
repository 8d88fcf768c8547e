package sqlite

import (
	"context"
	"errors"
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
	var p store.Pruned
	var errs []error
	if r.MaxAge < 0 || r.MaxEntries < 0 || r.MaxBytes < 0 || r.ExpiredTokenAge < 0 {
		return p, fmt.Errorf("sqlite: prune: negative retention %+v", r)
	}
	var err error
	if p.Nonces, err = db.PruneNonces(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if p.Cursors, err = db.PruneCursors(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if p.Tokens, err = db.pruneTokens(ctx, now.Add(-r.ExpiredTokenAge)); err != nil {
		errs = append(errs, err)
	}
	if r.MaxBytes > 0 {
		n, err := db.PruneRequestBytes(ctx, r.MaxBytes)
		p.Requests += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	var before time.Time
	if r.MaxAge > 0 {
		before = now.Add(-r.MaxAge)
	}
	if !before.IsZero() || r.MaxEntries > 0 {
		n, err := db.PruneRequests(ctx, before, r.MaxEntries)
		p.Requests += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return p, errors.Join(errs...)
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
