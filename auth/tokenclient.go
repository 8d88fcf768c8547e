package auth

// Token clients and tokens (issue 14): the installed-package credentials
// (client id and secret) that Marketing Cloud SDKs trade at /v2/token or
// /v1/requestToken for an access token, which they then put in every SOAP
// call (fueloauth, or oAuth/oAuthToken). Both kinds of credential go
// through Authenticator.Authenticate, so the throttle, the metrics and the
// one-refusal rule treat them as they treat passwords.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/store"
)

// DefaultTokenLifetime is how long an access token is said to live
// (expires_in): Marketing Cloud's 1,080 s.
const DefaultTokenLifetime = 1080 * time.Second

// TokenGrace is how long a token is still accepted after the lifetime its
// expires_in announced: the real service advertises its 20-minute tokens
// two minutes early, so that a client that refreshes exactly at expiry
// (fuel-auth, sfmc-sdk: no margin) does not lose a call in flight.
const TokenGrace = 2 * time.Minute

// ExpiredTokenKept is how long the server's housekeeping keeps an issued
// token after it expired (store.Retention.ExpiredTokenAge): meanwhile its
// holder is answered "Token Expired", on which fuel-soap and sfmc-sdk fetch
// a new token and retry, rather than an unknown token's "Login Failed",
// on which no SDK does. A day covers a client that sleeps through its
// token's expiry; a token older than that is forgotten.
const ExpiredTokenKept = 24 * time.Hour

// RefreshTokenLifetime is how long a v1 refresh token may wait for its one
// use (the legacy documentation's 700 days).
const RefreshTokenLifetime = 700 * 24 * time.Hour

// DefaultClientScopes are the scopes of a client made without any: what
// the SOAP sends partnerd serves need.
var DefaultClientScopes = []string{"email_read", "email_send", "email_write"}

// MaxTokenLength bounds a presented token: the real ones are at most 512
// characters, ours 43; anything much longer is not worth hashing.
const MaxTokenLength = 1024

// Errors of Tokens. ErrTokenExpired and the causes below wrap
// ErrLoginFailed; a face answers them as its login failure ("Login
// Failed" on SOAP, 401 invalid_client on the token endpoints), except
// ErrTokenExpired, which SOAP clients must tell apart ("Token Expired"
// makes fuel-soap fetch a new token and retry).
var (
	ErrTokenExpired error = &failure{"token_expired", "access token expired"}
	// ErrScopeNotAllowed: a token asked for a scope its client does not
	// hold (the error names it).
	ErrScopeNotAllowed = errors.New("scope not granted to this client")
	// ErrAccountNotAllowed: a token asked for an account id (MID) its
	// client is not installed in.
	ErrAccountNotAllowed = errors.New("the client is not enabled for this account id")
	// ErrBadScope: a scope name that is not lower-case letters, digits
	// and underscores (at most 64).
	ErrBadScope = errors.New("invalid scope name")
	// ErrClientNotFound: no live client with that id in the account.
	ErrClientNotFound = errors.New("no such token client")
	// ErrRefreshInvalid: a refresh token that is unknown, used, expired
	// or another client's.
	ErrRefreshInvalid = errors.New("invalid refresh token")
)

// Causes of a refused token or client secret, for the log and the metrics.
// Unknown tokens and client ids and wrong secrets are guesses (IsGuess);
// a revoked client's or an expired token is not: its holder is a client
// that was once let in.
var (
	errTokenMalformed  error = &failure{"malformed", "malformed access token"}
	errTokenUnknown    error = &failure{"unknown_token", "unknown access token"}
	errTokenRevoked    error = &failure{"revoked", "token client revoked"}
	errClientUnknown   error = &failure{"unknown_client", "unknown client id"}
	errClientSecret    error = &failure{"bad_client_secret", "wrong client secret"}
	errClientRevoked   error = &failure{"revoked", "token client revoked"}
	errClientMalformed error = &failure{"malformed", "malformed client id or secret"}
)

// TokenClient is a client as callers see it: never its secret nor its hash.
type TokenClient struct {
	ID        string
	AccountID int64
	MID       int64
	Scopes    []string
	Created   time.Time
}

func clientFromStore(c store.TokenClient) TokenClient {
	return TokenClient{ID: c.ID, AccountID: c.AccountID, MID: c.MID, Scopes: c.Scopes, Created: c.Created}
}

