package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// maxFlushCount bounds how many pending sends the flush confirmation
// counts; beyond it the page says "more than".
const maxFlushCount = 100000

// accountOf reads the {account} of a path (or ?account= by name, for the
// operator's account page): an account session may name only its own.
func (f *Face) accountOf(r *http.Request, s session) (store.Account, error) {
	ctx := r.Context()
	if v := r.PathValue("account"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 || (!s.Operator() && id != s.AccountID) {
			return store.Account{}, store.ErrNotFound
		}
		return f.cfg.Store.AccountByID(ctx, id)
	}
	if !s.Operator() {
		return f.cfg.Store.AccountByID(ctx, s.AccountID)
	}
	name := strings.TrimSpace(r.URL.Query().Get("account"))
	if name == "" {
		return store.Account{}, store.ErrNotFound
	}
	return f.cfg.Store.AccountByUsername(ctx, name)
}

func (f *Face) accountOr404(w http.ResponseWriter, r *http.Request) (session, store.Account, bool) {
	s, _ := f.current(r)
	a, err := f.accountOf(r, s)
	if errors.Is(err, store.ErrNotFound) {
		f.fail(w, r, http.StatusNotFound, "No such account.")
		return s, a, false
	}
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The account could not be read.")
		return s, a, false
	}
	return s, a, true
}

// accountPage shows an account's credentials and queue: its API keys, the
// password and disable forms, and the flush.
func (f *Face) accountPage(w http.ResponseWriter, r *http.Request) {
	s, _ := f.current(r)
	if s.Operator() && r.URL.Query().Get("account") == "" {
		accts, err := f.cfg.Store.ListAccounts(r.Context())
		if err != nil {
			f.fail(w, r, http.StatusInternalServerError, "The accounts could not be read.")
			return
		}
		f.render(w, r, http.StatusOK, "accounts", map[string]any{"Accounts": accts})
		return
	}
	_, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	f.showAccount(w, r, http.StatusOK, a, map[string]any{})
}

func (f *Face) showAccount(w http.ResponseWriter, r *http.Request, status int, a store.Account, data map[string]any) {
	keys, err := f.keys().List(r.Context(), a.ID, 0)
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The API keys could not be read.")
		return
	}
	users, err := f.cfg.Store.ListUsers(r.Context(), a.ID)
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The users could not be read.")
		return
	}
	clients, err := f.tokens().ListClients(r.Context(), a.ID)
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The token clients could not be read.")
		return
	}
	data["Account"], data["Keys"], data["Users"], data["Clients"] = a, keys, users, clients
	f.render(w, r, status, "account", data)
}

func (f *Face) keys() *auth.Keys { return &auth.Keys{Store: f.cfg.Store, Clock: f.cfg.Clock} }

// rotatePassword sets a new password (typed twice) of the account's own
// user (the user named as the account), as `partnerd account passwd`
// does. The own user's console sessions end (their stamp no longer
// matches); the account's other users stay signed in. The one who rotated
// its own password signs in again with the new one.
func (f *Face) rotatePassword(w http.ResponseWriter, r *http.Request) {
	s, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	pw := r.PostForm.Get("password")
	if msg := checkNewPassword(pw, r.PostForm.Get("again")); msg != "" {
		f.showAccount(w, r, http.StatusBadRequest, a, map[string]any{"Error": msg})
		return
	}
	var err error
	if a.PasswordHash, a.PasswordSealed, err = f.seal(pw); err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The password could not be sealed: "+err.Error()+".")
		return
	}
	if err := f.cfg.Store.UpdateAccount(r.Context(), a); err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The password could not be stored.")
		return
	}
	f.record(r.Context(), s, "password", a.ID, "user:"+a.Username, "password of "+a.Username+" rotated; its console sessions end", 1)
	if !s.Operator() && s.Actor == a.Username {
		f.sessions.DeleteSession(r.Context(), s.IDHash)
		http.SetCookie(w, f.cookie(r, sessionCookie, "", -1))
		http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, accountURL(s, a), http.StatusSeeOther)
}

// createKey makes an API key and shows its secret, once: the page is not
// cached and the secret is never stored in clear.
func (f *Face) createKey(w http.ResponseWriter, r *http.Request) {
	s, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	var scopes []string
	if v := strings.TrimSpace(r.PostForm.Get("scopes")); v != "" {
		for _, sc := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
			scopes = append(scopes, sc)
		}
	}
	key, secret, err := f.keys().Create(r.Context(), a.ID, strings.TrimSpace(r.PostForm.Get("name")), scopes)
	if err != nil {
		if errors.Is(err, auth.ErrKeyName) || errors.Is(err, auth.ErrUnknownScope) || errors.Is(err, auth.ErrTooManyKeys) {
			f.showAccount(w, r, http.StatusBadRequest, a, map[string]any{"Error": "The key was not created: " + err.Error() + "."})
			return
		}
		f.fail(w, r, http.StatusInternalServerError, "The key could not be created.")
		return
	}
	f.record(r.Context(), s, "apikey-create", a.ID, "apikey:"+key.ID, fmt.Sprintf("API key %s (%s) created", key.ID, key.Name), 1)
	f.showAccount(w, r, http.StatusOK, a, map[string]any{"NewKey": key, "Secret": secret})
}

