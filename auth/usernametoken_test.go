package auth

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/partnerd/partnerd/auth/authtest"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
)

// digest computes a PasswordDigest the way the profile defines it, written
// out separately from the Authenticator's own code.
func digest(nonceB64, created, password string) string {
	n, err := base64.StdEncoding.DecodeString(nonceB64)
	if err != nil {
		panic(err)
	}
	sum := sha1.Sum(append(append(n, created...), password...))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestDigestVectors pins digests computed outside Go, with
//
//	(printf %s NONCE | base64 -d; printf %s CREATED PASSWORD) | openssl sha1 -binary | base64
func TestDigestVectors(t *testing.T) {
	tests := []struct{ nonce, created, password, want string }{
		{"On06D99VmKbjWKQiY6wYLk+IpIs=", "2011-03-24T15:23:47Z", "XXX", "wNtQyUl0vjQM2jpH+VUBGK06qUA="},
		{"LKqI6G/AikKCQrN0zqZFlg==", "2024-05-01T12:00:00.123Z", "pässwörd ✓", "CFK4JlTzn5SsT/YEzZyBYh2lVbw="},
		{"MTIzNDU2Nzg5MGFiY2RlZg==", "2024-05-01T14:00:00+02:00", "secret", "/Xw7qHvera9YdVe/ozAqAo7PV6M="},
	}
	for _, tt := range tests {
		if got := digest(tt.nonce, tt.created, tt.password); got != tt.want {
			t.Errorf("test helper digest(%q, %q, %q) = %s, want %s", tt.nonce, tt.created, tt.password, got, tt.want)
		}
		n, _ := base64.StdEncoding.DecodeString(tt.nonce)
		if !digestMatches(tt.want, n, tt.created, tt.password) {
			t.Errorf("digestMatches rejects the vector for %q", tt.password)
		}
		if digestMatches(tt.want, n, tt.created, tt.password+"x") {
			t.Errorf("digestMatches accepts a wrong password for %q", tt.password)
		}
	}
}

func TestVerify(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	nowText := now.Format(time.RFC3339)
	sealer := testSealer(t)
	alice := account(t, sealer, 1, "alice", "wonderland")
	bob := account(t, sealer, 2, "bob", "builder")
	bob.Disabled = true
	carol := account(t, sealer, 3, "carol", "singer")
	carol.PasswordSealed = nil // created before the server had a key
	const nonce = "MTIzNDU2Nzg5MGFiY2RlZg=="

	text := func(user, pw string) UsernameToken { return UsernameToken{Username: user, Password: pw} }
	withCreated := func(tok UsernameToken, tm time.Time, text string) UsernameToken {
		tok.Created, tok.CreatedText, tok.HasCreated = tm, text, true
		return tok
	}
	at := func(d time.Duration) (time.Time, string) {
		tm := now.Add(d)
		return tm, tm.Format(time.RFC3339Nano)
	}
	dig := func(user, pw, nonce string, created time.Time, createdText string) UsernameToken {
		return UsernameToken{Username: user, Type: PasswordDigest, Password: digest(nonce, createdText, pw), Nonce: nonce,
			Created: created, CreatedText: createdText, HasCreated: true}
	}
	withTS := func(tok UsernameToken, c, e time.Time) UsernameToken {
		tok.Timestamp = &Timestamp{Created: c, Expires: e}
		return tok
	}
	withNonce := func(tok UsernameToken, n string) UsernameToken { tok.Nonce = n; return tok }

	tests := []struct {
		name   string
		tok    UsernameToken
		sealer *credential.Sealer
		maxAge time.Duration
		skew   time.Duration
		want   error // nil: logs in as alice
	}{
		{"text", text("alice", "wonderland"), sealer, 0, 0, nil},
		{"text, nil sealer", text("alice", "wonderland"), nil, 0, 0, nil},
		{"text wrong password", text("alice", "Wonderland"), sealer, 0, 0, ErrBadPassword},
		{"text empty password", text("alice", ""), sealer, 0, 0, ErrBadPassword},
		{"text unknown user", text("mallory", "wonderland"), sealer, 0, 0, ErrUnknownUser},
		{"usernames are exact", text("Alice", "wonderland"), sealer, 0, 0, ErrUnknownUser},
		{"disabled", text("bob", "builder"), sealer, 0, 0, ErrDisabled},
		{"disabled, wrong password", text("bob", "x"), sealer, 0, 0, ErrBadPassword},
		{"text with nonce and created", withNonce(withCreated(text("alice", "wonderland"), now, nowText), nonce), sealer, 0, 0, nil},
		{"text with bad nonce", withNonce(text("alice", "wonderland"), "%%%"), sealer, 0, 0, ErrMalformed},
		{"empty username", text("", "x"), sealer, 0, 0, ErrMalformed},
		{"unknown password type", UsernameToken{Username: "alice", Password: "wonderland", Type: 7}, sealer, 0, 0, ErrMalformed},

		{"digest", dig("alice", "wonderland", nonce, now, nowText), sealer, 0, 0, nil},
		{"digest over Created as sent, offset form", dig("alice", "wonderland", nonce, now, "2024-05-01T14:00:00+02:00"), sealer, 0, 0, nil},
		{"digest wrong password", dig("alice", "wonderlanD", nonce, now, nowText), sealer, 0, 0, ErrBadDigest},
		{"digest over another Created text", func() UsernameToken {
			tok := dig("alice", "wonderland", nonce, now, "2024-05-01T12:00:00.000Z")
			tok.CreatedText = nowText
			return tok
		}(), sealer, 0, 0, ErrBadDigest},
		{"digest not base64", func() UsernameToken {
			tok := dig("alice", "wonderland", nonce, now, nowText)
			tok.Password = "***"
			return tok
		}(), sealer, 0, 0, ErrBadDigest},
		{"digest of clear password", func() UsernameToken {
			tok := dig("alice", "wonderland", nonce, now, nowText)
			tok.Password = "wonderland"
			return tok
		}(), sealer, 0, 0, ErrBadDigest},
		{"digest without nonce", withNonce(dig("alice", "wonderland", nonce, now, nowText), ""), sealer, 0, 0, ErrDigestIncomplete},
		{"digest without created", func() UsernameToken {
			tok := dig("alice", "wonderland", nonce, now, nowText)
			tok.HasCreated = false
			return tok
		}(), sealer, 0, 0, ErrDigestIncomplete},
		{"digest unknown user", dig("mallory", "wonderland", nonce, now, nowText), sealer, 0, 0, ErrUnknownUser},
		{"digest unknown user, nil sealer", dig("mallory", "wonderland", nonce, now, nowText), nil, 0, 0, ErrUnknownUser},
		{"digest disabled", dig("bob", "builder", nonce, now, nowText), sealer, 0, 0, ErrDisabled},
		{"digest without sealer", dig("alice", "wonderland", nonce, now, nowText), nil, 0, 0, ErrBadDigest},
		{"digest with another key", dig("alice", "wonderland", nonce, now, nowText), mustSealer(t, "another key, also thirty-two b!!"), 0, 0, ErrBadDigest},
		{"digest, account has no sealed password", dig("carol", "singer", nonce, now, nowText), sealer, 0, 0, ErrBadDigest},
		{"text, account has no sealed password", text("carol", "singer"), sealer, 0, 0, nil},

		{"created at max age", func() UsernameToken {
			tm, s := at(-DefaultMaxAge)
			return withCreated(text("alice", "wonderland"), tm, s)
		}(), sealer, 0, 0, nil},
		{"created past max age", func() UsernameToken {
			tm, s := at(-DefaultMaxAge - time.Millisecond)
			return withCreated(text("alice", "wonderland"), tm, s)
		}(), sealer, 0, 0, ErrCreatedTooOld},
		{"created at max skew", func() UsernameToken {
			tm, s := at(DefaultMaxFutureSkew)
			return withCreated(text("alice", "wonderland"), tm, s)
		}(), sealer, 0, 0, nil},
		{"created past max skew", func() UsernameToken {
			tm, s := at(DefaultMaxFutureSkew + time.Millisecond)
			return withCreated(text("alice", "wonderland"), tm, s)
		}(), sealer, 0, 0, ErrCreatedInFuture},
		{"digest too old", func() UsernameToken { tm, s := at(-time.Hour); return dig("alice", "wonderland", nonce, tm, s) }(), sealer, 0, 0, ErrCreatedTooOld},
		{"custom max age", func() UsernameToken { tm, s := at(-time.Hour); return withCreated(text("alice", "wonderland"), tm, s) }(), sealer, 2 * time.Hour, 0, nil},
		{"custom skew", func() UsernameToken {
			tm, s := at(10 * time.Second)
			return withCreated(text("alice", "wonderland"), tm, s)
		}(), sealer, 0, 5 * time.Second, ErrCreatedInFuture},
		{"stale token from an unknown user is stale first", func() UsernameToken { tm, s := at(-time.Hour); return withCreated(text("mallory", "x"), tm, s) }(), sealer, 0, 0, ErrCreatedTooOld},

		{"timestamp valid", withTS(text("alice", "wonderland"), now.Add(-time.Second), now.Add(time.Minute)), sealer, 0, 0, nil},
		{"timestamp without created", withTS(text("alice", "wonderland"), time.Time{}, now.Add(time.Minute)), sealer, 0, 0, nil},
		{"timestamp without expires", withTS(text("alice", "wonderland"), now, time.Time{}), sealer, 0, 0, nil},
		{"timestamp expires now", withTS(text("alice", "wonderland"), now.Add(-time.Minute), now), sealer, 0, 0, ErrTimestampExpired},
		{"timestamp expired", withTS(text("alice", "wonderland"), now.Add(-time.Hour), now.Add(-time.Second)), sealer, 0, 0, ErrTimestampExpired},
		{"timestamp created at skew", withTS(text("alice", "wonderland"), now.Add(DefaultMaxFutureSkew), time.Time{}), sealer, 0, 0, nil},
		{"timestamp created in future", withTS(text("alice", "wonderland"), now.Add(DefaultMaxFutureSkew+time.Second), now.Add(time.Hour)), sealer, 0, 0, ErrTimestampInFuture},
	}
	allReasons := []error{ErrNoCredential, ErrMalformed, ErrUnknownUser, ErrDisabled, ErrBadPassword, ErrBadDigest, ErrDigestIncomplete,
		ErrCreatedTooOld, ErrCreatedInFuture, ErrTimestampExpired, ErrTimestampInFuture, ErrReplay}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewManual(now)
			v := &Authenticator{Store: authtest.NewStore(clk, alice, bob, carol), Clock: clk, Sealer: tt.sealer,
				Cache: credential.NewCache(16), MaxAge: tt.maxAge, MaxFutureSkew: tt.skew}
			acct, err := v.VerifyUsernameToken(context.Background(), tt.tok)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if acct.Username != tt.tok.Username {
					t.Errorf("Verify = %+v", acct)
				}
				return
			}
			if !errors.Is(err, ErrLoginFailed) {
				t.Fatalf("Verify error = %v, want one wrapping ErrLoginFailed", err)
			}
			for _, r := range allReasons {
				if errors.Is(err, r) != (r == tt.want) {
					t.Errorf("Verify error = %v; errors.Is(%v) = %v", err, r, errors.Is(err, r))
				}
			}
			if acct.ID != 0 || acct.Username != "" {
				t.Errorf("Verify returned an account with its error: %+v", acct)
			}
		})
	}
}

