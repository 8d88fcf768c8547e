package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// memLoginLog connects processes in memory: an event one records is handed
// to every other's follower, synchronously, as a notification would be.
type memLoginLog struct {
	mu        sync.Mutex
	events    []memEvent
	followers map[int]func(store.LoginEvent)
}

type memEvent struct {
	from int
	e    store.LoginEvent
}

// process is one process's view of the log.
type process struct {
	log *memLoginLog
	id  int
}

func (p process) RecordLogin(_ context.Context, e store.LoginEvent) error {
	p.log.mu.Lock()
	p.log.events = append(p.log.events, memEvent{p.id, e})
	var fns []func(store.LoginEvent)
	for id, fn := range p.log.followers {
		if id != p.id {
			fns = append(fns, fn)
		}
	}
	p.log.mu.Unlock()
	for _, fn := range fns {
		fn(e)
	}
	return nil
}

func (p process) FollowLogins(ctx context.Context, since time.Time, fn func(store.LoginEvent)) error {
	p.log.mu.Lock()
	for _, ev := range p.log.events {
		if ev.from != p.id && !ev.e.At.Before(since) {
			fn(ev.e)
		}
	}
	if p.log.followers == nil {
		p.log.followers = map[int]func(store.LoginEvent){}
	}
	p.log.followers[p.id] = fn
	p.log.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

// TestSharedThrottleCountsAcrossProcesses: failures made on one process
// hold back the pair (and source) on another, whether they were made
// before the other started following or after; a success on one exempts
// its pair on the other from the source limit; what is not a guess is not
// shared.
func TestSharedThrottleCountsAcrossProcesses(t *testing.T) {
	const attacker, owner = "192.0.2.66:1000", "198.51.100.7:2000"
	cfg := ThrottleConfig{Failures: 3, Window: time.Minute}
	tests := []struct {
		name string
		// on A (index 0) before B follows, then on A after
		before, after []outcome
		// asked of B
		remote, subject string
		refused         bool
	}{
		{name: "failures before B started", before: fails(attacker, "acme", 3), remote: attacker, subject: "acme", refused: true},
		{name: "failures after B started", after: fails(attacker, "acme", 3), remote: attacker, subject: "acme", refused: true},
		{name: "split below the limit", before: fails(attacker, "acme", 1), after: fails(attacker, "acme", 1), remote: attacker, subject: "acme"},
		{name: "source limit across accounts", after: append(fails(attacker, "a", 2), fails(attacker, "b", 1)...), remote: attacker, subject: "c", refused: true},
		{name: "a login elsewhere exempts from the source limit", before: []outcome{{remote: attacker, subject: "mine"}},
			after: fails(attacker, "other", 3), remote: attacker, subject: "mine"},
		{name: "store failures are not guesses", after: []outcome{{attacker, "acme", errors.New("disk")}, {attacker, "acme", errors.New("disk")}, {attacker, "acme", errors.New("disk")}},
			remote: attacker, subject: "acme"},
		{name: "the owner's source is not the attacker's", after: fails(attacker, "acme", 3), remote: owner, subject: "acme"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			log := &memLoginLog{}
			a := NewSharedThrottle(cfg, process{log, 0}, nil)
			b := NewSharedThrottle(cfg, process{log, 1}, nil)
			for _, o := range tc.before {
				a.Done(ctx, o.remote, o.subject, o.err)
			}
			following := make(chan struct{})
			go func() {
				b.Follow(ctx)
				close(following)
			}()
			for !b.following(log) {
				time.Sleep(time.Millisecond)
			}
			for _, o := range tc.after {
				a.Done(ctx, o.remote, o.subject, o.err)
			}
			err := b.Allow(ctx, tc.remote, tc.subject)
			if refused := errors.Is(err, ErrThrottled); refused != tc.refused {
				t.Fatalf("B.Allow(%s, %s) = %v, want refused=%v", tc.remote, tc.subject, err, tc.refused)
			}
			cancel()
			<-following
		})
	}
}

// TestSharedThrottleRecordsKnownPairsOnce: the steady stream of good
// logins writes nothing after a pair's first.
func TestSharedThrottleRecordsKnownPairsOnce(t *testing.T) {
	log := &memLoginLog{}
	a := NewSharedThrottle(ThrottleConfig{Failures: 3, Window: time.Minute}, process{log, 0}, nil)
	for range 5 {
		a.Done(context.Background(), "192.0.2.1:5", "acme", nil)
	}
	a.Done(context.Background(), "192.0.2.1:5", "acme", ErrBadPassword)
	if len(log.events) != 2 || log.events[0].e.Failed || !log.events[1].e.Failed {
		t.Fatalf("recorded %+v, want one success then one failure", log.events)
	}
}

type outcome struct {
	remote, subject string
	err             error
}

func fails(remote, subject string, n int) []outcome {
	out := make([]outcome, n)
	for i := range out {
		out[i] = outcome{remote, subject, ErrBadPassword}
	}
	return out
}

// following reports whether s's process has a follower on log.
func (s *SharedThrottle) following(log *memLoginLog) bool {
	log.mu.Lock()
	defer log.mu.Unlock()
	_, ok := log.followers[s.log.(process).id]
	return ok
}
