package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"time"

	"github.com/partnerd/partnerd/api/sendgrid"
	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/api/soap/wsse"
	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/ids"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/server"
	"github.com/partnerd/partnerd/store"
)

type serveConfig struct {
	storeFlags
	addr          string
	clockMode     string
	cancelCutoff  time.Duration
	heldLimit     int
	sendGridRate  int
	maxBody       int64
	tokenMaxAge   time.Duration
	tokenSkew     time.Duration
	logFormat     string
	demoAccount   bool
	shutdownGrace time.Duration
	logMaxAge     time.Duration
	logMaxEntries int
	logMaxBytes   byteSize
	hardening     hardeningFlags
	dispatch      dispatchFlags
	cpuProfile    string
	determinism   deterministicFlags
	tokenLife     time.Duration
	publicURL     string
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	c.storeFlags.register(fs)
	fs.StringVar(&c.addr, "addr", envDefault("PARTNERD_ADDR", "127.0.0.1:8080"), "listen address (env PARTNERD_ADDR)")
	fs.StringVar(&c.clockMode, "clock", envDefault("PARTNERD_CLOCK", "system"), "clock: system, or manual (starts at real time and moves only when told) (env PARTNERD_CLOCK)")
	fs.DurationVar(&c.cancelCutoff, "cancel-cutoff", envDuration("PARTNERD_CANCEL_CUTOFF", lifecycle.DefaultPolicy.CancelCutoff), "cancel and pause are refused this close to a send's SendDate (env PARTNERD_CANCEL_CUTOFF)")
	fs.DurationVar(&c.logMaxAge, "request-log-max-age", envDuration("PARTNERD_REQUEST_LOG_MAX_AGE", 7*24*time.Hour), "forget logged exchanges older than this; 0 keeps them (env PARTNERD_REQUEST_LOG_MAX_AGE)")
	fs.IntVar(&c.logMaxEntries, "request-log-max-entries", envInt("PARTNERD_REQUEST_LOG_MAX_ENTRIES", 100_000), "keep at most this many logged exchanges, the newest; 0 for no limit (env PARTNERD_REQUEST_LOG_MAX_ENTRIES)")
	c.logMaxBytes = envByteSize("PARTNERD_REQUEST_LOG_MAX_BYTES", defaultRequestLogMaxBytes)
	fs.Var(&c.logMaxBytes, "request-log-max-bytes", "keep at most this much of the request log, the newest exchanges, as stored (bytes, or with KiB, MiB, GiB); 0 for no limit (env PARTNERD_REQUEST_LOG_MAX_BYTES)")
	fs.IntVar(&c.heldLimit, "held-limit", envInt("PARTNERD_HELD_LIMIT", lifecycle.DefaultPolicy.HeldLimit), "most batches per account paused or pending cancellation at once (a SOAP send is a batch of its own; SendGrid's live pages say 10); 0 for no limit (env PARTNERD_HELD_LIMIT)")
	fs.IntVar(&c.sendGridRate, "sendgrid-rate", envInt("PARTNERD_SENDGRID_RATE", sendgrid.DefaultRateLimit), "requests per minute per API key on the SendGrid v3 face (X-RateLimit-Limit); beyond it 429; every answer carries the X-RateLimit headers, so there is always a limit: raise it for load tests (env PARTNERD_SENDGRID_RATE)")
	fs.Int64Var(&c.maxBody, "max-body", int64(envInt("PARTNERD_MAX_BODY", soap.DefaultMaxBodyBytes)), "largest request body in bytes (env PARTNERD_MAX_BODY)")
	fs.DurationVar(&c.tokenMaxAge, "token-max-age", envDuration("PARTNERD_TOKEN_MAX_AGE", wsse.DefaultMaxAge), "oldest accepted UsernameToken wsu:Created (env PARTNERD_TOKEN_MAX_AGE)")
	fs.DurationVar(&c.tokenSkew, "token-future-skew", envDuration("PARTNERD_TOKEN_FUTURE_SKEW", wsse.DefaultMaxFutureSkew), "how far in the future a wsu:Created may be (env PARTNERD_TOKEN_FUTURE_SKEW)")
	fs.StringVar(&c.logFormat, "log-format", envDefault("PARTNERD_LOG_FORMAT", "text"), "log format: text or json (env PARTNERD_LOG_FORMAT)")
	fs.BoolVar(&c.demoAccount, "demo-account", envDefault("PARTNERD_DEMO_ACCOUNT", "true") == "true", "create a demo account when the store has no account (env PARTNERD_DEMO_ACCOUNT)")
	fs.DurationVar(&c.shutdownGrace, "shutdown-grace", 10*time.Second, "how long in-flight requests may take to finish on shutdown")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof reads it)")
	fs.DurationVar(&c.tokenLife, "token-lifetime", envDuration("PARTNERD_TOKEN_LIFETIME", auth.DefaultTokenLifetime), "expires_in of the access tokens /v2/token and /v1/requestToken issue (accepted 2 minutes longer) (env PARTNERD_TOKEN_LIFETIME)")
	fs.StringVar(&c.publicURL, "public-url", envDefault("PARTNERD_PUBLIC_URL", ""), "this server's URL as clients reach it (behind a proxy), for the instance URLs of the token answers; default: the scheme, host and port of each request (env PARTNERD_PUBLIC_URL)")
	c.hardening.register(fs)
	c.dispatch.register(fs)
	c.determinism.register(fs)
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) (retErr error) {
	var cfg serveConfig
	fs := newFlagSet("serve", stderr)
	cfg.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.hardening.validate(); err != nil {
		return err
	}

	if cfg.cpuProfile != "" {
		stopProfile, err := startCPUProfile(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}

	logOut := newLogWriter(stderr)
	defer logOut.Close()
	var logger *slog.Logger
	switch cfg.logFormat {
	case "json":
		logger = slog.New(slog.NewJSONHandler(logOut, nil))
	case "text":
		logger = slog.New(slog.NewTextHandler(logOut, nil))
	default:
		return fmt.Errorf("--log-format must be text or json, not %q", cfg.logFormat)
	}

	idSource, clockStart, err := cfg.determinism.resolve(fs, &cfg.clockMode)
	if err != nil {
		return err
	}
	var clk clock.Clock
	switch cfg.clockMode {
	case "system":
		clk = clock.System{}
	case "manual":
		clk = clock.NewManual(clockStart)
	default:
		return fmt.Errorf("--clock must be system or manual, not %q", cfg.clockMode)
	}
	if cfg.sendGridRate < 1 {
		return fmt.Errorf("--sendgrid-rate must be at least 1 (requests per minute per API key)")
	}
	if cfg.cancelCutoff < 0 {
		return fmt.Errorf("--cancel-cutoff must not be negative")
	}
	if cfg.tokenLife < time.Second {
		return fmt.Errorf("--token-lifetime must be at least 1s")
	}
	if u, err := url.Parse(cfg.publicURL); cfg.publicURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "") {
		return fmt.Errorf("--public-url must be an absolute http or https URL without query, not %q", cfg.publicURL)
	}

	// The serve lock refuses a second server on the same file: each
	// keeps the nonces it accepted in memory, so two would accept each
	// other's replays. The other commands open the store without it.
	db, err := cfg.open(ctx, store.Serving())
	if err != nil {
		return err
	}
	defer func() {
		// A Close that could not write what it owed (nonces accepted
		// while writes failed) fails the run loudly: a restart would
		// accept those nonces again.
		if err := db.Close(); err != nil {
			logger.Error("closing the store", "err", err)
			if retErr == nil {
				retErr = err
			}
		}
	}()
	sealer, err := cfg.sealer()
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	ln, scheme, tlsNote, err := cfg.hardening.listen(ln)
	if err != nil {
		return err
	}
	base := scheme + "://" + ln.Addr().String()

	if cfg.demoAccount {
		if err := ensureDemoAccount(ctx, db, sealer, idSource, stdout); err != nil {
			return err
		}
	}

	if cfg.logMaxAge < 0 || cfg.logMaxEntries < 0 {
		return fmt.Errorf("--request-log-max-age and --request-log-max-entries must not be negative")
	}
	adminToken := ""
	if cfg.clockMode == "manual" {
		adminToken = os.Getenv("PARTNERD_ADMIN_TOKEN")
	}
	app, err := server.NewApp(server.AppConfig{
		Config: server.Config{
			Store: db, Clock: clk, Sealer: sealer, Logger: logger, Version: version,
			Policy:          lifecycle.Policy{CancelCutoff: cfg.cancelCutoff, HeldLimit: cfg.heldLimit, PauseExpiry: cfg.dispatch.pauseExpiry},
			MaxBody:         cfg.maxBody,
			TokenMaxAge:     cfg.tokenMaxAge,
			TokenFutureSkew: cfg.tokenSkew,
			Limits:          cfg.hardening.limits(),
			SendGridRate:    cfg.sendGridRate,
			TokenLifetime:   cfg.tokenLife,
			PublicURL:       cfg.publicURL,
			AsyncRequestLog: true,
			// The log writer prunes to this as it goes, between the
			// housekeeper's rounds.
			RequestLogMaxBytes: int64(cfg.logMaxBytes),
			IDs:                idSource,
			ConsoleToken:       os.Getenv("PARTNERD_CONSOLE_TOKEN"),
		},
		Dispatch:       cfg.dispatch.config(),
		HousekeepEvery: time.Minute,
		Retention:      store.Retention{MaxAge: cfg.logMaxAge, MaxEntries: cfg.logMaxEntries, MaxBytes: int64(cfg.logMaxBytes), ExpiredTokenAge: auth.ExpiredTokenKept},
		AdminAddr:      cfg.dispatch.adminAddr,
		AdminToken:     adminToken,
		HTTP:           cfg.hardening.applyTimeouts,
		ShutdownGrace:  cfg.shutdownGrace,
		// A deterministic server's answers must not depend on whether
		// a pass beside the requests has finished.
		DispatchInline: idSource != nil,
	})
	if err != nil {
		ln.Close()
		return err
	}
	if app.AdminAddr() != "" {
		fmt.Fprintf(stdout, "  admin (manual clock): http://%s/admin/clock  Authorization: Bearer %s\n", app.AdminAddr(), app.AdminToken())
	}
	fmt.Fprintf(stdout, "  delivery:      %s\n", app.Delivery())
	if b := cfg.determinism.banner(clk); b != "" {
		fmt.Fprintln(stdout, b)
	}
	fmt.Fprintf(stdout, "partnerd %s listening on %s\n", version, base)
	fmt.Fprintf(stdout, "  SOAP endpoint: %s/Service.asmx\n", base)
	fmt.Fprintf(stdout, "  WSDL:          %s/Service.asmx?wsdl\n", base)
	fmt.Fprintf(stdout, "  SendGrid v3:   %s/v3/ (keys: partnerd apikey create; OpenAPI: %s/v3/openapi.json)\n", base, base)
	fmt.Fprintf(stdout, "  token:         %s/v2/token (clients: partnerd client add)\n", base)
	if os.Getenv("PARTNERD_CONSOLE_TOKEN") != "" {
		fmt.Fprintf(stdout, "  console:       %s/console/ (operator token: PARTNERD_CONSOLE_TOKEN)\n", base)
	} else {
		fmt.Fprintf(stdout, "  console:       %s/console/ (operator token: %s)\n", base, app.ConsoleToken())
	}
	if tlsNote != "" {
		fmt.Fprintln(stdout, tlsNote)
	}
	// The store line is the banner's last: tests wait for it.
	fmt.Fprintf(stdout, "  store:         %s (clock: %s)\n", cfg.db, cfg.clockMode)

	// Run returns once requests in flight are answered, the dispatcher's
	// pass is done and the request log is drained: the store closes
	// (deferred above) after all of them.
	err = app.Run(ctx, ln)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// ensureDemoAccount creates the account "demo" with a random password when
// the store has no account at all, and prints the credentials once.
func ensureDemoAccount(ctx context.Context, st store.Store, sealer *credential.Sealer, src ids.Source, stdout io.Writer) error {
	accts, err := st.ListAccounts(ctx)
	if err != nil {
		return err
	}
	if len(accts) > 0 {
		return nil
	}
	pw := make([]byte, 12)
	// A deterministic server's demo password is its seed's, so that a
	// test script knows it.
	ids.OrRandom(src).Fork("demo").Read(pw)
	password := base64.RawURLEncoding.EncodeToString(pw)
	a, err := newAccount("demo", password, 10000001, sealer)
	if err != nil {
		return err
	}
	if err := st.CreateAccount(ctx, &a); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil
		}
		return err
	}
	fmt.Fprintf(stdout, "created demo account: username %q password %q (client ID %d); shown only now\n", a.Username, password, a.ClientID)
	return nil
}

// startCPUProfile profiles the process into path until the returned
// function is called: the evidence for where a server's time goes, taken
// from the real server under real load.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
