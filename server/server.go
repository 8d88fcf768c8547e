// Package server mounts partnerd's faces — SOAP (endpoint, WSDL, fault
// schema), SendGrid v3 (/v3/), ops (health checks, metrics), admin (the
// manual clock, on a listener of its own) and whatever Config.Faces adds —
// on one ServeMux,
// behind middleware they share: request IDs, the in-flight limit, access
// log, exchange log and metrics by face, operation and outcome. App builds
// the whole server (store, dispatcher, housekeeping, handler) from one
// config; cmd/partnerd, the golden and end-to-end tests and the benchmarks
// build it through App or New.
package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/google/uuid"
	"github.com/partnerd/partnerd/api/admin"
	"github.com/partnerd/partnerd/api/console"
	"github.com/partnerd/partnerd/api/fuelauth"
	"github.com/partnerd/partnerd/api/partnerapi"
	"github.com/partnerd/partnerd/api/sendgrid"
	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/api/soap/wsse"
	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/ids"
	"github.com/partnerd/partnerd/internal/limit"
	"github.com/partnerd/partnerd/internal/metrics"
	"github.com/partnerd/partnerd/internal/reqinfo"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// Config is what New needs. Store, Clock and Sealer are required.
type Config struct {
	Store           store.Store
	Clock           clock.Clock
	Sealer          *credential.Sealer
	Logger          *slog.Logger
	Policy          lifecycle.Policy
	MaxBody         int64
	TokenMaxAge     time.Duration
	TokenFutureSkew time.Duration
	// Version is reported by VersionInfo.
	Version string
	// Limits bound in-flight requests, account request rates and failed
	// logins; the zero value limits nothing.
	Limits Limits
	// LoginThrottle, when set, replaces the in-process throttle built
	// from Limits (NewApp sets one that shares its counts when the store
	// is a store.LoginLog).
	LoginThrottle auth.LoginThrottle
	// Metrics receives the server's metrics, served at /metrics; nil
	// makes a fresh set. One Metrics serves one New.
	Metrics *metrics.Metrics
	// AsyncRequestLog writes the request log from a background writer
	// instead of before the handler returns, so that a keep-alive
	// connection's next request does not wait for the log's commit.
	// Close drains it.
	AsyncRequestLog bool
	// OnDue, when set, is called after a request commits a send that is due
	// now, so that the dispatcher need not wait for its next poll.
	OnDue func()
	// RequestLogMaxBytes, when positive, is the request log's budget in
	// bytes: the log writer prunes the oldest exchanges whenever it has
	// written a sixteenth of it since it last did, so that a burst cannot
	// overshoot it by much between the housekeeper's prunes.
	RequestLogMaxBytes int64
	// SendGridRate is each API key's requests per minute on the SendGrid
	// v3 face (X-RateLimit-Limit); 0 means sendgrid.DefaultRateLimit.
	SendGridRate int
	// Faces are mounted beside SOAP's, SendGrid's and ops'.
	Faces []Face
	// IDs is where every ID and generated secret comes from: RequestIDs,
	// ObjectIDs, batch and message IDs, API-key values (nil: random).
	// A deterministic source (ids.Seeded) also puts the SendGrid rate
	// limiter and the Date header on Clock, so that the same requests
	// get byte-identical answers every run; /readyz and the
	// partnerd_deterministic gauge say so.
	IDs ids.Source
	// TokenLifetime is the expires_in of the access tokens the token
	// endpoints issue (0: auth.DefaultTokenLifetime); PublicURL, when set,
	// is the base of the instance URLs they name (behind a proxy).
	TokenLifetime time.Duration
	PublicURL     string
	// ConsoleToken signs the operator in to the console (/console/); ""
	// makes a random one (Server.ConsoleToken).
	ConsoleToken string
}

