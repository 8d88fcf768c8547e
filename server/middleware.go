package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
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
	// MaxInFlightBytes bounds the request bodies held at once: a request
	// reserves its Content-Length before it is read (a chunked body
	// reserves as it grows), and one that does not fit is refused like
	// MaxInFlight. A request alone is always admitted, whatever its size.
	MaxInFlightBytes int64
	// MinWriteRate, in bytes per second, bounds the time an answer may
	// take to write: writeGrace plus its size at this rate, after which
	// the connection is closed. The request's in-flight slot and bytes
	// are released before the answer is written either way.
	MinWriteRate int64
	// AccountRate is each account's sustained requests per second after a
	// burst of AccountBurst; beyond it the same fault (Code 17) over HTTP
	// 500, with Retry-After.
	AccountRate  float64
	AccountBurst int
	// LoginFailures failed logins per (source, account) pair, and per
	// source, are allowed within LoginWindow; after them that pair (or
	// source) gets the "Login failed" fault, without a password check,
	// until the window lets one more through (one per
	// LoginWindow/LoginFailures). A source that logged in to the account
	// successfully within the last day is exempt from the per-source
	// limit and the account-wide one.
	LoginFailures int
	LoginWindow   time.Duration
	// LoginAccountFailures failed logins per account, from all sources,
	// within LoginWindow put the account under attack: then sources with
	// no recent success on it get their passwords checked at most once per
	// LoginWindow/LoginFailures for the whole account (the others get the
	// "Login failed" fault with Retry-After). 0 means 5 × LoginFailures.
	LoginAccountFailures int
	// MaxHashing is the most password hashes (PBKDF2, for logins the
	// verified-credential cache cannot answer) computed at once; more
	// wait briefly, then get the "Login failed" fault with Retry-After.
	// 0: no bound.
	MaxHashing int
}

// writeGrace is the time every answer may take to write, whatever its size
// (see Limits.MinWriteRate). A variable for tests.
var writeGrace = 5 * time.Second

// Bounds of the hashing queue (Limits.MaxHashing): a guess flood queues at
// most hashWaiters requests, each for at most hashMaxWait.
const (
	hashWaiters = 64
	hashMaxWait = 2 * time.Second
)

// knownSourceTTL is how long a successful login exempts its (source,
// account) pair from the per-source and account-wide login limits.
const knownSourceTTL = 24 * time.Hour

// rateLimitedMessage is the real service's text for apifault Code 17
// (reference 0-99).
const rateLimitedMessage = "We noticed an abnormal spike in your call volume so your SOAP Web Service account has been rate limited temporarily."

// reqState is what the limits learn about one SOAP request, carried in its
// context: the source address (the login guard sees only a context), and
// whether a limit refused it, which observedLog counts as Throttled. The
// outcome is a field rather than read off the HTTP status, since a
// throttled login and the account rate's fault go over the same 500 as any
// other fault.
type reqState struct {
	remote    string
	throttled atomic.Bool
}

type stateKey struct{}

func withState(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), stateKey{}, &reqState{remote: r.RemoteAddr}))
}

