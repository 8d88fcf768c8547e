package console

import (
	"net/http"
	"strings"

	"github.com/partnerd/partnerd/store"
)

// outboxLast is how many deliveries the outbox page shows.
const outboxLast = 50

// outboxPage shows what went out, newest first, to whom, with the
// message: text as text, HTML in a sandboxed frame (no script, no
// same-origin access, nothing fetched beyond what the CSP allows).
func (f *Face) outboxPage(w http.ResponseWriter, r *http.Request) {
	s, _ := f.current(r)
	q := store.OutboxQuery{AccountID: s.AccountID, Last: outboxLast}
	if s.Operator() {
		if name := strings.TrimSpace(r.URL.Query().Get("account")); name != "" {
			a, err := f.cfg.Store.AccountByUsername(r.Context(), name)
			if err != nil {
				f.fail(w, r, http.StatusNotFound, "No such account.")
				return
			}
			q.AccountID = a.ID
		}
	}
	entries, err := f.cfg.Store.Outbox(r.Context(), q)
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The outbox could not be read.")
		return
	}
	f.render(w, r, http.StatusOK, "outbox", map[string]any{"Entries": entries})
}
