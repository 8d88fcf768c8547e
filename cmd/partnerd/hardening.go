package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/partnerd/partnerd/server"
)

// hardeningFlags are serve's limits, timeouts and TLS settings.
type hardeningFlags struct {
	maxInFlight   int
	accountRate   float64
	accountBurst  int
	loginFailures int
	loginWindow   time.Duration
	// Issue 10: bytes in flight, answer write rate, account-wide login
	// failures, hashing concurrency.
	maxInFlightBytes     int64
	minWriteRate         int64
	loginAccountFailures int
	maxHashing           int

	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration

	tlsCert       string
	tlsKey        string
	tlsSelfSigned bool
}

func (h *hardeningFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&h.maxInFlight, "max-inflight", envInt("PARTNERD_MAX_INFLIGHT", 256), "most SOAP requests served at once; more are answered at once with a Server fault (Code 17, HTTP 503); 0 for no limit (env PARTNERD_MAX_INFLIGHT)")
	fs.Float64Var(&h.accountRate, "account-rate", envFloat("PARTNERD_ACCOUNT_RATE", 0), "requests per second per account, after a burst of --account-burst; more are answered with a Server fault (Code 17, HTTP 500, Retry-After); 0 for no limit (env PARTNERD_ACCOUNT_RATE)")
	fs.IntVar(&h.accountBurst, "account-burst", envInt("PARTNERD_ACCOUNT_BURST", 0), "requests an account may make at once before --account-rate applies; 0 means the rate rounded up (env PARTNERD_ACCOUNT_BURST)")
	fs.IntVar(&h.loginFailures, "login-failures", envInt("PARTNERD_LOGIN_FAILURES", 10), "failed logins per (source address, account) and per source address within --login-window before further attempts from it get the Login failed fault (HTTP 500, Retry-After) without a password check; 0 for no throttling (env PARTNERD_LOGIN_FAILURES)")
	fs.DurationVar(&h.loginWindow, "login-window", envDuration("PARTNERD_LOGIN_WINDOW", 5*time.Minute), "the window of --login-failures (env PARTNERD_LOGIN_WINDOW)")
	fs.Int64Var(&h.maxInFlightBytes, "max-inflight-bytes", int64(envInt("PARTNERD_MAX_INFLIGHT_BYTES", 64<<20)), "most request body bytes held at once by the SOAP requests being served; more are answered at once with a Server fault (Code 17, HTTP 503); a request alone is always admitted; 0 for no limit (env PARTNERD_MAX_INFLIGHT_BYTES)")
	fs.Int64Var(&h.minWriteRate, "min-write-rate", int64(envInt("PARTNERD_MIN_WRITE_RATE", 64<<10)), "bytes per second a client must read its answer at: an answer may take 5s plus its size at this rate to write, then the connection is closed; 0 for only --write-timeout (env PARTNERD_MIN_WRITE_RATE)")
	fs.IntVar(&h.loginAccountFailures, "login-account-failures", envInt("PARTNERD_LOGIN_ACCOUNT_FAILURES", 0), "failed logins per account from all sources within --login-window before its password is checked at most once per window/--login-failures for sources that have not logged in to it lately; 0 means 5 x --login-failures (env PARTNERD_LOGIN_ACCOUNT_FAILURES)")
	fs.IntVar(&h.maxHashing, "max-hashing", envInt("PARTNERD_MAX_HASHING", max(1, runtime.NumCPU()/2)), "most password hashes computed at once, for logins not already verified; more wait up to 2s, then get the Login failed fault with Retry-After; 0 for no limit (env PARTNERD_MAX_HASHING)")
	fs.DurationVar(&h.readHeaderTimeout, "read-header-timeout", envDuration("PARTNERD_READ_HEADER_TIMEOUT", 10*time.Second), "time allowed to send request headers (slowloris) (env PARTNERD_READ_HEADER_TIMEOUT)")
	fs.DurationVar(&h.readTimeout, "read-timeout", envDuration("PARTNERD_READ_TIMEOUT", 60*time.Second), "time allowed to send a whole request, body included (env PARTNERD_READ_TIMEOUT)")
	fs.DurationVar(&h.writeTimeout, "write-timeout", envDuration("PARTNERD_WRITE_TIMEOUT", 60*time.Second), "time allowed to serve a request and write its response (env PARTNERD_WRITE_TIMEOUT)")
	fs.DurationVar(&h.idleTimeout, "idle-timeout", envDuration("PARTNERD_IDLE_TIMEOUT", 120*time.Second), "how long an idle keep-alive connection is kept (env PARTNERD_IDLE_TIMEOUT)")
	fs.StringVar(&h.tlsCert, "tls-cert", envDefault("PARTNERD_TLS_CERT", ""), "serve HTTPS with this PEM certificate (chain) file; needs --tls-key (env PARTNERD_TLS_CERT)")
	fs.StringVar(&h.tlsKey, "tls-key", envDefault("PARTNERD_TLS_KEY", ""), "the PEM private key of --tls-cert (env PARTNERD_TLS_KEY)")
	fs.BoolVar(&h.tlsSelfSigned, "tls-self-signed", envDefault("PARTNERD_TLS_SELF_SIGNED", "false") == "true", "serve HTTPS with a certificate for 127.0.0.1 and localhost made at start, for development; prints its SHA-256 fingerprint (env PARTNERD_TLS_SELF_SIGNED)")
}

func (h *hardeningFlags) validate() error {
	for name, d := range map[string]time.Duration{"--read-header-timeout": h.readHeaderTimeout, "--read-timeout": h.readTimeout,
		"--write-timeout": h.writeTimeout, "--idle-timeout": h.idleTimeout, "--login-window": h.loginWindow} {
		if d < 0 {
			return fmt.Errorf("%s must not be negative", name)
		}
	}
	if h.maxInFlight < 0 || h.accountRate < 0 || h.accountBurst < 0 || h.loginFailures < 0 {
		return fmt.Errorf("--max-inflight, --account-rate, --account-burst and --login-failures must not be negative")
	}
	if h.maxInFlightBytes < 0 || h.minWriteRate < 0 || h.loginAccountFailures < 0 || h.maxHashing < 0 {
		return fmt.Errorf("--max-inflight-bytes, --min-write-rate, --login-account-failures and --max-hashing must not be negative")
	}
	if (h.tlsCert == "") != (h.tlsKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if h.tlsSelfSigned && h.tlsCert != "" {
		return fmt.Errorf("--tls-self-signed and --tls-cert exclude each other")
	}
	return nil
}

func (h *hardeningFlags) limits() server.Limits {
	burst := h.accountBurst
	if burst == 0 {
		burst = max(1, int(h.accountRate+0.999))
	}
	return server.Limits{MaxInFlight: h.maxInFlight, AccountRate: h.accountRate, AccountBurst: burst,
		LoginFailures: h.loginFailures, LoginWindow: h.loginWindow,
		MaxInFlightBytes: h.maxInFlightBytes, MinWriteRate: h.minWriteRate,
		LoginAccountFailures: h.loginAccountFailures, MaxHashing: h.maxHashing}
}

// applyTimeouts sets the connection timeouts that cut off slow clients: a
// slowloris client trickling its headers is dropped after
// --read-header-timeout, one trickling its body after --read-timeout.
func (h *hardeningFlags) applyTimeouts(srv *http.Server) {
	srv.ReadHeaderTimeout = h.readHeaderTimeout
	srv.ReadTimeout = h.readTimeout
	srv.WriteTimeout = h.writeTimeout
	srv.IdleTimeout = h.idleTimeout
}

func envFloat(name string, def float64) float64 {
	if v := os.Getenv(name); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return def
}
