package limit

import (
	"sync"
	"time"
)

// Recent remembers keys for a while: which (source, account) pairs logged
// in successfully lately. Its memory is bounded: a table full of live keys
// forgets an arbitrary one to make room, which at worst makes a client
// that logged in before count as new again.
type Recent[K comparable] struct {
	ttl time.Duration
	// Now is the time source; nil means time.Now. Tests replace it.
	Now func() time.Time
	// MaxKeys bounds the table (0: DefaultMaxKeys).
	MaxKeys int

	mu        sync.Mutex
	seen      map[K]time.Time // key → when it expires
	lastSweep time.Time
}

// NewRecent returns a Recent remembering each key for ttl after it was
// last added; ttl <= 0 returns nil, and a nil *Recent remembers nothing.
func NewRecent[K comparable](ttl time.Duration) *Recent[K] {
	if ttl <= 0 {
		return nil
	}
	return &Recent[K]{ttl: ttl, seen: make(map[K]time.Time)}
}

func (r *Recent[K]) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Add remembers key from now on for the ttl.
func (r *Recent[K]) Add(key K) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if _, ok := r.seen[key]; !ok {
		max := r.MaxKeys
		if max <= 0 {
			max = DefaultMaxKeys
		}
		if len(r.seen) >= max {
			r.sweep(now)
		}
		for k := range r.seen { // still full: forget any one
			if len(r.seen) < max {
				break
			}
			delete(r.seen, k)
		}
	}
	r.seen[key] = now.Add(r.ttl)
}

// Has reports whether key was added within the ttl.
func (r *Recent[K]) Has(key K) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	exp, ok := r.seen[key]
	return ok && r.now().Before(exp)
}

// sweep forgets expired keys (an expiry not after now).
func (r *Recent[K]) sweep(now time.Time) { sweepPast(r.seen, &r.lastSweep, now) }

// Len returns the number of keys held.
func (r *Recent[K]) Len() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}
