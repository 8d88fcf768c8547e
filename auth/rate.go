package auth

import (
	"context"

	"github.com/partnerd/partnerd/internal/limit"
)

// RateLimiter bounds each account's request rate. Implementations must be
// safe for concurrent use; one backed by a store can share the budget
// between processes.
type RateLimiter interface {
	// Allow admits one request of p, or returns a *RateLimitedError.
	Allow(ctx context.Context, p Principal) error
}

// NewRateLimiter returns the in-process RateLimiter: rate requests per
// second per account, after a burst of burst (at least 1). With rate <= 0
// it returns nil: no limit.
func NewRateLimiter(rate float64, burst int) RateLimiter {
	l := limit.NewLimiter[int64](rate, max(burst, 1))
	if l == nil {
		return nil
	}
	return &memoryRate{l: l, rate: rate}
}

type memoryRate struct {
	l    *limit.Limiter[int64]
	rate float64
}

func (m *memoryRate) Allow(_ context.Context, p Principal) error {
	if ok, wait := m.l.Allow(p.AccountID); !ok {
		return &RateLimitedError{Username: p.Username, Rate: m.rate, RetryAfter: wait}
	}
	return nil
}
