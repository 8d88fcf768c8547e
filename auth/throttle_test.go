package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// throttleStep is one event a MemoryThrottle sees: an outcome reported
// (err set, or ok for a success), or an Allow whose answer is checked.
type throttleStep struct {
	remote, subject string
	done            bool  // Done with err; otherwise Allow
	err             error // for Done: nil is a success
	allowed         bool  // for Allow
	advance         time.Duration
}

func guess(remote, subject string) throttleStep {
	return throttleStep{remote: remote, subject: subject, done: true, err: fmt.Errorf("%w: x", ErrBadPassword)}
}
func fail(remote, subject string, err error) throttleStep {
	return throttleStep{remote: remote, subject: subject, done: true, err: err}
}
func success(remote, subject string) throttleStep {
	return throttleStep{remote: remote, subject: subject, done: true}
}
func allowed(remote, subject string) throttleStep {
	return throttleStep{remote: remote, subject: subject, allowed: true}
}
func refused(remote, subject string) throttleStep {
	return throttleStep{remote: remote, subject: subject}
}
func wait(d time.Duration) throttleStep { return throttleStep{advance: d, done: true} }

// TestMemoryThrottle pins the throttle's decisions: only guesses are
// charged; the pair and source limits hold back the guesser's own address;
// an account under attack admits unknown sources at a bounded rate while
// a source that logged in lately is never held back by others' failures.
func TestMemoryThrottle(t *testing.T) {
	const a, b, c = "10.0.0.1:1000", "10.0.0.2:1000", "10.0.0.3:1000"
	cfg := ThrottleConfig{Failures: 3, Window: time.Minute, AccountFailures: 5}
	tests := []struct {
		name  string
		cfg   ThrottleConfig
		steps []throttleStep
	}{
		{"pair limit", cfg, []throttleStep{
			guess(a, "alice"), guess(a, "alice"), allowed(a, "alice"), guess(a, "alice"),
			refused(a, "alice"), refused(a, "ALICE"), allowed(b, "alice"),
		}},
		{"source limit covers every account", cfg, []throttleStep{
			guess(a, "u1"), guess(a, "u2"), guess(a, "u3"),
			refused(a, "u4"), allowed(b, "u4"),
		}},
		{"the window lets one more through", cfg, []throttleStep{
			guess(a, "alice"), guess(a, "alice"), guess(a, "alice"), refused(a, "alice"),
			wait(20 * time.Second), allowed(a, "alice"), guess(a, "alice"), refused(a, "alice"),
		}},
		{"only guesses are charged", cfg, []throttleStep{
			fail(a, "alice", ErrCreatedTooOld), fail(a, "alice", ErrReplay), fail(a, "alice", ErrDisabled),
			fail(a, "alice", ErrBusy), fail(a, "alice", ErrMalformed), fail(a, "", ErrNoCredential),
			fail(a, "alice", errors.New("store failed")), fail(a, "alice", &ThrottledError{"x", time.Second}),
			allowed(a, "alice"),
		}},
		{"unknown user and bad digest are guesses", cfg, []throttleStep{
			fail(a, "nobody", ErrUnknownUser), fail(a, "nobody", ErrBadDigest), fail(a, "nobody", ErrUnknownUser),
			refused(a, "nobody"),
		}},
		{"a known source is exempt from the source limit", cfg, []throttleStep{
			success(a, "alice"), guess(a, "u1"), guess(a, "u2"), guess(a, "u3"),
			refused(a, "u4"), allowed(a, "alice"), allowed(a, "Alice"),
		}},
		{"but not from its own pair's", cfg, []throttleStep{
			success(a, "alice"), guess(a, "alice"), guess(a, "alice"), guess(a, "alice"),
			refused(a, "alice"),
		}},
		{"account under attack", cfg, []throttleStep{
			success(c, "alice"),
			guess("10.1.0.1:1", "alice"), guess("10.1.0.2:1", "alice"), guess("10.1.0.3:1", "alice"),
			guess("10.1.0.4:1", "alice"), guess("10.1.0.5:1", "alice"),
			allowed(a, "alice"), refused(b, "alice"), // one unknown source per Window/Failures
			allowed(c, "alice"), allowed(c, "alice"), // the owner is not locked out
			allowed(b, "bob"), // nor are other accounts
			wait(20 * time.Second), allowed(b, "alice"),
		}},
		{"an IPv6 source is its /64", cfg, []throttleStep{
			guess("[2001:db8::1]:1", "u1"), guess("[2001:db8::2]:2", "u2"), guess("[2001:db8:0:0:ffff::3]:3", "u3"),
			refused("[2001:db8::4]:4", "u4"), allowed("[2001:db8:0:1::1]:1", "u4"),
		}},
		{"no limits configured", ThrottleConfig{}, []throttleStep{
			guess(a, "alice"), guess(a, "alice"), guess(a, "alice"), guess(a, "alice"), allowed(a, "alice"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
			tt.cfg.Now = func() time.Time { return now }
			th := NewMemoryThrottle(tt.cfg)
			ctx := context.Background()
			for i, s := range tt.steps {
				now = now.Add(s.advance)
				if s.done {
					if s.advance == 0 {
						th.Done(ctx, s.remote, s.subject, s.err)
					}
					continue
				}
				err := th.Allow(ctx, s.remote, s.subject)
				if s.allowed != (err == nil) {
					t.Fatalf("step %d: Allow(%s, %s) = %v, want allowed %v", i, s.remote, s.subject, err, s.allowed)
				}
				var te *ThrottledError
				if err != nil && (!errors.As(err, &te) || te.RetryAfter <= 0 || !errors.Is(err, ErrLoginFailed) || Reason(err) != "throttled") {
					t.Errorf("step %d: refusal %v is not a login failure with a wait", i, err)
				}
			}
		})
	}
}

func TestSourceKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"192.0.2.1:1234", "192.0.2.1"},
		{"192.0.2.1", "192.0.2.1"},
		{"[2001:db8::1]:443", "2001:db8::/64"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.1]:1", "192.0.2.1"},
		{"pipe", "pipe"},
		{"", ""},
	} {
		if got := SourceKey(tt.in); got != tt.want {
			t.Errorf("SourceKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRateLimiter(t *testing.T) {
	if NewRateLimiter(0, 10) != nil {
		t.Error("rate 0 is not nil (no limit)")
	}
	rl := NewRateLimiter(1, 2)
	ctx := context.Background()
	alice, bob := Principal{AccountID: 1, Username: "alice"}, Principal{AccountID: 2, Username: "bob"}
	for i, s := range []struct {
		p  Principal
		ok bool
	}{{alice, true}, {alice, true}, {alice, false}, {bob, true}, {bob, true}, {bob, false}} {
		err := rl.Allow(ctx, s.p)
		if s.ok != (err == nil) {
			t.Fatalf("request %d of %s: %v", i, s.p.Username, err)
		}
		var re *RateLimitedError
		if err != nil && (!errors.As(err, &re) || !errors.Is(err, ErrRateLimited) || errors.Is(err, ErrLoginFailed) ||
			re.RetryAfter <= 0 || err.Error() != "account "+s.p.Username+" over 1 requests/s") {
			t.Errorf("request %d: %v (%+v)", i, err, re)
		}
	}
}
