package sendgrid

import (
	"sync"
	"time"
)

// rateLimiter is a token bucket per key (an API key's ID, or the source
// address of a request without a valid key), kept as the generic cell rate
// algorithm's one time per key. internal/limit.Limiter runs the same
// algorithm but does not tell how much of the bucket is left, which every
// SendGrid response must (X-RateLimit-Remaining, -Reset).
//
// It runs on real time, never on the server's injectable clock: with
// --clock=manual that clock stands still and a bucket would never refill.
type rateLimiter struct {
	limit    int           // bucket size: X-RateLimit-Limit
	interval time.Duration // one token comes back every interval
	now      func() time.Time
	maxKeys  int

	mu        sync.Mutex
	tat       map[string]time.Time // when the key's bucket is full again
	lastSweep time.Time
}

// rateState is what the headers of one response say.
type rateState struct {
	ok        bool
	limit     int
	remaining int
	reset     int64 // UNIX seconds
}

// newRateLimiter allows limit (> 0) requests per window (> 0) per key.
func newRateLimiter(limit int, window time.Duration, now func() time.Time) *rateLimiter {
	if now == nil {
		now = time.Now
	}
	return &rateLimiter{limit: limit, interval: window / time.Duration(limit), now: now,
		maxKeys: 100_000, tat: make(map[string]time.Time)}
}

// take spends one token of key if there is one. Reset is when the bucket is
// full again, or, when it is empty, when the next request will be let in:
// sendgrid-go sleeps until Reset after a 429, and should not sleep longer
// than it must.
func (l *rateLimiter) take(key string) rateState {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	tat, ok := l.tat[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	capacity := time.Duration(l.limit) * l.interval
	next := tat.Add(l.interval)
	if next.Sub(now) > capacity {
		// Empty: the next token is back when tat is one interval less far.
		wait := tat.Sub(now) - capacity + l.interval
		return rateState{ok: false, limit: l.limit, remaining: 0, reset: ceilUnix(now.Add(wait))}
	}
	l.store(key, next, now)
	remaining := int((capacity - next.Sub(now)) / l.interval)
	reset := next
	if remaining == 0 {
		reset = now.Add(next.Sub(now) - capacity + l.interval)
	}
	return rateState{ok: true, limit: l.limit, remaining: remaining, reset: ceilUnix(reset)}
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// store records key's new time. A table full of live keys lets a new key
// through untracked rather than evict one being limited.
func (l *rateLimiter) store(key string, tat, now time.Time) {
	if _, ok := l.tat[key]; !ok && len(l.tat) >= l.maxKeys {
		if now.Sub(l.lastSweep) >= time.Second {
			l.lastSweep = now
			for k, t := range l.tat {
				if !t.After(now) {
					delete(l.tat, k)
				}
			}
		}
		if len(l.tat) >= l.maxKeys {
			return
		}
	}
	l.tat[key] = tat
}
