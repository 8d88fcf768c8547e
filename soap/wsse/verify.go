package wsse

import (
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/partnerd/partnerd/clock"
	"github.com/partnerd/partnerd/credential"
	"github.com/partnerd/partnerd/store"
)

// Default freshness windows of a Verifier.
const (
	DefaultMaxAge        = 300 * time.Second
	DefaultMaxFutureSkew = 60 * time.Second
)

// AccountStore is the part of store.Store a Verifier needs.
type AccountStore interface {
	AccountByUsername(ctx context.Context, username string) (store.Account, error)
	UseNonce(ctx context.Context, username, nonce string, expires, now time.Time) error
}

// Verifier checks UsernameTokens against the account store. Its fields are
// set once before use; a Verifier is then safe for concurrent use.
type Verifier struct {
	Store AccountStore
	Clock clock.Clock // nil means clock.System
	// Sealer opens Account.PasswordSealed for PasswordDigest tokens; with
	// a nil Sealer every digest token fails.
	Sealer *credential.Sealer
	// Cache spares the slow hash for PasswordText tokens already
	// verified; nil hashes every time.
	Cache *credential.Cache
	// MaxAge is how far in the past a token's Created may be (zero:
	// DefaultMaxAge); MaxFutureSkew how far in the future Created, or a
	// Timestamp's Created, may be, for clients whose clock runs ahead
	// (zero: DefaultMaxFutureSkew).
	MaxAge        time.Duration
	MaxFutureSkew time.Duration
	// HashGate, when set, bounds the slow password hashes running at
	// once: every PasswordText check the Cache cannot answer, and the
	// dummy hash of an unknown username, takes a slot. A flood of guesses
	// then burns at most the gate's share of the CPU, while clients whose
	// credentials are cached cost no hash and are not queued. A check that
	// gets no slot fails with ErrBusy.
	HashGate HashGate
}

// HashGate bounds concurrent password hashing (limit.Gate implements it).
type HashGate interface {
	// Acquire takes a slot or returns an error (too busy).
	Acquire(ctx context.Context) error
	// Release frees a slot taken by Acquire.
	Release()
}

// ErrBusy: the password could not be checked because too many other
// checks were under way (HashGate). It wraps ErrLoginFailed, so the client
// sees the one "Login failed" fault; it is not a guess and callers must not
// charge it as one.
var ErrBusy error = &loginError{"too many password checks at once"}

