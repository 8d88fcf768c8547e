package sendgrid

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/store"
)

// The Single Sends endpoints (/v3/marketing/singlesends, notes §7). Their
// errors carry field, message and error_id (writeSingleSendError); times
// are ISO 8601 (RFC 3339, UTC).

// writeSingleSendError writes e as {"errors":[{"field","message","error_id"}]}.
func writeSingleSendError(w http.ResponseWriter, r *http.Request, e *mktError) {
	if e.detail != "" {
		infoOf(r).SetDetail(e.detail)
	} else if len(e.items) > 0 {
		infoOf(r).SetDetail(e.items[0].Message)
	}
	writeJSON(w, e.status, struct {
		Errors []mktItem `json:"errors"`
	}{e.items})
}

type sendToJSON struct {
	ListIDs    []string `json:"list_ids"`
	SegmentIDs []string `json:"segment_ids"`
	All        bool     `json:"all"`
}

type emailConfigJSON struct {
	Subject              string  `json:"subject"`
	HTMLContent          string  `json:"html_content"`
	PlainContent         string  `json:"plain_content"`
	GeneratePlainContent bool    `json:"generate_plain_content"`
	Editor               string  `json:"editor"`
	SuppressionGroupID   *int64  `json:"suppression_group_id"`
	CustomUnsubscribeURL *string `json:"custom_unsubscribe_url"`
	SenderID             *int64  `json:"sender_id"`
	IPPool               *string `json:"ip_pool"`
}

// singleSendJSON is SinglesendResponse.
type singleSendJSON struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Status      string          `json:"status"`
	Categories  []string        `json:"categories"`
	SendAt      *string         `json:"send_at"`
	SendTo      sendToJSON      `json:"send_to"`
	EmailConfig emailConfigJSON `json:"email_config"`
	UpdatedAt   string          `json:"updated_at"`
	CreatedAt   string          `json:"created_at"`
}

// singleSendShortJSON is SinglesendResponseShort, an item of the list.
// partnerd has no A/B tests: abtest is null, is_abtest false.
type singleSendShortJSON struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	ABTest     *struct{} `json:"abtest"`
	Status     string    `json:"status"`
	Categories []string  `json:"categories"`
	SendAt     *string   `json:"send_at,omitempty"` // a string in the spec: left out when unset
	IsABTest   bool      `json:"is_abtest"`
	UpdatedAt  string    `json:"updated_at"`
	CreatedAt  string    `json:"created_at"`
}

// singleSendScheduleJSON is SinglesendSchedule.
type singleSendScheduleJSON struct {
	SendAt *string `json:"send_at"`
	Status string  `json:"status"`
}

func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func isoOrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := isoTime(t)
	return &s
}

func toSingleSendJSON(ss marketing.SingleSend) singleSendJSON {
	ec := ss.EmailConfig
	editor := ec.Editor
	if editor == "" {
		editor = "code" // SendGrid's default
	}
	return singleSendJSON{ID: ss.ID, Name: ss.Name, Status: string(ss.Status), Categories: orEmpty(ss.Categories),
		SendAt: isoOrNull(ss.SendAt),
		SendTo: sendToJSON{ListIDs: orEmpty(ss.SendTo.ListIDs), SegmentIDs: orEmpty(ss.SendTo.SegmentIDs), All: ss.SendTo.All},
		EmailConfig: emailConfigJSON{Subject: ec.Subject, HTMLContent: ec.HTMLContent, PlainContent: ec.PlainContent,
			GeneratePlainContent: ec.GenerateUniquePlainContent, Editor: editor, SuppressionGroupID: ec.SuppressionGroupID,
			CustomUnsubscribeURL: orNull(ec.CustomUnsubscribeURL), SenderID: ec.SenderID, IPPool: orNull(ec.IPPool)},
		UpdatedAt: isoTime(ss.Updated), CreatedAt: isoTime(ss.Created)}
}

