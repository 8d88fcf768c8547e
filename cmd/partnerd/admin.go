package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/partnerd/partnerd/dispatch"
	"github.com/partnerd/partnerd/internal/clock"
)

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
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

// adminHandler serves the manual clock: GET /admin/clock tells the time,
// POST /admin/clock moves it and answers once every send it made due has
// been dispatched. Every request needs "Authorization: Bearer <token>".
func adminHandler(token string, m *clock.Manual, d *dispatch.Dispatcher) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/admin/clock", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, clockState{Now: m.Now().Format(time.RFC3339Nano)})
		case http.MethodPost:
			var mv clockMove
			dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&mv); err != nil {
				adminError(w, http.StatusBadRequest, fmt.Sprintf(`body must be {"set": RFC3339} or {"advance": duration}: %v`, err))
				return
			}
			var to time.Time
			switch {
			case (mv.Set == "") == (mv.Advance == ""):
				adminError(w, http.StatusBadRequest, `give exactly one of "set" and "advance"`)
				return
			case mv.Set != "":
				t, err := time.Parse(time.RFC3339Nano, mv.Set)
				if err != nil {
					adminError(w, http.StatusBadRequest, fmt.Sprintf("set: %v", err))
					return
				}
				to = t
			default:
				dur, err := time.ParseDuration(mv.Advance)
				if err != nil {
					adminError(w, http.StatusBadRequest, fmt.Sprintf("advance: %v", err))
					return
				}
				to = m.Now().Add(dur)
			}
			before := d.Stats()
			// Set runs the dispatcher (Follow) before it returns.
			m.Set(to)
			after := d.Stats()
			if after.Errors > before.Errors {
				adminError(w, http.StatusInternalServerError, "the clock moved to "+to.UTC().Format(time.RFC3339Nano)+" but dispatch failed: "+after.LastError)
				return
			}
			writeJSON(w, http.StatusOK, clockState{Now: m.Now().Format(time.RFC3339Nano), Dispatched: &dispatchCounts{
				Completed: after.Completed - before.Completed, Discarded: after.Discarded - before.Discarded,
				Expired: after.Expired - before.Expired, Failed: after.Failed - before.Failed, Retried: after.Retried - before.Retried,
			}})
		default:
			w.Header().Set("Allow", "GET, POST")
			adminError(w, http.StatusMethodNotAllowed, "use GET or POST")
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		adminError(w, http.StatusNotFound, "no such admin endpoint; see /admin/clock")
	})
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(strings.TrimSpace(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="partnerd admin"`)
			adminError(w, http.StatusUnauthorized, "missing or wrong bearer token (printed at start, or PARTNERD_ADMIN_TOKEN)")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func adminError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// adminTimeouts bound what a client of the admin listener may hold: a
// connection that sends its request slowly, or stays idle, is closed, as on
// the main listener. The write timeout leaves room for a clock move whose
// dispatch pass is long. Tests shorten them.
var adminTimeouts = struct{ readHeader, read, write, idle time.Duration }{
	readHeader: 10 * time.Second,
	read:       30 * time.Second,
	write:      5 * time.Minute,
	idle:       2 * time.Minute,
}

// startAdmin serves adminHandler on addr until ctx ends, then closes done.
// It returns the address it listens on.
func startAdmin(ctx context.Context, addr, token string, m *clock.Manual, d *dispatch.Dispatcher, logger *slog.Logger, done chan struct{}) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("admin listener: %w", err)
	}
	srv := &http.Server{Handler: adminHandler(token, m, d),
		ReadHeaderTimeout: adminTimeouts.readHeader,
		ReadTimeout:       adminTimeouts.read,
		WriteTimeout:      adminTimeouts.write,
		IdleTimeout:       adminTimeouts.idle,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() {
		defer close(done)
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		}()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("admin listener", "err", err)
		}
	}()
	return ln.Addr().String(), nil
}
