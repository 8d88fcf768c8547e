// Package fuelauth is the face of Marketing Cloud's authentication
// endpoints, which today's SDKs (FuelSDK-*, fuel-auth, sfmc-sdk) call
// before any SOAP request: POST /v2/token (OAuth2 client credentials) and
// the legacy POST /v1/requestToken. Both trade a token client's id and
// secret (auth.Tokens) for an access token, which the SDKs then send in
// the SOAP envelope (fueloauth, oAuth/oAuthToken; see api/soap). The answer
// names this server as the client reached it (or the configured public
// URL), so that an SDK given only partnerd's base URL finds its SOAP
// endpoint. Errors are OAuth2 JSON: {"error", "error_description",
// "error_uri"} (../shared/reference/fuel-auth-notes.md §1).
package fuelauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/reqinfo"
)

// Config is what the face needs.
type Config struct {
	Tokens *auth.Tokens
	// Auth checks client secrets under the rules every credential
	// shares (throttle, metrics, one refusal).
	Auth *auth.Authenticator
	// PublicURL, when set ("https://mc.example.com"), is the base of the
	// instance URLs the token answer names, for a server behind a proxy;
	// otherwise the scheme, host and port the request came in on.
	PublicURL string
}

// Face serves the token endpoints.
type Face struct{ cfg Config }

// New returns the face.
func New(cfg Config) *Face { return &Face{cfg: cfg} }

// Name implements server.Face.
func (*Face) Name() string { return "oauth" }

// Paths the face serves.
const (
	TokenPath        = "/v2/token"
	RequestTokenPath = "/v1/requestToken"
	// RESTPrefix is where rest_instance_url points: partnerd serves no
	// Marketing Cloud REST API, and says so in JSON rather than with the
	// mux's plain-text 404.
	RESTPrefix = "/rest/"
	// EndpointsPath is the REST lookup legacy SDKs make for the SOAP
	// endpoint when none is configured.
	EndpointsPath = "/platform/v1/endpoints/soap"
)

// maxBody bounds a token request: its few fields fit in far less.
const maxBody = 64 << 10

// Mount implements server.Face.
func (f *Face) Mount(mux interface {
	Handle(pattern string, handler http.Handler)
}) {
	mux.Handle("POST "+TokenPath, http.HandlerFunc(f.token))
	mux.Handle("POST "+RequestTokenPath, http.HandlerFunc(f.requestToken))
	for _, p := range []string{TokenPath, RequestTokenPath} {
		mux.Handle(p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reqinfo.From(r.Context()).SetOperation("token")
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "invalid_request", "Use POST with a JSON body.")
		}))
	}
	mux.Handle("GET "+EndpointsPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqinfo.From(r.Context()).SetOperation("endpoints")
		writeJSON(w, http.StatusOK, map[string]string{"url": f.base(r) + "/Service.asmx"})
	}))
	mux.Handle(RESTPrefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqinfo.From(r.Context()).SetOperation("rest")
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "partnerd serves no Marketing Cloud REST API: use the SOAP endpoint (soap_instance_url + Service.asmx)",
			"errorcode": 404, "documentation": ""})
	}))
}

// base is this server's URL as the client reached it, without a trailing
// slash.
func (f *Face) base(r *http.Request) string {
	if f.cfg.PublicURL != "" {
		return strings.TrimRight(f.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// errorURI is what the real service sends as error_uri.
const errorURI = "https://developer.salesforce.com/docs"

// invalidClient is the one answer to every failed client login: the
// caller must not learn whether the id exists, the secret is wrong, the
// client is revoked or its account disabled.
const invalidClient = "Client authentication failed. Make sure that the client ID and client secret are valid and that the package is installed and enabled."

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, kind, description string) {
	writeJSON(w, code, map[string]string{"error": kind, "error_description": description, "error_uri": errorURI})
}

// badRequest is a request refused before any credential is checked.
type badRequest struct {
	status            int
	kind, description string
}

func (e *badRequest) Error() string { return e.description }

func invalidRequest(format string, args ...any) *badRequest {
	return &badRequest{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, args...)}
}

// readJSON reads a request's JSON object into fields.
func readJSON(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, *badRequest) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, &badRequest{http.StatusUnsupportedMediaType, "invalid_request", "The request body must be JSON (Content-Type: application/json)."}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &badRequest{http.StatusRequestEntityTooLarge, "invalid_request", fmt.Sprintf("The request body is larger than %d bytes.", maxBody)}
	}
	if err != nil {
		return nil, invalidRequest("The request body could not be read.")
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil || fields == nil || dec.More() {
		return nil, invalidRequest("The request body is not a JSON object.")
	}
	return fields, nil
}

