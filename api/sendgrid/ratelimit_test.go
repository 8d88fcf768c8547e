package sendgrid

import (
	"fmt"
	"testing"
	"time"
)

func TestRateLimiterRefillsAndStaysBounded(t *testing.T) {
	now := t0
	l := newRateLimiter(2, 2*time.Second, func() time.Time { return now })
	for i, want := range []bool{true, true, false} {
		if st := l.take("k"); st.ok != want {
			t.Fatalf("take %d: %+v", i, st)
		}
	}
	now = now.Add(time.Second)
	if st := l.take("k"); !st.ok || st.remaining != 0 {
		t.Fatalf("after a second: %+v", st)
	}
	now = now.Add(2 * time.Second)
	if st := l.take("k"); !st.ok || st.remaining != 1 {
		t.Fatalf("after refill: %+v", st)
	}

	// A full table of live keys lets a new key through untracked; once
	// the keys are back at full burst they are swept.
	l.maxKeys = 3
	for i := range 5 {
		if st := l.take(fmt.Sprint("key", i)); !st.ok {
			t.Fatalf("key%d refused: %+v", i, st)
		}
	}
	if len(l.tat) > 3 {
		t.Fatalf("%d keys tracked", len(l.tat))
	}
	now = now.Add(time.Minute)
	l.take("late")
	if len(l.tat) != 1 {
		t.Fatalf("%d keys after the sweep, want 1", len(l.tat))
	}
}

func TestRateLimitDefault(t *testing.T) {
	rg := newRig(func(c *Config) { c.RateLimit = -1 })
	rec := rg.do("GET", "/v3/user/scheduled_sends", rg.full, "")
	if rec.Code != 200 || rec.Header().Get("X-RateLimit-Limit") != fmt.Sprint(DefaultRateLimit) {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
}
