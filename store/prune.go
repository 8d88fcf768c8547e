package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// PruneSteps are the parts a backend's Prune is made of, each run in its
// own transactions. Run is the one order and rule both SQL stores follow.
type PruneSteps struct {
	Backend string // for messages: "sqlite"
	// Nonces and Cursors forget what expired before now; Tokens the
	// issued tokens that expired before the time it is given.
	Nonces, Cursors, Tokens func(ctx context.Context, before time.Time) (int64, error)
	RequestBytes            func(ctx context.Context, maxBytes int64) (int64, error)
	Requests                func(ctx context.Context, before time.Time, keep int) (int64, error)
}

// Run prunes as Store.Prune says: expired nonces, Retrieve cursors and
// tokens, then the request log by size, then by age and count. Each part
// runs whether or not the one before failed; the errors are joined.
func (s PruneSteps) Run(ctx context.Context, now time.Time, r Retention) (Pruned, error) {
	var p Pruned
	if r.MaxAge < 0 || r.MaxEntries < 0 || r.MaxBytes < 0 || r.ExpiredTokenAge < 0 {
		return p, fmt.Errorf("%s: prune: negative retention %+v", s.Backend, r)
	}
	var errs []error
	count := func(into *int64, n int64, err error) {
		*into += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	n, err := s.Nonces(ctx, now)
	count(&p.Nonces, n, err)
	n, err = s.Cursors(ctx, now)
	count(&p.Cursors, n, err)
	n, err = s.Tokens(ctx, now.Add(-r.ExpiredTokenAge))
	count(&p.Tokens, n, err)
	if r.MaxBytes > 0 {
		n, err = s.RequestBytes(ctx, r.MaxBytes)
		count(&p.Requests, n, err)
	}
	var before time.Time
	if r.MaxAge > 0 {
		before = now.Add(-r.MaxAge)
	}
	if !before.IsZero() || r.MaxEntries > 0 {
		n, err = s.Requests(ctx, before, r.MaxEntries)
		count(&p.Requests, n, err)
	}
	return p, errors.Join(errs...)
}