// readSingleSend decodes a Single Send body into a patch: name,
// categories, send_at (ISO 8601 or null), send_to and email_config (each
// replaced whole when sent). Members partnerd does not keep (design_id,
// custom_unsubscribe_url of send_to …) are ignored, as SendGrid ignores
// unknown members.
func readSingleSend(r *http.Request) (marketing.SingleSendPatch, *mktError) {
	o, e := readObject(r, false)
	if e != nil {
		return marketing.SingleSendPatch{}, fromAPIError(e)
	}
	f := newFields(o)
	var p marketing.SingleSendPatch
	if v := f.str("name"); f.has("name") {
		p.Name = marketing.Some(v)
	}
	if v := f.strs("categories"); f.has("categories") {
		p.Categories = marketing.Some(v)
	}
	if f.has("send_at") {
		var at time.Time
		if s := f.str("send_at"); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				f.bad("send_at", "send_at must be an ISO 8601 date-time (2026-01-02T15:04:05Z)")
			}
			at = t.UTC()
		}
		p.SendAt = marketing.Some(at)
	}
	if f.has("send_to") {
		var to store.SendTo
		if sub := f.sub("send_to"); sub != nil {
			to = store.SendTo{ListIDs: sub.strs("list_ids"), SegmentIDs: sub.strs("segment_ids"), All: sub.boolean("all")}
		}
		p.SendTo = marketing.Some(to)
	}
	if f.has("email_config") {
		var ec store.EmailConfig
		if sub := f.sub("email_config"); sub != nil {
			ec = store.EmailConfig{Subject: sub.str("subject"), HTMLContent: sub.str("html_content"),
				PlainContent: sub.str("plain_content"), GenerateUniquePlainContent: sub.boolean("generate_plain_content"),
				Editor: sub.str("editor"), SuppressionGroupID: sub.intPtr("suppression_group_id"),
				CustomUnsubscribeURL: sub.str("custom_unsubscribe_url"), SenderID: sub.intPtr("sender_id"), IPPool: sub.str("ip_pool")}
			if ec.Editor != "" && ec.Editor != "code" && ec.Editor != "design" {
				sub.bad("editor", "editor must be code or design")
			}
		}
		p.EmailConfig = marketing.Some(ec)
	}
	if len(*f.errs) > 0 {
		return marketing.SingleSendPatch{}, badRequest(*f.errs)
	}
	return p, nil
}

// createSingleSend is POST /v3/marketing/singlesends: 201 with the draft.
// A send_at only pre-fills the time; PUT …/schedule schedules.
func (h *Handler) createSingleSend(w http.ResponseWriter, r *http.Request, c *caller) {
	p, e := readSingleSend(r)
	if e != nil {
		writeSingleSendError(w, r, e)
		return
	}
	in := marketing.SingleSendInput{SingleSendFields: store.SingleSendFields{Name: p.Name.Value,
		Categories: p.Categories.Value, SendTo: p.SendTo.Value, EmailConfig: p.EmailConfig.Value}, SendAt: p.SendAt.Value}
	ss, err := h.cfg.Marketing.CreateSingleSend(r.Context(), c.principal.AccountID, in)
	if err != nil {
		writeSingleSendError(w, r, mktErrorOf("create single send", err))
		return
	}
	writeJSON(w, http.StatusCreated, toSingleSendJSON(ss))
}

// listSingleSends is GET /v3/marketing/singlesends?page_size&page_token:
// {"result":[…],"_metadata":{"self","next"?,"count"}}, in creation order.
// count is the number of items on this page.
func (h *Handler) listSingleSends(w http.ResponseWriter, r *http.Request, c *caller) {
	q := r.URL.Query()
	size := marketing.DefaultPage
	if v := q.Get("page_size"); q.Has("page_size") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > marketing.MaxPage {
			writeSingleSendError(w, r, badRequest([]fieldError{{Field: field("page_size"),
				Message: "page_size must be an integer from 1 to " + strconv.Itoa(marketing.MaxPage)}}))
			return
		}
		size = n
	}
	token := q.Get("page_token")
	page, err := h.cfg.Marketing.SingleSends(r.Context(), c.principal.AccountID, size, token)
	if err != nil {
		writeSingleSendError(w, r, mktErrorOf("list single sends", err))
		return
	}
	type metadata struct {
		Self  string `json:"self"`
		Next  string `json:"next,omitempty"`
		Count int    `json:"count"`
	}
	out := struct {
		Result   []singleSendShortJSON `json:"result"`
		Metadata metadata              `json:"_metadata"`
	}{Result: make([]singleSendShortJSON, len(page.Result)),
		Metadata: metadata{Self: pageURL(r, size, token), Count: len(page.Result)}}
	if page.NextToken != "" {
		out.Metadata.Next = pageURL(r, size, page.NextToken)
	}
	for i, ss := range page.Result {
		out.Result[i] = singleSendShortJSON{ID: ss.ID, Name: ss.Name, Status: string(ss.Status),
			Categories: orEmpty(ss.Categories), SendAt: isoOrNull(ss.SendAt), UpdatedAt: isoTime(ss.Updated), CreatedAt: isoTime(ss.Created)}
	}
	writeJSON(w, http.StatusOK, out)
}

