package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/partnerd/partnerd/store"
)

// Live status by server-sent events: GET /console/events?s=ACCOUNT.ID,…
// streams the status of the sends a page shows (event "send", JSON
// {id, account, status, actions}) — all of them first, then each change —
// so that a send completing, expiring or being canceled, by any face or
// any server on the store, shows without a reload.
//
// The stream polls the store rather than listening inside this process:
// the dispatcher, the housekeeper and other servers sharing the store
// change sends too, and a poll of a page's sends by ID is one bounded read
// (at most maxPageSize sends, by primary key).
//
// The shared middleware puts GET answers under no write deadline of its
// own (the in-flight limit and its --min-write-rate deadline apply to
// requests with a body), so the stream's only bound is the http.Server's
// WriteTimeout, which it renews before each write through
// http.ResponseController: a reader that stops reading is still cut,
// after streamWriteBound, and an idle stream lives as long as its session.

const (
	// maxStreams bounds the event streams one session holds open at once
	// (a few tabs); one more is refused 429.
	maxStreams = 4
	// streamWriteBound is how long one event may take to write.
	streamWriteBound = 10 * time.Second
	// heartbeat is how often an idle stream writes a comment, so that
	// proxies and the browser see it alive.
	heartbeat = 15 * time.Second
	// defaultEventsPoll is how often a stream reads its sends.
	defaultEventsPoll = time.Second
)

// streams counts the open event streams per session, and ends them all
// when the server shuts down (EndStreams).
type streams struct {
	mu     sync.Mutex
	open   map[string]int
	done   chan struct{}
	closed bool
}

func newStreams() *streams { return &streams{open: map[string]int{}, done: make(chan struct{})} }

// acquire takes one of the session's stream slots; "" when it did, else
// why not (the session holds maxStreams already, or the server is
// shutting down).
func (st *streams) acquire(key string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case st.closed:
		return "The server is shutting down: reload in a moment."
	case st.open[key] >= maxStreams:
		return fmt.Sprintf("This session has %d event streams open already: close a tab.", maxStreams)
	}
	st.open[key]++
	return ""
}

func (st *streams) release(key string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.open[key]--; st.open[key] <= 0 {
		delete(st.open, key)
	}
}

// EndStreams ends every open event stream and refuses new ones: an
// http.Server's Shutdown waits for connections to go idle, which a stream
// never does (server.App registers it with RegisterOnShutdown). Browsers
// reconnect to the next server by themselves.
func (f *Face) EndStreams() {
	f.streams.mu.Lock()
	defer f.streams.mu.Unlock()
	if !f.streams.closed {
		f.streams.closed = true
		close(f.streams.done)
	}
}

// watched is a send a stream follows.
type watched struct{ account, id int64 }

// parseWatched reads ?s=ACCOUNT.ID,…: at most maxPageSize sends, an
// account session's all its own (another account's is unknown: 404).
func parseWatched(r *http.Request, s session) ([]watched, int, error) {
	v := r.URL.Query().Get("s")
	if v == "" {
		return nil, http.StatusBadRequest, errors.New("s must list the sends to follow, as ACCOUNT.ID,…")
	}
	parts := strings.Split(v, ",")
	if len(parts) > maxPageSize {
		return nil, http.StatusBadRequest, fmt.Errorf("at most %d sends may be followed", maxPageSize)
	}
	out := make([]watched, 0, len(parts))
	for _, p := range parts {
		a, i, ok := strings.Cut(p, ".")
		acct, err1 := strconv.ParseInt(a, 10, 64)
		id, err2 := strconv.ParseInt(i, 10, 64)
		if !ok || err1 != nil || err2 != nil || acct <= 0 || id <= 0 {
			return nil, http.StatusBadRequest, fmt.Errorf("%q is not ACCOUNT.ID", p)
		}
		if !s.Operator() && acct != s.AccountID {
			return nil, http.StatusNotFound, errNoSend
		}
		out = append(out, watched{acct, id})
	}
	return out, 0, nil
}

// sendEvent is the data of one "send" event.
type sendEvent struct {
	ID      int64            `json:"id"`
	Account int64            `json:"account"`
	Status  store.SendStatus `json:"status"`
	Actions []string         `json:"actions"`
}

// readWatched reads the followed sends' statuses, one read per account
// (FindSends by ID); a send that is gone is left out.
func (f *Face) readWatched(ctx context.Context, ws []watched) (map[watched]sendEvent, error) {
	byAccount := map[int64][]any{}
	for _, w := range ws {
		byAccount[w.account] = append(byAccount[w.account], w.id)
	}
	now := f.now()
	out := make(map[watched]sendEvent, len(ws))
	err := f.cfg.Store.View(ctx, func(tx store.Tx) error {
		for acct, ids := range byAccount {
			sends, err := tx.FindSends(ctx, acct, store.SendQuery{Limit: len(ids),
				Filter: &store.Cond{Field: store.FieldID, Op: store.OpIn, Values: ids}})
			if err != nil {
				return err
			}
			for _, s := range sends {
				actions := f.allowedActions(s, now)
				if actions == nil {
					actions = []string{}
				}
				out[watched{acct, s.ID}] = sendEvent{ID: s.ID, Account: acct, Status: s.Status, Actions: actions}
			}
		}
		return nil
	})
	return out, err
}

// events streams the followed sends' statuses until the client goes, the
// session ends (signed out, its user's password rotated, the user or the
// account disabled: the stream says "end" and stops), or the server shuts
// down.
func (f *Face) events(w http.ResponseWriter, r *http.Request) {
	s, _ := f.current(r)
	ws, status, err := parseWatched(r, s)
	if err != nil {
		f.fail(w, r, status, err.Error())
		return
	}
	key := string(s.IDHash)
	if why := f.streams.acquire(key); why != "" {
		w.Header().Set("Retry-After", "10")
		f.fail(w, r, http.StatusTooManyRequests, why)
		return
	}
	defer f.streams.release(key)

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no")
	// write sends one piece under a fresh deadline, and flushes it.
	write := func(p string) bool {
		// ErrNotSupported (a recorder) leaves the server's own deadline.
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteBound))
		if _, err := fmt.Fprint(w, p); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	w.WriteHeader(http.StatusOK)
	if !write("retry: 3000\n\n") {
		return
	}
	poll := f.cfg.EventsPoll
	if poll <= 0 {
		poll = defaultEventsPoll
	}
	ctx := r.Context()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	last := map[watched]sendEvent{}
	quiet := time.Now()
	for {
		if _, ok := f.lookup(r); !ok {
			write("event: end\ndata: {\"reason\":\"session ended\"}\n\n")
			return
		}
		now, err := f.readWatched(ctx, ws)
		if err != nil {
			if ctx.Err() == nil {
				f.cfg.Logger.Error("console: reading followed sends", "err", err)
			}
			return
		}
		for _, x := range ws {
			ev, ok := now[x]
			if !ok {
				continue
			}
			if old, seen := last[x]; seen && old.Status == ev.Status && slices.Equal(old.Actions, ev.Actions) {
				continue
			}
			last[x] = ev
			data, _ := json.Marshal(ev)
			if !write("event: send\ndata: " + string(data) + "\n\n") {
				return
			}
			quiet = time.Now()
		}
		if time.Since(quiet) >= heartbeat {
			if !write(": alive\n\n") {
				return
			}
			quiet = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-f.streams.done:
			write("event: end\ndata: {\"reason\":\"server shutting down\"}\n\n")
			return
		case <-tick.C:
		}
	}
}
