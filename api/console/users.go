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

// userAct rotates one user's password, or disables or enables it. A
// session that changes its own user is signed out (its stamp is gone).
func (f *Face) userAct(w http.ResponseWriter, r *http.Request) {
	s, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	u, err := f.userOf(r, a)
	if errors.Is(err, store.ErrNotFound) {
		f.fail(w, r, http.StatusNotFound, "No such user.")
		return
	}
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The users could not be read.")
		return
	}
	action := r.PathValue("action")
	var detail string
	switch action {
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
		f.fail(w, r, http.StatusNotFound, "No such action: a user's password may be rotated, or the user disabled or enabled.")
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
