// Package limit bounds what callers can make partnerd do: how many requests
// are in flight at once (InFlight) and how many request bytes they hold
// (Bytes), how fast one key — an account, a source address — may go
// (Limiter), which serves both the per-account request rate and
// failed-login throttling, how many callers do expensive work at once
// (Gate: password hashing), and which keys did something lately (Recent:
// sources that logged in successfully).
//
// Limits run on real time, never on the server's injectable clock: with
// --clock=manual that clock stands still, and a bucket that never refills
// would lock every caller out.
package limit

import (
	"sync"
	"sync/atomic"
	"time"
)

// InFlight counts requests being served and refuses, rather than queues,
// those beyond its capacity: a queue only grows under overload, and every
// queued client times out anyway.
type InFlight struct {
	max int64
	n   atomic.Int64
}

// NewInFlight returns a limiter admitting at most max requests at once;
// max <= 0 admits everything (but still counts).
func NewInFlight(max int) *InFlight { return &InFlight{max: int64(max)} }

// TryAcquire admits one request if there is room. Every successful
// TryAcquire must be paired with one Release.
func (l *InFlight) TryAcquire() bool {
	if n := l.n.Add(1); l.max > 0 && n > l.max {
		l.n.Add(-1)
		return false
	}
	return true
}

// Release ends a request admitted by TryAcquire.
func (l *InFlight) Release() { l.n.Add(-1) }

// Current returns the number of requests in flight.
func (l *InFlight) Current() int { return int(l.n.Load()) }

// Max returns the capacity (0: unlimited).
func (l *InFlight) Max() int { return int(l.max) }

// DefaultMaxKeys bounds the keys a Limiter tracks.
const DefaultMaxKeys = 100_000

// Limiter allows each key burst events at once and then one event per
// interval: the generic cell rate algorithm, which keeps one time per key
// (the "theoretical arrival time", tat) instead of a window of events, so
// its memory is bounded by the number of keys alone.
//
// A key whose tat has passed is back at its full burst and is forgotten
// when the table is swept; the table holds at most MaxKeys keys, and a new
// key that finds it full of live ones is let through untracked rather than
// evicting a key that is being limited (the caller's other limits still
// apply).
type Limiter[K comparable] struct {
	interval time.Duration
	burst    int
	// Now is the time source; nil means time.Now. Tests replace it.
	Now func() time.Time
	// MaxKeys bounds the table (0: DefaultMaxKeys).
	MaxKeys int

	mu        sync.Mutex
	tat       map[K]time.Time
	lastSweep time.Time
}

// NewLimiter returns a Limiter allowing burst events at once and rate
// events per second after that. rate <= 0 or burst <= 0 returns nil, and a
// nil *Limiter allows everything.
func NewLimiter[K comparable](rate float64, burst int) *Limiter[K] {
	if rate <= 0 || burst <= 0 {
		return nil
	}
	return &Limiter[K]{interval: time.Duration(float64(time.Second) / rate), burst: burst, tat: make(map[K]time.Time)}
}

// NewWindowLimiter returns a Limiter allowing n events within window, and
// after those one more every window/n: n failed logins in five minutes,
// say. n <= 0 or window <= 0 returns nil (no limit).
func NewWindowLimiter[K comparable](n int, window time.Duration) *Limiter[K] {
	if n <= 0 || window <= 0 {
		return nil
	}
	return &Limiter[K]{interval: window / time.Duration(n), burst: n, tat: make(map[K]time.Time)}
}

func (l *Limiter[K]) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Allow records one event for key if it fits; otherwise it records nothing
// and returns how long until one would fit.
func (l *Limiter[K]) Allow(key K) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	next, wait := l.next(key, now)
	if wait > 0 {
		return false, wait
	}
	l.store(key, next, now)
	return true, 0
}

// Check reports whether one more event for key would fit now, and if not
// how long until it would, without recording anything.
func (l *Limiter[K]) Check(key K) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, wait := l.next(key, l.now())
	return wait <= 0, wait
}

// Charge records one event for key whether or not it fits (a failed login
// has happened; it cannot be refused after the fact). The debt is capped
// at one interval past the burst so that a flood of concurrent failures
// does not lock a key out for longer than one more attempt would.
func (l *Limiter[K]) Charge(key K) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	next, _ := l.next(key, now)
	if limit := now.Add(time.Duration(l.burst+1) * l.interval); next.After(limit) {
		next = limit
	}
	l.store(key, next, now)
}

// next returns key's tat after one more event, and how long to wait before
// that event fits (<= 0: it fits now).
func (l *Limiter[K]) next(key K, now time.Time) (time.Time, time.Duration) {
	tat, ok := l.tat[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	next := tat.Add(l.interval)
	return next, next.Sub(now) - time.Duration(l.burst)*l.interval
}

func (l *Limiter[K]) store(key K, tat time.Time, now time.Time) {
	if _, ok := l.tat[key]; !ok {
		max := l.MaxKeys
		if max <= 0 {
			max = DefaultMaxKeys
		}
		if len(l.tat) >= max {
			l.sweep(now)
			if len(l.tat) >= max {
				return
			}
		}
	}
	l.tat[key] = tat
}

// sweep forgets keys back at their full burst (a TAT not after now).
func (l *Limiter[K]) sweep(now time.Time) { sweepPast(l.tat, &l.lastSweep, now) }

// sweepPast deletes the keys of m whose time is not after now. It runs at
// most once a second (last is when it last did), so that a table full of
// live keys does not cost a full scan per event.
func sweepPast[K comparable](m map[K]time.Time, last *time.Time, now time.Time) {
	if now.Sub(*last) < time.Second && !last.IsZero() {
		return
	}
	*last = now
	for k, t := range m {
		if !t.After(now) {
			delete(m, k)
		}
	}
}

// Len returns the number of keys tracked.
func (l *Limiter[K]) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tat)
}
