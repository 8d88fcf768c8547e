package auth

import (
	"context"
	"errors"
	"fmt"
	"github.com/partnerd/partnerd/auth/authtest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/store"
)

// recordingThrottle is a LoginThrottle that refuses what it is told to and
// records what it hears.
type recordingThrottle struct {
	refuse bool
	mu     sync.Mutex
	asked  []string // subjects
	done   []error
}

func (r *recordingThrottle) Allow(_ context.Context, _, subject string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, subject)
	if r.refuse {
		return &ThrottledError{"test", 3 * time.Second}
	}
	return nil
}

func (r *recordingThrottle) Done(_ context.Context, _, _ string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = append(r.done, err)
}

// TestAuthenticateRules runs each rule through Authenticate, the one path
// every credential kind takes: every failure is ErrLoginFailed with a
// reason for the metrics and no principal; a throttled attempt costs no
// store lookup and is not reported back as an outcome; the nonce of a
// token is recorded only once its password has been checked.
func TestAuthenticateRules(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	sealer := testSealer(t)
	alice := account(t, sealer, 1, "alice", "wonderland")
	bob := account(t, sealer, 2, "bob", "builder")
	bob.Disabled = true
	const nonce = "MTIzNDU2Nzg5MGFiY2RlZg=="
	stale := UsernameToken{Username: "alice", Password: "wonderland", HasCreated: true,
		Created: now.Add(-time.Hour), CreatedText: now.Add(-time.Hour).Format(time.RFC3339)}

	tests := []struct {
		name       string
		tok        UsernameToken
		throttled  bool
		replay     bool // the nonce was used before
		want       error
		reason     string
		lookups    int  // store look-ups made
		nonceAfter bool // the nonce is recorded afterwards
	}{
		{"success", UsernameToken{Username: "alice", Password: "wonderland", Nonce: nonce}, false, false, nil, "", 1, true},
		{"unknown user", UsernameToken{Username: "mallory", Password: "wonderland", Nonce: nonce}, false, false, ErrUnknownUser, "unknown_user", 1, false},
		{"wrong password", UsernameToken{Username: "alice", Password: "guess", Nonce: nonce}, false, false, ErrBadPassword, "bad_password", 1, false},
		{"disabled", UsernameToken{Username: "bob", Password: "builder", Nonce: nonce}, false, false, ErrDisabled, "disabled", 1, false},
		{"replay after a good password", UsernameToken{Username: "alice", Password: "wonderland", Nonce: nonce}, false, true, ErrReplay, "replay", 1, true},
		{"replayed nonce, wrong password: still a wrong password", UsernameToken{Username: "alice", Password: "guess", Nonce: nonce}, false, true, ErrBadPassword, "bad_password", 1, true},
		{"stale: no look-up", stale, false, false, ErrCreatedTooOld, "stale", 0, false},
		{"malformed: no look-up", UsernameToken{Username: "alice", Password: "wonderland", Nonce: "%%%"}, false, false, ErrMalformed, "malformed", 0, false},
		{"throttled: no look-up", UsernameToken{Username: "alice", Password: "wonderland", Nonce: nonce}, true, false, ErrThrottled, "throttled", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewManual(now)
			st := authtest.NewStore(clk, alice, bob)
			if tt.replay {
				st.UseNonce(context.Background(), tt.tok.Username, nonce, now.Add(time.Hour), now)
			}
			th := &recordingThrottle{refuse: tt.throttled}
			var reasons []string
			a := &Authenticator{Store: st, Clock: clk, Sealer: sealer, Cache: credential.NewCache(8), Throttle: th,
				OnFailure: func(_ context.Context, r string) { reasons = append(reasons, r) }}
			p, err := a.Authenticate(context.Background(), tt.tok)
			if tt.want == nil {
				if err != nil || p != (Principal{AccountID: 1, Username: "alice", ClientID: 1001, CredentialKind: KindUser, Credential: "alice"}) {
					t.Fatalf("Authenticate = %+v, %v", p, err)
				}
			} else {
				if !errors.Is(err, tt.want) || !errors.Is(err, ErrLoginFailed) {
					t.Errorf("Authenticate error = %v, want %v wrapping ErrLoginFailed", err, tt.want)
				}
				if p != (Principal{}) {
					t.Errorf("a principal with the error: %+v", p)
				}
				if got := Reason(err); got != tt.reason {
					t.Errorf("Reason = %q, want %q", got, tt.reason)
				}
			}
			if want := []string{tt.reason}; tt.reason != "" && !slices.Equal(reasons, want) || tt.reason == "" && reasons != nil {
				t.Errorf("OnFailure heard %q, want %q", reasons, tt.reason)
			}
			if st.Lookups != tt.lookups {
				t.Errorf("%d store look-ups, want %d", st.Lookups, tt.lookups)
			}
			if _, ok := st.NonceExpiry(tt.tok.Username, nonce); ok != tt.nonceAfter {
				t.Errorf("nonce recorded: %v, want %v", ok, tt.nonceAfter)
			}
			// The throttle is asked once with the subject, and told the
			// outcome only of attempts it let through.
			if !slices.Equal(th.asked, []string{tt.tok.Username}) {
				t.Errorf("throttle asked for %q", th.asked)
			}
			if wantDone := !tt.throttled; (len(th.done) == 1) != wantDone || wantDone && !errors.Is(th.done[0], tt.want) && tt.want != nil {
				t.Errorf("throttle told %v", th.done)
			}
		})
	}
}

