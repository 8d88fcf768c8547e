package sendgrid

import (
	"errors"
	"github.com/partnerd/partnerd/auth"
	"net/http"
	"strconv"
)

// keyCreated is POST /v3/api_keys's answer, the only one with the secret.
type keyCreated struct {
	APIKey   string   `json:"api_key"`
	APIKeyID string   `json:"api_key_id"`
	Name     string   `json:"name"`
	Scopes   []string `json:"scopes"`
}

// keyListed is one key of GET /v3/api_keys.
type keyListed struct {
	Name     string `json:"name"`
	APIKeyID string `json:"api_key_id"`
}

// keyFull is a key with its scopes (GET one, PUT).
type keyFull struct {
	APIKeyID string   `json:"api_key_id"`
	Name     string   `json:"name"`
	Scopes   []string `json:"scopes"`
}

// keyNamed is PATCH's answer.
type keyNamed struct {
	APIKeyID string `json:"api_key_id"`
	Name     string `json:"name"`
}

type result[T any] struct {
	Result []T `json:"result"`
}

// readKeyBody reads {"name", "scopes"?}: name required, scopes an array
// of strings when given (nil: full access).
func readKeyBody(r *http.Request, wantScopes bool) (name string, scopes []string, e *apiError) {
	o, e := readObject(r, false)
	if e != nil {
		return "", nil, e
	}
	bad := &apiError{status: http.StatusBadRequest}
	name, present, msg := o.str("name")
	switch {
	case msg != "":
		bad.errs = append(bad.errs, fieldError{Field: field("name"), Message: msg})
	case !present || name == "":
		bad.errs = append(bad.errs, fieldError{Field: field("name"), Message: msgMissingArg})
	}
	if wantScopes {
		var msg string
		if scopes, _, msg = o.strings("scopes"); msg != "" {
			bad.errs = append(bad.errs, fieldError{Field: field("scopes"), Message: msg})
		}
	}
	if len(bad.errs) > 0 {
		return "", nil, bad
	}
	return name, scopes, nil
}

// readGrant reads a POST or PUT body {"name","scopes"} and refuses scopes
// the calling key may not grant.
func readGrant(r *http.Request, c *caller) (name string, scopes []string, e *apiError) {
	if name, scopes, e = readKeyBody(r, true); e == nil {
		e = mayGrant(c, scopes)
	}
	return name, scopes, e
}

// mayGrant answers auth.MayGrant's refusal: 403, as SendGrid answers a
// key that lacks a scope.
func mayGrant(c *caller, scopes []string) *apiError {
	if err := auth.MayGrant(c.key.Scopes, scopes); err != nil {
		return &apiError{status: http.StatusForbidden, errs: []fieldError{{Message: msgForbidden}}, detail: err.Error()}
	}
	return nil
}

// keyError maps the key rules' errors.
func keyError(what string, err error) *apiError {
	switch {
	case errors.Is(err, ErrKeyNotFound):
		return errNoField(http.StatusNotFound, msgKeyNotFound)
	case errors.Is(err, auth.ErrTooManyKeys):
		return errNoField(http.StatusForbidden, auth.ErrTooManyKeys.Error())
	case errors.Is(err, auth.ErrKeyName):
		return errField(http.StatusBadRequest, "name", msgMissingArg)
	case errors.Is(err, auth.ErrUnknownScope):
		return errField(http.StatusBadRequest, "scopes", err.Error())
	}
	return internal(what, err)
}

// createKey is POST /v3/api_keys: 201 with the secret, shown this once.
func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, c *caller) {
	name, scopes, e := readGrant(r, c)
	if e != nil {
		writeError(w, r, e)
		return
	}
	key, secret, err := h.cfg.Keys.Create(r.Context(), c.principal.AccountID, name, scopes)
	if err != nil {
		writeError(w, r, keyError("create key", err))
		return
	}
	writeJSON(w, http.StatusCreated, keyCreated{APIKey: secret, APIKeyID: key.ID, Name: key.Name, Scopes: nonNil(key.Scopes)})
}

// listKeys is GET /v3/api_keys?limit=: {"result":[{"name","api_key_id"}]}.
func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, c *caller) {
	limit := DefaultKeysLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, r, errField(http.StatusBadRequest, "limit", "limit must be a positive integer"))
			return
		}
		limit = min(n, DefaultKeysLimit)
	}
	keys, err := h.cfg.Keys.List(r.Context(), c.principal.AccountID, limit)
	if err != nil {
		writeError(w, r, internal("list keys", err))
		return
	}
	out := result[keyListed]{Result: make([]keyListed, 0, len(keys))}
	for _, k := range keys {
		out.Result = append(out.Result, keyListed{Name: k.Name, APIKeyID: k.ID})
	}
	writeJSON(w, http.StatusOK, out)
}

// getKey is GET /v3/api_keys/{api_key_id}. The sources disagree on its
// body (notes §9); partnerd answers the OpenAPI shape, a result array of
// one key with its scopes, which generated clients expect.
func (h *Handler) getKey(w http.ResponseWriter, r *http.Request, c *caller) {
	k, err := h.cfg.Keys.Get(r.Context(), c.principal.AccountID, r.PathValue("api_key_id"))
	if err != nil {
		writeError(w, r, keyError("get key", err))
		return
	}
	writeJSON(w, http.StatusOK, result[keyFull]{Result: []keyFull{{APIKeyID: k.ID, Name: k.Name, Scopes: nonNil(k.Scopes)}}})
}

// renameKey is PATCH /v3/api_keys/{api_key_id} {"name"}.
func (h *Handler) renameKey(w http.ResponseWriter, r *http.Request, c *caller) {
	name, _, e := readKeyBody(r, false)
	if e != nil {
		writeError(w, r, e)
		return
	}
	k, err := h.cfg.Keys.Rename(r.Context(), c.principal.AccountID, r.PathValue("api_key_id"), name)
	if err != nil {
		writeError(w, r, keyError("rename key", err))
		return
	}
	writeJSON(w, http.StatusOK, keyNamed{APIKeyID: k.ID, Name: k.Name})
}

// replaceKey is PUT /v3/api_keys/{api_key_id} {"name","scopes"}: scopes
// are replaced (omitted: full access, as on create).
func (h *Handler) replaceKey(w http.ResponseWriter, r *http.Request, c *caller) {
	name, scopes, e := readGrant(r, c)
	if e != nil {
		writeError(w, r, e)
		return
	}
	k, err := h.cfg.Keys.Replace(r.Context(), c.principal.AccountID, r.PathValue("api_key_id"), name, scopes)
	if err != nil {
		writeError(w, r, keyError("replace key", err))
		return
	}
	writeJSON(w, http.StatusOK, keyFull{APIKeyID: k.ID, Name: k.Name, Scopes: nonNil(k.Scopes)})
}

// revokeKey is DELETE /v3/api_keys/{api_key_id}: 204; the key fails on its
// next request (a key may revoke itself).
func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := h.cfg.Keys.Revoke(r.Context(), c.principal.AccountID, r.PathValue("api_key_id")); err != nil {
		writeError(w, r, keyError("revoke key", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
