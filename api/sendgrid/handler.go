// Package sendgrid is partnerd's SendGrid v3 REST face: mail/batch,
// mail/send, user/scheduled_sends, api_keys, legacy campaigns, Single Sends
// and (read-only) lists, over the same send service as the SOAP face, so that
// the official SendGrid clients can be pointed at partnerd. It only decodes
// JSON, calls the domain through the small interfaces of interfaces.go
// (sending, marketing, auth), and encodes SendGrid's answers; the rules
// (cutoff, held limit, scopes, key verification) live in the domain.
//
// Every response, errors included, is JSON in SendGrid's ErrorResponse
// shape and carries X-RateLimit-Limit, -Remaining and -Reset. Logs and
// metrics name each endpoint by its method and pattern. The server mounts
// the handler at "/v3/".
package sendgrid

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/reqinfo"
)

// Defaults of Config.
const (
	DefaultRateLimit    = 600
	DefaultRateWindow   = time.Minute
	DefaultMaxBodyBytes = 30 << 20 // SendGrid's mail/send ceiling: 30 MB
	DefaultKeysLimit    = 500
)

// Config is what the face is built from.
type Config struct {
	Batches Batches
	Sends   Sends
	Keys    Keys
	// Marketing serves campaigns, Single Sends and the lists they send to;
	// nil answers their endpoints 404, as an unknown path.
	Marketing Marketing
	// Clock is the server's clock: send_at is judged against it.
	Clock clock.Clock
	// RateLimit requests per RateWindow per API key (X-RateLimit-Limit);
	// 0 or less means DefaultRateLimit. There is no "unlimited": every
	// response states a limit, as SendGrid's do.
	RateLimit  int
	RateWindow time.Duration
	// RateNow is the rate limiter's time source (real time when nil; tests
	// replace it). Never the server clock, which may stand still.
	RateNow func() time.Time
	// MaxBodyBytes bounds a request body (0: DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// NewMessageID, when set, makes the X-Message-Id of a mail/send whose
	// first send has no GUID ObjectID (tests make it deterministic).
	NewMessageID func() string
}

// Handler serves /v3/.
type Handler struct {
	cfg    Config
	mux    *http.ServeMux
	routes map[string]route // by pattern
	rate   *rateLimiter
	maxIn  int64
}

// route is one path: its handler per method, and the scope each needs.
type route struct {
	pattern string
	methods map[string]endpoint
}

type endpoint struct {
	op    string // reqinfo operation; also the scope it needs
	scope string
	serve func(w http.ResponseWriter, r *http.Request, c *caller)
}

// caller is the authenticated key a request acts for.
type caller struct {
	principal auth.Principal
	key       APIKey
}

// New returns the face over cfg.
func New(cfg Config) *Handler {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	limit, window := cfg.RateLimit, cfg.RateWindow
	if limit <= 0 {
		limit = DefaultRateLimit
	}
	if window <= 0 {
		window = DefaultRateWindow
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), rate: newRateLimiter(limit, window, cfg.RateNow), maxIn: cfg.MaxBodyBytes}
	if h.maxIn <= 0 {
		h.maxIn = DefaultMaxBodyBytes
	}
	h.routes = make(map[string]route)
	for _, rt := range h.routeTable() {
		h.routes[rt.pattern] = rt
		h.mux.Handle(rt.pattern, h.dispatch(rt))
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		infoOf(r).SetOperation("unknown")
		writeError(w, r, errNoField(http.StatusNotFound, msgNotFound))
	})
	return h
}

