// Package admin is the face that moves a manual clock (serve --clock
// manual): GET /admin/clock tells the time, POST /admin/clock sets or
// advances it and answers once every send it made due has been dispatched.
// Every request needs "Authorization: Bearer <token>". The server serves it
// on a listener of its own (--admin-addr), never beside the public faces.
package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/partnerd/partnerd/dispatch"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/reqinfo"
)

// Face is the admin clock API over one manual clock and the dispatcher that
// follows it.
type Face struct {
	token []byte // "Bearer <token>", compared in constant time
	clock *clock.Manual
	disp  *dispatch.Dispatcher
}

// New returns the face; token is what clients send as a bearer token.
func New(token string, m *clock.Manual, d *dispatch.Dispatcher) *Face {
	return &Face{token: []byte("Bearer " + token), clock: m, disp: d}
}

// RandomToken is a fresh token for when the operator gives none.
func RandomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Name implements server.Face.
func (*Face) Name() string { return "admin" }

// Mount implements server.Face. Unknown paths and other methods are
// answered in the face's JSON, not by the mux, and only after the token
// is checked: a client without it learns nothing of the routes.
func (f *Face) Mount(mux interface {
	Handle(pattern string, handler http.Handler)
}) {
	mux.Handle("GET /admin/clock", f.authorized(f.get))
	mux.Handle("POST /admin/clock", f.authorized(f.move))
	mux.Handle("/admin/clock", f.authorized(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "use GET or POST")
	}))
	mux.Handle("/", f.authorized(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such admin endpoint; see /admin/clock")
	}))
}

func (f *Face) authorized(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(strings.TrimSpace(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got, f.token) != 1 {
			reqinfo.From(r.Context()).SetOperation("unauthorized")
			w.Header().Set("WWW-Authenticate", `Bearer realm="partnerd admin"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token (printed at start, or PARTNERD_ADMIN_TOKEN)")
			return
		}
		next(w, r)
	})
}

// clockMove is the body of POST /admin/clock: exactly one of Set (RFC
// 3339) and Advance (a Go duration, "90m", "72h30m"; "0s" just runs what is
// due).
type clockMove struct {
	Set     string `json:"set,omitempty"`
	Advance string `json:"advance,omitempty"`
}

// clockState is every answer of /admin/clock. Dispatched counts what the
// move's dispatch pass did.
type clockState struct {
	Now        string          `json:"now"`
	Dispatched *dispatchCounts `json:"dispatched,omitempty"`
}

type dispatchCounts struct {
	Completed int64 `json:"completed"`
	Discarded int64 `json:"discarded"`
	Expired   int64 `json:"expired"`
	Failed    int64 `json:"failed"`
	Retried   int64 `json:"retried"`
}

func (f *Face) get(w http.ResponseWriter, r *http.Request) {
	reqinfo.From(r.Context()).SetOperation("clock.get")
	writeJSON(w, http.StatusOK, clockState{Now: f.clock.Now().Format(time.RFC3339Nano)})
}

func (f *Face) move(w http.ResponseWriter, r *http.Request) {
	reqinfo.From(r.Context()).SetOperation("clock.move")
	var mv clockMove
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mv); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`body must be {"set": RFC3339} or {"advance": duration}: %v`, err))
		return
	}
	var to time.Time
	switch {
	case (mv.Set == "") == (mv.Advance == ""):
		writeError(w, http.StatusBadRequest, `give exactly one of "set" and "advance"`)
		return
	case mv.Set != "":
		t, err := time.Parse(time.RFC3339Nano, mv.Set)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("set: %v", err))
			return
		}
		to = t
	default:
		dur, err := time.ParseDuration(mv.Advance)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("advance: %v", err))
			return
		}
		to = f.clock.Now().Add(dur)
	}
	before := f.disp.Stats()
	// Set runs the dispatcher (Follow) before it returns.
	f.clock.Set(to)
	after := f.disp.Stats()
	if after.Errors > before.Errors {
		reqinfo.From(r.Context()).SetDetail(after.LastError)
		writeError(w, http.StatusInternalServerError, "the clock moved to "+to.UTC().Format(time.RFC3339Nano)+" but dispatch failed: "+after.LastError)
		return
	}
	writeJSON(w, http.StatusOK, clockState{Now: f.clock.Now().Format(time.RFC3339Nano), Dispatched: &dispatchCounts{
		Completed: after.Completed - before.Completed, Discarded: after.Discarded - before.Discarded,
		Expired: after.Expired - before.Expired, Failed: after.Failed - before.Failed, Retried: after.Retried - before.Retried,
	}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