// TestAuthenticateStoreFailure: a failing store is not the caller's fault,
// so it is no login failure, no metrics reason and no guess.
func TestAuthenticateStoreFailure(t *testing.T) {
	clk := clock.NewManual(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	st := authtest.NewStore(clk)
	st.LookupErr = errors.New("disk on fire")
	th := &recordingThrottle{}
	a := &Authenticator{Store: st, Clock: clk, Throttle: th, OnFailure: func(context.Context, string) { t.Error("OnFailure called") }}
	_, err := a.Authenticate(context.Background(), UsernameToken{Username: "alice", Password: "x"})
	if err == nil || errors.Is(err, ErrLoginFailed) || Reason(err) != "" || IsGuess(err) {
		t.Errorf("Authenticate = %v (reason %q), want a store error", err, Reason(err))
	}
	if len(th.done) != 1 || th.done[0] != err {
		t.Errorf("throttle told %v", th.done)
	}
}

// TestRefuse: a credential the face could not read is reported like any
// failure, with no subject.
func TestRefuse(t *testing.T) {
	th := &recordingThrottle{}
	var reasons []string
	a := &Authenticator{Throttle: th, OnFailure: func(_ context.Context, r string) { reasons = append(reasons, r) }}
	for _, err := range []error{ErrNoCredential, fmt.Errorf("%w: bad", ErrMalformed)} {
		if got := a.Refuse(context.Background(), err); got != err {
			t.Errorf("Refuse(%v) = %v", err, got)
		}
	}
	if !slices.Equal(reasons, []string{"no_token", "malformed"}) || len(th.done) != 2 || len(th.asked) != 0 {
		t.Errorf("reasons %q, throttle asked %q, told %v", reasons, th.asked, th.done)
	}
}

func TestReasonGuessRetryAfter(t *testing.T) {
	tests := []struct {
		err   error
		name  string
		guess bool
		wait  time.Duration
	}{
		{nil, "", false, 0},
		{errors.New("store"), "", false, 0},
		{fmt.Errorf("%w: x", ErrUnknownUser), "unknown_user", true, 0},
		{fmt.Errorf("%w: x", ErrBadPassword), "bad_password", true, 0},
		{fmt.Errorf("%w: x", ErrBadDigest), "bad_digest", true, 0},
		{ErrDisabled, "disabled", false, 0},
		{fmt.Errorf("%w: account: %w", ErrReplay, store.ErrReplay), "replay", false, 0},
		{ErrCreatedTooOld, "stale", false, 0},
		{ErrCreatedInFuture, "stale", false, 0},
		{ErrTimestampExpired, "stale", false, 0},
		{ErrTimestampInFuture, "stale", false, 0},
		{ErrDigestIncomplete, "malformed", false, 0},
		{ErrMalformed, "malformed", false, 0},
		{ErrNoCredential, "no_token", false, 0},
		{fmt.Errorf("%w: %w", ErrBusy, errors.New("gate")), "busy", false, BusyRetryAfter},
		{&ThrottledError{"x", 7 * time.Second}, "throttled", false, 7 * time.Second},
		{ErrLoginFailed, "other", false, 0},
		{&RateLimitedError{"u", 1, 2 * time.Second}, "", false, 2 * time.Second},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.name {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.name)
		}
		if got := IsGuess(tt.err); got != tt.guess {
			t.Errorf("IsGuess(%v) = %v", tt.err, got)
		}
		if got := RetryAfter(tt.err); got != tt.wait {
			t.Errorf("RetryAfter(%v) = %v, want %v", tt.err, got, tt.wait)
		}
	}
}

