package limit

import (
	"sync"
	"testing"
	"time"
)

type fakeTime struct{ t time.Time }

func (f *fakeTime) now() time.Time          { return f.t }
func (f *fakeTime) advance(d time.Duration) { f.t = f.t.Add(d) }

func TestInFlight(t *testing.T) {
	l := NewInFlight(2)
	if !l.TryAcquire() || !l.TryAcquire() {
		t.Fatal("the first two are refused")
	}
	if l.TryAcquire() {
		t.Fatal("a third is admitted over capacity 2")
	}
	if l.Current() != 2 {
		t.Fatalf("Current = %d, want 2", l.Current())
	}
	l.Release()
	if !l.TryAcquire() {
		t.Fatal("refused after a release")
	}

	// Concurrent use never admits more than the capacity.
	l = NewInFlight(5)
	var mu sync.Mutex
	peak, cur := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				if !l.TryAcquire() {
					continue
				}
				mu.Lock()
				cur++
				peak = max(peak, cur)
				mu.Unlock()
				mu.Lock()
				cur--
				mu.Unlock()
				l.Release()
			}
		}()
	}
	wg.Wait()
	if peak > 5 || l.Current() != 0 {
		t.Fatalf("peak %d (cap 5), %d left in flight", peak, l.Current())
	}
	if !NewInFlight(0).TryAcquire() {
		t.Fatal("capacity 0 means unlimited")
	}
}

func TestLimiterBurstThenRate(t *testing.T) {
	ft := &fakeTime{t: time.Unix(1e9, 0)}
	l := NewLimiter[string](10, 3) // 3 at once, then one per 100ms
	l.Now = ft.now
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("event %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait != 100*time.Millisecond {
		t.Fatalf("4th event: ok=%v wait=%v, want refused with 100ms", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another key is limited by the first")
	}
	ft.advance(100 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refused after one interval")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("two events fit in one interval")
	}
	ft.advance(time.Hour)
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatal("burst not restored after an idle hour")
		}
	}
}

func TestWindowLimiterChargeAndCheck(t *testing.T) {
	ft := &fakeTime{t: time.Unix(1e9, 0)}
	l := NewWindowLimiter[string](5, 5*time.Minute) // 5 failures, then one a minute
	l.Now = ft.now
	for i := 0; i < 5; i++ {
		if ok, _ := l.Check("u"); !ok {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Charge("u")
	}
	ok, wait := l.Check("u")
	if ok || wait != time.Minute {
		t.Fatalf("after 5 failures: ok=%v wait=%v, want blocked for 1m", ok, wait)
	}
	// Failures charged while blocked (concurrent attempts) extend the
	// block by at most one interval.
	for i := 0; i < 100; i++ {
		l.Charge("u")
	}
	if _, wait := l.Check("u"); wait > 2*time.Minute {
		t.Fatalf("a flood of failures blocks for %v", wait)
	}
	ft.advance(2 * time.Minute)
	if ok, _ := l.Check("u"); !ok {
		t.Fatal("still blocked after the wait")
	}
}

func TestLimiterBoundsKeys(t *testing.T) {
	ft := &fakeTime{t: time.Unix(1e9, 0)}
	l := NewLimiter[int](1, 1)
	l.Now = ft.now
	l.MaxKeys = 100
	for i := 0; i < 1000; i++ {
		l.Allow(i)
	}
	if l.Len() > 100 {
		t.Fatalf("%d keys tracked, bound 100", l.Len())
	}
	// Once the keys have recovered they are swept to make room.
	ft.advance(time.Minute)
	l.Allow(5000)
	if l.Len() != 1 {
		t.Fatalf("%d keys after a sweep, want 1", l.Len())
	}
}

func TestNilLimiterAllows(t *testing.T) {
	var l *Limiter[string] = NewLimiter[string](0, 0)
	if ok, _ := l.Allow("x"); !ok {
		t.Fatal("a disabled limiter refuses")
	}
	l.Charge("x")
	if ok, _ := l.Check("x"); !ok {
		t.Fatal("a disabled limiter blocks")
	}
}