// pageURL is the absolute URL of the list's page after token.
func pageURL(r *http.Request, size int, token string) string {
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	q := url.Values{"page_size": {strconv.Itoa(size)}}
	if token != "" {
		q.Set("page_token", token)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// getSingleSend is GET /v3/marketing/singlesends/{id}.
func (h *Handler) getSingleSend(w http.ResponseWriter, r *http.Request, c *caller) {
	ss, err := h.cfg.Marketing.SingleSend(r.Context(), c.principal.AccountID, r.PathValue("id"))
	if err != nil {
		writeSingleSendError(w, r, mktErrorOf("get single send", err))
		return
	}
	writeJSON(w, http.StatusOK, toSingleSendJSON(ss))
}

// duplicateSingleSend is POST /v3/marketing/singlesends/{id}
// {"name"?}: 201 with a draft copy, named name or "Copy of " and the
// original's name.
func (h *Handler) duplicateSingleSend(w http.ResponseWriter, r *http.Request, c *caller) {
	o, ae := readObject(r, true)
	if ae != nil {
		writeSingleSendError(w, r, fromAPIError(ae))
		return
	}
	f := newFields(o)
	name := f.str("name")
	if len(*f.errs) > 0 {
		writeSingleSendError(w, r, badRequest(*f.errs))
		return
	}
	ss, err := h.cfg.Marketing.DuplicateSingleSend(r.Context(), c.principal.AccountID, r.PathValue("id"), name)
	if err != nil {
		writeSingleSendError(w, r, mktErrorOf("duplicate single send", err))
		return
	}
	writeJSON(w, http.StatusCreated, toSingleSendJSON(ss))
}

// updateSingleSend is PATCH /v3/marketing/singlesends/{id}: 202 with the
// Single Send (the spec's code), 400 once it is no longer a draft.
func (h *Handler) updateSingleSend(w http.ResponseWriter, r *http.Request, c *caller) {
	p, e := readSingleSend(r)
	if e != nil {
		writeSingleSendError(w, r, e)
		return
	}
	ss, err := h.cfg.Marketing.UpdateSingleSend(r.Context(), c.principal.AccountID, r.PathValue("id"), p)
	if err != nil {
		writeSingleSendError(w, r, mktErrorOf("update single send", err))
		return
	}
	writeJSON(w, http.StatusAccepted, toSingleSendJSON(ss))
}

// deleteSingleSend is DELETE /v3/marketing/singlesends/{id}: 204; a
// scheduled or triggered one is halted as a deleted campaign is.
func (h *Handler) deleteSingleSend(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := h.cfg.Marketing.DeleteSingleSend(r.Context(), c.principal.AccountID, r.PathValue("id")); err != nil {
		writeSingleSendError(w, r, mktErrorOf("delete single send", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// scheduleSingleSend is PUT …/{id}/schedule {"send_at": ISO 8601 | "now"}:
// 201 {"send_at","status":"scheduled"}.
func (h *Handler) scheduleSingleSend(w http.ResponseWriter, r *http.Request, c *caller) {
	o, ae := readObject(r, false)
	if ae != nil {
		writeSingleSendError(w, r, fromAPIError(ae))
		return
	}
	f := newFields(o)
	var at time.Time // zero: now
	switch s := f.str("send_at"); {
	case len(*f.errs) > 0:
	case s == "":
		f.bad("send_at", "send_at is required: an ISO 8601 date-time or \"now\"")
	case s != "now":
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			f.bad("send_at", "send_at must be an ISO 8601 date-time (2026-01-02T15:04:05Z) or \"now\"")
		}
		at = t.UTC()
	}
	if len(*f.errs) > 0 {
		writeSingleSendError(w, r, badRequest(*f.errs))
		return
	}
	s, err := h.cfg.Marketing.ScheduleSingleSend(r.Context(), c.principal.AccountID, r.PathValue("id"), at)
	if err != nil {
		writeSingleSendError(w, r, mktErrorOf("schedule single send", err))
		return
	}
	writeJSON(w, http.StatusCreated, singleSendScheduleJSON{SendAt: isoOrNull(s.SendAt), Status: string(s.Status)})
}

// unscheduleSingleSend is DELETE …/{id}/schedule: 200 {"send_at",
// "status":"draft"}; the Single Send is kept, its sends discarded. One
// already triggered is refused (400): only DELETE of it stops it.
func (h *Handler) unscheduleSingleSend(w http.ResponseWriter, r *http.Request, c *caller) {
	s, err := h.cfg.Marketing.UnscheduleSingleSend(r.Context(), c.principal.AccountID, r.PathValue("id"))
	if err != nil {
		writeSingleSendError(w, r, mktErrorOf("unschedule single send", err))
		return
	}
	writeJSON(w, http.StatusOK, singleSendScheduleJSON{SendAt: isoOrNull(s.SendAt), Status: string(s.Status)})
}
