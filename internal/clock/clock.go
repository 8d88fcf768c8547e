// Package clock is partnerd's one source of time. Every time read in domain
// code goes through a Clock so that tests, and users running with
// --clock=manual, can move time instead of waiting for it.
package clock

import (
	"sync"
	"time"
)

// Clock tells the current time.
type Clock interface {
	Now() time.Time
}

// System is the wall clock.
type System struct{}

// Now returns the wall-clock time in UTC.
func (System) Now() time.Time { return time.Now().UTC() }

// Manual is a clock that only moves when told to. The zero value is not
// usable; create one with NewManual.
type Manual struct {
	mu        sync.Mutex
	now       time.Time
	listeners []func(time.Time)
}

// NewManual returns a manual clock stopped at t.
func NewManual(t time.Time) *Manual { return &Manual{now: t.UTC()} }

// Now returns the time the clock was last set to.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Set moves the clock to t (forwards or backwards) and notifies listeners.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	m.now = t.UTC()
	ls := append([]func(time.Time){}, m.listeners...)
	now := m.now
	m.mu.Unlock()
	for _, f := range ls {
		f(now)
	}
}

// Advance moves the clock forwards by d and returns the new time.
func (m *Manual) Advance(d time.Duration) time.Time {
	m.mu.Lock()
	t := m.now.Add(d)
	m.mu.Unlock()
	m.Set(t)
	return t
}

// OnChange registers f to be called, outside the clock's lock, after every
// Set or Advance. The dispatcher uses it to run due sends at each move.
func (m *Manual) OnChange(f func(time.Time)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners = append(m.listeners, f)
}