// TestAuthenticateTimingUnknownUserVsWrongPassword compares the median
// time of Authenticate for an unknown username and for a wrong password:
// a missing dummy hash makes one side ten to a hundred times faster. The
// bound is loose (a factor of 2), as machine noise is not.
func TestAuthenticateTimingUnknownUserVsWrongPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("timing measurement")
	}
	// The iteration count stays TestMain's: the dummy hash is made once,
	// at the cost of its first use, which another test may have made.
	clk := clock.NewManual(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	a := &Authenticator{Store: authtest.NewStore(clk, account(t, testSealer(t), 1, "alice", "right-pw")), Clock: clk,
		Cache: credential.NewCache(16)}
	try := func(user string) time.Duration {
		start := time.Now()
		if _, err := a.Authenticate(context.Background(), UsernameToken{Username: user, Password: "guess"}); !errors.Is(err, ErrLoginFailed) {
			t.Fatalf("%s: %v", user, err)
		}
		return time.Since(start)
	}
	try("nobody") // makes the dummy hash, once
	var unknown, wrong []time.Duration
	for i := 0; i < 40; i++ {
		unknown = append(unknown, try(fmt.Sprintf("nobody%d", i)))
		wrong = append(wrong, try("alice"))
	}
	// The fastest of each: load on a shared machine only adds time, so
	// the minimum is the work itself (medians measured the neighbours).
	u, w := slices.Min(unknown), slices.Min(wrong)
	if u > 2*w || w > 2*u {
		t.Errorf("fastest unknown user %v, wrong password %v: more than a factor of 2 apart", u, w)
	}
}

// A client's pool opening its connections at once presents one password
// on all of them: with one hashing slot, the first verifies it and the
// others, queued for the slot, find it in the cache, so the pool costs one
// slow hash. Before, each queued connection hashed in turn (and those past
// the gate's wait were refused as busy). The gate here never refuses and
// times how long each holder keeps the slot: one hash is long, a cache
// answer is short, whatever the machine's speed.
func TestPoolOfFirstLoginsCostsOneHash(t *testing.T) {
	old := credential.DefaultIterations
	// A hash long enough (tens of milliseconds, more under -race) that no
	// scheduling delay of a cache answer looks like one.
	credential.DefaultIterations = 200_000
	alice := account(t, testSealer(t), 1, "alice", "right-pw")
	credential.DefaultIterations = old
	clk := clock.NewManual(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	gate := &timingGate{slot: make(chan struct{}, 1)}
	a := &Authenticator{Store: authtest.NewStore(clk, alice), Clock: clk, Cache: credential.NewCache(16), HashGate: gate}
	const pool = 16
	var wg sync.WaitGroup
	for range pool {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.Authenticate(context.Background(), UsernameToken{Username: "alice", Password: "right-pw"}); err != nil {
				t.Errorf("a login of the pool failed: %v", err)
			}
		}()
	}
	wg.Wait()
	longest := slices.Max(gate.held)
	long := 0
	for _, d := range gate.held {
		if d > longest/2 {
			long++
		}
	}
	if long != 1 {
		t.Errorf("%d of %d holders of the hashing slot held it like a hash (longest %v): want 1", long, len(gate.held), longest)
	}
}

// timingGate is a one-slot HashGate that never refuses and records how
// long each holder kept the slot.
type timingGate struct {
	slot  chan struct{}
	mu    sync.Mutex
	since time.Time
	held  []time.Duration
}

func (g *timingGate) Acquire(ctx context.Context) error {
	g.slot <- struct{}{}
	g.mu.Lock()
	g.since = time.Now()
	g.mu.Unlock()
	return nil
}

func (g *timingGate) Release() {
	g.mu.Lock()
	g.held = append(g.held, time.Since(g.since))
	g.mu.Unlock()
	<-g.slot
}
