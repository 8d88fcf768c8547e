package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/store"
)

const (
	// sessionCookie holds the session's random ID; preCookie the sign-in
	// form's CSRF token, before there is a session (login CSRF).
	sessionCookie = "partnerd_console"
	preCookie     = "partnerd_console_signin"
	// operatorSubject is what the login throttle charges operator-token
	// guesses to: no username can hold a NUL, so no account shares it.
	operatorSubject = "\x00console-operator"
)

// session is a signed-in user as a request sees it. Actor (stored) is
// the user who signed in — one of the account's users, whose password the
// session's PasswordStamp fingerprints — and AccountName, read with it on
// every request, the account whose sends it sees.
type session struct {
	store.Session
	AccountName string
}

// credential names the session's user as operator actions and the
// request log name credentials ("user:acme-ci"); "" for the operator.
func (s session) credential() string {
	if s.Operator() {
		return ""
	}
	return auth.KindUser + ":" + s.Actor
}

// Operator reports whether the operator is signed in (every account).
func (s session) Operator() bool { return s.AccountID == 0 }

type sessionKey struct{}

// randomToken is 32 random bytes, URL-safe base64.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashID(id string) []byte { h := sha256.Sum256([]byte(id)); return h[:] }

// passwordStamp fingerprints a password hash, so that a session can tell
// the password was changed since sign-in without keeping the hash.
func passwordStamp(hash string) string {
	h := sha256.Sum256([]byte("console-session\x00" + hash))
	return hex.EncodeToString(h[:8])
}

// current is the request's live session: the one signedIn found, or the
// cookie's. A session whose user's password changed since it signed in,
// whose user was disabled or deleted, or whose account was disabled, is
// ended here: each user's session stands on that user's credential, so
// rotating one user's password leaves the account's other users signed in.
func (f *Face) current(r *http.Request) (session, bool) {
	if s, ok := r.Context().Value(sessionKey{}).(session); ok {
		return s, true
	}
	return f.lookup(r)
}

// lookup reads the cookie's session from the store and checks it, even
// when signedIn found it already: what a long-lived event stream asks
// again and again.
func (f *Face) lookup(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return session{}, false
	}
	ctx := r.Context()
	st, err := f.sessions.SessionByHash(ctx, hashID(c.Value), f.now())
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			f.cfg.Logger.Error("console: reading session", "err", err)
		}
		return session{}, false
	}
	var name string
	if st.AccountID != 0 {
		// One read: the user (its password and Disabled) with its
		// account's identity and Disabled, as a SOAP login reads them.
		u, acct, err := f.cfg.Store.UserByUsername(ctx, st.Actor)
		if err != nil || u.Disabled || acct.Disabled || acct.ID != st.AccountID || passwordStamp(u.PasswordHash) != st.PasswordStamp {
			if err == nil || errors.Is(err, store.ErrNotFound) {
				f.sessions.DeleteSession(ctx, st.IDHash)
			}
			return session{}, false
		}
		name = acct.Username
	}
	return session{Session: st, AccountName: name}, true
}

