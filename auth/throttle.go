package auth

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/partnerd/partnerd/internal/limit"
)

// LoginThrottle watches logins: it is asked before a credential is checked,
// so that a throttled account or source costs no hashing, and is told how
// each check ended. Implementations must be safe for concurrent use; one
// backed by a store can share its counts between processes.
type LoginThrottle interface {
	// Allow is asked before the credential of subject (the login name a
	// credential presents: a user's username, not its account's, so that
	// guesses at one user never hold back the account's other users),
	// presented from remote (host:port), is checked. It returns nil or a
	// *ThrottledError.
	Allow(ctx context.Context, remote, subject string) error
	// Done is told the outcome: nil on success, an error wrapping
	// ErrLoginFailed and one reason on a failed login, any other error
	// when the store failed. subject is empty when the credential could
	// not be read. Only guesses (IsGuess) may be charged.
	Done(ctx context.Context, remote, subject string, err error)
}

// ThrottleConfig sets the limits of a MemoryThrottle.
type ThrottleConfig struct {
	// Failures failed logins per (source, account) pair, and per source,
	// are allowed within Window; after them that pair (or source) is
	// refused, without a password check, until the window lets one more
	// through (one per Window/Failures). A source that logged in to the
	// account successfully within KnownSourceTTL is exempt from the
	// per-source limit and the account-wide one.
	Failures int
	Window   time.Duration
	// AccountFailures failed logins per account, from all sources, within
	// Window put the account under attack: then sources with no recent
	// success on it get their passwords checked at most once per
	// Window/Failures for the whole account. 0 means 5 × Failures.
	AccountFailures int
	// Now is the time source; nil means time.Now. Tests replace it.
	Now func() time.Time
}

// KnownSourceTTL is how long a successful login exempts its (source,
// account) pair from the per-source and account-wide login limits.
const KnownSourceTTL = 24 * time.Hour

// MemoryThrottle is the in-process LoginThrottle.
//
// The scheme keeps an attacker's failures from locking the owner out: a
// wrong guess is charged to its (source, account) pair, to its source and
// to the account. The pair and source limits refuse only the guesser's own
// address. The account-wide count never refuses outright: above its
// threshold the account is "under attack", and attempts from sources
// without a recent success on it are admitted at a bounded rate (one per
// Window/Failures for the whole account) — which is what bounds
// distributed guessing — while a source that logged in to the account
// successfully within KnownSourceTTL is never held back by other sources'
// failures.
type MemoryThrottle struct {
	pairs    *limit.Limiter[string] // source + account: failures
	sources  *limit.Limiter[string] // source, all accounts: failures
	accounts *limit.Limiter[string] // account, all sources: failures
	attacked *limit.Limiter[string] // account under attack: admitted attempts from unknown sources
	known    *limit.Recent[string]  // source + account pairs that logged in lately
}

var _ LoginThrottle = (*MemoryThrottle)(nil)

// NewMemoryThrottle returns a throttle with the limits of c; with no
// Failures or no Window it allows everything.
func NewMemoryThrottle(c ThrottleConfig) *MemoryThrottle {
	g := &MemoryThrottle{}
	if c.Failures <= 0 || c.Window <= 0 {
		return g // nil limiters allow everything
	}
	accountFailures := c.AccountFailures
	if accountFailures <= 0 {
		accountFailures = 5 * c.Failures
	}
	g.pairs = limit.NewWindowLimiter[string](c.Failures, c.Window)
	g.sources = limit.NewWindowLimiter[string](c.Failures, c.Window)
	g.accounts = limit.NewWindowLimiter[string](accountFailures, c.Window)
	g.attacked = limit.NewLimiter[string](float64(c.Failures)/c.Window.Seconds(), 1)
	g.known = limit.NewRecent[string](KnownSourceTTL)
	g.pairs.Now, g.sources.Now, g.accounts.Now, g.attacked.Now, g.known.Now = c.Now, c.Now, c.Now, c.Now, c.Now
	return g
}

// Allow refuses, before any password is hashed, an attempt its pair or
// source has used up the failures of, or one from a source with no success
// history on an account under attack beyond that account's admitted rate.
func (g *MemoryThrottle) Allow(_ context.Context, remote, subject string) error {
	acct, src := accountKey(subject), SourceKey(remote)
	pair := pairKey(src, acct)
	if ok, wait := g.pairs.Check(pair); !ok {
		return &ThrottledError{"too many failed logins for the account from source " + src, wait}
	}
	if g.known.Has(pair) {
		// It logged in to this account lately: only its own failures
		// (the pair limit) may hold it back.
		return nil
	}
	if ok, wait := g.sources.Check(src); !ok {
		return &ThrottledError{"too many failed logins from source " + src, wait}
	}
	if ok, _ := g.accounts.Check(acct); !ok {
		if ok, wait := g.attacked.Allow(acct); !ok {
			return &ThrottledError{"account under attack: password checks from sources without a recent login are rate-limited", wait}
		}
	}
	return nil
}

// Done charges a failure when it was a guess (IsGuess); a success marks
// the pair as known.
func (g *MemoryThrottle) Done(_ context.Context, remote, subject string, err error) {
	if err == nil {
		g.known.Add(pairKey(SourceKey(remote), accountKey(subject)))
		return
	}
	if !IsGuess(err) {
		return
	}
	acct, src := accountKey(subject), SourceKey(remote)
	g.pairs.Charge(pairKey(src, acct))
	g.sources.Charge(src)
	g.accounts.Charge(acct)
}

func accountKey(username string) string { return strings.ToLower(username) }

// pairKey is the (source, account) key; the NUL cannot occur in either.
func pairKey(source, account string) string { return source + "\x00" + account }

// SourceKey is the key a source is throttled by: the IP address of remote
// (host:port or a bare host), or for IPv6 its /64, since one client
// commonly holds a whole /64.
func SourceKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