func mustSealer(t *testing.T, key string) *credential.Sealer {
	s, err := credential.NewSealer([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyNonces(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewManual(now)
	sealer := testSealer(t)
	st := authtest.NewStore(clk, account(t, sealer, 1, "alice", "wonderland"), account(t, sealer, 2, "bob", "builder"))
	v := &Authenticator{Store: st, Clock: clk, Sealer: sealer}
	ctx := context.Background()
	const nonce = "AAECAwQFBgcICQoLDA0ODw=="

	// A PasswordText token with a nonce and no Created: remembered for the
	// whole window from now.
	tok := UsernameToken{Username: "alice", Password: "wonderland", Nonce: nonce}
	if _, err := v.VerifyUsernameToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if exp, _ := st.NonceExpiry("alice", nonce); !exp.Equal(now.Add(DefaultMaxAge + DefaultMaxFutureSkew)) {
		t.Errorf("nonce expiry %v", exp)
	}
	if _, err := v.VerifyUsernameToken(ctx, tok); !errors.Is(err, ErrReplay) {
		t.Errorf("replay = %v, want ErrReplay", err)
	}
	// Cosmetic variants of the nonce are the same nonce.
	for _, variant := range []string{"AAECAwQFBgcICQoLDA0ODw==\n", "AAECAwQFBgcI\r\nCQoLDA0ODw==", "AAECAwQFBgcICQoLDA0ODx=="} {
		if _, err := v.VerifyUsernameToken(ctx, UsernameToken{Username: "alice", Password: "wonderland", Nonce: variant}); !errors.Is(err, ErrReplay) {
			t.Errorf("variant %q = %v, want ErrReplay", variant, err)
		}
	}
	// Another user may use the same nonce.
	if _, err := v.VerifyUsernameToken(ctx, UsernameToken{Username: "bob", Password: "builder", Nonce: nonce}); err != nil {
		t.Errorf("other user, same nonce: %v", err)
	}
	// A failed login records nothing, so it cannot burn a nonce.
	if _, err := v.VerifyUsernameToken(ctx, UsernameToken{Username: "alice", Password: "guess", Nonce: "ZmFpbGVk"}); !errors.Is(err, ErrBadPassword) {
		t.Fatal(err)
	}
	if _, ok := st.NonceExpiry("alice", "ZmFpbGVk"); ok {
		t.Error("failed login recorded its nonce")
	}
	// Once the window has passed, the store forgets the nonce.
	clk.Advance(DefaultMaxAge + DefaultMaxFutureSkew)
	if _, err := v.VerifyUsernameToken(ctx, tok); err != nil {
		t.Errorf("after the window: %v", err)
	}
	// A token without a nonce is never a replay.
	for range 2 {
		if _, err := v.VerifyUsernameToken(ctx, UsernameToken{Username: "alice", Password: "wonderland"}); err != nil {
			t.Error(err)
		}
	}
}

func TestVerifyStoreErrors(t *testing.T) {
	clk := clock.NewManual(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	sealer := testSealer(t)
	down := errors.New("database is down")
	st := authtest.NewStore(clk, account(t, sealer, 1, "alice", "wonderland"))
	v := &Authenticator{Store: st, Clock: clk}

	st.LookupErr = down
	_, err := v.VerifyUsernameToken(context.Background(), UsernameToken{Username: "alice", Password: "wonderland"})
	if !errors.Is(err, down) || errors.Is(err, ErrLoginFailed) {
		t.Errorf("lookup failure = %v, want the store's error, not a login failure", err)
	}
	st.LookupErr, st.NonceErr = nil, down
	_, err = v.VerifyUsernameToken(context.Background(), UsernameToken{Username: "alice", Password: "wonderland", Nonce: "AAAA"})
	if !errors.Is(err, down) || errors.Is(err, ErrLoginFailed) {
		t.Errorf("nonce failure = %v, want the store's error, not a login failure", err)
	}
}

// TestVerifyRotation checks that a cached password stops working as soon as
// the account's hash changes, as when another process rotates it.
func TestVerifyRotation(t *testing.T) {
	clk := clock.NewManual(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	sealer := testSealer(t)
	alice := account(t, sealer, 1, "alice", "old")
	st := authtest.NewStore(clk, alice)
	cache := credential.NewCache(16)
	v := &Authenticator{Store: st, Clock: clk, Sealer: sealer, Cache: cache}
	ctx := context.Background()

	for range 2 {
		if _, err := v.VerifyUsernameToken(ctx, UsernameToken{Username: "alice", Password: "old"}); err != nil {
			t.Fatal(err)
		}
	}
	if cache.Len() != 1 {
		t.Fatalf("cache holds %d entries, want 1", cache.Len())
	}
	st.SetAccount(account(t, sealer, 1, "alice", "new"))
	if _, err := v.VerifyUsernameToken(ctx, UsernameToken{Username: "alice", Password: "old"}); !errors.Is(err, ErrBadPassword) {
		t.Errorf("old password after rotation = %v, want ErrBadPassword", err)
	}
	if _, err := v.VerifyUsernameToken(ctx, UsernameToken{Username: "alice", Password: "new"}); err != nil {
		t.Errorf("new password: %v", err)
	}

	// Disabling takes effect at once too, cached password or not.
	disabled := account(t, sealer, 1, "alice", "new")
	disabled.PasswordHash = func() string { a, _ := st.AccountByUsername(ctx, "alice"); return a.PasswordHash }()
	disabled.Disabled = true
	st.SetAccount(disabled)
	if _, err := v.VerifyUsernameToken(ctx, UsernameToken{Username: "alice", Password: "new"}); !errors.Is(err, ErrDisabled) {
		t.Errorf("disabled = %v, want ErrDisabled", err)
	}
}

func TestVerifyDefaults(t *testing.T) {
	// No clock: the system clock. A token created now passes.
	sealer := testSealer(t)
	st := authtest.NewStore(clock.System{}, account(t, sealer, 1, "alice", "wonderland"))
	v := &Authenticator{Store: st}
	now := time.Now().UTC()
	_, err := v.VerifyUsernameToken(context.Background(), UsernameToken{Username: "alice", Password: "wonderland",
		Created: now, CreatedText: now.Format(time.RFC3339Nano), HasCreated: true})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	clk := clock.NewManual(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	sealer := testSealer(t)
	st := authtest.NewStore(clk, account(t, sealer, 1, "alice", "wonderland"))
	v := &Authenticator{Store: st, Clock: clk, Sealer: sealer, Cache: credential.NewCache(4)}
	errs := make(chan error, 64)
	for i := range 64 {
		go func() {
			nonce := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "n%d", i%32))
			_, err := v.VerifyUsernameToken(context.Background(), UsernameToken{Username: "alice", Password: "wonderland", Nonce: nonce})
			errs <- err
		}()
	}
	replays := 0
	for range 64 {
		if err := <-errs; errors.Is(err, ErrReplay) {
			replays++
		} else if err != nil {
			t.Error(err)
		}
	}
	if replays != 32 {
		t.Errorf("%d replays, want 32", replays)
	}
}

// nopNonces is a store for benchmarks: the nonce table is the store's cost,
// not the verifier's.
type nopNonces struct{ *authtest.Store }

func (nopNonces) UseNonce(context.Context, string, string, time.Time, time.Time) error { return nil }

func benchVerify(b *testing.B, tok UsernameToken, cache *credential.Cache) {
	old := credential.DefaultIterations
	credential.DefaultIterations = 120000 // the real cost
	defer func() { credential.DefaultIterations = old }()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewManual(now)
	sealer := testSealer(b)
	v := &Authenticator{Store: nopNonces{authtest.NewStore(clk, account(b, sealer, 1, "alice", "wonderland"))}, Clock: clk, Sealer: sealer, Cache: cache}
	ctx := context.Background()
	if _, err := v.VerifyUsernameToken(ctx, tok); err != nil { // warms the cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyUsernameToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateTextWarmCache is BenchmarkVerifyTextWarmCache
// through Authenticate, with the server's throttle: what the shared path
// adds to the check itself.
func BenchmarkAuthenticateTextWarmCache(b *testing.B) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewManual(now)
	sealer := testSealer(b)
	a := &Authenticator{Store: nopNonces{authtest.NewStore(clk, account(b, sealer, 1, "alice", "wonderland"))}, Clock: clk, Sealer: sealer,
		Cache:     credential.NewCache(credential.DefaultCacheSize),
		Throttle:  NewMemoryThrottle(ThrottleConfig{Failures: 10, Window: 5 * time.Minute}),
		OnFailure: func(context.Context, string) {}}
	tok := UsernameToken{Username: "alice", Password: "wonderland", Nonce: "AAECAwQFBgcICQoLDA0ODw==",
		Created: now, CreatedText: "2024-05-01T12:00:00Z", HasCreated: true}
	ctx := WithRemote(context.Background(), "192.0.2.1:4242")
	if _, err := a.Authenticate(ctx, tok); err != nil { // warms the cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyTextWarmCache(b *testing.B) {
	created := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	benchVerify(b, UsernameToken{Username: "alice", Password: "wonderland", Nonce: "AAECAwQFBgcICQoLDA0ODw==",
		Created: created, CreatedText: "2024-05-01T12:00:00Z", HasCreated: true}, credential.NewCache(credential.DefaultCacheSize))
}

func BenchmarkVerifyTextNoCache(b *testing.B) {
	benchVerify(b, UsernameToken{Username: "alice", Password: "wonderland"}, nil)
}

func BenchmarkVerifyDigest(b *testing.B) {
	const nonce, created = "AAECAwQFBgcICQoLDA0ODw==", "2024-05-01T12:00:00Z"
	benchVerify(b, UsernameToken{Username: "alice", Type: PasswordDigest, Password: digest(nonce, created, "wonderland"), Nonce: nonce,
		Created: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), CreatedText: created, HasCreated: true}, nil)
}

// TestVerifyKnownUser: on a store that checks a user while it records a
// nonce, a user let in before logs in with no read of the user; every
// change to it (a rotated password, a disabled account) is still refused
// on the next request, a replay is still a replay, and a store without the
// check remembers nobody.
func TestVerifyKnownUser(t *testing.T) {
	created := "2024-05-01T12:00:00Z"
	nonces := []string{"AAAAAAAAAAAAAAAAAAAAAA==", "AQAAAAAAAAAAAAAAAAAAAA==", "AgAAAAAAAAAAAAAAAAAAAA==",
		"AwAAAAAAAAAAAAAAAAAAAA==", "BAAAAAAAAAAAAAAAAAAAAA==", "BQAAAAAAAAAAAAAAAAAAAA=="}
	for _, kind := range []string{"text", "digest"} {
		t.Run(kind, func(t *testing.T) {
			clk := clock.NewManual(mustTime(t, created))
			sealer := testSealer(t)
			st := &authtest.CurrentStore{Store: authtest.NewStore(clk, account(t, sealer, 1, "alice", "old"))}
			v := &Authenticator{Store: st, Clock: clk, Sealer: sealer, Cache: credential.NewCache(16)}
			ctx := context.Background()
			token := func(password, nonce string) UsernameToken {
				tok := UsernameToken{Username: "alice", Password: password, Nonce: nonce,
					Created: mustTime(t, created), CreatedText: created, HasCreated: true}
				if kind == "digest" {
					tok.Type, tok.Password = PasswordDigest, digest(nonce, created, password)
				}
				return tok
			}
			login := func(password, nonce string, want error) {
				t.Helper()
				_, err := v.VerifyUsernameToken(ctx, token(password, nonce))
				if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
					t.Fatalf("login with %q, nonce %s: %v, want %v", password, nonce, err, want)
				}
			}
			badPassword := ErrBadPassword
			if kind == "digest" {
				badPassword = ErrBadDigest
			}

			login("old", nonces[0], nil)
			login("old", nonces[1], nil)
			if st.Lookups != 1 || st.Recorded != 1 {
				t.Fatalf("second login: %d reads of the user, %d conditional records; want 1 and 1", st.Lookups, st.Recorded)
			}
			login("old", nonces[1], ErrReplay)
			login("wrong", nonces[2], badPassword)
			if _, ok := st.NonceExpiry("alice", nonces[2]); ok {
				t.Fatal("a failed login recorded its nonce")
			}

			st.SetAccount(account(t, sealer, 1, "alice", "new")) // rotated elsewhere
			login("old", nonces[2], badPassword)
			login("new", nonces[3], nil)
			lookups := st.Lookups
			login("new", nonces[4], nil)
			if st.Lookups != lookups {
				t.Fatalf("the rotated password's second login read the user again")
			}

			disabled, err := st.AccountByUsername(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			disabled.Disabled = true
			st.SetAccount(disabled)
			login("new", nonces[5], ErrDisabled)
			if _, ok := st.NonceExpiry("alice", nonces[5]); ok {
				t.Fatal("a disabled account's login recorded its nonce")
			}
		})
	}

	t.Run("store without the check", func(t *testing.T) {
		clk := clock.NewManual(mustTime(t, created))
		sealer := testSealer(t)
		st := authtest.NewStore(clk, account(t, sealer, 1, "alice", "old"))
		v := &Authenticator{Store: st, Clock: clk, Sealer: sealer, Cache: credential.NewCache(16)}
		for i, n := range nonces[:2] {
			if _, err := v.VerifyUsernameToken(context.Background(), UsernameToken{Username: "alice", Password: "old", Nonce: n}); err != nil {
				t.Fatal(err)
			}
			if st.Lookups != i+1 {
				t.Fatalf("login %d: %d reads of the user, want %d", i+1, st.Lookups, i+1)
			}
		}
		if len(v.known.users) != 0 {
			t.Errorf("%d users remembered for a store that cannot check them", len(v.known.users))
		}
	})
}