func (f *Face) revokeKey(w http.ResponseWriter, r *http.Request) {
	s, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	kid := r.PathValue("kid")
	if err := f.keys().Revoke(r.Context(), a.ID, kid); err != nil {
		if errors.Is(err, auth.ErrKeyNotFound) {
			f.fail(w, r, http.StatusNotFound, "No such API key.")
			return
		}
		f.fail(w, r, http.StatusInternalServerError, "The key could not be revoked.")
		return
	}
	f.record(r.Context(), s, "apikey-revoke", a.ID, "apikey:"+kid, "API key "+kid+" revoked", 1)
	http.Redirect(w, r, accountURL(s, a), http.StatusSeeOther)
}

// pendingCount counts the account's Scheduled and Paused sends: what a
// flush would discard, shown before it is confirmed.
func (f *Face) pendingCount(r *http.Request, accountID int64) (int, error) {
	var n int
	err := f.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		sends, err := tx.FindSends(r.Context(), accountID, store.SendQuery{Limit: maxFlushCount + 1,
			Filter: &store.Cond{Field: store.FieldStatus, Op: store.OpIn, Values: []any{string(store.StatusScheduled), string(store.StatusPaused)}}})
		n = len(sends)
		return err
	})
	return n, err
}

// flushPage asks before a flush, with the count it would discard.
func (f *Face) flushPage(w http.ResponseWriter, r *http.Request) {
	_, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	n, err := f.pendingCount(r, a.ID)
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The queue could not be read.")
		return
	}
	f.render(w, r, http.StatusOK, "flush", map[string]any{"Account": a, "Count": n, "More": n > maxFlushCount})
}

// flush discards everything pending of the account (store.FlushAccount,
// as `partnerd queue flush`), recorded with who did it.
func (f *Face) flush(w http.ResponseWriter, r *http.Request) {
	s, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	act := store.OperatorAction{Action: "flush", AccountID: a.ID, Actor: "console:" + s.Actor, Detail: "flushed from the console", At: f.now()}
	// Credential stays "": a flush acts on the account as a whole.
	if err := f.cfg.Store.FlushAccount(r.Context(), &act); err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The queue could not be flushed.")
		return
	}
	f.showAccount(w, r, http.StatusOK, a, map[string]any{"Flushed": act.Count, "DidFlush": true})
}

func (f *Face) disablePage(w http.ResponseWriter, r *http.Request) {
	_, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	f.render(w, r, http.StatusOK, "disable", map[string]any{"Account": a})
}

// disable disables the account: its logins, keys' account and console
// sessions fail from the next request (auth checks Disabled).
func (f *Face) disable(w http.ResponseWriter, r *http.Request) {
	s, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	a.Disabled = true
	if err := f.cfg.Store.UpdateAccount(r.Context(), a); err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The account could not be disabled.")
		return
	}
	f.sessions.DeleteAccountSessions(r.Context(), a.ID)
	f.record(r.Context(), s, "disable", a.ID, "", "account "+a.Username+" disabled", 1)
	if !s.Operator() {
		http.SetCookie(w, f.cookie(r, sessionCookie, "", -1))
		http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, accountURL(s, a), http.StatusSeeOther)
}

func accountURL(s session, a store.Account) string {
	if s.Operator() {
		return "/console/account?account=" + urlQuery(a.Username)
	}
	return "/console/account"
}

// batchAct pauses, cancels or resumes a batch through the send service
// (SetHold, ReleaseHold: the rules of SendGrid's scheduled_sends).
func (f *Face) batchAct(w http.ResponseWriter, r *http.Request) {
	s, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	id, action := r.PathValue("batch"), r.PathValue("action")
	ctx := r.Context()
	b, err := f.cfg.Sends.Batch(ctx, a.ID, id)
	if errors.Is(err, sending.ErrBatchNotFound) {
		f.fail(w, r, http.StatusNotFound, "No such batch.")
		return
	}
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The batch could not be read.")
		return
	}
	switch action {
	case "pause", "cancel":
		_, err = f.cfg.Sends.SetHold(ctx, a.ID, id, sending.Hold(action), b.Hold != sending.HoldNone)
	case "resume":
		err = f.cfg.Sends.ReleaseHold(ctx, a.ID, id)
	default:
		f.fail(w, r, http.StatusNotFound, "No such action: a batch may be paused, canceled or resumed.")
		return
	}
	if err != nil {
		if sending.IsRule(err) || errors.Is(err, sending.ErrNoHold) || errors.Is(err, sending.ErrHoldExists) {
			f.fail(w, r, http.StatusConflict, err.Error())
			return
		}
		f.fail(w, r, http.StatusInternalServerError, "The batch could not be changed.")
		return
	}
	f.record(ctx, s, "batch-"+action, a.ID, "", "batch "+id, 1)
	if wantsJSON(r) {
		b, _ = f.cfg.Sends.Batch(ctx, a.ID, id)
		writeJSON(w, http.StatusOK, map[string]any{"batch": id, "hold": b.Hold})
		return
	}
	q := "batch=" + urlQuery(id)
	if s.Operator() {
		q += "&account=" + urlQuery(a.Username)
	}
	http.Redirect(w, r, "/console/sends?"+q, http.StatusSeeOther)
}