// Server is partnerd's HTTP handler: every face mounted on one ServeMux
// behind the shared middleware. Close it after the http.Server has shut
// down, so that the request log is complete.
type Server struct {
	handler      http.Handler
	consoleToken string
	log          *asyncLog // nil when the log is written synchronously
	mw           *middleware
	console      *console.Face
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close waits until every exchange handed to the request log is stored.
func (s *Server) Close() {
	if s.log != nil {
		s.log.close()
	}
}

// New builds the handler: the SOAP face (endpoint, WSDL, fault schema), the
// ops face (health checks, metrics) and d.Faces, on one ServeMux behind the
// shared middleware.
func New(d Config) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	d.IDs = ids.OrRandom(d.IDs)
	m := d.Metrics
	if m == nil {
		m = metrics.New()
	}
	m.GaugeFunc("partnerd_deterministic", "1 when IDs, secrets and timestamps repeat from run to run (serve --deterministic), else 0.", func() float64 {
		if d.IDs.Deterministic() {
			return 1
		}
		return 0
	})
	if d.Store != nil {
		m.WatchSends(d.Store) // CountSendsByStatus is part of store.Store
	}
	// Only the operations' store is timed: a wrapper hides the concrete
	// store's other methods from anyone who type-asserts d.Store.
	timed := m.InstrumentStore(d.Store)
	inflight := limit.NewInFlight(d.Limits.MaxInFlight)
	m.GaugeFunc("partnerd_inflight_requests", "Requests being served (those with a body, all faces but ops).", func() float64 { return float64(inflight.Current()) })
	inflightBytes := limit.NewBytes(d.Limits.MaxInFlightBytes)
	m.GaugeFunc("partnerd_inflight_request_bytes", "Request body bytes reserved by the requests being served.", func() float64 { return float64(inflightBytes.Current()) })
	authn := &auth.Authenticator{Store: d.Store, Clock: d.Clock, Sealer: d.Sealer,
		Cache: credential.NewCache(4096), MaxAge: d.TokenMaxAge, MaxFutureSkew: d.TokenFutureSkew,
		Throttle: d.LoginThrottle, OnFailure: authFailed(m)}
	if authn.Throttle == nil {
		authn.Throttle = auth.NewMemoryThrottle(d.Limits.throttleConfig())
	}
	if g := limit.NewGate(d.Limits.MaxHashing, hashWaiters, hashMaxWait); g != nil {
		authn.HashGate = g
	}
	budget := newLogBudget(d.Store, d.Logger, d.RequestLogMaxBytes)
	direct := requestLogger{store: d.Store, logger: d.Logger, budget: budget}
	var exchangeLog soap.ExchangeLogger = direct
	entries := direct.logEntry
	var async *asyncLog
	if d.AsyncRequestLog {
		async = newAsyncLog(d.Store, d.Logger, budget)
		exchangeLog, entries = async, async.logEntry
	}
	// Token clients' tokens (the fuelauth face issues them, SOAP takes
	// them in fueloauth/oAuth headers), checked by the same Authenticator.
	tokens := &auth.Tokens{Store: d.Store, Clock: d.Clock, Lifetime: d.TokenLifetime, Rand: d.IDs}
	h := &soap.Handler{
		Auth:         soap.TokenAuth{Tokens: tokens, Auth: authn, Passwords: soap.UsernameTokenAuth{Auth: authn}},
		Clock:        d.Clock,
		WSDL:         wsdlHandler,
		Log:          observedLog{next: exchangeLog},
		Logger:       d.Logger,
		MaxBodyBytes: d.MaxBody,
		Admit:        accountRate(auth.NewRateLimiter(d.Limits.AccountRate, d.Limits.AccountBurst), m),
		IDs:          d.IDs,
	}
	svc := &partnerapi.Service{Store: timed, Clock: d.Clock, Policy: d.Policy, Version: d.Version, OnDue: d.OnDue, IDs: d.IDs}
	svc.Register(h)

	maxBody := d.MaxBody
	if maxBody <= 0 {
		maxBody = soap.DefaultMaxBodyBytes
	}
	fm := &faceMux{mux: http.NewServeMux(), mw: &middleware{
		inflight: inFlight{count: inflight, bytes: inflightBytes, maxBody: maxBody, minWriteRate: d.Limits.MinWriteRate},
		metrics:  m, logger: d.Logger, exchanges: entries,
		ids: d.IDs, opsIDs: d.IDs.Fork("ops"), clock: d.Clock, dateFromClock: d.IDs.Deterministic(),
	}}
	// Adding a face is one line here (or one entry in d.Faces).
	fm.mount(soapFace{handler: h})
	send := &sending.Service{Store: timed, Clock: d.Clock, Policy: d.Policy, OnDue: d.OnDue, IDs: d.IDs}
	mkt := &marketing.Service{Store: timed, Clock: d.Clock, Sends: send, IDs: d.IDs}
	sg := sendgrid.Config{Batches: send, Sends: send, Clock: d.Clock,
		Marketing: mkt,
		Keys:      &auth.Keys{Store: d.Store, Clock: d.Clock, Rand: d.IDs, OnFailure: func(_ context.Context, reason string) { m.AuthFailure("api_key_" + reason) }},
		RateLimit: d.SendGridRate,
		NewMessageID: func() string {
			u := uuid.MustParse(d.IDs.UUID())
			return base64.RawURLEncoding.EncodeToString(u[:])
		}}
	if d.IDs.Deterministic() {
		// X-RateLimit-Reset and -Remaining follow the server's clock
		// rather than real time: under a manual clock a bucket then
		// refills only when the clock is moved.
		sg.RateNow = d.Clock.Now
	}
	fm.mount(sendgrid.New(sg))
	fm.mount(fuelauth.New(fuelauth.Config{Tokens: tokens, Auth: authn, PublicURL: d.PublicURL}))
	fm.mount(opsFace{store: d.Store, logger: d.Logger, metrics: m.Handler(), ids: d.IDs})
	consoleToken := d.ConsoleToken
	switch {
	case consoleToken != "":
	case d.IDs.Deterministic():
		consoleToken = ids.Hex(d.IDs.Fork("console"), 16)
	default:
		consoleToken = admin.RandomToken()
	}
	cons := console.New(console.Config{Store: d.Store, Auth: authn, Sends: send, Clock: d.Clock, Policy: d.Policy,
		Sealer: d.Sealer, OperatorToken: consoleToken, Logger: d.Logger, Tokens: tokens, Marketing: mkt})
	fm.mount(cons)
	for _, f := range d.Faces {
		fm.mount(f)
	}
	return &Server{log: async, handler: fm, mw: fm.mw, consoleToken: consoleToken, console: cons}
}

