package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/partnerd/partnerd/api/admin"
	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/delivery"
	"github.com/partnerd/partnerd/dispatch"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/ids"
	"github.com/partnerd/partnerd/store"
)

// AppConfig is the whole server: the handler's Config (store, clock,
// sealer, limits, faces …) plus what runs beside it — the dispatcher and its
// delivery, housekeeping, the admin listener — and how it serves HTTP.
type AppConfig struct {
	Config

	// Dispatch configures the dispatcher; its Store, Clock, Policy and
	// Logger are the server's.
	Dispatch DispatchConfig
	// Housekeeping prunes the store (nonces, cursors, the request log)
	// every HousekeepEvery; 0 never does (tests).
	HousekeepEvery time.Duration
	Retention      store.Retention
	// AdminAddr is where the admin face (the manual clock's API) listens
	// when Clock is a *clock.Manual; "" serves no admin face. AdminToken
	// is its bearer token ("": a random one, see App.AdminToken).
	AdminAddr  string
	AdminToken string
	// HTTP sets the public listener's timeouts; nil leaves
	// DefaultHTTPTimeouts. ShutdownGrace bounds how long Run waits for
	// requests in flight once its context ends (0: 10s).
	HTTP          func(*http.Server)
	ShutdownGrace time.Duration
	// DispatchInline: under a manual clock, a send a request makes due
	// is dispatched before that request is answered, rather than by a
	// pass beside it, so that the next request always sees it sent
	// (deterministic mode, partnerdtest). Unset when OnDue is given.
	DispatchInline bool
}

// DispatchConfig is how sends go out.
type DispatchConfig struct {
	Lease     time.Duration
	BatchSize int
	// SMTP, when set, delivers sends as real mail through a relay;
	// otherwise they are captured in the outbox only.
	SMTP *delivery.SMTP
	// TestDelay (testing only) holds each claimed send this long before
	// delivering it, so that crash tests can kill the server between
	// claim and completion.
	TestDelay time.Duration
}

// DefaultHTTPTimeouts are the public listener's timeouts when
// AppConfig.HTTP is nil.
func DefaultHTTPTimeouts(srv *http.Server) {
	srv.ReadHeaderTimeout = 10 * time.Second
	srv.ReadTimeout = 60 * time.Second
	srv.WriteTimeout = 60 * time.Second
	srv.IdleTimeout = 120 * time.Second
}

// AdminTimeouts bound what a client of the admin listener may hold: a
// connection that sends its request slowly, or stays idle, is closed, as on
// the main listener. The write timeout leaves room for a clock move whose
// dispatch pass is long. Tests shorten them.
var AdminTimeouts = struct{ ReadHeader, Read, Write, Idle time.Duration }{
	ReadHeader: 10 * time.Second,
	Read:       30 * time.Second,
	Write:      5 * time.Minute,
	Idle:       2 * time.Minute,
}

// App is the whole server, built by NewApp: the handler with its faces,
// the dispatcher (polling a system clock, or following a manual one), the
// housekeeper and, under a manual clock, the admin listener. They run from
// NewApp until Close; Run serves the public listener.
type App struct {
	cfg        AppConfig
	handler    *Server
	dispatcher *dispatch.Dispatcher
	transport  string
	adminAddr  string
	adminToken string

	cancel    context.CancelFunc
	wg        sync.WaitGroup // dispatcher loop, housekeeper, admin listener
	closeOnce sync.Once
	unlock    func() // gives back the store's instance lock
}

