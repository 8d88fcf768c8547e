// Package partnerdtest runs a whole partnerd inside a Go test: every face
// (SOAP Partner API, SendGrid v3) on a random loopback port, over a
// temporary store, under a manual clock the test moves, with a test account
// whose password, API key and token client are ready:
//
//	srv := partnerdtest.New(t)
//	resp, err := http.Post(srv.SOAPURL, "text/xml; charset=utf-8", envelope)
//	…
//	srv.Advance(3 * time.Hour) // sends now due go out before it returns
//	out := srv.Outbox()
//
// The server is the one `partnerd serve` runs (server.NewApp), so a client
// tested against it meets the same envelopes, faults and HTTP behaviour.
// It is stopped, and its store removed, when the test ends.
package partnerdtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/ids"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/server"
	"github.com/partnerd/partnerd/store"
)

// Server is a running partnerd. Its fields are set by New and must not be
// changed.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:PORT" (the SendGrid face is
	// URL+"/v3/…").
	URL string
	// SOAPURL is the SOAP endpoint, URL+"/Service.asmx" (its WSDL is
	// SOAPURL+"?wsdl").
	SOAPURL string
	// Account is the test account, its credentials ready to use.
	Account Account
	// Store is the server's store, for what the helpers below do not
	// show.
	Store store.Store

	t         testing.TB // nil for Start's server
	clock     *clock.Manual
	ids       ids.Source
	stop      func() error
	release   func() error
	closeOnce sync.Once
}

// Account is the test account and its credentials.
type Account struct {
	ID       int64 // the store's ID
	ClientID int64 // the MID a SOAP client sees
	Username string
	// Password works as PasswordText and, the server knowing it in the
	// clear, as PasswordDigest.
	Password string
	// APIKey is a full-access SendGrid key: "Authorization: Bearer "+APIKey.
	APIKey string
	// TokenClientID and TokenClientSecret are an installed package's
	// credentials, as `partnerd client add` makes them (the account's MID,
	// the default scopes): what a Marketing Cloud SDK trades at
	// URL+"/v2/token" (or "/v1/requestToken") for an access token it
	// then sends in a SOAP fueloauth header.
	TokenClientID     string
	TokenClientSecret string
}

// DefaultAccount is the test account New makes unless WithAccount says
// otherwise.
var DefaultAccount = Account{Username: "partnerdtest", Password: "partnerdtest-password", ClientID: 7000001}

// Option changes what New starts.
type Option func(*config)

type config struct {
	start   time.Time
	seed    *uint64
	policy  lifecycle.Policy
	account Account
	logger  *slog.Logger
}

// WithStart sets where the manual clock starts (default: now, to the
// second, so that clients that stamp WS-Security tokens with the real time
// are accepted).
func WithStart(t time.Time) Option { return func(c *config) { c.start = t.UTC() } }

// WithSeed makes the server deterministic (as `serve --deterministic
// --seed N`): IDs and the API key's value are derived from seed, so that
// with WithStart the same requests get byte-identical answers every run.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = &seed } }

// WithPolicy sets the send lifecycle's rules (cancel cutoff, held limit,
// pause expiry); default lifecycle.DefaultPolicy.
func WithPolicy(p lifecycle.Policy) Option { return func(c *config) { c.policy = p } }

// WithAccount names the test account and its password (and client ID,
// when not 0).
func WithAccount(username, password string, clientID int64) Option {
	return func(c *config) {
		c.account.Username, c.account.Password = username, password
		if clientID != 0 {
			c.account.ClientID = clientID
		}
	}
}

// WithLogger receives the server's log (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// credentialSetups give the test account its credentials once it exists,
// in order; each fills in its part of Server.Account. A new kind of
// credential a face accepts is one more step here, so that every test
// server has it ready.
var credentialSetups = []func(ctx context.Context, s *Server) error{addAPIKey, addTokenClient}

// addAPIKey gives the account a full-access SendGrid key, as `partnerd
// apikey create` does.
func addAPIKey(ctx context.Context, s *Server) error {
	keys := &auth.Keys{Store: s.Store, Clock: s.clock, Rand: s.ids.Fork("partnerdtest/apikey")}
	_, token, err := keys.Create(ctx, s.Account.ID, "partnerdtest", nil)
	s.Account.APIKey = token
	return err
}

// addTokenClient gives the account a token client, as `partnerd client
// add` does.
func addTokenClient(ctx context.Context, s *Server) error {
	tokens := &auth.Tokens{Store: s.Store, Clock: s.clock, Rand: s.ids.Fork("partnerdtest/tokenclient")}
	c, secret, err := tokens.CreateClient(ctx, s.Account.ID, 0, nil)
	s.Account.TokenClientID, s.Account.TokenClientSecret = c.ID, secret
	return err
}