// EndStreams ends the console's open event streams, which never go idle:
// register it with the http.Server's RegisterOnShutdown, or Shutdown
// waits for them until its deadline.
func (s *Server) EndStreams() { s.console.EndStreams() }

// ConsoleToken is the console's operator token.
func (s *Server) ConsoleToken() string { return s.consoleToken }

// Apart serves faces on a ServeMux of their own, for a listener of their
// own (the admin face on --admin-addr), behind the same middleware as the
// public faces — request IDs, access log, exchange log, metrics — but for
// the in-flight limit, which is the public listener's.
func (s *Server) Apart(faces ...Face) http.Handler {
	mw := *s.mw
	mw.unlimited = true
	fm := &faceMux{mux: http.NewServeMux(), mw: &mw}
	for _, f := range faces {
		fm.mount(f)
	}
	return fm
}

// requestLogger stores every SOAP exchange with its secrets masked.
type requestLogger struct {
	store  store.Store
	logger *slog.Logger
	budget *logBudget
}

// What the request log keeps of an exchange. An authenticated client's
// bodies are kept up to logBodyMax each: a 100-Definition Perform with its
// answer is ~85 KB, so only the largest Retrieve pages are cut, and the log
// never holds a 4 MiB body whole. A request that never authenticated (no
// token, a failed login, a body that does not parse, 413 …) costs anyone
// nothing to send, so it keeps only logExcerptMax of each body: enough for
// the XML declaration, the Envelope and a WS-Security header (~1–1.5 KB in
// the clients' envelopes of api/soap/wsse/testdata) and so for debugging a
// failed login, and an unauthenticated flood costs ~1 KB of store per
// request however large its bodies. Detail (a fault's reason) can quote a
// client's header, so it is bounded too.
const (
	logBodyMax    = 256 << 10
	logExcerptMax = 2 << 10
	logDetailMax  = 1 << 10
)

