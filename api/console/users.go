package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/store"
)

// An account's users (its SOAP logins, store.User) and token clients
// (auth.Tokens), each changed on its own: rotating or disabling one user
// refuses only that user's requests and ends only that user's console
// sessions (their PasswordStamp no longer matches, see current).

// userOf reads the {uid} of a path among account a's users: another
// account's user is answered as unknown.
func (f *Face) userOf(r *http.Request, a store.Account) (store.User, error) {
	id, err := strconv.ParseInt(r.PathValue("uid"), 10, 64)
	if err != nil || id <= 0 {
		return store.User{}, store.ErrNotFound
	}
	users, err := f.cfg.Store.ListUsers(r.Context(), a.ID)
	if err != nil {
		return store.User{}, err
	}
	for _, u := range users {
		if u.ID == id {
			return u, nil
		}
	}
	return store.User{}, store.ErrNotFound
}

// checkNewPassword is the rule of a password typed twice in a form: ""
// when it may be set, else what is wrong.
func checkNewPassword(pw, again string) string {
	switch {
	case pw == "" || len(pw) > auth.MaxPasswordLen:
		return fmt.Sprintf("A password of 1 to %d bytes is required.", auth.MaxPasswordLen)
	case pw != again:
		return "The two passwords differ."
	}
	return ""
}

// checkUsername: a username is what a UsernameToken can carry and a
// person can read: 1 to auth.MaxUsernameLen bytes of UTF-8 with no space
// or control character.
func checkUsername(name string) string {
	if name == "" || len(name) > auth.MaxUsernameLen || !utf8.ValidString(name) ||
		strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Sprintf("A username is 1 to %d bytes with no spaces.", auth.MaxUsernameLen)
	}
	return ""
}

// seal hashes and seals a new password, as `partnerd user passwd` does
// (PasswordDigest logins need it in clear).
func (f *Face) seal(pw string) (hash string, sealed []byte, err error) {
	if f.cfg.Sealer == nil {
		return "", nil, errors.New("the server has no key to seal passwords with")
	}
	hash, err = credential.Hash(pw)
	if err != nil {
		return "", nil, err
	}
	return hash, f.cfg.Sealer.Seal(pw), nil
}

// addUser adds a user (a SOAP login) to the account.
func (f *Face) addUser(w http.ResponseWriter, r *http.Request) {
	s, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("username"))
	msg := checkUsername(name)
	if msg == "" {
		msg = checkNewPassword(r.PostForm.Get("password"), r.PostForm.Get("again"))
	}
	if msg != "" {
		f.showAccount(w, r, http.StatusBadRequest, a, map[string]any{"Error": "The user was not added: " + msg})
		return
	}
	hash, sealed, err := f.seal(r.PostForm.Get("password"))
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The password could not be sealed: "+err.Error()+".")
		return
	}
	now := f.now()
	u := store.User{AccountID: a.ID, Username: name, PasswordHash: hash, PasswordSealed: sealed, CreatedAt: now, UpdatedAt: now}
	if err := f.cfg.Store.CreateUser(r.Context(), &u); err != nil {
		if errors.Is(err, store.ErrExists) {
			f.showAccount(w, r, http.StatusConflict, a, map[string]any{"Error": "The user was not added: the username " + name + " is taken (usernames are unique across the server)."})
			return
		}
		f.fail(w, r, http.StatusInternalServerError, "The user could not be stored.")
		return
	}
	f.record(r.Context(), s, "user.add", a.ID, "user:"+u.Username, "user "+u.Username+" added", 1)
	http.Redirect(w, r, accountURL(s, a)+"#users", http.StatusSeeOther)
}

// userOr404 reads the {uid} of a path among account a's users, or answers
// that it cannot.
func (f *Face) userOr404(w http.ResponseWriter, r *http.Request, a store.Account) (store.User, bool) {
	u, err := f.userOf(r, a)
	if errors.Is(err, store.ErrNotFound) {
		f.fail(w, r, http.StatusNotFound, "No such user.")
		return u, false
	}
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The users could not be read.")
		return u, false
	}
	return u, true
}

// undeletable says why user u of account a may not be deleted, or "": the
// account's own user (named as the account, whose password the account
// page rotates) stays, and so does an account's last user, so that a
// console delete never leaves an account no one can sign in to.
func (f *Face) undeletable(r *http.Request, a store.Account, u store.User) (string, error) {
	if u.Username == a.Username {
		return "The user " + u.Username + " is the account's own user: it cannot be deleted (disable it, or disable the account).", nil
	}
	users, err := f.cfg.Store.ListUsers(r.Context(), a.ID)
	if err != nil {
		return "", err
	}
	if len(users) <= 1 {
		return "The user " + u.Username + " is the account's last user: it cannot be deleted.", nil
	}
	return "", nil
}

// deletable reports whether user u of account a may be deleted; if not,
// it has answered why.
func (f *Face) deletable(w http.ResponseWriter, r *http.Request, a store.Account, u store.User) bool {
	why, err := f.undeletable(r, a, u)
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The users could not be read.")
		return false
	}
	if why != "" {
		f.fail(w, r, http.StatusConflict, why)
		return false
	}
	return true
}

// userConfirm asks before a user is deleted (or says why it may not be).
func (f *Face) userConfirm(w http.ResponseWriter, r *http.Request) {
	_, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	u, ok := f.userOr404(w, r, a)
	if !ok {
		return
	}
	if !f.deleteAsks(w, r) {
		return
	}
	if !f.deletable(w, r, a, u) {
		return
	}
	f.render(w, r, http.StatusOK, "userdelete", map[string]any{"Account": a, "User": u})
}