func (h *Handler) routeTable() []route {
	ep := func(scope string, serve func(http.ResponseWriter, *http.Request, *caller)) endpoint {
		return endpoint{scope: scope, serve: serve}
	}
	routes := []route{
		{"/v3/mail/batch", map[string]endpoint{
			http.MethodPost: ep("mail.batch.create", h.createBatch)}},
		{"/v3/mail/batch/{batch_id}", map[string]endpoint{
			http.MethodGet: ep("mail.batch.read", h.getBatch)}},
		{"/v3/mail/send", map[string]endpoint{
			http.MethodPost: ep("mail.send", h.mailSend)}},
		{"/v3/user/scheduled_sends", map[string]endpoint{
			http.MethodPost: ep("user.scheduled_sends.create", h.createScheduledSend),
			http.MethodGet:  ep("user.scheduled_sends.read", h.listScheduledSends)}},
		{"/v3/user/scheduled_sends/{batch_id}", map[string]endpoint{
			http.MethodGet:    ep("user.scheduled_sends.read", h.getScheduledSend),
			http.MethodPatch:  ep("user.scheduled_sends.update", h.updateScheduledSend),
			http.MethodDelete: ep("user.scheduled_sends.delete", h.deleteScheduledSend)}},
		{"/v3/api_keys", map[string]endpoint{
			http.MethodPost: ep("api_keys.create", h.createKey),
			http.MethodGet:  ep("api_keys.read", h.listKeys)}},
		{"/v3/api_keys/{api_key_id}", map[string]endpoint{
			http.MethodGet:    ep("api_keys.read", h.getKey),
			http.MethodPatch:  ep("api_keys.update", h.renameKey),
			http.MethodPut:    ep("api_keys.update", h.replaceKey),
			http.MethodDelete: ep("api_keys.delete", h.revokeKey)}},
		{"/v3/openapi.json", map[string]endpoint{http.MethodGet: {op: "openapi", serve: h.serveOpenAPI}}}, // public: no scope
	}
	if h.cfg.Marketing == nil {
		return named(routes)
	}
	return named(append(routes, []route{
		{"/v3/campaigns", map[string]endpoint{
			http.MethodPost: ep("marketing_campaigns.create", h.createCampaign),
			http.MethodGet:  ep("marketing_campaigns.read", h.listCampaigns)}},
		{"/v3/campaigns/{campaign_id}", map[string]endpoint{
			http.MethodGet:    ep("marketing_campaigns.read", h.getCampaign),
			http.MethodPatch:  ep("marketing_campaigns.update", h.updateCampaign),
			http.MethodDelete: ep("marketing_campaigns.delete", h.deleteCampaign)}},
		{"/v3/campaigns/{campaign_id}/schedules", map[string]endpoint{
			http.MethodPost:   ep("marketing_campaigns.create", h.scheduleCampaign),
			http.MethodPatch:  ep("marketing_campaigns.update", h.rescheduleCampaign),
			http.MethodGet:    ep("marketing_campaigns.read", h.getCampaignSchedule),
			http.MethodDelete: ep("marketing_campaigns.delete", h.unscheduleCampaign)}},
		{"/v3/campaigns/{campaign_id}/schedules/now", map[string]endpoint{
			http.MethodPost: ep("marketing_campaigns.create", h.sendCampaignNow)}},
		{"/v3/marketing/singlesends", map[string]endpoint{
			http.MethodPost: ep("marketing_campaigns.create", h.createSingleSend),
			http.MethodGet:  ep("marketing_campaigns.read", h.listSingleSends)}},
		{"/v3/marketing/singlesends/{id}", map[string]endpoint{
			http.MethodGet:    ep("marketing_campaigns.read", h.getSingleSend),
			http.MethodPost:   ep("marketing_campaigns.create", h.duplicateSingleSend),
			http.MethodPatch:  ep("marketing_campaigns.update", h.updateSingleSend),
			http.MethodDelete: ep("marketing_campaigns.delete", h.deleteSingleSend)}},
		{"/v3/marketing/singlesends/{id}/schedule", map[string]endpoint{
			http.MethodPut:    ep("marketing_campaigns.create", h.scheduleSingleSend),
			http.MethodDelete: ep("marketing_campaigns.delete", h.unscheduleSingleSend)}},
		{"/v3/marketing/lists", map[string]endpoint{
			http.MethodGet: ep("marketing_campaigns.read", h.listMarketingLists)}},
		{"/v3/contactdb/lists", map[string]endpoint{
			http.MethodGet: ep("marketing_campaigns.read", h.listContactdbLists)}},
	}...))
}

// named names each endpoint's operation after its method and pattern
// ("POST /v3/campaigns/{campaign_id}/schedules"), so that logs and metrics
// count every endpoint apart; several share a scope.
func named(routes []route) []route {
	for _, rt := range routes {
		for m, ep := range rt.methods {
			ep.op = m + " " + rt.pattern
			rt.methods[m] = ep
		}
	}
	return routes
}

// dispatch picks the method's endpoint (405 with Allow otherwise), checks
// its scope, and serves it.
func (h *Handler) dispatch(rt route) http.Handler {
	allowed := make([]string, 0, len(rt.methods))
	for m := range rt.methods {
		allowed = append(allowed, m)
	}
	sort.Strings(allowed)
	allow := strings.Join(allowed, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep, ok := rt.methods[r.Method]
		if !ok {
			infoOf(r).SetOperation("unknown")
			w.Header().Set("Allow", allow)
			writeError(w, r, errNoField(http.StatusMethodNotAllowed, msgMethod))
			return
		}
		infoOf(r).SetOperation(ep.op)
		c := callerOf(r.Context())
		if ep.scope != "" && !hasScope(c.key.Scopes, ep.scope) {
			writeError(w, r, &apiError{status: http.StatusForbidden,
				errs: []fieldError{{Message: msgForbidden}}, detail: "key lacks scope " + ep.scope})
			return
		}
		ep.serve(w, r, c)
	})
}

type callerKey struct{}

func callerOf(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	if c == nil {
		return &caller{}
	}
	return c
}

// infoOf returns the request's reqinfo record (nil, whose methods do
// nothing, outside the server).
func infoOf(r *http.Request) *reqinfo.Info { return reqinfo.From(r.Context()) }