// str reads an optional string member; a member of another type is an
// error naming it.
func str(fields map[string]json.RawMessage, name string) (string, *badRequest) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", invalidRequest("%s must be a string.", name)
	}
	if strings.ContainsRune(s, 0) {
		// No identifier or secret holds one, and PostgreSQL's text
		// cannot: refused here the same on every store.
		return "", invalidRequest("%s must not contain the NUL character.", name)
	}
	return s, nil
}

// mid reads account_id: the docs type it as a number, the SDKs send the
// configured string.
func mid(fields map[string]json.RawMessage, name string) (int64, *badRequest) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return 0, nil
	}
	text := string(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		text = strings.TrimSpace(s)
		if text == "" {
			return 0, nil
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n <= 0 {
		return 0, invalidRequest("%s must be a positive whole number (the MID of a business unit).", name)
	}
	return n, nil
}

// scopes reads scope: space-separated names, or an array of them.
func scopes(fields map[string]json.RawMessage) ([]string, *badRequest) {
	raw, ok := fields["scope"]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, invalidRequest("scope must be a string of space-separated scopes.")
		}
		s = strings.Join(list, " ")
	}
	out, err := auth.ParseScopes(s)
	if err != nil {
		return nil, &badRequest{http.StatusBadRequest, "invalid_scope", err.Error()}
	}
	return out, nil
}

// login checks a client's id and secret; on failure it has answered.
func (f *Face) login(w http.ResponseWriter, r *http.Request, id, secret string) (*auth.ClientSecret, bool) {
	ctx, in := r.Context(), reqinfo.From(r.Context())
	c := f.cfg.Tokens.ClientSecret(id, secret)
	p, err := f.cfg.Auth.Authenticate(ctx, c)
	switch {
	case errors.Is(err, auth.ErrLoginFailed):
		in.SetDetail(err.Error())
		if d := auth.RetryAfter(err); d > 0 {
			in.MarkThrottled()
			w.Header().Set("Retry-After", strconv.Itoa(int(max(d.Round(time.Second), time.Second)/time.Second)))
		}
		writeError(w, http.StatusUnauthorized, "invalid_client", invalidClient)
		return nil, false
	case err != nil:
		serverError(w, r, err)
		return nil, false
	}
	in.SetPrincipal(p.AccountID, p.Username)
	in.SetCredential(p.CredentialKind, p.Credential)
	return c, true
}

func serverError(w http.ResponseWriter, r *http.Request, err error) {
	reqinfo.From(r.Context()).SetDetail(err.Error())
	writeError(w, http.StatusInternalServerError, "server_error", "The server could not issue a token. Try again later.")
}

// issueError answers a refusal of Tokens.Issue.
func issueError(w http.ResponseWriter, r *http.Request, err error) {
	reqinfo.From(r.Context()).SetDetail(err.Error())
	switch {
	case errors.Is(err, auth.ErrAccountNotAllowed):
		writeError(w, http.StatusUnauthorized, "unauthorized_client", "The client is not enabled for this account_id.")
	case errors.Is(err, auth.ErrScopeNotAllowed):
		writeError(w, http.StatusBadRequest, "invalid_scope", err.Error())
	default:
		serverError(w, r, err)
	}
}

func refuse(w http.ResponseWriter, r *http.Request, e *badRequest) {
	reqinfo.From(r.Context()).SetDetail(e.description)
	writeError(w, e.status, e.kind, e.description)
}

func (f *Face) begin(r *http.Request, op string) {
	in := reqinfo.From(r.Context())
	in.SetOperation(op)
	in.SetMask(MaskBody)
}

// token serves POST /v2/token.
func (f *Face) token(w http.ResponseWriter, r *http.Request) {
	f.begin(r, "token")
	fields, bad := readJSON(w, r)
	if bad != nil {
		refuse(w, r, bad)
		return
	}
	var grant, id, secret string
	var account int64
	var want []string
	for _, read := range []func() *badRequest{
		func() (e *badRequest) { grant, e = str(fields, "grant_type"); return },
		func() (e *badRequest) { id, e = str(fields, "client_id"); return },
		func() (e *badRequest) { secret, e = str(fields, "client_secret"); return },
		func() (e *badRequest) { account, e = mid(fields, "account_id"); return },
		func() (e *badRequest) { want, e = scopes(fields); return },
	} {
		if bad := read(); bad != nil {
			refuse(w, r, bad)
			return
		}
	}
	switch {
	case grant == "":
		refuse(w, r, invalidRequest("grant_type is required."))
		return
	case grant != "client_credentials":
		refuse(w, r, &badRequest{http.StatusBadRequest, "unsupported_grant_type",
			"Only the client_credentials grant type is supported."})
		return
	case id == "" || secret == "":
		refuse(w, r, invalidRequest("client_id and client_secret are required."))
		return
	}
	c, ok := f.login(w, r, id, secret)
	if !ok {
		return
	}
	is, err := f.cfg.Tokens.Issue(r.Context(), c, auth.TokenRequest{AccountID: account, Scopes: want})
	if err != nil {
		issueError(w, r, err)
		return
	}
	base := f.base(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      is.AccessToken,
		"token_type":        "Bearer",
		"expires_in":        int64(is.ExpiresIn / time.Second),
		"scope":             strings.Join(is.Scopes, " "),
		"soap_instance_url": base + "/",
		"rest_instance_url": base + RESTPrefix,
	})
}

