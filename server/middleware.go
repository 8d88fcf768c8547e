package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/limit"
	"github.com/partnerd/partnerd/internal/metrics"
	"github.com/partnerd/partnerd/internal/reqinfo"
)

// Limits bound what one caller, or all of them, can make the server do. The
// zero value limits nothing.
type Limits struct {
	// MaxInFlight is the most requests with a body served at once, all
	// faces but the operational one together; beyond it a request is
	// answered at once with its face's refusal (SOAP: a Server fault,
	// apifault Code 17, HTTP 503, Retry-After; others: 503 with
	// Retry-After) instead of waiting in a queue.
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

// throttleConfig is the login throttle's part of l.
func (l Limits) throttleConfig() auth.ThrottleConfig {
	return auth.ThrottleConfig{Failures: l.LoginFailures, Window: l.LoginWindow, AccountFailures: l.LoginAccountFailures}
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

// markThrottled records that a limit refused the request, which the
// metrics count as Throttled: a throttled login and the account rate's
// fault go over the same 500 as any other fault, so the outcome is a mark
// rather than read off the HTTP status.
func markThrottled(ctx context.Context) { reqinfo.From(ctx).MarkThrottled() }

// authFailed is the auth.Authenticator's OnFailure hook: it counts login
// failures by reason, and marks the request Throttled when a limit refused
// it (the login throttle, or no hashing capacity).
func authFailed(m *metrics.Metrics) func(context.Context, string) {
	return func(ctx context.Context, reason string) {
		m.AuthFailure(reason)
		switch reason {
		case "throttled":
			m.Rejected("login_throttle")
			markThrottled(ctx)
		case "busy":
			m.Rejected("hashing")
			markThrottled(ctx)
		}
	}
}

// accountRate is the soap.Handler Admit hook: each account's request rate
// (rate), refused with the SOAP face's fault for it (soap.AuthFault).
func accountRate(rate auth.RateLimiter, m *metrics.Metrics) func(context.Context, soap.Principal) error {
	if rate == nil {
		return nil
	}
	return func(ctx context.Context, p soap.Principal) error {
		err := rate.Allow(ctx, p)
		if err == nil {
			return nil
		}
		m.Rejected("account_rate")
		markThrottled(ctx)
		return soap.AuthFault(err)
	}
}

// inFlight bounds what the requests being served hold at once, all faces
// together.
type inFlight struct {
	count   *limit.InFlight
	bytes   *limit.Bytes
	maxBody int64 // the handler's body limit, the most a request reserves
	// minWriteRate bounds the time an answer may take to write (see
	// Limits.MinWriteRate); 0: only the server's WriteTimeout applies.
	minWriteRate int64
}

// refusal answers a request turned away by the in-flight limit, in its
// face's language, and makes the error a chunked body's read fails with
// when it outgrows the byte budget.
type refusal struct {
	refuse func(w http.ResponseWriter, r *http.Request, reason string, retryAfter time.Duration)
	err    func(reason string, retryAfter time.Duration) error
}

// plainRefusal is the refusal of a face with none of its own: 503 with
// Retry-After and a line of text (JSON if the client asked for it).
var plainRefusal = refusal{
	refuse: func(w http.ResponseWriter, r *http.Request, reason string, retryAfter time.Duration) {
		w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
		msg := "The server is busy: too many " + reason + " in flight. Retry later."
		if strings.Contains(r.Header.Get("Accept"), "json") || strings.Contains(r.Header.Get("Content-Type"), "json") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"error": msg})
			return
		}
		http.Error(w, msg, http.StatusServiceUnavailable)
	},
	err: func(reason string, _ time.Duration) error {
		return errors.New("the server is busy: too many " + reason + " in flight")
	},
}

// limitInFlight admits at most l.count.Max() requests, holding at most
// l.bytes.Max() bytes of request bodies, at once, and answers the rest at
// once with the face's refusal: queueing would only turn overload into
// timeouts for everyone. Only requests that carry a body are counted
// (POST, PUT, PATCH, DELETE): a GET of the WSDL costs nothing worth
// refusing.
//
// A request holds its slot and bytes until its answer is computed, not
// until it is written: a client that stops reading its answers would
// otherwise pin slots for the whole write timeout. The write itself is
// bounded by a deadline proportional to the answer's size.
func limitInFlight(next http.Handler, no refusal, l inFlight, m *metrics.Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		refuse := func(what, label string) {
			// The body is drained, not held (up to the largest legal
			// one), so that the client reads the refusal instead of a
			// connection reset while it is still sending.
			if r.ContentLength <= l.maxBody {
				io.CopyN(io.Discard, r.Body, l.maxBody)
			}
			m.Rejected(label)
			markThrottled(r.Context())
			no.refuse(w, r, what, overloadRetry)
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
			r.Body = &budgetReader{ReadCloser: r.Body, t: t, ctx: r.Context(), m: m, overload: no.err}
		}
		next.ServeHTTP(&releasingWriter{ResponseWriter: w, t: t, minRate: l.minWriteRate}, r)
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
// is read; when the budget has no room, reading fails with the face's
// overload error, which its handler answers as it is.
type budgetReader struct {
	io.ReadCloser
	t        *ticket
	ctx      context.Context
	m        *metrics.Metrics
	overload func(reason string, retryAfter time.Duration) error
	read     int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if !b.t.cover(b.read) {
		b.m.Rejected("inflight_bytes")
		markThrottled(b.ctx)
		return n, b.overload("request bytes", overloadRetry)
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

// observedLog tells the shared middleware what the SOAP face learned of
// an exchange (its RequestID, operation, account, status) before handing
// it to the request log, which stamps it with the face, method and path.
type observedLog struct {
	next soap.ExchangeLogger
}

func (o observedLog) LogExchange(ctx context.Context, x soap.Exchange) {
	if in := reqinfo.From(ctx); in != nil {
		// The SOAP face echoes its own RequestID: the access log, the
		// metrics' exemplars and the exchange log use the same one.
		// Written here, on the goroutine that serves the request, before
		// the middleware reads it.
		in.ID = x.RequestID
		in.SetOperation(x.Operation)
		in.SetOutcome(x.Status)
		in.SetPrincipal(x.Principal.AccountID, x.Principal.Username)
		in.SetCredential(x.Principal.CredentialKind, x.Principal.Credential)
		in.SetDetail(x.Reason)
		in.MarkLogged()
	}
	o.next.LogExchange(ctx, x)
}