// deleteUser deletes user u of account a (store.DeleteUser, as `partnerd
// user delete`): its logins fail from the next request and its console
// sessions end (they no longer find their user); the account's sends
// and other credentials are kept.
func (f *Face) deleteUser(w http.ResponseWriter, r *http.Request, s session, a store.Account, u store.User) {
	if !f.deletable(w, r, a, u) {
		return
	}
	if err := f.cfg.Store.DeleteUser(r.Context(), a.ID, u.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			f.fail(w, r, http.StatusNotFound, "No such user.")
			return
		}
		f.fail(w, r, http.StatusInternalServerError, "The user could not be deleted.")
		return
	}
	f.record(r.Context(), s, "user.delete", a.ID, "user:"+u.Username, "user "+u.Username+" deleted; its console sessions end", 1)
	if !s.Operator() && u.Username == s.Actor {
		f.sessions.DeleteSession(r.Context(), s.IDHash)
		http.SetCookie(w, f.cookie(r, sessionCookie, "", -1))
		http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, accountURL(s, a)+"#users", http.StatusSeeOther)
}

// userAct rotates one user's password, disables, enables or deletes it.
// A session that changes its own user is signed out (its stamp is gone).
func (f *Face) userAct(w http.ResponseWriter, r *http.Request) {
	s, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	u, ok := f.userOr404(w, r, a)
	if !ok {
		return
	}
	var err error
	action := r.PathValue("action")
	var detail string
	switch action {
	case "delete":
		f.deleteUser(w, r, s, a, u)
		return
	case "password":
		if msg := checkNewPassword(r.PostForm.Get("password"), r.PostForm.Get("again")); msg != "" {
			f.showAccount(w, r, http.StatusBadRequest, a, map[string]any{"Error": "The password of " + u.Username + " was not changed: " + msg})
			return
		}
		if u.PasswordHash, u.PasswordSealed, err = f.seal(r.PostForm.Get("password")); err != nil {
			f.fail(w, r, http.StatusInternalServerError, "The password could not be sealed: "+err.Error()+".")
			return
		}
		detail = "password of " + u.Username + " rotated; its console sessions end"
	case "disable", "enable":
		u.Disabled = action == "disable"
		detail = "user " + u.Username + " " + action + "d"
	default:
		f.fail(w, r, http.StatusNotFound, "No such action: a user's password may be rotated, or the user disabled, enabled or deleted.")
		return
	}
	u.UpdatedAt = f.now()
	if err := f.cfg.Store.UpdateUser(r.Context(), u); err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The user could not be stored.")
		return
	}
	if action == "password" {
		action = "passwd" // the name `partnerd user passwd` records
	}
	f.record(r.Context(), s, "user."+action, a.ID, "user:"+u.Username, detail, 1)
	if !s.Operator() && u.Username == s.Actor && (action == "passwd" || u.Disabled) {
		f.sessions.DeleteSession(r.Context(), s.IDHash)
		http.SetCookie(w, f.cookie(r, sessionCookie, "", -1))
		http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, accountURL(s, a)+"#users", http.StatusSeeOther)
}

func (f *Face) tokens() *auth.Tokens {
	if f.cfg.Tokens != nil {
		return f.cfg.Tokens
	}
	return &auth.Tokens{Store: f.cfg.Store, Clock: f.cfg.Clock}
}

// createClient makes a token client (an installed package's client id and
// secret) and shows its secret, once.
func (f *Face) createClient(w http.ResponseWriter, r *http.Request) {
	s, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	var scopes []string
	if v := strings.TrimSpace(r.PostForm.Get("scopes")); v != "" {
		var err error
		if scopes, err = auth.ParseScopes(strings.ReplaceAll(v, ",", " ")); err != nil {
			f.showAccount(w, r, http.StatusBadRequest, a, map[string]any{"Error": "The token client was not created: " + err.Error() + "."})
			return
		}
	}
	c, secret, err := f.tokens().CreateClient(r.Context(), a.ID, 0, scopes)
	if err != nil {
		if errors.Is(err, auth.ErrBadScope) {
			f.showAccount(w, r, http.StatusBadRequest, a, map[string]any{"Error": "The token client was not created: " + err.Error() + "."})
			return
		}
		f.fail(w, r, http.StatusInternalServerError, "The token client could not be created.")
		return
	}
	f.record(r.Context(), s, "client.add", a.ID, "client:"+c.ID, "token client "+c.ID+" created", 1)
	f.showAccount(w, r, http.StatusOK, a, map[string]any{"NewClient": c, "ClientSecret": secret})
}

// revokeClient revokes a token client: its secret fails at once, its
// tokens on their next use.
func (f *Face) revokeClient(w http.ResponseWriter, r *http.Request) {
	s, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	id := r.PathValue("cid")
	if err := f.tokens().RevokeClient(r.Context(), a.ID, id); err != nil {
		if errors.Is(err, auth.ErrClientNotFound) {
			f.fail(w, r, http.StatusNotFound, "No such token client.")
			return
		}
		f.fail(w, r, http.StatusInternalServerError, "The token client could not be revoked.")
		return
	}
	f.record(r.Context(), s, "client.revoke", a.ID, "client:"+id, "token client "+id+" revoked", 1)
	http.Redirect(w, r, accountURL(s, a)+"#clients", http.StatusSeeOther)
}