// New starts a server for t, on the store PARTNERD_TEST_STORE picks (see
// internal/testrig: SQLite in t's temp dir by default), and stops it when t
// ends. It fails t when the server cannot start.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := start(t, testrig.OpenStore(t), nil, opts)
	if err != nil {
		t.Fatalf("partnerdtest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("partnerdtest: %v", err)
		}
	})
	return s
}

// Start is New outside a test (examples, a TestMain that shares one
// server): a server over a SQLite store in a temporary directory, which
// Close stops and removes. Its helpers panic on a store error.
func Start(opts ...Option) (*Server, error) {
	dir, err := os.MkdirTemp("", "partnerdtest-")
	if err != nil {
		return nil, err
	}
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "store.db"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s, err := start(nil, st, func() error { return errors.Join(st.Close(), os.RemoveAll(dir)) }, opts)
	if err != nil {
		st.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// start builds the account and the server over st; release, when set,
// runs once the server has stopped.
func start(t testing.TB, st store.Store, release func() error, opts []Option) (*Server, error) {
	c := config{start: time.Now().UTC().Truncate(time.Second), policy: lifecycle.DefaultPolicy,
		account: DefaultAccount, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(&c)
	}
	src := ids.Random()
	if c.seed != nil {
		src = ids.Seeded(*c.seed)
	}
	s := &Server{t: t, clock: clock.NewManual(c.start), ids: src, Store: st, Account: c.account, release: release}

	key := make([]byte, 32)
	rand.Read(key)
	sealer, err := credential.NewSealer(key)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	hash, err := credential.Hash(c.account.Password)
	if err != nil {
		return nil, err
	}
	a := store.Account{Username: c.account.Username, ClientID: c.account.ClientID, PasswordHash: hash, PasswordSealed: sealer.Seal(c.account.Password)}
	if err := st.CreateAccount(ctx, &a); err != nil {
		return nil, fmt.Errorf("account %q: %w", c.account.Username, err)
	}
	s.Account.ID = a.ID
	for _, setup := range credentialSetups {
		if err := setup(ctx, s); err != nil {
			return nil, fmt.Errorf("credentials of %q: %w", c.account.Username, err)
		}
	}

	app, err := server.NewApp(server.AppConfig{Config: server.Config{
		Store: st, Clock: s.clock, Sealer: sealer, Logger: c.logger, Policy: c.policy,
		Version: "partnerdtest", IDs: src,
	}, DispatchInline: true})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		app.Close()
		return nil, err
	}
	s.URL = "http://" + ln.Addr().String()
	s.SOAPURL = s.URL + "/Service.asmx"
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx, ln) }()
	s.stop = func() error {
		stop()
		err := <-done
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		return err
	}
	return s, nil
}

// Close stops the server: requests in flight finish, the dispatcher's
// pass ends, the request log is written. New's server is closed when its
// test ends; later calls do nothing.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		err = s.stop()
		if s.release != nil {
			err = errors.Join(err, s.release())
		}
	})
	return err
}

// fail reports a store error of a helper: it fails the test, or panics
// outside one (Start).
func (s *Server) fail(what string, err error) {
	if s.t != nil {
		s.t.Helper()
		s.t.Fatalf("partnerdtest: %s: %v", what, err)
	}
	panic(fmt.Sprintf("partnerdtest: %s: %v", what, err))
}

// Now is the server's clock.
func (s *Server) Now() time.Time { return s.clock.Now() }

// Advance moves the server's clock forward by d and returns the new time.
// The sends it makes due are dispatched (to the outbox, or Expired,
// Canceled …) before it returns.
func (s *Server) Advance(d time.Duration) time.Time { return s.clock.Advance(d) }

// Sends are the test account's sends, by ID.
func (s *Server) Sends() []store.Send {
	var sends []store.Send
	err := s.Store.View(context.Background(), func(tx store.Tx) error {
		var err error
		sends, err = tx.FindSends(context.Background(), s.Account.ID, store.SendQuery{})
		return err
	})
	if err != nil {
		s.fail("sends", err)
	}
	return sends
}

// Outbox is what went out for the test account, oldest first.
func (s *Server) Outbox() []store.OutboxEntry {
	out, err := s.Store.Outbox(context.Background(), store.OutboxQuery{AccountID: s.Account.ID})
	if err != nil {
		s.fail("outbox", err)
	}
	slices.Reverse(out)
	return out
}

// Exchanges are the requests the server has logged, every face's, oldest
// first, secrets masked as `partnerd requests` shows them. An exchange is
// logged before its answer is sent, so it is here once the client has the
// answer.
func (s *Server) Exchanges() []store.RequestLog {
	const all = 1 << 30
	es, err := s.Store.RecentRequests(context.Background(), all)
	if err != nil {
		s.fail("exchanges", err)
	}
	slices.Reverse(es)
	return es
}