// toRequestLog is how an exchange is stored: secrets masked, bodies bounded
// (see logBodyMax), a body that cannot be read as UTF-8 XML described
// instead of kept.
func toRequestLog(x soap.Exchange) store.RequestLog {
	// A principal is only ever set after the envelope parsed: the body
	// is then known to be well-formed UTF-8 XML, which the fast masker
	// handles exactly. Anything else is read again, at most
	// logExcerptMax of it.
	authenticated := x.Principal != (soap.Principal{})
	limit := logExcerptMax
	if authenticated {
		limit = logBodyMax
	}
	kept := wsse.ForLog(x.Request, limit, authenticated)
	response, responseCut := cutUTF8(x.Response, limit)
	e := store.RequestLog{
		RequestID: x.RequestID, AccountID: x.Principal.AccountID, Username: x.Principal.Username,
		CredentialKind: x.Principal.CredentialKind, Credential: x.Principal.Credential,
		Operation: x.Operation, Status: x.Status, HTTPStatus: x.HTTPStatus, Detail: boundText(x.Reason, logDetailMax),
		Remote: x.Remote, Request: frozenString(kept.Body), Response: frozenString(response),
		ReceivedAt: x.Received.UTC(), Duration: x.Duration,
		RequestSize: x.RequestSize, ResponseSize: int64(len(x.Response)),
		RequestNote: bodyNote(kept.Why, kept.Cut && len(kept.Body) > 0, limit, len(x.Request), authenticated),
	}
	if responseCut {
		e.ResponseNote = bodyNote("", true, limit, len(x.Response), authenticated)
	}
	if !authenticated {
		// A fault's text can quote the request unawares (a parser naming
		// the entity an unescaped '&' in a password starts): whatever the
		// request's secrets hold is taken out of what is said about it.
		e.Detail = wsse.Redact(e.Detail, x.Request)
		e.Response = wsse.Redact(e.Response, x.Request)
	}
	return e
}

// bodyNote says why a stored body is not the whole body: what ForLog
// said, and where it was cut (when anything was kept).
func bodyNote(why string, cut bool, limit, size int, authenticated bool) string {
	if !cut {
		return why
	}
	note := fmt.Sprintf("cut at %d of %d bytes", limit, size)
	if !authenticated {
		note += " (not authenticated: the log keeps the first " + strconv.Itoa(limit) + " bytes)"
	}
	if why != "" {
		note = why + "; " + note
	}
	return note
}

// cutUTF8 returns at most the first n bytes of b, not ending inside a UTF-8
// sequence, and whether it cut anything.
func cutUTF8(b []byte, n int) ([]byte, bool) {
	if len(b) <= n {
		return b, false
	}
	for j := n - 1; j >= 0 && j >= n-utf8.UTFMax; j-- {
		if utf8.RuneStart(b[j]) {
			if !utf8.FullRune(b[j:n]) {
				n = j
			}
			break
		}
	}
	return b[:n], true
}

// boundText returns s, cut to at most n bytes (and a mark) if longer.
func boundText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	b, _ := cutUTF8([]byte(s[:n+utf8.UTFMax]), n)
	return string(b) + "… (cut)"
}

// frozenString views b as a string without copying it. Only for bytes that
// nothing writes to again: the masked copy is new, and an Exchange's
// Response is the answer as written, handed over once the handler is done
// with it. Each exchange's bodies were otherwise copied once more (~2.6 KB
// per cancel) on their way to the log.
func frozenString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (l requestLogger) LogExchange(ctx context.Context, x soap.Exchange) {
	l.logEntry(ctx, stamped(ctx, toRequestLog(x)))
}

// logEntry stores one exchange as the middleware or a face prepared it.
func (l requestLogger) logEntry(ctx context.Context, e store.RequestLog) {
	if err := l.store.LogRequest(ctx, e); err != nil {
		l.logger.Error("request log", "request_id", e.RequestID, "err", err)
		return
	}
	l.budget.logged(ctx, store.RequestLogSize(e))
}

// stamped is e with the face, method and path the server recorded for its
// request: a SOAP exchange handed over without them (a test calling the
// handler directly) came in as a POST to the endpoint.
func stamped(ctx context.Context, e store.RequestLog) store.RequestLog {
	e.Face, e.Method, e.Path = "soap", http.MethodPost, endpointPath
	if in := reqinfo.From(ctx); in != nil {
		e.Face, e.Method, e.Path = in.Face, in.Method, in.Path
	}
	return e
}

// logBudget keeps the request log within its byte budget between the
// housekeeper's prunes: whoever logs an exchange counts what it stored,
// and every budget/logBudgetSlices bytes the log is pruned to the budget
// (by the one who crossed the mark; the others do not wait for it). The
// log then never exceeds the budget by more than a slice and a batch in
// flight: 16 MiB and at most ~8 MiB at the default 256 MiB. Counting bodies
// before compression overestimates what is stored, which only prunes early.
type logBudget struct {
	store   store.Store
	logger  *slog.Logger
	max     int64
	slice   int64
	added   atomic.Int64
	pruning atomic.Bool
}

const logBudgetSlices = 16

// newLogBudget returns nil (no budget) unless max is positive.
func newLogBudget(st store.Store, logger *slog.Logger, maxBytes int64) *logBudget {
	if maxBytes <= 0 {
		return nil
	}
	return &logBudget{store: st, logger: logger, max: maxBytes, slice: max(maxBytes/logBudgetSlices, 1)}
}

