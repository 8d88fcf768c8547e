package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/partnerd/partnerd/internal/ids"
	"github.com/partnerd/partnerd/store"
)

// opsFace is the server's own endpoints for operators and orchestrators:
// liveness, readiness and the Prometheus metrics. It is operational: never
// refused by the in-flight limit (a health check must answer under
// overload) and never in the exchange log.
type opsFace struct {
	store   store.Store
	logger  *slog.Logger
	metrics http.Handler
	ids     ids.Source
}

func (opsFace) Name() string      { return "ops" }
func (opsFace) Operational() bool { return true }

func (f opsFace) Mount(mux interface {
	Handle(pattern string, handler http.Handler)
}) {
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	}))
	mux.Handle("GET /readyz", http.HandlerFunc(f.ready))
	mux.Handle("GET /metrics", f.metrics)
}

func (f opsFace) ready(w http.ResponseWriter, r *http.Request) {
	if err := f.store.View(r.Context(), func(store.Tx) error { return nil }); err != nil {
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	// Ready means writes work too: a store that reads but cannot write (a
	// full disk) would fail every cancel. The cause goes to the log, not to
	// this unauthenticated answer.
	if wr, ok := f.store.(store.WriteReadier); ok {
		if err := wr.WriteReady(r.Context()); err != nil {
			f.logger.Warn("not ready: the store's writes fail", "err", err)
			http.Error(w, "store unavailable: writes fail", http.StatusServiceUnavailable)
			return
		}
	}
	io.WriteString(w, "ready\n")
	if f.ids != nil && f.ids.Deterministic() {
		// Never on by accident: whoever checks readiness sees it.
		fmt.Fprintf(w, "deterministic: seed %d\n", f.ids.Seed())
	}
}