// Tokens manages token clients and issues and checks their tokens. Its
// fields are set once before use; it is then safe for concurrent use. It
// keeps no state of its own: every check reads the token, its client and
// its account from the store in one read, so that every instance on one
// store agrees, and a revoke or an account's disabling applies to the
// very next request.
type Tokens struct {
	Store store.Store
	Clock clock.Clock // nil means clock.System; it decides expiry
	// Lifetime is what expires_in announces (zero: DefaultTokenLifetime);
	// a token is accepted TokenGrace longer.
	Lifetime time.Duration
	// Rand is the source of ids, secrets and tokens; nil means crypto/rand.
	Rand io.Reader
}

func (t *Tokens) now() time.Time {
	if t.Clock == nil {
		return clock.System{}.Now()
	}
	return t.Clock.Now()
}

// LifetimeOrDefault is the lifetime expires_in announces.
func (t *Tokens) LifetimeOrDefault() time.Duration {
	if t.Lifetime <= 0 {
		return DefaultTokenLifetime
	}
	return t.Lifetime
}

func (t *Tokens) random(n int) ([]byte, error) {
	b := make([]byte, n)
	r := t.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("auth: tokens: %w", err)
	}
	return b, nil
}

// Client ids look like Marketing Cloud's: 24 lower-case letters and digits
// (15 random bytes in base32). Secrets and tokens are 32 random bytes,
// unpadded URL-safe base64 (43 characters).
var clientIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

const (
	clientIDBytes = 15
	tokenBytes    = 32
)

