package limit

import (
	"context"
	"errors"
	"time"
)

// ErrBusy is Gate.Acquire's answer when no slot came free in time, or too
// many callers are already waiting for one.
var ErrBusy = errors.New("limit: busy")

// Gate bounds how many callers do some expensive work at once — password
// hashing: a flood of guesses then takes at most its slots' share of the
// CPU, and everything else (requests whose credentials are cached) keeps
// the rest. Callers beyond the slots wait, at most MaxWait, and at most
// MaxWaiters of them; the others are refused at once, so that a flood
// queues no unbounded backlog of work that would run long after its
// clients gave up.
type Gate struct {
	slots   chan struct{}
	waiters chan struct{}
	maxWait time.Duration
}

// NewGate returns a Gate of slots concurrent holders, with at most
// maxWaiters callers waiting up to maxWait each. slots <= 0 returns nil,
// and a nil *Gate admits everything at once.
func NewGate(slots, maxWaiters int, maxWait time.Duration) *Gate {
	if slots <= 0 {
		return nil
	}
	return &Gate{slots: make(chan struct{}, slots), waiters: make(chan struct{}, max(maxWaiters, 0)), maxWait: maxWait}
}

// Acquire takes a slot, waiting if need be (see Gate). Every nil return
// must be paired with one Release.
func (g *Gate) Acquire(ctx context.Context) error {
	if g == nil {
		return nil
	}
	select {
	case g.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case g.waiters <- struct{}{}:
	default:
		return ErrBusy
	}
	defer func() { <-g.waiters }()
	t := time.NewTimer(g.maxWait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ErrBusy
	}
}

// Release frees a slot taken by Acquire.
func (g *Gate) Release() {
	if g == nil {
		return
	}
	<-g.slots
}

// InUse returns the slots held.
func (g *Gate) InUse() int {
	if g == nil {
		return 0
	}
	return len(g.slots)
}