func stateOf(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// markThrottled records that a limit refused the request.
func markThrottled(ctx context.Context) {
	if st := stateOf(ctx); st != nil {
		st.throttled.Store(true)
	}
}

// sourceKey is the key a source is throttled by: its IP address, or for
// IPv6 its /64, since one client commonly holds a whole /64.
func sourceKey(ctx context.Context) string {
	var addr string
	if st := stateOf(ctx); st != nil {
		addr = st.remote
	}
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

// loginGuard throttles failed logins and counts failures by reason.
//
// The scheme keeps an attacker's failures from locking the owner out: a
// wrong guess is charged to its (source, account) pair, to its source and
// to the account. The pair and source limits refuse only the guesser's own
// address. The account-wide count never refuses outright: above its
// threshold the account is "under attack", and attempts from sources
// without a recent success on it are admitted at a bounded rate (one per
// LoginWindow/LoginFailures for the whole account) — which is what bounds
// distributed guessing — while a source that logged in to the account
// successfully within knownSourceTTL is never held back by other sources'
// failures. Throttled attempts cost no hashing and are answered with the
// same "Login failed" fault as any failure, over HTTP 500 with
// Retry-After.
type loginGuard struct {
	pairs    *limit.Limiter[string] // source + account: failures
	sources  *limit.Limiter[string] // source, all accounts: failures
	accounts *limit.Limiter[string] // account, all sources: failures
	attacked *limit.Limiter[string] // account under attack: admitted attempts from unknown sources
	known    *limit.Recent[string]  // source + account pairs that logged in lately
	metrics  *metrics.Metrics
}

var _ soap.LoginGuard = (*loginGuard)(nil)

func newLoginGuard(l Limits, m *metrics.Metrics) *loginGuard {
	g := &loginGuard{metrics: m}
	if l.LoginFailures <= 0 || l.LoginWindow <= 0 {
		return g // nil limiters allow everything
	}
	accountFailures := l.LoginAccountFailures
	if accountFailures <= 0 {
		accountFailures = 5 * l.LoginFailures
	}
	g.pairs = limit.NewWindowLimiter[string](l.LoginFailures, l.LoginWindow)
	g.sources = limit.NewWindowLimiter[string](l.LoginFailures, l.LoginWindow)
	g.accounts = limit.NewWindowLimiter[string](accountFailures, l.LoginWindow)
	g.attacked = limit.NewLimiter[string](float64(l.LoginFailures)/l.LoginWindow.Seconds(), 1)
	g.known = limit.NewRecent[string](knownSourceTTL)
	return g
}

func accountKey(username string) string { return strings.ToLower(username) }

// pairKey is the (source, account) key; the NUL cannot occur in either.
func pairKey(source, account string) string { return source + "\x00" + account }

// Allow refuses, before any password is hashed, an attempt its pair or
// source has used up the failures of, or one from a source with no success
// history on an account under attack beyond that account's admitted rate.
// The answer is the same security fault as any failed login, over HTTP 500
// (where SOAP clients read faults) with Retry-After: it says "slow down",
// never whether the account exists.
func (g *loginGuard) Allow(ctx context.Context, username string) error {
	acct, src := accountKey(username), sourceKey(ctx)
	pair := pairKey(src, acct)
	if ok, wait := g.pairs.Check(pair); !ok {
		return g.throttle(ctx, "too many failed logins for the account from source "+src, wait)
	}
	if g.known.Has(pair) {
		// It logged in to this account lately: only its own failures
		// (the pair limit) may hold it back.
		return nil
	}
	if ok, wait := g.sources.Check(src); !ok {
		return g.throttle(ctx, "too many failed logins from source "+src, wait)
	}
	if ok, _ := g.accounts.Check(acct); !ok {
		if ok, wait := g.attacked.Allow(acct); !ok {
			return g.throttle(ctx, "account under attack: password checks from sources without a recent login are rate-limited", wait)
		}
	}
	return nil
}

func (g *loginGuard) throttle(ctx context.Context, reason string, wait time.Duration) error {
	g.metrics.AuthFailure("throttled")
	g.metrics.Rejected("login_throttle")
	markThrottled(ctx)
	f := soap.LoginFailed("login throttled: " + reason)
	f.RetryAfter = wait
	return f
}

// Done counts a failure and charges it when it was a guess: a wrong
// password, digest or username. Stale or replayed tokens are refused
// before any hashing and are not charged, so a client with a skewed clock
// does not lock its account out; neither is a check refused for lack of
// hashing capacity. A success marks the pair as known.
func (g *loginGuard) Done(ctx context.Context, username string, err error) {
	if err == nil {
		g.known.Add(pairKey(sourceKey(ctx), accountKey(username)))
		return
	}
	if !errors.Is(err, wsse.ErrLoginFailed) {
		return
	}
	reason := failureReason(err)
	g.metrics.AuthFailure(reason)
	switch reason {
	case "unknown_user", "bad_password", "bad_digest":
		acct, src := accountKey(username), sourceKey(ctx)
		g.pairs.Charge(pairKey(src, acct))
		g.sources.Charge(src)
		g.accounts.Charge(acct)
	case "busy":
		g.metrics.Rejected("hashing")
		markThrottled(ctx)
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
		{wsse.ErrBusy, "busy"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

// accountRate is the soap.Handler Admit hook: each account's request rate.
// Its fault goes over HTTP 500, like every SOAP fault (SOAP 1.1 §6.2, WS-I
// BP R1126): WCF and Axis read a fault only from a 500.
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
		markThrottled(ctx)
		return &soap.Fault{Kind: soap.Server, String: rateLimitedMessage, APICode: soap.CodeRateLimited,
			RetryAfter: wait, Reason: fmt.Sprintf("account %s over %g requests/s", p.Username, l.AccountRate)}
	}
}

// overload is the answer to a request refused because the server holds too
// much already: a Server fault (Code 17) over HTTP 503 with Retry-After.
// Unlike the per-account faults this is transport-level overload, which
// load balancers and HTTP clients understand as "try again shortly".
func overload(what string) *soap.Fault {
	return &soap.Fault{Kind: soap.Server, String: "The server is busy: too many " + what + " in flight. Retry later.",
		APICode: soap.CodeRateLimited, HTTPStatus: http.StatusServiceUnavailable, RetryAfter: time.Second}
}

// inFlight bounds what the SOAP requests being served hold at once.
type inFlight struct {
	count   *limit.InFlight
	bytes   *limit.Bytes
	maxBody int64 // the handler's body limit, the most a request reserves
	// minWriteRate bounds the time an answer may take to write (see
	// Limits.MinWriteRate); 0: only the server's WriteTimeout applies.
	minWriteRate int64
}

// limitInFlight admits at most l.count.Max() SOAP POSTs, holding at most
// l.bytes.Max() bytes of request bodies, at once, and answers the rest at
// once with overload: queueing would only turn overload into timeouts for
// everyone.
//
// A request holds its slot and bytes until its answer is computed, not
// until it is written: a client that stops reading its answers would
// otherwise pin slots for the whole write timeout. The write itself is
// bounded by a deadline proportional to the answer's size.
func limitInFlight(h *soap.Handler, l inFlight, m *metrics.Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			h.ServeHTTP(w, r)
			return
		}
		refuse := func(what, label string) {
			// The body is drained, not held (up to the largest legal
			// one), so that the client reads the fault instead of a
			// connection reset while it is still sending.
			if r.ContentLength <= l.maxBody {
				io.CopyN(io.Discard, r.Body, l.maxBody)
			}
			m.Rejected(label)
			m.ObserveRequest("", "Throttled", 0)
			h.Refuse(w, r, overload(what))
		}
		if !l.count.TryAcquire() {
			refuse("requests", "inflight")
			return
		}
		// A declared body over the limit is refused by the handler
		// unread, so it reserves nothing; a chunked one reserves as it
		// grows (budgetReader).
		var reserve int64
		if r.ContentLength > 0 && r.ContentLength <= l.maxBody {
			reserve = r.ContentLength
		}
		if !l.bytes.TryReserve(0, reserve) {
			l.count.Release()
			refuse("request bytes", "inflight_bytes")
			return
		}
		t := &ticket{count: l.count, bytes: l.bytes, held: reserve}
		defer t.release()
		if r.ContentLength < 0 {
			r.Body = &budgetReader{ReadCloser: r.Body, t: t, ctx: r.Context(), m: m}
		}
		h.ServeHTTP(&releasingWriter{ResponseWriter: w, t: t, minRate: l.minWriteRate}, r)
	})
}

