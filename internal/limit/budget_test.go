package limit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestBytes(t *testing.T) {
	b := NewBytes(100)
	steps := []struct {
		held, n int64
		want    bool
	}{
		{0, 150, true},  // alone: admitted whatever its size
		{0, 1, false},   // anything else waits for it
		{150, 10, true}, // the lone holder may still grow
	}
	for i, s := range steps {
		if got := b.TryReserve(s.held, s.n); got != s.want {
			t.Fatalf("step %d: TryReserve(%d, %d) = %v", i, s.held, s.n, got)
		}
	}
	b.Release(160)
	if b.Current() != 0 {
		t.Fatalf("after release: %d", b.Current())
	}
	for i, s := range []struct {
		held, n int64
		want    bool
	}{
		{0, 60, true}, {0, 40, true}, {0, 1, false}, {60, 1, false}, {0, 0, true},
	} {
		if got := b.TryReserve(s.held, s.n); got != s.want {
			t.Fatalf("second round, step %d: TryReserve(%d, %d) = %v (used %d)", i, s.held, s.n, got, b.Current())
		}
	}
	if u := NewBytes(0); !u.TryReserve(0, 1<<40) || !u.TryReserve(0, 1<<40) {
		t.Error("an unlimited budget refused")
	}
}

func TestGate(t *testing.T) {
	ctx := context.Background()
	var nilGate *Gate
	if err := nilGate.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	nilGate.Release()

	g := NewGate(2, 1, time.Hour)
	for i := 0; i < 2; i++ {
		if err := g.Acquire(ctx); err != nil {
			t.Fatalf("slot %d: %v", i, err)
		}
	}
	// One caller may wait; a second is refused at once.
	waited := make(chan error)
	go func() { waited <- g.Acquire(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(g.waiters) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := g.Acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("past the waiters: %v", err)
	}
	g.Release()
	if err := <-waited; err != nil {
		t.Fatalf("the waiter: %v", err)
	}
	if g.InUse() != 2 {
		t.Fatalf("in use %d", g.InUse())
	}
	// A waiter gives up at MaxWait, or when its request ends.
	short := NewGate(1, 4, time.Millisecond)
	short.Acquire(ctx)
	if err := short.Acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("after MaxWait: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := fullGate(t).Acquire(cctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("canceled: %v", err)
	}
}

// fullGate returns a one-slot gate whose slot is taken, with room to
// wait an hour.
func fullGate(t *testing.T) *Gate {
	g := NewGate(1, 4, time.Hour)
	if err := g.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestRecent(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewRecent[string](time.Minute)
	r.Now = func() time.Time { return now }
	r.MaxKeys = 3
	r.Add("a")
	if !r.Has("a") || r.Has("b") {
		t.Fatal("Has")
	}
	now = now.Add(time.Minute)
	if r.Has("a") {
		t.Fatal("a kept past its ttl")
	}
	for i := 0; i < 10; i++ {
		r.Add(fmt.Sprint(i))
		now = now.Add(2 * time.Second)
	}
	if r.Len() > 3 || !r.Has("9") {
		t.Fatalf("bounded table: %d keys, has 9: %v", r.Len(), r.Has("9"))
	}
	var none *Recent[string]
	none.Add("x")
	if none.Has("x") || NewRecent[string](0) != nil {
		t.Error("a nil Recent remembers")
	}
}
