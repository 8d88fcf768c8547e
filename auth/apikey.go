package auth

// API keys: the SendGrid face's credentials (issue 12), "SG.<id>.<secret>"
// in an "Authorization: Bearer" header. They sit beside an account's SOAP
// password and never touch it: an account may use both.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/store"
)

// Errors of Keys. A face maps them to its own answers (401, 403, 404,
// 400); their messages are SendGrid's where SendGrid has one.
var (
	// ErrKeyMissing: no token, or an empty one ("Bearer " alone, which
	// sendgrid-go sends for an empty key).
	ErrKeyMissing = errors.New("authorization required")
	// ErrKeyInvalid is Verify's one failure for every cause — a malformed
	// token, an unknown id, a wrong secret, a revoked key, a disabled
	// account — so that a caller cannot tell them apart. Reason(err) names
	// the cause for the log and the metrics only.
	ErrKeyInvalid = errors.New("The provided authorization grant is invalid, expired, or revoked")
	// ErrKeyNotFound: no live key with that id in the account (another
	// account's and revoked keys included).
	ErrKeyNotFound = errors.New("unable to find API Key")
	// ErrTooManyKeys: the account already has MaxKeysPerAccount live keys.
	ErrTooManyKeys = errors.New("Cannot create more than 100 API Keys")
	// ErrKeyName: the name is missing, blank or too long.
	ErrKeyName = errors.New("missing required argument")
	// ErrUnknownScope: a scope that is not one of Scopes(); the error
	// names it.
	ErrUnknownScope = errors.New("invalid scope")
)

// MaxKeysPerAccount is SendGrid's limit on an account's live keys.
const MaxKeysPerAccount = 100

// MaxKeyNameLength bounds a key's name, in characters. SendGrid documents
// no limit; this one keeps a client's mistake from filling the store.
const MaxKeyNameLength = 100

// ScopeFull, among the scopes HasScope is given, grants every scope. It is
// never stored by Create (an omitted scope list is stored as every scope
// by name, as SendGrid lists them back) and Create refuses it; it is for
// principals that hold every right without a key.
const ScopeFull = "*"

// scopes is every scope name a key may hold: those of the endpoints
// partnerd serves (../shared/reference/sendgrid-v3-notes.md §2).
var scopes = []string{
	"api_keys.create", "api_keys.delete", "api_keys.read", "api_keys.update",
	"mail.batch.create", "mail.batch.delete", "mail.batch.read", "mail.batch.update",
	"mail.send",
	"marketing_campaigns.create", "marketing_campaigns.delete", "marketing_campaigns.read", "marketing_campaigns.update",
	"user.scheduled_sends.create", "user.scheduled_sends.delete", "user.scheduled_sends.read", "user.scheduled_sends.update",
}

// Scopes returns every scope name a key may hold, sorted: what a key
// created without scopes holds.
func Scopes() []string { return slices.Clone(scopes) }

// HasScope reports whether granted allows need: need is among them, or
// ScopeFull is.
func HasScope(granted []string, need string) bool {
	return slices.Contains(granted, need) || slices.Contains(granted, ScopeFull)
}

// ErrScopeNotHeld: a key may only grant the scopes it holds itself.
var ErrScopeNotHeld = errors.New("a key cannot grant a scope it does not hold")

// MayGrant is the rule for a key that creates or rewrites another: it may
// grant only scopes it holds (requested nil means every scope), so that a
// key allowed only api_keys.* cannot mint itself a full-access one.
func MayGrant(held, requested []string) error {
	if requested == nil {
		requested = Scopes()
	}
	for _, s := range requested {
		if !HasScope(held, s) {
			return fmt.Errorf("%w: %q", ErrScopeNotHeld, s)
		}
	}
	return nil
}