// NewApp builds the server from cfg and starts what runs beside the
// handler. Store, Clock and Sealer are required; the caller opens the
// store and closes it after Run (or Close) has returned.
func NewApp(cfg AppConfig) (*App, error) {
	if cfg.Store == nil || cfg.Clock == nil || cfg.Sealer == nil {
		return nil, errors.New("server: an app needs a store, a clock and a sealer")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	_, isManual := cfg.Clock.(*clock.Manual)
	var unlock func()
	if l, ok := cfg.Store.(store.InstanceLocker); ok {
		// A manual clock is this process's alone: it needs the database
		// to itself, and keeps other servers off it while it runs.
		release, err := l.LockInstance(context.Background(), isManual)
		if errors.Is(err, store.ErrInstanceLocked) {
			if isManual {
				return nil, errors.New("server: another partnerd serve is running on this database: a manual clock (--clock manual) moves only its own process's time, so it needs the database to itself")
			}
			return nil, errors.New("server: a partnerd serve --clock manual is running on this database: it needs the database to itself")
		}
		if err != nil {
			return nil, err
		}
		unlock = release
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &App{cfg: cfg, cancel: cancel, unlock: unlock}
	if logins, ok := cfg.Store.(store.LoginLog); ok && cfg.LoginThrottle == nil {
		// Several processes share this store: failed logins on any of
		// them count on all.
		t := auth.NewSharedThrottle(cfg.Limits.throttleConfig(), logins, cfg.Logger)
		cfg.LoginThrottle = t
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			t.Follow(ctx)
		}()
	}

	dc := dispatch.Config{Store: cfg.Store, Clock: cfg.Clock, Policy: cfg.Policy, Lease: cfg.Dispatch.Lease,
		BatchSize: cfg.Dispatch.BatchSize, Logger: cfg.Logger}
	a.transport = "outbox (capture only; partnerd outbox lists it)"
	if cfg.Dispatch.SMTP != nil {
		dc.Deliverer = cfg.Dispatch.SMTP
		a.transport = "smtp via " + cfg.Dispatch.SMTP.Addr
	}
	if cfg.Dispatch.TestDelay > 0 {
		dc.Deliverer = delayed{next: dc.Deliverer, delay: cfg.Dispatch.TestDelay}
	}
	if cfg.IDs != nil && cfg.IDs.Deterministic() {
		// The dispatcher draws beside the requests: a stream of its
		// own keeps its draws from shifting theirs.
		dc.Owner = "dispatch-" + ids.Hex(cfg.IDs.Fork("dispatch"), 6)
	}
	d := dispatch.New(dc)
	a.dispatcher = d
	due := d.Kick
	manual, _ := cfg.Clock.(*clock.Manual)
	if isManual {
		// Every move of the clock runs what it made due, before the
		// move returns.
		d.Follow(ctx, manual)
		// No Run loop to kick under a manual clock: a pass of its own.
		pass := func() {
			if _, err := d.RunDue(ctx); err != nil && ctx.Err() == nil {
				cfg.Logger.Error("dispatch pass failed", "err", err)
			}
		}
		due = func() { go pass() }
		if cfg.DispatchInline {
			due = pass
		}
	} else {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			d.Run(ctx)
		}()
	}
	if cfg.OnDue == nil {
		cfg.OnDue = due
	}
	a.handler = New(cfg.Config)

	if cfg.HousekeepEvery > 0 {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			Housekeep(ctx, cfg.Store, cfg.Clock, cfg.Logger, cfg.HousekeepEvery, cfg.Retention)
		}()
	}
	if isManual && cfg.AdminAddr != "" {
		a.adminToken = cfg.AdminToken
		if a.adminToken == "" {
			a.adminToken = admin.RandomToken()
			if cfg.IDs != nil && cfg.IDs.Deterministic() {
				// A script can know it from the seed, as every other
				// secret of a deterministic server.
				a.adminToken = ids.Hex(cfg.IDs.Fork("admin"), 16)
			}
		}
		addr, err := a.serveAdmin(ctx, admin.New(a.adminToken, manual, d))
		if err != nil {
			a.Close()
			return nil, err
		}
		a.adminAddr = addr
	}
	return a, nil
}

// Handler is the public listener's handler (every face but admin).
func (a *App) Handler() http.Handler { return a.handler }

// Delivery says how sends go out, for the banner.
func (a *App) Delivery() string { return a.transport }

// AdminAddr is the admin listener's address, "" when there is none.
func (a *App) AdminAddr() string { return a.adminAddr }

// ConsoleToken is the console's operator token (AppConfig.ConsoleToken,
// or the random one made when it was "").
func (a *App) ConsoleToken() string { return a.handler.ConsoleToken() }

// AdminToken is the admin face's bearer token, "" when there is none.
// A deterministic server without a configured token derives it from its
// seed.
func (a *App) AdminToken() string { return a.adminToken }