func (t *Tokens) newValue() (string, error) {
	b, err := t.random(tokenBytes)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashClientSecret ties a secret's hash to its client: SHA-256 of
// "<id>.<secret>". As with API keys, the secret is 256 random bits, so a
// fast hash loses nothing.
func hashClientSecret(id, secret string) []byte {
	sum := sha256.Sum256([]byte(id + "." + secret))
	return sum[:]
}

// HashToken is what the store keeps of a token: its SHA-256.
func HashToken(value string) []byte {
	sum := sha256.Sum256([]byte(value))
	return sum[:]
}

// dummyClientHash is compared against when the client id is unknown, so
// that such a request costs the same hash and comparison as a known one.
var dummyClientHash = hashClientSecret("unknown-client-id", "unknown-client-secret")

var scopeName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ParseScopes splits a space-separated scope list (a token request's
// scope) into sorted names without repeats; "" is nil.
func ParseScopes(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Fields(s) {
		if !scopeName.MatchString(f) {
			return nil, fmt.Errorf("%w: %q", ErrBadScope, f)
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// CreateClient makes a client for accountID and returns it with its
// secret, the only time the secret exists outside the caller's hands. mid
// 0 means the account's own client id (MID); nil scopes mean
// DefaultClientScopes.
func (t *Tokens) CreateClient(ctx context.Context, accountID, mid int64, scopes []string) (TokenClient, string, error) {
	if scopes == nil {
		scopes = DefaultClientScopes
	}
	scopes, err := ParseScopes(strings.Join(scopes, " "))
	if err != nil {
		return TokenClient{}, "", err
	}
	if mid == 0 {
		acct, err := t.Store.AccountByID(ctx, accountID)
		if err != nil {
			return TokenClient{}, "", fmt.Errorf("auth: create token client: %w", err)
		}
		mid = acct.ClientID
	}
	for range 2 { // a second draw only guards against a broken Rand
		idb, err := t.random(clientIDBytes)
		if err != nil {
			return TokenClient{}, "", err
		}
		id := clientIDEncoding.EncodeToString(idb)
		secret, err := t.newValue()
		if err != nil {
			return TokenClient{}, "", err
		}
		c := store.TokenClient{ID: id, AccountID: accountID, MID: mid, Scopes: scopes,
			SecretHash: hashClientSecret(id, secret), Created: t.now()}
		err = t.Store.CreateTokenClient(ctx, c)
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return TokenClient{}, "", fmt.Errorf("auth: create token client: %w", err)
		}
		return clientFromStore(c), secret, nil
	}
	return TokenClient{}, "", errors.New("auth: create token client: the random source repeats itself")
}

// ListClients returns accountID's live clients, oldest first.
func (t *Tokens) ListClients(ctx context.Context, accountID int64) ([]TokenClient, error) {
	cs, err := t.Store.ListTokenClients(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("auth: list token clients: %w", err)
	}
	out := make([]TokenClient, len(cs))
	for i, c := range cs {
		out[i] = clientFromStore(c)
	}
	return out, nil
}

// RevokeClient revokes a client: its tokens fail on their next use, its
// secret at once. ErrClientNotFound for an unknown, revoked or another
// account's client.
func (t *Tokens) RevokeClient(ctx context.Context, accountID int64, id string) error {
	err := t.Store.RevokeTokenClient(ctx, accountID, id, t.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrClientNotFound
	}
	if err != nil {
		return fmt.Errorf("auth: revoke token client: %w", err)
	}
	return nil
}

// ClientSecret is a client id and secret presented to a token endpoint, a
// Credential for Authenticator.Authenticate. Once it has logged in,
// Client is the client it named.
type ClientSecret struct {
	ID, Secret string
	tokens     *Tokens
	client     store.TokenClient
}

// ClientSecret returns the credential of a token request.
func (t *Tokens) ClientSecret(id, secret string) *ClientSecret {
	return &ClientSecret{ID: id, Secret: secret, tokens: t}
}

// Subject is the client id: the throttle charges a client's wrong secrets
// to it, apart from any username.
func (c *ClientSecret) Subject() string { return "client:" + c.ID }

// Client is the client the credential logged in as (after Authenticate).
func (c *ClientSecret) Client() TokenClient { return clientFromStore(c.client) }

// credentialName names the client that logged in, never its secret.
func (c *ClientSecret) credentialName() (kind, name string) { return KindClient, c.client.ID }

func (c *ClientSecret) verify(ctx context.Context, _ *Authenticator) (store.Account, error) {
	if c.ID == "" || c.Secret == "" || len(c.ID) > MaxTokenLength || len(c.Secret) > MaxTokenLength {
		return store.Account{}, errClientMalformed
	}
	// One read for the client and its account, known or not, and the same
	// hash and comparison, so that an unknown id costs what a known one does.
	sc, acct, err := c.tokens.Store.TokenClientWithAccount(ctx, c.ID)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Account{}, fmt.Errorf("auth: token client: %w", err)
	}
	want := sc.SecretHash
	if !known {
		want = dummyClientHash
	}
	match := subtle.ConstantTimeCompare(hashClientSecret(c.ID, c.Secret), want) == 1
	switch {
	case !known:
		return store.Account{}, errClientUnknown
	case !match:
		return store.Account{}, errClientSecret
	case !sc.RevokedAt.IsZero():
		return store.Account{}, errClientRevoked
	case acct.ID == 0 || acct.Disabled:
		return store.Account{}, ErrDisabled
	}
	c.client = sc
	acct.ClientID = sc.MID
	return acct, nil
}

// TokenRequest is what a logged-in client asks for.
type TokenRequest struct {
	// AccountID is the account id (MID) asked for; 0 means the client's.
	AccountID int64
	// Scopes asked for; nil means every scope of the client.
	Scopes []string
	// Refresh: also issue a refresh token (v1 accessType offline, or a
	// refresh); Legacy: also issue a legacy token (v1 ?legacy=1).
	Refresh, Legacy bool
}

// Issued is what Issue hands out: the values exist only here and in the
// answer to the client.
type Issued struct {
	AccessToken, RefreshToken, LegacyToken string
	ExpiresIn                              time.Duration
	Scopes                                 []string
	MID                                    int64
}

// Issue issues tokens to the client c logged in as. ErrAccountNotAllowed
// and ErrScopeNotAllowed refuse what the client may not have; nothing is
// stored then.
func (t *Tokens) Issue(ctx context.Context, c *ClientSecret, req TokenRequest) (Issued, error) {
	sc := c.client
	if sc.ID == "" {
		return Issued{}, errors.New("auth: issue: the client has not logged in")
	}
	if req.AccountID != 0 && req.AccountID != sc.MID {
		return Issued{}, fmt.Errorf("%w: %d", ErrAccountNotAllowed, req.AccountID)
	}
	scopes := sc.Scopes
	if req.Scopes != nil {
		for _, s := range req.Scopes {
			if !slices.Contains(sc.Scopes, s) {
				return Issued{}, fmt.Errorf("%w: %q", ErrScopeNotAllowed, s)
			}
		}
		scopes = req.Scopes
	}
	now := t.now()
	life := t.LifetimeOrDefault()
	out := Issued{ExpiresIn: life, Scopes: scopes, MID: sc.MID}
	issue := func(kind string, expires time.Time) (string, error) {
		v, err := t.newValue()
		if err != nil {
			return "", err
		}
		err = t.Store.InsertToken(ctx, store.IssuedToken{Hash: HashToken(v), Kind: kind, ClientID: sc.ID,
			AccountID: sc.AccountID, Scopes: scopes, Created: now, Expires: expires}, now)
		if err != nil {
			return "", fmt.Errorf("auth: issue %s token: %w", kind, err)
		}
		return v, nil
	}
	var err error
	if out.AccessToken, err = issue(store.TokenAccess, now.Add(life+TokenGrace)); err != nil {
		return Issued{}, err
	}
	if req.Legacy {
		if out.LegacyToken, err = issue(store.TokenLegacy, now.Add(life+TokenGrace)); err != nil {
			return Issued{}, err
		}
	}
	if req.Refresh {
		if out.RefreshToken, err = issue(store.TokenRefresh, now.Add(RefreshTokenLifetime)); err != nil {
			return Issued{}, err
		}
	}
	return out, nil
}

// UseRefreshToken spends a refresh token of the client c logged in as:
// ErrRefreshInvalid when it is unknown, used, expired or another
// client's. Issue then hands out the new tokens.
func (t *Tokens) UseRefreshToken(ctx context.Context, c *ClientSecret, value string) error {
	if value == "" || len(value) > MaxTokenLength {
		return ErrRefreshInvalid
	}
	h := HashToken(value)
	tok, _, _, err := t.Store.TokenWithClient(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return ErrRefreshInvalid
	}
	if err != nil {
		return fmt.Errorf("auth: refresh token: %w", err)
	}
	if tok.Kind != store.TokenRefresh || tok.ClientID != c.client.ID || !t.now().Before(tok.Expires) {
		return ErrRefreshInvalid
	}
	err = t.Store.ConsumeToken(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return ErrRefreshInvalid // a racing refresh spent it first
	}
	if err != nil {
		return fmt.Errorf("auth: refresh token: %w", err)
	}
	return nil
}

// BearerToken is an access or legacy token presented with a SOAP call, a
// Credential for Authenticator.Authenticate. Once verified it names the
// client the token was issued to, so that the request log records which
// installed package made a call, and never the token.
type BearerToken struct {
	Value    string
	tokens   *Tokens
	clientID string // set by verify
}

// Bearer returns the credential of a presented token value.
func (t *Tokens) Bearer(value string) *BearerToken { return &BearerToken{Value: value, tokens: t} }

// Subject is empty: a token names no account until it is looked up, so
// the throttle charges unknown tokens to their source only.
func (*BearerToken) Subject() string { return "" }

// credentialName names the token's client, never the token.
func (b *BearerToken) credentialName() (kind, name string) { return KindClient, b.clientID }

func (b *BearerToken) verify(ctx context.Context, _ *Authenticator) (store.Account, error) {
	if b.Value == "" || len(b.Value) > MaxTokenLength {
		return store.Account{}, errTokenMalformed
	}
	tok, client, acct, err := b.tokens.Store.TokenWithClient(ctx, HashToken(b.Value))
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, errTokenUnknown
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("auth: token: %w", err)
	}
	switch {
	case tok.Kind != store.TokenAccess && tok.Kind != store.TokenLegacy:
		return store.Account{}, errTokenUnknown // a refresh token is no access token
	case !client.RevokedAt.IsZero():
		return store.Account{}, errTokenRevoked
	case acct.ID == 0 || acct.Disabled:
		return store.Account{}, ErrDisabled
	case !b.tokens.now().Before(tok.Expires):
		return store.Account{}, ErrTokenExpired
	}
	b.clientID = client.ID
	acct.ClientID = client.MID
	return acct, nil
}

// ClientRecord is the store row CreateClient would write for a client
// whose id and secret the caller chose (a fixture's, a test's): the
// secret hashed as a created client's is, scopes as CreateClient takes
// them (nil: DefaultClientScopes), mid 0 replaced by accountMID.
func ClientRecord(accountID, mid int64, id, secret string, scopes []string, created time.Time) (store.TokenClient, error) {
	if id == "" || secret == "" || len(id) > MaxTokenLength || len(secret) > MaxTokenLength {
		return store.TokenClient{}, errors.New("auth: client record: an id and a secret are needed")
	}
	if scopes == nil {
		scopes = DefaultClientScopes
	}
	scopes, err := ParseScopes(strings.Join(scopes, " "))
	if err != nil {
		return store.TokenClient{}, err
	}
	return store.TokenClient{ID: id, AccountID: accountID, MID: mid, Scopes: scopes,
		SecretHash: hashClientSecret(id, secret), Created: created}, nil
}