// ticket is one admitted request's slot and bytes, released exactly once.
type ticket struct {
	count *limit.InFlight
	bytes *limit.Bytes

	mu       sync.Mutex
	held     int64
	released bool
}

func (t *ticket) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.released {
		return
	}
	t.released = true
	t.count.Release()
	t.bytes.Release(t.held)
	t.held = 0
}

// cover reserves until the ticket holds at least n bytes, in steps of
// budgetStep; false when the budget has no room. Once released (the answer
// is out and the server discards the rest of the body) it reserves
// nothing more.
func (t *ticket) cover(n int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for !t.released && t.held < n {
		if !t.bytes.TryReserve(t.held, budgetStep) {
			return false
		}
		t.held += budgetStep
	}
	return true
}

// budgetStep is how much a chunked body reserves at a time.
const budgetStep = 64 << 10

// budgetReader charges a body of unknown length to the byte budget as it
// is read; when the budget has no room, reading fails with the overload
// fault, which the handler answers as it is.
type budgetReader struct {
	io.ReadCloser
	t    *ticket
	ctx  context.Context
	m    *metrics.Metrics
	read int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if !b.t.cover(b.read) {
		b.m.Rejected("inflight_bytes")
		markThrottled(b.ctx)
		return n, overload("request bytes")
	}
	return n, err
}

// releasingWriter releases its request's ticket when the answer starts
// (the answer is computed by then), and bounds the answer's write with a
// deadline proportional to its size.
type releasingWriter struct {
	http.ResponseWriter
	t           *ticket
	minRate     int64
	deadlineSet bool
}

func (w *releasingWriter) WriteHeader(code int) {
	w.t.release()
	w.ResponseWriter.WriteHeader(code)
}

func (w *releasingWriter) Write(p []byte) (int, error) {
	w.t.release()
	if w.minRate > 0 && !w.deadlineSet {
		// The handler writes its answer in one piece, so p is its size.
		w.deadlineSet = true
		d := writeGrace + time.Duration(float64(len(p))/float64(w.minRate)*float64(time.Second))
		// ErrNotSupported (a recorder in tests) leaves the server's
		// WriteTimeout alone in charge.
		_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(time.Now().Add(d))
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *releasingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

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
	if st := stateOf(ctx); st != nil && st.throttled.Load() {
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