// Run serves ln until ctx ends, then shuts down gracefully: the listener
// stops taking requests and those in flight finish (within
// ShutdownGrace), the dispatcher finishes its pass, and the request log
// is drained. Under a manual clock it first runs one dispatch pass, so
// that sends due at the starting time (and those a crash left Sending) go
// out without waiting for a move.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	defer a.Close()
	if _, ok := a.cfg.Clock.(*clock.Manual); ok {
		if _, err := a.dispatcher.RunDue(ctx); err != nil {
			a.cfg.Logger.Error("dispatch pass failed", "err", err)
		}
	}
	srv := &http.Server{Handler: a.handler, ErrorLog: slog.NewLogLogger(a.cfg.Logger.Handler(), slog.LevelWarn)}
	DefaultHTTPTimeouts(srv)
	if a.cfg.HTTP != nil {
		a.cfg.HTTP(srv)
	}
	srv.RegisterOnShutdown(a.handler.EndStreams)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.cfg.Logger.Info("shutting down: finishing in-flight requests")
	grace := a.cfg.ShutdownGrace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// Close stops the dispatcher (after its pass), the housekeeper and the
// admin listener, and waits until every exchange handed to the request log
// is stored. Call it once the public listener has shut down (Run does);
// later calls do nothing.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		a.cancel()
		a.wg.Wait()
		a.handler.Close()
		if a.unlock != nil {
			a.unlock()
		}
	})
}

// serveAdmin serves the admin face on cfg.AdminAddr until ctx ends, with
// its own request IDs, access log and metrics but no in-flight limit.
func (a *App) serveAdmin(ctx context.Context, f Face) (string, error) {
	ln, err := net.Listen("tcp", a.cfg.AdminAddr)
	if err != nil {
		return "", fmt.Errorf("admin listener: %w", err)
	}
	srv := &http.Server{Handler: a.handler.Apart(f),
		ReadHeaderTimeout: AdminTimeouts.ReadHeader,
		ReadTimeout:       AdminTimeouts.Read,
		WriteTimeout:      AdminTimeouts.Write,
		IdleTimeout:       AdminTimeouts.Idle,
		ErrorLog:          slog.NewLogLogger(a.cfg.Logger.Handler(), slog.LevelWarn)}
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	go func() {
		defer a.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.cfg.Logger.Error("admin listener", "err", err)
		}
	}()
	return ln.Addr().String(), nil
}

// Housekeep prunes the store every interval through its one entry point,
// store.Store.Prune: expired nonces and Retrieve cursors (every Retrieve
// with more rows than a page saves one, and nothing else deletes them),
// issued tokens expired longer than keep.ExpiredTokenAge, and the exchanges the request log is not to keep: at a few KB per
// exchange, a log kept forever would grow by gigabytes an hour under load.
// The byte budget bounds the log whatever its entries' sizes (the count
// alone allowed 100,000 × 4 MiB); the server's log writer also prunes to
// it between rounds. It returns when ctx ends.
func Housekeep(ctx context.Context, st store.Store, clk clock.Clock, logger *slog.Logger, every time.Duration, keep store.Retention) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pruneOnce(ctx, st, clk.Now(), logger, keep)
		}
	}
}

func pruneOnce(ctx context.Context, st store.Store, now time.Time, logger *slog.Logger, keep store.Retention) {
	p, err := st.Prune(ctx, now, keep)
	if err != nil && ctx.Err() == nil {
		logger.Warn("prune", "err", err)
	}
	if p.Cursors > 0 {
		logger.Debug("pruned expired cursors", "cursors", p.Cursors)
	}
	if p.Tokens > 0 {
		logger.Debug("pruned expired tokens", "tokens", p.Tokens)
	}
	if p.Requests > 0 {
		logger.Info("pruned request log", "entries", p.Requests, "max_age", keep.MaxAge, "max_entries", keep.MaxEntries, "max_bytes", keep.MaxBytes)
	}
}

// delayed holds each send before delivering it (DispatchConfig.TestDelay).
type delayed struct {
	next  dispatch.Deliverer
	delay time.Duration
}

func (d delayed) Deliver(ctx context.Context, s *store.ClaimedSend, e *store.OutboxEntry) error {
	select {
	case <-time.After(d.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	if d.next == nil {
		return nil
	}
	return d.next.Deliver(ctx, s, e)
}

func (d delayed) External() bool {
	x, ok := d.next.(dispatch.External)
	return ok && x.External()
}