// requestToken serves the legacy POST /v1/requestToken.
func (f *Face) requestToken(w http.ResponseWriter, r *http.Request) {
	f.begin(r, "requestToken")
	fields, bad := readJSON(w, r)
	if bad != nil {
		refuse(w, r, bad)
		return
	}
	var id, secret, accessType, refresh string
	var want []string
	for _, read := range []func() *badRequest{
		func() (e *badRequest) { id, e = str(fields, "clientId"); return },
		func() (e *badRequest) { secret, e = str(fields, "clientSecret"); return },
		func() (e *badRequest) { accessType, e = str(fields, "accessType"); return },
		func() (e *badRequest) { refresh, e = str(fields, "refreshToken"); return },
		func() (e *badRequest) { want, e = v1Scopes(fields); return },
	} {
		if bad := read(); bad != nil {
			refuse(w, r, bad)
			return
		}
	}
	switch {
	case id == "" || secret == "":
		refuse(w, r, invalidRequest("clientId and clientSecret are required."))
		return
	case accessType != "" && accessType != "online" && accessType != "offline":
		refuse(w, r, invalidRequest("accessType must be online or offline."))
		return
	}
	legacy := false
	switch v := r.URL.Query().Get("legacy"); v {
	case "", "0", "false":
	case "1", "true":
		legacy = true
	default:
		refuse(w, r, invalidRequest("legacy must be 1 or 0."))
		return
	}
	c, ok := f.login(w, r, id, secret)
	if !ok {
		return
	}
	if refresh != "" {
		err := f.cfg.Tokens.UseRefreshToken(r.Context(), c, refresh)
		if errors.Is(err, auth.ErrRefreshInvalid) {
			reqinfo.From(r.Context()).SetDetail(err.Error())
			writeError(w, http.StatusUnauthorized, "invalid_grant", "The refresh token is invalid, expired or already used.")
			return
		}
		if err != nil {
			serverError(w, r, err)
			return
		}
	}
	is, err := f.cfg.Tokens.Issue(r.Context(), c, auth.TokenRequest{Scopes: want, Legacy: legacy,
		Refresh: accessType == "offline" || refresh != ""})
	if err != nil {
		issueError(w, r, err)
		return
	}
	out := map[string]any{"accessToken": is.AccessToken, "expiresIn": int64(is.ExpiresIn / time.Second)}
	if is.LegacyToken != "" {
		out["legacyToken"] = is.LegacyToken
	}
	if is.RefreshToken != "" {
		out["refreshToken"] = is.RefreshToken
	}
	writeJSON(w, http.StatusOK, out)
}

// v1Scopes reads a legacy request's scope. FuelSDK-CSharp's refresh sends
// "cas:<legacyToken>", which is no scope name: such a scope is ignored.
func v1Scopes(fields map[string]json.RawMessage) ([]string, *badRequest) {
	if s, bad := str(fields, "scope"); bad == nil && strings.HasPrefix(s, "cas:") {
		return nil, nil
	}
	return scopes(fields)
}

// secretMember is a JSON member whose value is a secret of this face's
// requests or answers: the whole value (a string, possibly unterminated
// in a malformed body, or any other scalar) is masked.
var secretMember = regexp.MustCompile(`("(?i:client_secret|clientSecret|access_token|accessToken|refresh_token|refreshToken|legacy_token|legacyToken)"\s*:\s*)("(?:[^"\\]|\\.)*(?:"|$)|[^,}\]\s]+)`)

// secretField is the same in a form-encoded body, which the face refuses
// but the log still keeps.
var secretField = regexp.MustCompile(`(?i)((?:^|[&?\s])(?:client_secret|clientSecret|access_token|accessToken|refresh_token|refreshToken|legacy_token|legacyToken)=)[^&\s]*`)

// MaskBody returns body with every secret of a token request or answer
// replaced by "****", for the exchange log.
func MaskBody(body []byte) []byte {
	out := body
	if secretMember.Match(out) {
		out = secretMember.ReplaceAll(out, []byte(`${1}"****"`))
	}
	if secretField.Match(out) {
		out = secretField.ReplaceAll(out, []byte(`${1}****`))
	}
	return out
}
