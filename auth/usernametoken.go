package auth

import (
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/store"
)

// Default freshness windows of UsernameTokens.
const (
	DefaultMaxAge        = 300 * time.Second
	DefaultMaxFutureSkew = 60 * time.Second
)

// Size limits of a UsernameToken. They are far above anything a real
// client sends and far below what would make hashing, base64 decoding or
// logging cost anything.
const (
	MaxUsernameLen = 256
	MaxPasswordLen = 1024
	MaxNonceLen    = 256 // base64 characters
)

// PasswordType is how a UsernameToken carries its password.
type PasswordType int

// The password types of the UsernameToken profile. The zero value is
// PasswordText, which is also what a Password without a Type attribute
// means.
const (
	// PasswordText carries the password in clear (over TLS).
	PasswordText PasswordType = iota
	// PasswordDigest carries Base64(SHA-1(nonce + created + password)).
	PasswordDigest
)

// String returns the type's name as in the Type URI fragment.
func (t PasswordType) String() string {
	switch t {
	case PasswordText:
		return "PasswordText"
	case PasswordDigest:
		return "PasswordDigest"
	}
	return "PasswordType(?)"
}

// Timestamp is a token's accompanying timestamp (wsu:Timestamp). A zero
// Created or Expires means it was not given.
type Timestamp struct {
	Created time.Time
	Expires time.Time
}

// UsernameToken is a username with a password in clear or as a digest,
// as the WS-Security UsernameToken profile defines it: the credential of
// the SOAP face (package wsse parses it off the wire).
type UsernameToken struct {
	Username string
	// Password is the clear password for PasswordText, the base64 digest
	// for PasswordDigest, exactly as sent.
	Password string
	Type     PasswordType
	// Nonce is the nonce as sent (base64, surrounding whitespace
	// removed); empty when absent.
	Nonce string
	// Created is the token's creation time when HasCreated. CreatedText
	// keeps the text as sent, since the digest is computed over that
	// text, not over any re-formatting of the time.
	Created     time.Time
	CreatedText string
	HasCreated  bool
	// Timestamp is the accompanying timestamp, nil when absent.
	Timestamp *Timestamp
}

// Subject implements Credential: the throttle counts guesses per user
// (the username presented), not per account, so that guesses at one of an
// account's users never hold back its other users.
func (t UsernameToken) Subject() string { return t.Username }

// credentialName names the user a verified token logged in as.
func (t UsernameToken) credentialName() (kind, name string) { return KindUser, t.Username }

func (t UsernameToken) verify(ctx context.Context, a *Authenticator) (store.Account, error) {
	return a.VerifyUsernameToken(ctx, t)
}

// VerifyUsernameToken returns the account tok logs in as, without asking
// the throttle (Authenticate does). Failures wrap ErrLoginFailed and one
// distinct reason (ErrUnknownUser, ErrBadPassword, ErrReplay …); any other
// error is the store's and not the client's fault.
//
// Checks that do not depend on the account (freshness, form) come first, so
// stale or replayed traffic costs no store lookup. The nonce is recorded
// only once the password has been checked: otherwise anyone could fill the
// nonce table, or burn a client's nonces, without credentials.
func (a *Authenticator) VerifyUsernameToken(ctx context.Context, tok UsernameToken) (store.Account, error) {
	now := a.now()
	maxAge, skew := a.windows()

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
	// Without Created the token carries no age; its nonce is remembered
	// for as long as a token with one could be accepted. The re-encoded
	// form makes cosmetic variants of one nonce (line breaks, non-zero
	// padding bits) the same nonce. Kept per user (usernames are unique):
	// a user's nonces are its own, as its tokens are.
	var nonceText string
	expires := now.Add(maxAge + skew)
	if nonce != nil {
		nonceText = base64.StdEncoding.EncodeToString(nonce)
		if tok.HasCreated {
			expires = tok.Created.Add(maxAge + skew)
		}
		if acct, ok, err := a.verifyKnown(ctx, tok, nonce, nonceText, expires, now); ok || err != nil {
			return acct, err
		}
	}

	user, acct, err := a.Store.UserByUsername(ctx, tok.Username)
	if errors.Is(err, store.ErrNotFound) {
		if err := a.dummyCheck(ctx, tok, nonce); err != nil {
			return store.Account{}, err
		}
		return store.Account{}, fmt.Errorf("%w: %s", ErrUnknownUser, quote(tok.Username))
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("auth: looking up user %s: %w", quote(tok.Username), err)
	}

	// The password is checked before Disabled so that a disabled user or
	// account costs the same time as any other.
	if tok.Type == PasswordDigest {
		if err := a.checkDigest(user, tok, nonce); err != nil {
			return store.Account{}, err
		}
	} else if err := a.checkText(ctx, user, tok.Password); err != nil {
		return store.Account{}, err
	}
	if acct.Disabled {
		return store.Account{}, fmt.Errorf("%w: account %s (user %s)", ErrDisabled, quote(acct.Username), quote(user.Username))
	}
	if user.Disabled {
		return store.Account{}, fmt.Errorf("%w: user %s of account %s", ErrUserDisabled, quote(user.Username), quote(acct.Username))
	}

	if nonce != nil {
		err := a.Store.UseNonce(ctx, user.Username, nonceText, expires, now)
		if errors.Is(err, store.ErrReplay) {
			return store.Account{}, fmt.Errorf("%w: user %s: %w", ErrReplay, quote(user.Username), err)
		}
		if err != nil {
			return store.Account{}, fmt.Errorf("auth: recording nonce: %w", err)
		}
		if _, ok := a.Store.(CurrentNonceStore); ok {
			a.known.remember(user, acct)
		}
	}
	return acct, nil
}

