package sendgrid

import "net/http"

// The read-only list endpoints: a REST-only user sees the lists made with
// `partnerd list create` (a list has an int id for legacy campaigns'
// list_ids and a UUID for Single Sends' send_to.list_ids). Lists are not
// created or changed over REST.

type marketingListJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	ContactCount int    `json:"contact_count"`
}

type contactdbListJSON struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	RecipientCount int    `json:"recipient_count"`
}

// listMarketingLists is GET /v3/marketing/lists: every list of the account
// on one page, {"result":[{id (UUID),name,contact_count}],"_metadata":
// {"self","count"}}; page_size and page_token are not read.
func (h *Handler) listMarketingLists(w http.ResponseWriter, r *http.Request, c *caller) {
	ls, err := h.cfg.Marketing.Lists(r.Context(), c.principal.AccountID)
	if err != nil {
		writeError(w, r, internal("lists", err))
		return
	}
	type metadata struct {
		Self  string `json:"self"`
		Count int    `json:"count"`
	}
	out := struct {
		Result   []marketingListJSON `json:"result"`
		Metadata metadata            `json:"_metadata"`
	}{Result: make([]marketingListJSON, len(ls)), Metadata: metadata{Self: selfURL(r), Count: len(ls)}}
	for i, l := range ls {
		out.Result[i] = marketingListJSON{ID: l.UUID, Name: l.Name, ContactCount: l.RecipientCount}
	}
	writeJSON(w, http.StatusOK, out)
}

// listContactdbLists is GET /v3/contactdb/lists: {"lists":[{id (int),
// name, recipient_count}]}.
func (h *Handler) listContactdbLists(w http.ResponseWriter, r *http.Request, c *caller) {
	ls, err := h.cfg.Marketing.Lists(r.Context(), c.principal.AccountID)
	if err != nil {
		writeError(w, r, internal("lists", err))
		return
	}
	out := struct {
		Lists []contactdbListJSON `json:"lists"`
	}{make([]contactdbListJSON, len(ls))}
	for i, l := range ls {
		out.Lists[i] = contactdbListJSON{ID: l.ID, Name: l.Name, RecipientCount: l.RecipientCount}
	}
	writeJSON(w, http.StatusOK, out)
}

// selfURL is the request's own absolute URL.
func selfURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}
