// Package auth turns the credentials a caller presents into a Principal,
// under the rules every face of partnerd shares: one indistinguishable
// failure for every cause (ErrLoginFailed, with a reason kept for the log
// and the metrics), equal timing for unknown users, a bound on concurrent
// password hashing, throttling that counts only real guesses, and a nonce
// recorded only once the password behind it has been checked.
//
// A face (the SOAP endpoint today; REST and OAuth next) reads a credential
// off its wire, hands it to Authenticator.Authenticate, and maps the
// neutral errors of this package to its own refusals. The login throttle
// and the per-account request rate sit behind interfaces (LoginThrottle,
// RateLimiter) so that a store can later share their state between
// processes; MemoryThrottle and NewRateLimiter keep it in memory.
package auth

import (
	"errors"
	"fmt"
	"time"
)

// Principal is an authenticated caller: the account a request acts for,
// and the credential it logged in with.
type Principal struct {
	AccountID int64
	Username  string // the account's name
	ClientID  int64
	// CredentialKind and Credential name the credential, never its
	// secret: KindUser and the user's username, KindAPIKey and the key's
	// ID, KindClient and the token client's ID (for a token request and
	// for every call made with one of its tokens). The request log, the access log and the metrics record them, so
	// that an operator can tell which of an account's credentials made a
	// request (and rotate or disable that one only).
	CredentialKind string
	Credential     string
}

// Kinds of credential a Principal logged in with.
const (
	KindUser   = "user"
	KindAPIKey = "apikey"
	KindClient = "client"
)

// ErrLoginFailed is wrapped by every authentication failure. A face
// answers all of them with the same refusal ("Login failed" on SOAP): the
// caller must not learn whether the account exists, is disabled, or what
// else was wrong. Errors that do not wrap it come from the store and are
// the server's fault, not the caller's.
var ErrLoginFailed = errors.New("auth: login failed")

// failure is one distinct reason for a failed login, for the log and the
// metrics; it wraps ErrLoginFailed.
type failure struct {
	name   string // metrics label
	reason string
}

func (e *failure) Error() string { return "auth: " + e.reason }
func (e *failure) Unwrap() error { return ErrLoginFailed }

// Reasons a credential could not be read by its face. Each wraps
// ErrLoginFailed.
var (
	// ErrNoCredential: the request carries no credential at all.
	ErrNoCredential error = &failure{"no_token", "no UsernameToken"}
	// ErrMalformed: a credential that does not follow its format or
	// exceeds the size limits.
	ErrMalformed error = &failure{"malformed", "malformed UsernameToken"}
)

// Reasons a credential is refused. Each wraps ErrLoginFailed; a face must
// not tell the caller which one it was.
var (
	ErrUnknownUser       error = &failure{"unknown_user", "unknown username"}
	ErrDisabled          error = &failure{"disabled", "account disabled"}
	ErrUserDisabled      error = &failure{"disabled", "user disabled"}
	ErrBadPassword       error = &failure{"bad_password", "wrong password"}
	ErrBadDigest         error = &failure{"bad_digest", "password digest mismatch"}
	ErrDigestIncomplete  error = &failure{"malformed", "PasswordDigest without Nonce and Created"}
	ErrCreatedTooOld     error = &failure{"stale", "Created too old"}
	ErrCreatedInFuture   error = &failure{"stale", "Created in the future"}
	ErrTimestampExpired  error = &failure{"stale", "Timestamp expired"}
	ErrTimestampInFuture error = &failure{"stale", "Timestamp created in the future"}
	// ErrReplay also wraps store.ErrReplay.
	ErrReplay error = &failure{"replay", "nonce replayed"}
	// ErrBusy: the password could not be checked because too many other
	// checks were under way (HashGate). It is a login failure for the
	// caller, with a hint to come back (RetryAfter), but not a guess: it
	// is never charged to the throttle.
	ErrBusy error = &failure{"busy", "too many password checks at once"}
	// ErrThrottled: the throttle refused the attempt before its password
	// was checked. A *ThrottledError wraps it with the wait.
	ErrThrottled error = &failure{"throttled", "login throttled"}
)

// BusyRetryAfter is the wait suggested with ErrBusy.
const BusyRetryAfter = time.Second

// ThrottledError is a login refused by the LoginThrottle: the same failure
// as any other for the caller ("slow down", never whether the account
// exists), with the time after which an attempt may be admitted.
type ThrottledError struct {
	Why        string // for the log
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string { return "auth: login throttled: " + e.Why }
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// ErrRateLimited is wrapped by a *RateLimitedError. It is not a login
// failure: the caller is authenticated but over its request rate.
var ErrRateLimited = errors.New("auth: request rate exceeded")

// RateLimitedError refuses a request of an account over its rate.
type RateLimitedError struct {
	Username   string
	Rate       float64 // requests per second
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("account %s over %g requests/s", e.Username, e.Rate)
}
func (e *RateLimitedError) Unwrap() error { return ErrRateLimited }

// Reason names the cause of a login failure for metrics labels:
// "unknown_user", "bad_password", "stale", "throttled" …; "" for nil or an
// error that is not a login failure, "other" for a login failure of no
// known reason.
func Reason(err error) string {
	if err == nil || !errors.Is(err, ErrLoginFailed) {
		return ""
	}
	var f *failure
	if errors.As(err, &f) {
		return f.name
	}
	return "other"
}

// IsGuess reports whether err is a failure a throttle must charge: a wrong
// password, digest or username. Stale or replayed credentials are refused
// before any hashing and are not guesses (a client with a skewed clock
// must not lock its account out); neither is a check refused for lack of
// hashing capacity.
func IsGuess(err error) bool {
	switch Reason(err) {
	case "unknown_user", "bad_password", "bad_digest",
		"unknown_token", "unknown_client", "bad_client_secret": // tokenclient.go
		return true
	}
	return false
}

// RetryAfter is the wait a refusal suggests: a throttled login's or a
// rate-limited request's, BusyRetryAfter for ErrBusy; 0 otherwise.
func RetryAfter(err error) time.Duration {
	var t *ThrottledError
	var r *RateLimitedError
	switch {
	case errors.As(err, &t):
		return t.RetryAfter
	case errors.As(err, &r):
		return r.RetryAfter
	case errors.Is(err, ErrBusy):
		return BusyRetryAfter
	}
	return 0
}