// logged counts n bytes stored and prunes when a slice is full.
func (b *logBudget) logged(ctx context.Context, n int64) {
	if b == nil || b.added.Add(n) < b.slice || !b.pruning.CompareAndSwap(false, true) {
		return
	}
	defer b.pruning.Store(false)
	b.added.Store(0)
	if removed, err := b.store.PruneRequestBytes(context.WithoutCancel(ctx), b.max); err != nil {
		b.logger.Warn("prune request log by size", "err", err)
	} else if removed > 0 {
		b.logger.Info("pruned request log to its size budget", "entries", removed, "max_bytes", b.max)
	}
}

// asyncLog stores exchanges from one background writer that takes everything
// queued since its last commit and stores it with one LogRequests call: one
// prepared statement, one savepoint, in whatever group commit is under way,
// instead of a transaction's worth of overhead per exchange.
type asyncLog struct {
	store  store.Store
	logger *slog.Logger
	budget *logBudget
	ch     chan store.RequestLog
	done   chan struct{}
	once   sync.Once

	// queued counts the bytes of the entries queued or being stored;
	// LogExchange waits while it is over maxBytes (asyncLogBytes).
	mu       sync.Mutex
	room     *sync.Cond
	queued   int
	maxBytes int
}

// The queue is bounded by count and by bytes, because an entry can be
// large (a 100-Definition Perform is ~85 KB with its answer): the log's
// memory stays within a few tens of MB, and a full queue slows requests
// instead of growing.
const (
	asyncLogQueue = 512
	asyncLogBatch = 256
	asyncLogBytes = 8 << 20
)

func newAsyncLog(st store.Store, logger *slog.Logger, budget *logBudget) *asyncLog {
	l := &asyncLog{store: st, logger: logger, budget: budget, ch: make(chan store.RequestLog, asyncLogQueue), done: make(chan struct{}), maxBytes: asyncLogBytes}
	l.room = sync.NewCond(&l.mu)
	go l.run()
	return l
}

func entrySize(e *store.RequestLog) int { return len(e.Request) + len(e.Response) + len(e.Detail) }

func (l *asyncLog) run() {
	defer close(l.done)
	batch := make([]store.RequestLog, 0, asyncLogBatch)
	for e := range l.ch {
		batch = append(batch[:0], e)
		taken := entrySize(&e) // what LogExchange counted for them
	drain:
		for len(batch) < asyncLogBatch {
			select {
			case e, ok := <-l.ch:
				if !ok {
					break drain
				}
				batch = append(batch, e)
				taken += entrySize(&e)
			default:
				break drain
			}
		}
		if err := l.store.LogRequests(context.Background(), batch); err != nil {
			l.logger.Error("request log", "entries", len(batch), "first_request_id", batch[0].RequestID, "err", err)
		} else if l.budget != nil {
			var n int64
			for _, e := range batch {
				n += store.RequestLogSize(e)
			}
			// Pruned here, before the next batch, so that the log's
			// overshoot is bounded by what one slice and one batch add.
			l.budget.logged(context.Background(), n)
		}
		clear(batch) // let the bodies go now
		l.mu.Lock()
		l.queued -= taken
		l.room.Broadcast()
		l.mu.Unlock()
	}
}

// LogExchange queues x as it will be stored, masked and bounded, so that
// the queue never holds a whole request body: a request waiting here for
// room has already given back its in-flight slot and bytes, and a body it
// kept alive would be memory no limit counts (a stranger's 4 MiB envelope
// is stored as 2 KiB). When the queue is full (by count or by bytes) it
// waits, so a burst slows down rather than losing log entries or memory.
// One entry larger than the whole budget is still queued, alone.
func (l *asyncLog) LogExchange(ctx context.Context, x soap.Exchange) {
	l.logEntry(ctx, stamped(ctx, toRequestLog(x)))
}

// logEntry queues one exchange as the middleware or a face prepared it
// (masked and bounded), waiting for room as LogExchange does.
func (l *asyncLog) logEntry(_ context.Context, e store.RequestLog) {
	size := entrySize(&e)
	l.mu.Lock()
	for l.queued > 0 && l.queued+size > l.maxBytes {
		l.room.Wait()
	}
	l.queued += size
	l.mu.Unlock()
	l.ch <- e
}

func (l *asyncLog) close() {
	l.once.Do(func() {
		close(l.ch)
		<-l.done
	})
}