// ServeHTTP authenticates the key, applies its rate, bounds the body and
// routes; it records the outcome for the server's logs and metrics.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := infoOf(r)
	info.SetMask(MaskBody)
	// The operation is known before the key is checked, so that refusals
	// (401, 429) count against their endpoint in the metrics.
	info.SetOperation(h.operation(r))
	sw := &statusWriter{ResponseWriter: w}
	defer func() { info.SetOutcome(strconv.Itoa(sw.status())) }()

	if h.public(r) {
		// A route without a scope needs no key; it still has a rate.
		if h.limitRate(sw, r, "addr:"+sourceAddr(r)) {
			h.mux.ServeHTTP(sw, r)
		}
		return
	}
	token, present := bearer(r.Header.Get("Authorization"))
	var c *caller
	if present {
		p, key, err := h.cfg.Keys.Verify(r.Context(), token)
		switch {
		case err == nil:
			c = &caller{principal: p, key: key}
			info.SetPrincipal(p.AccountID, p.Username)
			info.SetCredential(p.CredentialKind, p.Credential)
		case errors.Is(err, ErrKeyMissing):
			present = false
		case errors.Is(err, ErrKeyInvalid):
			if h.limitRate(sw, r, "addr:"+sourceAddr(r)) {
				info.SetDetail("invalid API key")
				writeRaw(sw, http.StatusUnauthorized, []byte(invalidGrantBody))
			}
			return
		default:
			if h.limitRate(sw, r, "addr:"+sourceAddr(r)) {
				writeError(sw, r, &apiError{status: http.StatusInternalServerError,
					errs: []fieldError{{Message: msgInternal}}, detail: "verify key: " + err.Error()})
			}
			return
		}
	}
	if !present {
		if h.limitRate(sw, r, "addr:"+sourceAddr(r)) {
			writeError(sw, r, errNoField(http.StatusUnauthorized, msgAuthRequired))
		}
		return
	}
	if !h.limitRate(sw, r, "key:"+c.key.ID) {
		return
	}
	if r.ContentLength > h.maxIn {
		writeError(sw, r, errNoField(http.StatusRequestEntityTooLarge, msgTooLarge))
		return
	}
	r.Body = http.MaxBytesReader(sw, r.Body, h.maxIn)
	if !isClean(r.URL.Path) {
		// ServeMux would answer a redirect with an HTML body; SendGrid
		// paths have no dot segments or empty segments to clean.
		writeError(sw, r, errNoField(http.StatusNotFound, msgNotFound))
		return
	}
	h.mux.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
}

// operation names the endpoint r is for ("unknown" for none).
func (h *Handler) operation(r *http.Request) string {
	if !isClean(r.URL.Path) {
		return "unknown" // Handler would name the pattern after a redirect
	}
	_, pattern := h.mux.Handler(r)
	if ep, ok := h.routes[pattern].methods[r.Method]; ok {
		return ep.op
	}
	return "unknown"
}

// public reports whether r is for a route method with no scope, which
// needs no key.
func (h *Handler) public(r *http.Request) bool {
	if !isClean(r.URL.Path) {
		return false
	}
	_, pattern := h.mux.Handler(r)
	ep, ok := h.routes[pattern].methods[r.Method]
	return ok && ep.scope == ""
}

// limitRate takes one request of key's rate and writes the rate headers;
// over the rate it answers 429 and returns false.
func (h *Handler) limitRate(w http.ResponseWriter, r *http.Request, key string) bool {
	st := h.rate.take(key)
	hd := w.Header()
	hd.Set("X-RateLimit-Limit", strconv.Itoa(st.limit))
	hd.Set("X-RateLimit-Remaining", strconv.Itoa(st.remaining))
	hd.Set("X-RateLimit-Reset", strconv.FormatInt(st.reset, 10))
	if !st.ok {
		infoOf(r).MarkThrottled()
		writeError(w, r, errNoField(http.StatusTooManyRequests, msgTooMany))
	}
	return st.ok
}

// isClean reports whether ServeMux would take p as it is (no "//", "."
// or ".." segment).
func isClean(p string) bool {
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean == p
}

// bearer reads "Bearer <token>"; an absent header, another scheme or an
// empty token (sendgrid-go sends "Bearer " for an empty key) is no key.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func sourceAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// statusWriter remembers the status written, for the outcome.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Name is the face's name in logs and metrics.
func (h *Handler) Name() string { return "sendgrid" }

// Mount serves every /v3/ path: the handler's own mux routes them, so that
// an unknown path or method is answered in SendGrid's JSON, not by the
// server's mux.
func (h *Handler) Mount(mux interface {
	Handle(pattern string, handler http.Handler)
}) {
	mux.Handle("/v3/", h)
}

// Refuse answers a request the server's in-flight limit turns away in
// SendGrid's shape: 503 with Retry-After and an ErrorResponse.
func (h *Handler) Refuse(w http.ResponseWriter, r *http.Request, reason string, retryAfter time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(max(retryAfter.Round(time.Second), time.Second)/time.Second)))
	writeError(w, r, bodyError(h.OverloadError(reason, retryAfter)))
}

// OverloadError is what reading a chunked body fails with when it outgrows
// the server's byte budget half-way; the face answers it as a 503.
func (h *Handler) OverloadError(reason string, retryAfter time.Duration) error {
	return &overloadError{reason: reason, retryAfter: retryAfter}
}

type overloadError struct {
	reason     string
	retryAfter time.Duration
}

func (e *overloadError) Error() string { return "too many " + e.reason + " in flight" }
