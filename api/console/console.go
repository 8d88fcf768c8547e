// Package console is partnerd's web console, a face mounted at /console/ on
// the main listener: an account signs in with its username and password
// (through package auth, under the same checks and login throttle as SOAP
// logins) and sees only its own sends and exchanges; the operator signs in
// with the operator token and sees every account. It lists every send
// whatever face created it and cancels, pauses and resumes them through
// package sending — the very service the SOAP and SendGrid faces call, so
// that the console adds no rule of its own — and shows the request log:
// both bodies pretty-printed, as curl, and as a golden case.
//
// Pages are rendered on the server from embedded templates; the one
// script and the style sheet are embedded too, so the console works with
// no network. Sessions are random IDs in an HttpOnly, SameSite=Strict
// cookie, kept by the store when it implements store.SessionStore (so any
// server sharing the store serves them); every state-changing request
// carries the session's CSRF token; every answer carries a
// Content-Security-Policy that allows no inline script or style.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/reqinfo"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

//go:embed assets
var assets embed.FS

// Prefix is where the console is mounted.
const Prefix = "/console/"

// CSP is every console answer's Content-Security-Policy: scripts and
// styles from the console's own embedded files only (no 'unsafe-inline'),
// no plug-ins, no framing of the console, forms posted only to itself.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// maxForm bounds a console form or action body: they hold a few short
// fields, so anything larger is refused (413) before it is parsed.
const maxForm = 16 << 10

// Config is what the console needs. Store, Auth, Sends and Clock are
// required.
type Config struct {
	Store store.Store
	// Auth checks account sign-ins: the server's one Authenticator, so
	// the console shares SOAP's throttle, hashing gate and cache.
	Auth   *auth.Authenticator
	Sends  *sending.Service
	Clock  clock.Clock
	Policy lifecycle.Policy
	// Sealer seals a rotated password, as `partnerd account passwd` does
	// (PasswordDigest logins need it in clear).
	Sealer *credential.Sealer
	// Tokens makes and revokes token clients (the server's, so that the
	// IDs and secrets come from its source); nil: one over Store.
	Tokens *auth.Tokens
	// Marketing is the campaigns and Single Sends service the SendGrid
	// face uses; nil: the campaign pages say it is not served.
	Marketing *marketing.Service
	// OperatorToken signs the operator in; "" lets no operator in.
	OperatorToken string
	// EventsPoll is how often an event stream reads the sends it follows
	// (0: a second).
	EventsPoll time.Duration
	// SessionTTL is how long a session lasts (0: 12 hours).
	SessionTTL time.Duration
	Logger     *slog.Logger
}

// Face is the console.
type Face struct {
	cfg      Config
	sessions store.SessionStore
	pages    map[string]*template.Template
	static   http.Handler
	streams  *streams
}

// New returns the console face.
func New(cfg Config) *Face {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	f := &Face{cfg: cfg, pages: parsePages(), streams: newStreams()}
	if ss, ok := cfg.Store.(store.SessionStore); ok {
		f.sessions = ss
	} else {
		f.sessions = newMemorySessions()
	}
	sub, _ := fs.Sub(assets, "assets/static")
	f.static = http.StripPrefix(Prefix+"static/", http.FileServerFS(sub))
	return f
}

// Name implements server.Face.
func (*Face) Name() string { return "console" }

// LogsOwnExchanges keeps the console's own traffic (sign-in forms with
// passwords, CSRF tokens) out of the request log, which is for the API
// faces' exchanges.
func (*Face) LogsOwnExchanges() bool { return true }

// route is one console path: its handlers by method. Methods are
// dispatched here, not by the mux, so that a wrong method gets the
// console's own 405 page with its headers.
type route map[string]http.HandlerFunc

// Mount implements server.Face.
func (f *Face) Mount(mux interface {
	Handle(pattern string, handler http.Handler)
}) {
	routes := map[string]route{
		"/console/":                                       {"GET": f.home},
		"/console/static/":                                {"GET": f.serveStatic},
		"/console/signin":                                 {"GET": f.signInPage, "POST": f.signIn},
		"/console/signout":                                {"POST": f.signedIn(f.signOut)},
		"/console/sends":                                  {"GET": f.signedIn(f.sendsPage)},
		"/console/sends/{account}/{id}/{action}":          {"GET": f.signedIn(f.confirmPage), "POST": f.signedIn(f.act)},
		"/console/exchanges":                              {"GET": f.signedIn(f.exchangesPage)},
		"/console/exchanges/{rid}":                        {"GET": f.signedIn(f.exchangePage)},
		"/console/exchanges/{rid}/golden":                 {"GET": f.signedIn(f.exchangeGolden)},
		"/console/actions":                                {"GET": f.signedIn(f.actionsPage)},
		"/console/account":                                {"GET": f.signedIn(f.accountPage)},
		"/console/account/{account}/password":             {"POST": f.signedIn(f.rotatePassword)},
		"/console/account/{account}/keys":                 {"POST": f.signedIn(f.createKey)},
		"/console/account/{account}/keys/{kid}/revoke":    {"POST": f.signedIn(f.revokeKey)},
		"/console/account/{account}/users":                {"POST": f.signedIn(f.addUser)},
		"/console/account/{account}/users/{uid}/{action}": {"GET": f.signedIn(f.userConfirm), "POST": f.signedIn(f.userAct)},
		"/console/account/{account}/clients":              {"POST": f.signedIn(f.createClient)},
		"/console/account/{account}/clients/{cid}/revoke": {"POST": f.signedIn(f.revokeClient)},
		"/console/account/{account}/flush":                {"GET": f.signedIn(f.flushPage), "POST": f.signedIn(f.flush)},
		"/console/account/{account}/disable":              {"GET": f.signedIn(f.disablePage), "POST": f.signedIn(f.disable)},
		"/console/batches/{account}/{batch}/{action}":     {"POST": f.signedIn(f.batchAct)},
		"/console/campaigns":                              {"GET": f.signedIn(f.campaignsPage)},
		"/console/campaigns/{account}/{id}/{action}":      {"GET": f.signedIn(f.campaignConfirm), "POST": f.signedIn(f.campaignAct)},
		"/console/singlesends":                            {"GET": f.signedIn(f.singleSendsPage)},
		"/console/singlesends/{account}/{id}/{action}":    {"GET": f.signedIn(f.singleSendConfirm), "POST": f.signedIn(f.singleSendAct)},
		"/console/events":                                 {"GET": f.signedIn(f.events)},
		"/console/chart":                                  {"GET": f.signedIn(f.chartPage)},
		"/console/outbox":                                 {"GET": f.signedIn(f.outboxPage)},
		"/console/clock":                                  {"GET": f.signedIn(f.clockPage), "POST": f.signedIn(f.moveClock)},
	}
	for pattern, rt := range routes {
		mux.Handle(pattern, f.dispatch(pattern, rt))
	}
}

