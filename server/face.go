package server

import (
	"net/http"
	"strings"
	"time"
)

// Face is one wire protocol partnerd speaks (SOAP, the admin clock API, the
// health and metrics endpoints; SendGrid's v3 API next), mounted on the
// server's one http.ServeMux. A face lives in a package of its own that does
// not import server: Mount's parameter is an unnamed interface, which
// *http.ServeMux satisfies too, so a face can be tested on a bare mux.
//
// Mount registers the face's routes with Go 1.22 method patterns ("POST
// /Service.asmx"): a request with another method is answered 405 by the mux,
// an unknown path 404. Every route mounted goes through the shared
// middleware (request ID, in-flight limit, access log, exchange log,
// metrics), which the face talks to through the request's reqinfo.Info.
//
// A face may also implement, optionally:
//   - Refuse (see Refuser): its answer to a request the in-flight limit
//     turns away; without it the answer is a plain 503 with Retry-After.
//   - CaseInsensitivePaths() []string: paths matched in any case (IIS
//     legacy: /service.asmx, /SERVICE.ASMX …).
//   - LogsOwnExchanges() bool: the face writes the exchange log itself
//     (SOAP, which masks what it parses anyway), so the middleware does
//     not capture its bodies.
//   - Operational() bool: the server's own endpoints (health, metrics),
//     never refused by the in-flight limit, never in the exchange log, and
//     access-logged at Debug, so that a scrape every few seconds does not
//     drown the requests.
type Face interface {
	Name() string
	Mount(mux interface {
		Handle(pattern string, handler http.Handler)
	})
}

// Refuser is a face that answers overload in its own language: SOAP with
// apifault Code 17 over 503. reason says what is over its limit
// ("requests", "request bytes"). OverloadError is what reading the body
// fails with when a chunked body outgrows the byte budget half-way; the
// face's handler answers it as it answers any body-read error.
type Refuser interface {
	Refuse(w http.ResponseWriter, r *http.Request, reason string, retryAfter time.Duration)
	OverloadError(reason string, retryAfter time.Duration) error
}

// overloadRetry is the Retry-After of every overload refusal: the limits
// free up as soon as the requests in flight are answered.
const overloadRetry = time.Second

// faceMux mounts faces on one ServeMux, each route wrapped in the shared
// middleware with its face's name and options.
type faceMux struct {
	mux    *http.ServeMux
	mw     *middleware
	folded []string // canonical paths matched in any case
}

// faceRoutes is the Handle a face's Mount sees: it wraps each handler in
// the middleware for that face.
type faceRoutes struct {
	fm   *faceMux
	face faceOptions
}

func (fr faceRoutes) Handle(pattern string, h http.Handler) {
	fr.fm.mux.Handle(pattern, fr.fm.mw.wrap(fr.face, h))
}

// mount adds f's routes.
func (fm *faceMux) mount(f Face) {
	opts := faceOptions{name: f.Name()}
	if r, ok := f.(Refuser); ok {
		opts.refuser = r
	}
	if o, ok := f.(interface{ Operational() bool }); ok {
		opts.operational = o.Operational()
	}
	if o, ok := f.(interface{ LogsOwnExchanges() bool }); ok {
		opts.logsOwn = o.LogsOwnExchanges()
	}
	if c, ok := f.(interface{ CaseInsensitivePaths() []string }); ok {
		fm.folded = append(fm.folded, c.CaseInsensitivePaths()...)
	}
	f.Mount(faceRoutes{fm: fm, face: opts})
}

// ServeHTTP routes r through the mux. A path registered case-insensitively
// is routed by its canonical spelling, but the face sees the request as
// sent: the SOAP face echoes the path it was called on (soap:address,
// faultactor).
func (fm *faceMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = collapseLeadingSlashes(r)
	for _, p := range fm.folded {
		if r.URL.Path != p && strings.EqualFold(r.URL.Path, p) {
			canonical := *r
			u := *r.URL
			u.Path, u.RawPath = p, ""
			canonical.URL = &u
			h, _ := fm.mux.Handler(&canonical)
			h.ServeHTTP(w, r)
			return
		}
	}
	fm.mux.ServeHTTP(w, r)
}
