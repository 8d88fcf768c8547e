package auth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/store"
)

// AccountStore is the part of store.Store an Authenticator needs.
type AccountStore interface {
	// UserByUsername finds a SOAP user with its account (store.Store's).
	UserByUsername(ctx context.Context, username string) (store.User, store.Account, error)
	UseNonce(ctx context.Context, username, nonce string, expires, now time.Time) error
}

// CurrentNonceStore is an AccountStore that can record a nonce on the
// condition that a user and its account are still as read (the PostgreSQL
// store): see Authenticator.verifyKnown. UseNonceIfCurrent says false,
// recording nothing, when they have changed or the nonce is a replay.
type CurrentNonceStore interface {
	AccountStore
	UseNonceIfCurrent(ctx context.Context, user store.User, acct store.Account, nonce string, expires, now time.Time) (bool, error)
}

// HashGate bounds concurrent password hashing (limit.Gate implements it).
type HashGate interface {
	// Acquire takes a slot or returns an error (too busy).
	Acquire(ctx context.Context) error
	// Release frees a slot taken by Acquire.
	Release()
}

// Credential is what a caller presents to log in. Its kinds are defined in
// this package (UsernameToken today), so that every kind is checked under
// the same rules: one failure path, equal timing, the hashing gate, the
// throttle. A further kind, such as an API key or an OAuth bearer token,
// is a type whose verify
//   - fails with this package's reasons (an unknown key is ErrUnknownUser after
//     a dummy check of the same cost, a wrong secret ErrBadPassword, an
//     expired token a non-guess like ErrCreatedTooOld), so that IsGuess,
//     the throttle and every face treat it as they treat passwords;
//   - hashes slow secrets under acquireHash, and may use the Cache;
//   - records any one-time value only after the secret has been checked;
//
// and whose Subject names the account (or the key's ID) the throttle
// charges. Authenticate then needs no change.
type Credential interface {
	// Subject is the account the credential names, the key the throttle
	// charges guesses to; "" when the credential names none.
	Subject() string
	// verify checks the credential and returns its account. Failures
	// wrap ErrLoginFailed and one reason; any other error is the store's.
	verify(ctx context.Context, a *Authenticator) (store.Account, error)
}

// Authenticator checks credentials against the account store. Its fields
// are set once before use; it is then safe for concurrent use.
type Authenticator struct {
	Store AccountStore
	Clock clock.Clock // nil means clock.System
	// Sealer opens User.PasswordSealed for PasswordDigest tokens; with
	// a nil Sealer every digest token fails.
	Sealer *credential.Sealer
	// Cache spares the slow hash for PasswordText passwords already
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
	// Throttle, when set, may refuse an attempt before its credential is
	// checked (so that a throttled guess costs no hashing), and hears the
	// outcome of every check.
	Throttle LoginThrottle
	// OnFailure, when set, hears the reason (see Reason) of every login
	// failure, throttled ones included: the face's metrics.
	OnFailure func(ctx context.Context, reason string)

	// known holds the users let in with a nonce, for verifyKnown.
	known knownUsers
}

// knownUsers remembers users (with their accounts) as read when they last
// logged in, by username. Only a successful login adds one, so guesses
// cannot fill it; it is a hint that the store confirms on every use, never
// an answer by itself.
type knownUsers struct {
	mu    sync.Mutex
	users map[string]knownUser
}

type knownUser struct {
	user store.User
	acct store.Account
}

// maxKnownUsers bounds knownUsers: past it, an arbitrary entry makes room.
const maxKnownUsers = 10000

func (k *knownUsers) get(username string) (store.User, store.Account, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.users[username]
	return e.user, e.acct, ok
}

func (k *knownUsers) remember(user store.User, acct store.Account) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.users == nil {
		k.users = make(map[string]knownUser)
	}
	if _, ok := k.users[user.Username]; !ok && len(k.users) >= maxKnownUsers {
		for name := range k.users {
			delete(k.users, name)
			break
		}
	}
	k.users[user.Username] = knownUser{user, acct}
}

func (k *knownUsers) forget(username string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.users, username)
}

// Authenticate checks c and returns the principal it logs in as. Failures
// wrap ErrLoginFailed (a *ThrottledError when the throttle refused the
// attempt); any other error is the store's.
//
// The source the throttle keys on is the remote address WithRemote put in
// ctx.
func (a *Authenticator) Authenticate(ctx context.Context, c Credential) (Principal, error) {
	remote, subject := RemoteFrom(ctx), c.Subject()
	if a.Throttle != nil {
		if err := a.Throttle.Allow(ctx, remote, subject); err != nil {
			a.failed(ctx, err)
			return Principal{}, err
		}
	}
	acct, err := c.verify(ctx, a)
	if a.Throttle != nil {
		a.Throttle.Done(ctx, remote, subject, err)
	}
	if err != nil {
		a.failed(ctx, err)
		return Principal{}, err
	}
	p := Principal{AccountID: acct.ID, Username: acct.Username, ClientID: acct.ClientID}
	if n, ok := c.(namedCredential); ok {
		p.CredentialKind, p.Credential = n.credentialName()
	}
	return p, nil
}

// namedCredential is a Credential that names itself for the Principal
// (kind and name, never the secret) once verified.
type namedCredential interface {
	credentialName() (kind, name string)
}

// Refuse reports a credential its face could not read (ErrNoCredential,
// ErrMalformed …) to the throttle and the metrics like any failed check,
// and returns err.
func (a *Authenticator) Refuse(ctx context.Context, err error) error {
	if a.Throttle != nil {
		a.Throttle.Done(ctx, RemoteFrom(ctx), "", err)
	}
	a.failed(ctx, err)
	return err
}

func (a *Authenticator) failed(ctx context.Context, err error) {
	if r := Reason(err); r != "" && a.OnFailure != nil {
		a.OnFailure(ctx, r)
	}
}

func (a *Authenticator) now() time.Time {
	if a.Clock == nil {
		return clock.System{}.Now()
	}
	return a.Clock.Now()
}

func (a *Authenticator) acquireHash(ctx context.Context) error {
	if a.HashGate == nil {
		return nil
	}
	if err := a.HashGate.Acquire(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return nil
}

func (a *Authenticator) releaseHash() {
	if a.HashGate != nil {
		a.HashGate.Release()
	}
}

type remoteKey struct{}

// WithRemote returns ctx carrying the caller's network address
// ("host:port", as http.Request.RemoteAddr), which the throttle keys
// sources on.
func WithRemote(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, remoteKey{}, addr)
}

// RemoteFrom returns the address WithRemote put in ctx, or "".
func RemoteFrom(ctx context.Context) string {
	s, _ := ctx.Value(remoteKey{}).(string)
	return s
}