// Verify returns the account that tok logs in as. Failures wrap
// ErrLoginFailed and one distinct reason (ErrUnknownUser, ErrBadPassword,
// ErrReplay …); any other error is the store's and not the client's fault.
//
// Checks that do not depend on the account (freshness, form) come first, so
// stale or replayed traffic costs no store lookup. The nonce is recorded
// only once the password has been checked: otherwise anyone could fill the
// nonce table, or burn a client's nonces, without credentials.
func (v *Verifier) Verify(ctx context.Context, tok Token) (store.Account, error) {
	now := v.now()
	maxAge, skew := v.windows()

	if len(tok.Username) > MaxUsernameLen || len(tok.Password) > MaxPasswordLen || len(tok.Nonce) > MaxNonceLen {
		return store.Account{}, fmt.Errorf("%w: token field too long", ErrMalformed)
	}
	if tok.Username == "" {
		return store.Account{}, fmt.Errorf("%w: empty Username", ErrMalformed)
	}
	if tok.Type != PasswordText && tok.Type != PasswordDigest {
		return store.Account{}, fmt.Errorf("%w: password type %d", ErrMalformed, tok.Type)
	}
	if ts := tok.Timestamp; ts != nil {
		if !ts.Expires.IsZero() && !now.Before(ts.Expires) {
			return store.Account{}, fmt.Errorf("%w: expired at %s, now %s", ErrTimestampExpired, ts.Expires.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
		}
		if !ts.Created.IsZero() && ts.Created.After(now.Add(skew)) {
			return store.Account{}, fmt.Errorf("%w: created %s, now %s", ErrTimestampInFuture, ts.Created.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
		}
	}
	if tok.HasCreated {
		if tok.Created.Before(now.Add(-maxAge)) {
			return store.Account{}, fmt.Errorf("%w: created %s, now %s", ErrCreatedTooOld, tok.CreatedText, now.Format(time.RFC3339Nano))
		}
		if tok.Created.After(now.Add(skew)) {
			return store.Account{}, fmt.Errorf("%w: created %s, now %s", ErrCreatedInFuture, tok.CreatedText, now.Format(time.RFC3339Nano))
		}
	}
	var nonce []byte
	if tok.Nonce != "" {
		var err error
		if nonce, err = base64.StdEncoding.DecodeString(tok.Nonce); err != nil || len(nonce) == 0 {
			return store.Account{}, fmt.Errorf("%w: Nonce is not base64", ErrMalformed)
		}
	}
	if tok.Type == PasswordDigest && (nonce == nil || !tok.HasCreated) {
		return store.Account{}, ErrDigestIncomplete
	}

	acct, err := v.Store.AccountByUsername(ctx, tok.Username)
	if errors.Is(err, store.ErrNotFound) {
		if err := v.dummyCheck(ctx, tok, nonce); err != nil {
			return store.Account{}, err
		}
		return store.Account{}, fmt.Errorf("%w: %s", ErrUnknownUser, quote(tok.Username))
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("wsse: looking up account %s: %w", quote(tok.Username), err)
	}

	// The password is checked before Disabled so that a disabled account
	// costs the same time as any other.
	if tok.Type == PasswordDigest {
		if err := v.checkDigest(acct, tok, nonce); err != nil {
			return store.Account{}, err
		}
	} else if err := v.checkText(ctx, acct, tok.Password); err != nil {
		return store.Account{}, err
	}
	if acct.Disabled {
		return store.Account{}, fmt.Errorf("%w: account %s", ErrDisabled, quote(acct.Username))
	}

	if nonce != nil {
		// Without Created the token carries no age; remember its nonce for
		// as long as a token with one could be accepted.
		expires := now.Add(maxAge + skew)
		if tok.HasCreated {
			expires = tok.Created.Add(maxAge + skew)
		}
		// The re-encoded form makes cosmetic variants of one nonce (line
		// breaks, non-zero padding bits) the same nonce.
		err := v.Store.UseNonce(ctx, acct.Username, base64.StdEncoding.EncodeToString(nonce), expires, now)
		if errors.Is(err, store.ErrReplay) {
			return store.Account{}, fmt.Errorf("%w: account %s: %w", ErrReplay, quote(acct.Username), err)
		}
		if err != nil {
			return store.Account{}, fmt.Errorf("wsse: recording nonce: %w", err)
		}
	}
	return acct, nil
}

// checkText checks a PasswordText password: from the cache when it was
// verified before, otherwise with the slow hash, under the HashGate.
func (v *Verifier) checkText(ctx context.Context, acct store.Account, password string) error {
	if v.Cache.Hit(acct.ID, acct.PasswordHash, password) {
		return nil
	}
	if err := v.acquireHash(ctx); err != nil {
		return err
	}
	ok := credential.CheckHash(acct.PasswordHash, password)
	v.releaseHash()
	if !ok {
		return fmt.Errorf("%w: account %s", ErrBadPassword, quote(acct.Username))
	}
	v.Cache.Remember(acct.ID, acct.PasswordHash, password)
	return nil
}

func (v *Verifier) acquireHash(ctx context.Context) error {
	if v.HashGate == nil {
		return nil
	}
	if err := v.HashGate.Acquire(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return nil
}

func (v *Verifier) releaseHash() {
	if v.HashGate != nil {
		v.HashGate.Release()
	}
}

func (v *Verifier) checkDigest(acct store.Account, tok Token, nonce []byte) error {
	if v.Sealer == nil {
		return fmt.Errorf("%w: no secret key configured for PasswordDigest", ErrBadDigest)
	}
	password, err := v.Sealer.Open(acct.PasswordSealed)
	if err != nil {
		return fmt.Errorf("%w: account %s: %w", ErrBadDigest, quote(acct.Username), err)
	}
	if !digestMatches(tok.Password, nonce, tok.CreatedText, password) {
		return fmt.Errorf("%w: account %s", ErrBadDigest, quote(acct.Username))
	}
	return nil
}

// digestMatches compares the presented digest with
// Base64(SHA-1(nonce + created + password)), in constant time.
func digestMatches(presented string, nonce []byte, created, password string) bool {
	h := sha1.New()
	h.Write(nonce)
	h.Write([]byte(created))
	h.Write([]byte(password))
	want := h.Sum(nil)
	got, err := base64.StdEncoding.DecodeString(presented)
	if err != nil {
		got = nil // still compare, so a bad encoding costs the same
	}
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyCheck spends about the time a real password check would, so that a
// failure for an unknown username cannot be told from a wrong password by
// its timing. It takes a HashGate slot like a real check, so that it
// queues, and is refused when busy, exactly as a wrong password would.
func (v *Verifier) dummyCheck(ctx context.Context, tok Token, nonce []byte) error {
	if tok.Type == PasswordDigest {
		if v.Sealer != nil {
			v.Sealer.Open(dummySealed[:]) // fails authentication after the same GHASH work
		}
		digestMatches(tok.Password, nonce, tok.CreatedText, "dummy password")
		return nil
	}
	// The hash is not cached: an unknown user never hits the cache, and
	// neither does a known user with a wrong password. The lookup is
	// still made, so that it costs what a known user's miss costs.
	v.Cache.Hit(0, dummyHash(), tok.Password)
	if err := v.acquireHash(ctx); err != nil {
		return err
	}
	credential.CheckHash(dummyHash(), tok.Password)
	v.releaseHash()
	return nil
}

// dummySealed has the length of a sealed typical password.
var dummySealed [1 + 12 + 16 + 16]byte

// dummyHash is a hash with the current cost, made once.
var dummyHash = sync.OnceValue(func() string {
	h, err := credential.Hash("dummy password")
	if err != nil {
		return ""
	}
	return h
})

func (v *Verifier) now() time.Time {
	if v.Clock == nil {
		return clock.System{}.Now()
	}
	return v.Clock.Now()
}

func (v *Verifier) windows() (maxAge, skew time.Duration) {
	maxAge, skew = v.MaxAge, v.MaxFutureSkew
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if skew <= 0 {
		skew = DefaultMaxFutureSkew
	}
	return maxAge, skew
}