// verifyKnown is the path of a user this server has let in before, on a
// store that can check a user while it records a nonce
// (CurrentNonceStore): the token is checked against the user as it was
// then, and the nonce is recorded only if the user is still the same, in
// one statement and no read. It says ok only when all of that held; any
// other outcome (no such user remembered, a check that fails or would need
// the slow hash, a user changed since, a replay) is left to the ordinary
// path, which reads the user afresh and says why. So a failure costs what
// it costs without this path, and a password rotated or a user disabled
// on any server is refused on the next request.
func (a *Authenticator) verifyKnown(ctx context.Context, tok UsernameToken, nonce []byte, nonceText string, expires, now time.Time) (store.Account, bool, error) {
	cs, ok := a.Store.(CurrentNonceStore)
	if !ok {
		return store.Account{}, false, nil
	}
	user, acct, ok := a.known.get(tok.Username)
	if !ok || user.Disabled || acct.Disabled {
		return store.Account{}, false, nil
	}
	if tok.Type == PasswordDigest {
		if a.checkDigest(user, tok, nonce) != nil {
			return store.Account{}, false, nil
		}
	} else if !a.Cache.Hit(user.ID, user.PasswordHash, tok.Password) {
		return store.Account{}, false, nil
	}
	recorded, err := cs.UseNonceIfCurrent(ctx, user, acct, nonceText, expires, now)
	if err != nil {
		return store.Account{}, false, fmt.Errorf("auth: recording nonce: %w", err)
	}
	if !recorded {
		a.known.forget(tok.Username)
		return store.Account{}, false, nil
	}
	return acct, true, nil
}

// checkText checks a PasswordText password: from the cache when it was
// verified before, otherwise with the slow hash, under the HashGate. The
// cache is keyed by the user and its stored hash: a rotated password has
// a new hash (new salt), so the old password's entry never matches again.
func (a *Authenticator) checkText(ctx context.Context, user store.User, password string) error {
	if a.Cache.Hit(user.ID, user.PasswordHash, password) {
		return nil
	}
	if err := a.acquireHash(ctx); err != nil {
		return err
	}
	// Another request may have verified the same password while this one
	// waited for the slot (a client's pool opening its connections at
	// once): the cache answers it then, and the pool costs one hash, not
	// one per connection queued behind it.
	if a.Cache.Hit(user.ID, user.PasswordHash, password) {
		a.releaseHash()
		return nil
	}
	ok := credential.CheckHash(user.PasswordHash, password)
	if ok {
		// Remembered before the slot is given up, so that the next
		// holder's look finds it.
		a.Cache.Remember(user.ID, user.PasswordHash, password)
	}
	a.releaseHash()
	if !ok {
		return fmt.Errorf("%w: user %s", ErrBadPassword, quote(user.Username))
	}
	return nil
}

func (a *Authenticator) checkDigest(user store.User, tok UsernameToken, nonce []byte) error {
	if a.Sealer == nil {
		return fmt.Errorf("%w: no secret key configured for PasswordDigest", ErrBadDigest)
	}
	password, err := a.Sealer.Open(user.PasswordSealed)
	if err != nil {
		return fmt.Errorf("%w: user %s: %w", ErrBadDigest, quote(user.Username), err)
	}
	if !digestMatches(tok.Password, nonce, tok.CreatedText, password) {
		return fmt.Errorf("%w: user %s", ErrBadDigest, quote(user.Username))
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
func (a *Authenticator) dummyCheck(ctx context.Context, tok UsernameToken, nonce []byte) error {
	if tok.Type == PasswordDigest {
		if a.Sealer != nil {
			a.Sealer.Open(dummySealed[:]) // fails authentication after the same GHASH work
		}
		digestMatches(tok.Password, nonce, tok.CreatedText, "dummy password")
		return nil
	}
	// The hash is not cached: an unknown user never hits the cache, and
	// neither does a known user with a wrong password. The lookup is
	// still made, so that it costs what a known user's miss costs.
	a.Cache.Hit(0, dummyHash(), tok.Password)
	if err := a.acquireHash(ctx); err != nil {
		return err
	}
	a.Cache.Hit(0, dummyHash(), tok.Password) // as checkText looks again
	credential.CheckHash(dummyHash(), tok.Password)
	a.releaseHash()
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

func (a *Authenticator) windows() (maxAge, skew time.Duration) {
	maxAge, skew = a.MaxAge, a.MaxFutureSkew
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if skew <= 0 {
		skew = DefaultMaxFutureSkew
	}
	return maxAge, skew
}

// quote quotes a caller-supplied string for an error message, cut short.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