// normalizeScopes checks scopes and returns them sorted without repeats;
// nil (omitted) is every scope. A non-nil empty list is kept empty: a key
// that may do nothing is what was asked for.
func normalizeScopes(in []string) ([]string, error) {
	if in == nil {
		return Scopes(), nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		if _, known := slices.BinarySearch(scopes, s); !known {
			return nil, fmt.Errorf("%w: %q", ErrUnknownScope, s)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func checkKeyName(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: name", ErrKeyName)
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxKeyNameLength {
		return fmt.Errorf("%w: name must be at most %d characters of UTF-8", ErrKeyName, MaxKeyNameLength)
	}
	return nil
}

// APIKey is a key as callers see it: never its secret nor its hash.
type APIKey struct {
	ID        string
	AccountID int64
	Name      string
	Scopes    []string
	Created   time.Time
}

func fromStore(k store.APIKey) APIKey {
	return APIKey{ID: k.ID, AccountID: k.AccountID, Name: k.Name, Scopes: k.Scopes, Created: k.Created}
}

// The token: "SG." + id + "." + secret, both unpadded URL-safe base64 (no
// '.' in its alphabet, so the token splits unambiguously). The id is 16
// random bytes (22 characters); the secret 32 (43 characters), a 256-bit
// value no one guesses.
const (
	tokenPrefix = "SG."
	idBytes     = 16
	secretBytes = 32
	idLen       = 22 // base64.RawURLEncoding.EncodedLen(idBytes)
	secretLen   = 43 // base64.RawURLEncoding.EncodedLen(secretBytes)
	tokenLen    = len(tokenPrefix) + idLen + 1 + secretLen
)

var tokenEncoding = base64.RawURLEncoding.Strict()

// ParseKeyToken splits a token into its id and secret. It accepts only
// tokens of the shape Create issues: "SG.", a 22-character id, ".", a
// 43-character secret, both canonical unpadded URL-safe base64.
func ParseKeyToken(token string) (id, secret string, ok bool) {
	if len(token) != tokenLen || !strings.HasPrefix(token, tokenPrefix) || token[len(tokenPrefix)+idLen] != '.' {
		return "", "", false
	}
	id = token[len(tokenPrefix) : len(tokenPrefix)+idLen]
	secret = token[len(tokenPrefix)+idLen+1:]
	if b, err := tokenEncoding.DecodeString(id); err != nil || len(b) != idBytes {
		return "", "", false
	}
	if b, err := tokenEncoding.DecodeString(secret); err != nil || len(b) != secretBytes {
		return "", "", false
	}
	return id, secret, true
}

// hashToken is what the store keeps of a key: SHA-256 of the whole token.
// A password needs a slow, salted hash (credential.Hash) because it is
// guessable: a stolen hash must not be cheap to attack with a dictionary.
// The secret here is 256 bits from crypto/rand, so there is no dictionary
// and no brute force to slow down; a fast hash loses nothing, and keeps
// Verify, run on every REST request, cheap and free of the hashing gate.
// Hashing the id with the secret ties a hash to its row.
func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// dummyKeyHash is compared against when the token's id is unknown, so that
// such a token costs the same hash and comparison as a known one.
var dummyKeyHash = hashToken("SG.unknown-key-id.unknown-key-secret")

// keyFailure is one cause of ErrKeyInvalid. Its message is ErrKeyInvalid's
// whatever the cause; the cause is the *failure it also wraps, which
// Reason reads for the log and the metrics (it wraps ErrLoginFailed).
type keyFailure struct{ cause *failure }

func (e *keyFailure) Error() string   { return ErrKeyInvalid.Error() }
func (e *keyFailure) Unwrap() []error { return []error{ErrKeyInvalid, e.cause} }

// Causes of ErrKeyInvalid.
var (
	errKeyMalformed = &keyFailure{&failure{"malformed", "malformed API key"}}
	errKeyUnknown   = &keyFailure{&failure{"unknown_key", "unknown API key id"}}
	errKeySecret    = &keyFailure{&failure{"bad_secret", "wrong API key secret"}}
	errKeyRevoked   = &keyFailure{&failure{"revoked", "API key revoked"}}
	errKeyDisabled  = &keyFailure{&failure{"disabled", "account disabled"}}
)

// Keys manages an account's API keys and verifies the tokens callers
// present. Its fields are set once before use; it is then safe for
// concurrent use. It keeps no state of its own: every Verify reads the key
// and its account from the store, so a revoke, a scope change or an
// account's disabling applies to the very next request.
//
// Verify does not throttle: guessing a 256-bit secret is hopeless however
// fast the guesses come, and a flood of requests is the per-key rate
// limiter's and the server's concern, not a credential's.
type Keys struct {
	Store store.Store
	Clock clock.Clock // nil means clock.System
	// Rand is the source of ids and secrets; nil means crypto/rand.
	Rand io.Reader
	// MaxPerAccount bounds an account's live keys; 0 means
	// MaxKeysPerAccount.
	MaxPerAccount int
	// OnFailure, when set, hears the reason (see Reason) of every failed
	// Verify: the face's metrics.
	OnFailure func(ctx context.Context, reason string)
	// RefusalFloor is the least time a refused token takes, measured on
	// the wall clock from Verify's start (zero: DefaultRefusalFloor;
	// negative: none). See Verify.
	RefusalFloor time.Duration
}

// DefaultRefusalFloor is Keys.RefusalFloor's default: far above what a
// refusal's work takes, far below what a client notices.
const DefaultRefusalFloor = 2 * time.Millisecond

func (k *Keys) now() time.Time {
	if k.Clock == nil {
		return clock.System{}.Now()
	}
	return k.Clock.Now()
}

func (k *Keys) random(n int) (string, error) {
	b := make([]byte, n)
	r := k.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("auth: API key: %w", err)
	}
	return tokenEncoding.EncodeToString(b), nil
}

// newToken draws a new id and secret and returns the id and the token.
func (k *Keys) newToken() (id, token string, err error) {
	id, err = k.random(idBytes)
	if err != nil {
		return "", "", err
	}
	secret, err := k.random(secretBytes)
	if err != nil {
		return "", "", err
	}
	return id, tokenPrefix + id + "." + secret, nil
}

// Create makes a key for accountID and returns it with its token,
// "SG.<id>.<secret>" — the only time the secret exists outside the
// caller's hands: the store keeps its hash. nil scopes means every scope;
// an unknown scope is ErrUnknownScope, a blank name ErrKeyName, an
// account at its limit ErrTooManyKeys.
func (k *Keys) Create(ctx context.Context, accountID int64, name string, scopes []string) (key APIKey, secret string, err error) {
	if err := checkKeyName(name); err != nil {
		return APIKey{}, "", err
	}
	granted, err := normalizeScopes(scopes)
	if err != nil {
		return APIKey{}, "", err
	}
	limit := k.MaxPerAccount
	if limit == 0 {
		limit = MaxKeysPerAccount
	}
	// A 128-bit random id collides with nothing in practice; a second
	// draw is a guard against a broken Rand, not an expected path.
	for range 2 {
		id, token, err := k.newToken()
		if err != nil {
			return APIKey{}, "", err
		}
		sk := store.APIKey{
			ID: id, AccountID: accountID, Name: name, Scopes: granted,
			SecretHash: hashToken(token), Created: k.now(),
		}
		err = k.Store.CreateAPIKey(ctx, sk, limit)
		switch {
		case errors.Is(err, store.ErrExists):
			continue
		case errors.Is(err, store.ErrKeyLimit):
			return APIKey{}, "", ErrTooManyKeys
		case err != nil:
			return APIKey{}, "", fmt.Errorf("auth: create API key: %w", err)
		}
		return fromStore(sk), token, nil
	}
	return APIKey{}, "", errors.New("auth: create API key: the random source repeats itself")
}

// List returns accountID's live keys, oldest first, at most limit of them
// (limit <= 0: all).
func (k *Keys) List(ctx context.Context, accountID int64, limit int) ([]APIKey, error) {
	sks, err := k.Store.ListAPIKeys(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("auth: list API keys: %w", err)
	}
	if limit > 0 && len(sks) > limit {
		sks = sks[:limit]
	}
	keys := make([]APIKey, len(sks))
	for i, sk := range sks {
		keys[i] = fromStore(sk)
	}
	return keys, nil
}

// Get returns accountID's live key id; ErrKeyNotFound for an unknown,
// revoked or another account's key.
func (k *Keys) Get(ctx context.Context, accountID int64, id string) (APIKey, error) {
	sk, err := k.Store.APIKeyByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (sk.AccountID != accountID || !sk.RevokedAt.IsZero()) {
		return APIKey{}, ErrKeyNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("auth: API key: %w", err)
	}
	return fromStore(sk), nil
}

// Rename changes a key's name (PATCH), keeping its scopes.
func (k *Keys) Rename(ctx context.Context, accountID int64, id, name string) (APIKey, error) {
	if err := checkKeyName(name); err != nil {
		return APIKey{}, err
	}
	key, err := k.Get(ctx, accountID, id)
	if err != nil {
		return APIKey{}, err
	}
	key.Name = name
	return key, k.update(ctx, key)
}

// Replace sets a key's name and scopes (PUT); nil scopes means every
// scope, as at Create. The new scopes hold from the key's next request:
// a scope taken away stops at once.
func (k *Keys) Replace(ctx context.Context, accountID int64, id, name string, scopes []string) (APIKey, error) {
	if err := checkKeyName(name); err != nil {
		return APIKey{}, err
	}
	granted, err := normalizeScopes(scopes)
	if err != nil {
		return APIKey{}, err
	}
	key, err := k.Get(ctx, accountID, id)
	if err != nil {
		return APIKey{}, err
	}
	key.Name, key.Scopes = name, granted
	return key, k.update(ctx, key)
}

func (k *Keys) update(ctx context.Context, key APIKey) error {
	err := k.Store.UpdateAPIKey(ctx, store.APIKey{ID: key.ID, AccountID: key.AccountID, Name: key.Name, Scopes: key.Scopes})
	if errors.Is(err, store.ErrNotFound) {
		return ErrKeyNotFound // revoked since Get read it
	}
	if err != nil {
		return fmt.Errorf("auth: update API key: %w", err)
	}
	return nil
}

// Revoke revokes a key (DELETE): its next request fails. ErrKeyNotFound
// for an unknown, already revoked or another account's key.
func (k *Keys) Revoke(ctx context.Context, accountID int64, id string) error {
	err := k.Store.RevokeAPIKey(ctx, accountID, id, k.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrKeyNotFound
	}
	if err != nil {
		return fmt.Errorf("auth: revoke API key: %w", err)
	}
	return nil
}

// Verify checks a bearer token: the principal it acts for and the key,
// with its scopes as they are now. An empty token is ErrKeyMissing; every
// other refusal wraps ErrKeyInvalid, with the same message whatever its
// cause. Any other error is the store's.
//
// A token with a well-formed but unknown id does what a known one does —
// the key lookup, the hash, a constant-time comparison and the account
// lookup — so that timing does not tell which ids exist. The store still
// answers a miss a little faster than a hit (no row to decode), so every
// refusal is also held until RefusalFloor has passed since the call
// began: refusals then take the floor, whatever their cause. Nothing is
// cached: the key and its account are read on every call.
func (k *Keys) Verify(ctx context.Context, token string) (Principal, APIKey, error) {
	start := time.Now() // the wall clock: the floor is about real time, whatever k.Clock says
	p, key, err := k.verify(ctx, token)
	if errors.Is(err, ErrKeyInvalid) {
		if k.OnFailure != nil {
			k.OnFailure(ctx, Reason(err))
		}
		k.holdRefusal(ctx, start)
	}
	return p, key, err
}

// holdRefusal waits until the refusal floor has passed since start, or
// ctx ends.
func (k *Keys) holdRefusal(ctx context.Context, start time.Time) {
	floor := k.RefusalFloor
	if floor == 0 {
		floor = DefaultRefusalFloor
	}
	wait := floor - time.Since(start)
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (k *Keys) verify(ctx context.Context, token string) (Principal, APIKey, error) {
	if strings.TrimSpace(token) == "" {
		return Principal{}, APIKey{}, ErrKeyMissing
	}
	id, _, ok := ParseKeyToken(token)
	if !ok {
		return Principal{}, APIKey{}, errKeyMalformed
	}
	// One read for the key and its account, whether the key exists or
	// not, so an unknown id costs what a known one does.
	sk, acct, err := k.Store.APIKeyWithAccount(ctx, id)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Principal{}, APIKey{}, fmt.Errorf("auth: API key: %w", err)
	}
	want := sk.SecretHash
	if !known {
		want = dummyKeyHash
	}
	match := subtle.ConstantTimeCompare(hashToken(token), want) == 1
	accountFound := acct.ID != 0
	switch {
	case !known:
		return Principal{}, APIKey{}, errKeyUnknown
	case !match:
		return Principal{}, APIKey{}, errKeySecret
	case !sk.RevokedAt.IsZero():
		return Principal{}, APIKey{}, errKeyRevoked
	case !accountFound || acct.Disabled:
		return Principal{}, APIKey{}, errKeyDisabled
	}
	return Principal{AccountID: acct.ID, Username: acct.Username, ClientID: acct.ClientID,
		CredentialKind: KindAPIKey, Credential: sk.ID}, fromStore(sk), nil
}

// KeyRecord is the store row Create would write for token (a well-formed
// "SG.<id>.<secret>") held by accountID: its id, its scopes normalised (nil
// means every scope) and the token's hash. It lets tests and fixtures seed a
// key whose token they know in advance, stored exactly as a created one.
func KeyRecord(accountID int64, token, name string, scopes []string, created time.Time) (store.APIKey, error) {
	id, _, ok := ParseKeyToken(token)
	if !ok {
		return store.APIKey{}, fmt.Errorf("auth: key record: %q is not an SG.<22-char id>.<43-char secret> token", token)
	}
	if err := checkKeyName(name); err != nil {
		return store.APIKey{}, err
	}
	granted, err := normalizeScopes(scopes)
	if err != nil {
		return store.APIKey{}, err
	}
	return store.APIKey{ID: id, AccountID: accountID, Name: name, Scopes: granted,
		SecretHash: hashToken(token), Created: created}, nil
}
