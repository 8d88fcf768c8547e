package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/partnerd/partnerd/limit"
	"github.com/partnerd/partnerd/metrics"
	"github.com/partnerd/partnerd/soap"
	"github.com/partnerd/partnerd/soap/wsse"
)

// Limits bound what one caller, or all of them, can make the server do. The
// zero value limits nothing.
type Limits struct {
	// MaxInFlight is the most SOAP requests served at once; beyond it a
	// request is answered at once with a Server fault (apifault Code 17,
	// HTTP 503, Retry-After) instead of waiting in a queue.
	MaxInFlight int
	// AccountRate is each account's sustained requests per second after a
	// burst of AccountBurst; beyond it the same fault with HTTP 429.
	AccountRate  float64
	AccountBurst int
	// LoginFailures failed logins per account, and per source address,
	// are allowed within LoginWindow; after them every attempt is refused
	// with the security fault and HTTP 429 until the window lets one more
	// through (one per LoginWindow/LoginFailures).
	LoginFailures int
	LoginWindow   time.Duration
}

// rateLimitedMessage is the real service's text for apifault Code 17
// (reference 0-99).
const rateLimitedMessage = "We noticed an abnormal spike in your call volume so your SOAP Web Service account has been rate limited temporarily."

// remoteKey carries the request's source address to the login guard, which
// only sees a context.
type remoteKey struct{}

func withRemote(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), remoteKey{}, r.RemoteAddr))
}

// sourceKey is the key a source is throttled by: its IP address, or for
// IPv6 its /64, since one client commonly holds a whole /64.
func sourceKey(ctx context.Context) string {
	addr, _ := ctx.Value(remoteKey{}).(string)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
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

// loginGuard throttles failed logins per account and per source, and
// counts failures by reason.
type loginGuard struct {
	accounts *limit.Limiter[string]
	sources  *limit.Limiter[string]
	metrics  *metrics.Metrics
}

var _ soap.LoginGuard = (*loginGuard)(nil)

func newLoginGuard(l Limits, m *metrics.Metrics) *loginGuard {
	return &loginGuard{
		accounts: limit.NewWindowLimiter[string](l.LoginFailures, l.LoginWindow),
		sources:  limit.NewWindowLimiter[string](l.LoginFailures, l.LoginWindow),
		metrics:  m,
	}
}

func accountKey(username string) string { return strings.ToLower(username) }

// Allow refuses, before any password is hashed, an account or source that
// has used up its failures. The answer is the same security fault as any
// failed login, only with HTTP 429 and Retry-After: it says "slow down",
// never whether the account exists.
func (g *loginGuard) Allow(ctx context.Context, username string) error {
	okA, waitA := g.accounts.Check(accountKey(username))
	okS, waitS := g.sources.Check(sourceKey(ctx))
	if okA && okS {
		return nil
	}
	g.metrics.AuthFailure("throttled")
	g.metrics.Rejected("login_throttle")
	which := "account"
	if !okS {
		which = "source " + sourceKey(ctx)
	}
	f := soap.LoginFailed(fmt.Sprintf("login throttled: too many failed logins for the %s", which))
	f.HTTPStatus = http.StatusTooManyRequests
	f.RetryAfter = max(waitA, waitS)
	return f
}

// Done counts a failure and charges it to the account and the source when
// it was a guess: a wrong password, digest or username. Stale or replayed
// tokens are refused before any hashing and are not charged, so a client
// with a skewed clock does not lock its account out.
func (g *loginGuard) Done(ctx context.Context, username string, err error) {
	if err == nil || !errors.Is(err, wsse.ErrLoginFailed) {
		return
	}
	reason := failureReason(err)
	g.metrics.AuthFailure(reason)
	switch reason {
	case "unknown_user", "bad_password", "bad_digest":
		g.accounts.Charge(accountKey(username))
		g.sources.Charge(sourceKey(ctx))
	}
}

// failureReason names a wsse error for the metrics label.
func failureReason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{wsse.ErrUnknownUser, "unknown_user"},
		{wsse.ErrBadPassword, "bad_password"},
		{wsse.ErrBadDigest, "bad_digest"},
		{wsse.ErrDisabled, "disabled"},
		{wsse.ErrReplay, "replay"},
		{wsse.ErrCreatedTooOld, "stale"},
		{wsse.ErrCreatedInFuture, "stale"},
		{wsse.ErrTimestampExpired, "stale"},
		{wsse.ErrTimestampInFuture, "stale"},
		{wsse.ErrDigestIncomplete, "malformed"},
		{wsse.ErrMalformed, "malformed"},
		{wsse.ErrNoToken, "no_token"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

// accountRate is the soap.Handler Admit hook: each account's request rate.
func accountRate(l Limits, m *metrics.Metrics) func(context.Context, soap.Principal) error {
	rate := limit.NewLimiter[int64](l.AccountRate, max(l.AccountBurst, 1))
	if rate == nil {
		return nil
	}
	return func(ctx context.Context, p soap.Principal) error {
		ok, wait := rate.Allow(p.AccountID)
		if ok {
			return nil
		}
		m.Rejected("account_rate")
		return &soap.Fault{Kind: soap.Server, String: rateLimitedMessage, APICode: soap.CodeRateLimited,
			HTTPStatus: http.StatusTooManyRequests, RetryAfter: wait,
			Reason: fmt.Sprintf("account %s over %g requests/s", p.Username, l.AccountRate)}
	}
}

// limitInFlight admits at most in.Max() SOAP POSTs at once and answers the
// rest at once with a Server fault (Code 17, HTTP 503, Retry-After: 1):
// queueing would only turn overload into timeouts for everyone.
func limitInFlight(h *soap.Handler, in *limit.InFlight, m *metrics.Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			h.ServeHTTP(w, r)
			return
		}
		if !in.TryAcquire() {
			m.Rejected("inflight")
			m.ObserveRequest("", "Throttled", 0)
			h.Refuse(w, r, &soap.Fault{Kind: soap.Server, String: "The server is busy: too many requests in flight. Retry later.",
				APICode: soap.CodeRateLimited, HTTPStatus: http.StatusServiceUnavailable, RetryAfter: time.Second})
			return
		}
		defer in.Release()
		h.ServeHTTP(w, r)
	})
}

// observedLog counts each exchange in the metrics and writes one log line
// per request, carrying its request_id, before handing the exchange to the
// request log.
type observedLog struct {
	next    soap.ExchangeLogger
	metrics *metrics.Metrics
	logger  *slog.Logger
}

func (o observedLog) LogExchange(ctx context.Context, x soap.Exchange) {
	outcome := x.Status
	if x.HTTPStatus == http.StatusTooManyRequests || x.HTTPStatus == http.StatusServiceUnavailable {
		outcome = "Throttled"
	}
	o.metrics.ObserveRequest(x.Operation, outcome, x.Duration)
	o.logger.LogAttrs(ctx, slog.LevelInfo, "soap request",
		slog.String("request_id", x.RequestID), slog.String("operation", x.Operation),
		slog.String("user", x.Principal.Username), slog.String("status", x.Status),
		slog.Int("http_status", x.HTTPStatus), slog.Duration("duration", x.Duration),
		slog.String("remote", x.Remote))
	o.next.LogExchange(ctx, x)
}
