package limit

import "sync"

// Bytes is a budget of request bytes held in memory at once. A request
// reserves what it will hold before reading it (its Content-Length), or as
// it grows (a chunked body), and releases it once its answer is computed;
// a reservation that does not fit is refused at once, like InFlight.
//
// One request alone is always admitted whatever its size, so that a budget
// smaller than the largest legal body still serves that body when nothing
// else is in flight, instead of refusing it for ever.
type Bytes struct {
	max int64

	mu   sync.Mutex
	used int64
}

// NewBytes returns a budget of max bytes; max <= 0 admits everything (but
// still counts).
func NewBytes(max int64) *Bytes { return &Bytes{max: max} }

// TryReserve reserves n more bytes for a request that already holds held
// bytes of this budget (0 for a new request). It succeeds when they fit,
// or when that request would be the budget's only holder.
func (b *Bytes) TryReserve(held, n int64) bool {
	if n <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.max > 0 && b.used+n > b.max && b.used > held {
		return false
	}
	b.used += n
	return true
}

// Release returns n reserved bytes.
func (b *Bytes) Release(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// Current returns the bytes reserved.
func (b *Bytes) Current() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Max returns the budget (0: unlimited).
func (b *Bytes) Max() int64 { return b.max }
