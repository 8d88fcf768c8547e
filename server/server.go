// Package server wires partnerd's HTTP face: the SOAP endpoint with its
// operations, the WSDL and fault schema, and the health checks. cmd/partnerd
// and the end-to-end tests build the same handler through New.
package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/partnerd/partnerd/clock"
	"github.com/partnerd/partnerd/credential"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/limit"
	"github.com/partnerd/partnerd/metrics"
	"github.com/partnerd/partnerd/perform"
	"github.com/partnerd/partnerd/soap"
	"github.com/partnerd/partnerd/soap/wsse"
	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/wsdl"
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
}

// Server is partnerd's HTTP face. Close it after the http.Server has shut
// down, so that the request log is complete.
type Server struct {
	handler http.Handler
	log     *asyncLog // nil when the log is written synchronously
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close waits until every exchange handed to the request log is stored.
func (s *Server) Close() {
	if s.log != nil {
		s.log.close()
	}
}

// New wires the HTTP routes: the SOAP endpoint, the WSDL and its fault
// schema, health checks and metrics.
func New(d Config) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	m := d.Metrics
	if m == nil {
		m = metrics.New()
	}
	if c, ok := d.Store.(metrics.SendCounter); ok {
		m.WatchSends(c)
	}
	// Only the operations' store is timed: a wrapper hides the concrete
	// store's other methods from anyone who type-asserts d.Store.
	timed := m.InstrumentStore(d.Store)
	inflight := limit.NewInFlight(d.Limits.MaxInFlight)
	m.GaugeFunc("partnerd_inflight_requests", "SOAP requests being served.", func() float64 { return float64(inflight.Current()) })
	inflightBytes := limit.NewBytes(d.Limits.MaxInFlightBytes)
	m.GaugeFunc("partnerd_inflight_request_bytes", "Request body bytes reserved by the SOAP requests being served.", func() float64 { return float64(inflightBytes.Current()) })
	verifier := &wsse.Verifier{Store: d.Store, Clock: d.Clock, Sealer: d.Sealer,
		Cache: credential.NewCache(4096), MaxAge: d.TokenMaxAge, MaxFutureSkew: d.TokenFutureSkew}
	if g := limit.NewGate(d.Limits.MaxHashing, hashWaiters, hashMaxWait); g != nil {
		verifier.HashGate = g
	}
	wsdlHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		if !strings.EqualFold(path, "/Service.asmx") {
			path = "/Service.asmx"
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write(wsdl.Document(scheme + "://" + r.Host + path))
	})
	var exchangeLog soap.ExchangeLogger = requestLogger{store: d.Store, logger: d.Logger}
	var async *asyncLog
	if d.AsyncRequestLog {
		async = newAsyncLog(d.Store, d.Logger)
		exchangeLog = async
	}
	h := &soap.Handler{
		Auth:         soap.UsernameTokenAuth{Verifier: verifier, Guard: newLoginGuard(d.Limits, m)},
		Clock:        d.Clock,
		WSDL:         wsdlHandler,
		Log:          observedLog{next: exchangeLog, metrics: m, logger: d.Logger},
		Logger:       d.Logger,
		MaxBodyBytes: d.MaxBody,
		Admit:        accountRate(d.Limits, m),
	}
	svc := &perform.Service{Store: timed, Clock: d.Clock, Policy: d.Policy, Version: d.Version, OnDue: d.OnDue}
	svc.Register(h)

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := d.Store.View(r.Context(), func(store.Tx) error { return nil }); err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		// Ready means writes work too: a store that reads but cannot
		// write (a full disk) would fail every cancel. The cause goes to
		// the log, not to this unauthenticated answer.
		if wr, ok := d.Store.(interface{ WriteReady(context.Context) error }); ok {
			if err := wr.WriteReady(r.Context()); err != nil {
				d.Logger.Warn("not ready: the store's writes fail", "err", err)
				http.Error(w, "store unavailable: writes fail", http.StatusServiceUnavailable)
				return
			}
		}
		io.WriteString(w, "ready\n")
	})
	mux.Handle("/metrics", m.Handler())
	mux.Handle("/etframework.wsdl", wsdlHandler)
	mux.HandleFunc("/ETFrameworkFault.xsd", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write(wsdl.FaultSchema())
	})
	maxBody := d.MaxBody
	if maxBody <= 0 {
		maxBody = soap.DefaultMaxBodyBytes
	}
	endpoint := limitInFlight(h, inFlight{count: inflight, bytes: inflightBytes, maxBody: maxBody, minWriteRate: d.Limits.MinWriteRate}, m)
	return &Server{log: async, handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// IIS paths are case-insensitive and legacy configs spell the
		// endpoint every way: service.asmx, Service.ASMX …
		if strings.EqualFold(r.URL.Path, "/Service.asmx") {
			endpoint.ServeHTTP(w, withState(r))
			return
		}
		mux.ServeHTTP(w, r)
	})}
}