func (f *Face) dispatch(pattern string, rt route) http.Handler {
	allow := make([]string, 0, len(rt))
	for m := range rt {
		allow = append(allow, m)
	}
	if _, ok := rt["GET"]; ok {
		allow = append(allow, "HEAD")
	}
	allowed := strings.Join(sortStrings(allow), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		reqinfo.From(r.Context()).SetOperation(pattern)
		// "/console/" is the catch-all of the subtree: anything but the
		// root itself is an unknown page.
		if pattern == "/console/" && r.URL.Path != "/console/" {
			f.fail(w, r, http.StatusNotFound, "No such page.")
			return
		}
		m := r.Method
		if m == "HEAD" {
			m = "GET"
		}
		fn, ok := rt[m]
		if !ok {
			h.Set("Allow", allowed)
			f.fail(w, r, http.StatusMethodNotAllowed, "Method "+r.Method+" is not allowed here (allowed: "+allowed+").")
			return
		}
		if r.Method == "POST" {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					f.fail(w, r, http.StatusRequestEntityTooLarge, "The form is too large.")
					return
				}
				f.fail(w, r, http.StatusBadRequest, "The form could not be read.")
				return
			}
		}
		if !allText(r) {
			f.fail(w, r, http.StatusBadRequest, "The query or form holds a NUL character or bytes that are not UTF-8.")
			return
		}
		fn(w, r)
	})
}

// allText reports whether every name and value of the query and the form
// is UTF-8 text without NUL: what the console passes on is kept as text,
// and PostgreSQL's text holds neither, so it is refused here, the same on
// every store, instead of failing in the store.
func allText(r *http.Request) bool {
	text := func(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
	for _, vs := range []url.Values{r.URL.Query(), r.PostForm} {
		for k, v := range vs {
			if !text(k) {
				return false
			}
			for _, s := range v {
				if !text(s) {
					return false
				}
			}
		}
	}
	return true
}

func (f *Face) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	f.static.ServeHTTP(w, r)
}

// home sends a visitor to the send list, or to sign in.
func (f *Face) home(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.current(r); ok {
		http.Redirect(w, r, "/console/sends", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}

// wantsJSON: the console's script asks for JSON; a plain form post or a
// link gets pages.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// fail answers an error: JSON to the script, a page to a browser.
func (f *Face) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	reqinfo.From(r.Context()).SetDetail(msg)
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	f.render(w, r, status, "error", map[string]any{"Status": status, "StatusText": http.StatusText(status), "Message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// render writes page name inside the layout. data is a map; the signed-in
// user and the CSRF token are added.
func (f *Face) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	t := f.pages[name]
	if data == nil {
		data = map[string]any{}
	}
	if s, ok := f.current(r); ok {
		data["Who"] = s
		data["CSRF"] = s.CSRF
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout", data); err != nil {
		f.cfg.Logger.Error("console: rendering", "page", name, "err", err)
	}
}

func (f *Face) now() time.Time { return f.cfg.Clock.Now() }

func urlQuery(s string) string { return url.QueryEscape(s) }

// record keeps an action as an operator action: who did what to which
// account, and which of its credentials it acted on (cred, "user:NAME",
// "apikey:ID", "client:ID"; "" for the account as a whole). Actor names
// the user who signed in ("console:acme-ci"). The action has happened
// already; a failure to record it is logged, not answered as the action's
// failure.
func (f *Face) record(ctx context.Context, s session, action string, accountID int64, cred, detail string, count int) {
	a := store.OperatorAction{Action: action, AccountID: accountID, Actor: "console:" + s.Actor, Detail: detail, Count: count, At: f.now(), Credential: cred}
	f.cfg.Logger.Info("console action", "action", action, "account", accountID, "actor", a.Actor, "credential", cred, "detail", detail)
	if err := f.cfg.Store.RecordOperatorAction(ctx, &a); err != nil {
		f.cfg.Logger.Error("console: recording operator action", "action", action, "err", err)
	}
}