// signedIn serves next only within a session, and checks the CSRF token
// of every request that changes something. Without a session a page is
// sent to sign in, the script gets 401.
func (f *Face) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := f.current(r)
		if !ok {
			if wantsJSON(r) || r.Method != "GET" {
				f.fail(w, r, http.StatusUnauthorized, "Not signed in, or the session has ended: sign in again.")
				return
			}
			http.Redirect(w, r, "/console/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method != "GET" && r.Method != "HEAD" {
			if !sameOrigin(r) {
				f.fail(w, r, http.StatusForbidden, "The request came from another site.")
				return
			}
			got := r.Header.Get("X-CSRF-Token")
			if got == "" {
				got = r.PostForm.Get("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
				f.fail(w, r, http.StatusForbidden, "Missing or wrong CSRF token: reload the page and try again.")
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
		next(w, r)
	}
}

// sameOrigin refuses a request whose Origin (sent by browsers on every
// POST) names another host; a request without one (curl, tests) is left
// to the CSRF token.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (f *Face) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/console/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
}

func (f *Face) signInPage(w http.ResponseWriter, r *http.Request) {
	f.showSignIn(w, r, http.StatusOK, "")
}

// showSignIn renders the form with a fresh sign-in CSRF token in a cookie
// of its own (double submit): a foreign page cannot sign a browser in to
// the attacker's account.
func (f *Face) showSignIn(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := randomToken()
	http.SetCookie(w, f.cookie(r, preCookie, tok, 3600))
	f.render(w, r, status, "signin", map[string]any{"SignInToken": tok, "Error": msg, "Next": safeNext(r.FormValue("next"))})
}

// safeNext keeps a redirect after sign-in inside the console.
func safeNext(next string) string {
	if len(next) > 1 && next[0] == '/' && next[1] != '/' && next[1] != '\\' {
		if u, err := url.Parse(next); err == nil && u.Host == "" && u.Scheme == "" && len(u.Path) >= len(Prefix) && u.Path[:len(Prefix)] == Prefix {
			return next
		}
	}
	return "/console/sends"
}

// signIn checks an account's username and password through the
// Authenticator (the SOAP login's checks and throttle), or the operator
// token (under the same throttle), and starts a session.
func (f *Face) signIn(w http.ResponseWriter, r *http.Request) {
	pre, err := r.Cookie(preCookie)
	if err != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(pre.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		f.showSignIn(w, r, http.StatusForbidden, "The sign-in form expired: try again.")
		return
	}
	ctx := r.Context()
	username, password, token := r.PostForm.Get("username"), r.PostForm.Get("password"), r.PostForm.Get("token")
	var st store.Session
	switch {
	case token != "":
		if err := f.checkOperator(ctx, token); err != nil {
			f.refuseSignIn(w, r, err)
			return
		}
		st = store.Session{AccountID: 0, Actor: "operator"}
	case username != "":
		p, err := f.cfg.Auth.Authenticate(ctx, auth.UsernameToken{Username: username, Password: password, Type: auth.PasswordText})
		if err != nil {
			f.refuseSignIn(w, r, err)
			return
		}
		// The session stands on the user who signed in (p.Credential), not
		// on the account's own user: its password and Disabled are what
		// end it.
		u, acct, err := f.cfg.Store.UserByUsername(ctx, p.Credential)
		if err != nil || acct.ID != p.AccountID {
			f.fail(w, r, http.StatusInternalServerError, "The store could not be read.")
			return
		}
		st = store.Session{AccountID: acct.ID, Actor: u.Username, PasswordStamp: passwordStamp(u.PasswordHash)}
	default:
		f.showSignIn(w, r, http.StatusBadRequest, "Give a username and password, or the operator token.")
		return
	}
	id := randomToken()
	now := f.now()
	st.IDHash, st.CSRF, st.Created, st.Expires = hashID(id), randomToken(), now, now.Add(f.cfg.SessionTTL)
	if err := f.sessions.CreateSession(ctx, st); err != nil {
		f.cfg.Logger.Error("console: creating session", "err", err)
		f.fail(w, r, http.StatusInternalServerError, "The session could not be stored.")
		return
	}
	http.SetCookie(w, f.cookie(r, preCookie, "", -1))
	http.SetCookie(w, f.cookie(r, sessionCookie, id, int(f.cfg.SessionTTL/time.Second)))
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

// checkOperator compares the operator token in constant time, asking the
// login throttle first and telling it the outcome, like a password.
func (f *Face) checkOperator(ctx context.Context, token string) error {
	th := f.cfg.Auth.Throttle
	remote := auth.RemoteFrom(ctx)
	if th != nil {
		if err := th.Allow(ctx, remote, operatorSubject); err != nil {
			return err
		}
	}
	var err error
	if f.cfg.OperatorToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(f.cfg.OperatorToken)) != 1 {
		err = auth.ErrBadPassword
	}
	if th != nil {
		th.Done(ctx, remote, operatorSubject, err)
	}
	return err
}

// refuseSignIn answers a failed sign-in with one message whatever the
// cause, as SOAP does; a throttled one says when to try again.
func (f *Face) refuseSignIn(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, auth.ErrLoginFailed) && !errors.Is(err, auth.ErrBadPassword) {
		f.cfg.Logger.Error("console: sign-in", "err", err)
		f.fail(w, r, http.StatusInternalServerError, "Sign-in failed: the store could not be read.")
		return
	}
	f.cfg.Logger.Info("console sign-in failed", "reason", auth.Reason(err), "remote", r.RemoteAddr)
	if d := auth.RetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", itoa(int64((d+time.Second-1)/time.Second)))
		f.showSignIn(w, r, http.StatusTooManyRequests, "Too many failed sign-ins: try again later.")
		return
	}
	f.showSignIn(w, r, http.StatusUnauthorized, "Sign-in failed.")
}

// signOut ends the session, in the store too.
func (f *Face) signOut(w http.ResponseWriter, r *http.Request) {
	s, _ := f.current(r)
	if err := f.sessions.DeleteSession(r.Context(), s.IDHash); err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The session could not be ended.")
		return
	}
	http.SetCookie(w, f.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}

// memorySessions keeps sessions in this process, for stores that do not
// implement store.SessionStore.
type memorySessions struct {
	mu sync.Mutex
	m  map[string]store.Session
}

func newMemorySessions() *memorySessions { return &memorySessions{m: map[string]store.Session{}} }

func (m *memorySessions) CreateSession(_ context.Context, s store.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.m {
		if !v.Expires.After(s.Created) {
			delete(m.m, k)
		}
	}
	if _, ok := m.m[string(s.IDHash)]; ok {
		return store.ErrExists
	}
	m.m[string(s.IDHash)] = s
	return nil
}

func (m *memorySessions) SessionByHash(_ context.Context, h []byte, now time.Time) (store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[string(h)]
	if !ok || !s.Expires.After(now) {
		return store.Session{}, store.ErrNotFound
	}
	return s, nil
}

func (m *memorySessions) DeleteSession(_ context.Context, h []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, string(h))
	return nil
}

func (m *memorySessions) DeleteAccountSessions(_ context.Context, accountID int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, v := range m.m {
		if v.AccountID == accountID {
			delete(m.m, k)
			n++
		}
	}
	return n, nil
}