// requestLogger stores every SOAP exchange with its secrets masked.
type requestLogger struct {
	store  store.Store
	logger *slog.Logger
}

// toRequestLog is how an exchange is stored: secrets masked.
func toRequestLog(x soap.Exchange) store.RequestLog {
	return store.RequestLog{
		RequestID: x.RequestID, AccountID: x.Principal.AccountID, Username: x.Principal.Username,
		Operation: x.Operation, Status: x.Status, HTTPStatus: x.HTTPStatus, Detail: x.Reason,
		Remote: x.Remote, Request: frozenString(wsse.MaskSecrets(x.Request)), Response: frozenString(x.Response),
		ReceivedAt: x.Received.UTC(), Duration: x.Duration,
	}
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
	e := toRequestLog(x)
	if err := l.store.LogRequest(ctx, e); err != nil {
		l.logger.Error("request log", "request_id", x.RequestID, "err", err)
	}
}

// asyncLog stores exchanges from one background writer that takes everything
// queued since its last commit and stores it with one LogRequests call: one
// prepared statement, one savepoint, in whatever group commit is under way,
// instead of a transaction's worth of overhead per exchange.
type asyncLog struct {
	store  store.Store
	logger *slog.Logger
	ch     chan soap.Exchange
	done   chan struct{}
	once   sync.Once

	// queued counts the bytes of the exchanges queued or being stored;
	// LogExchange waits while it is over asyncLogBytes.
	mu     sync.Mutex
	room   *sync.Cond
	queued int
}

// The queue is bounded by count and by bytes, because an exchange can be
// large (a 100-Definition Perform is ~85 KB with its answer, and it is
// copied once more to be masked and stored): the log's memory stays within
// a few tens of MB, and a full queue slows requests instead of growing.
const (
	asyncLogQueue = 512
	asyncLogBatch = 256
	asyncLogBytes = 8 << 20
)

func newAsyncLog(st store.Store, logger *slog.Logger) *asyncLog {
	l := &asyncLog{store: st, logger: logger, ch: make(chan soap.Exchange, asyncLogQueue), done: make(chan struct{})}
	l.room = sync.NewCond(&l.mu)
	go l.run()
	return l
}

func exchangeSize(x *soap.Exchange) int { return len(x.Request) + len(x.Response) }

func (l *asyncLog) run() {
	defer close(l.done)
	batch := make([]store.RequestLog, 0, asyncLogBatch)
	for x := range l.ch {
		batch = append(batch[:0], toRequestLog(x))
		taken := exchangeSize(&x) // what LogExchange counted for them
	drain:
		for len(batch) < asyncLogBatch {
			select {
			case x, ok := <-l.ch:
				if !ok {
					break drain
				}
				batch = append(batch, toRequestLog(x))
				taken += exchangeSize(&x)
			default:
				break drain
			}
		}
		if err := l.store.LogRequests(context.Background(), batch); err != nil {
			l.logger.Error("request log", "entries", len(batch), "first_request_id", batch[0].RequestID, "err", err)
		}
		clear(batch) // let the bodies go now
		l.mu.Lock()
		l.queued -= taken
		l.room.Broadcast()
		l.mu.Unlock()
	}
}

// LogExchange queues x; when the queue is full (by count or by bytes) it
// waits, so a burst slows down rather than losing log entries or memory.
// One exchange larger than the whole budget is still queued, alone.
func (l *asyncLog) LogExchange(ctx context.Context, x soap.Exchange) {
	size := exchangeSize(&x)
	l.mu.Lock()
	for l.queued > 0 && l.queued+size > asyncLogBytes {
		l.room.Wait()
	}
	l.queued += size
	l.mu.Unlock()
	l.ch <- x
}

func (l *asyncLog) close() {
	l.once.Do(func() {
		close(l.ch)
		<-l.done
	})
}
