package sendgrid

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/store"
)

// The legacy Marketing Campaigns endpoints (/v3/campaigns, notes §6) and
// the one table that maps the marketing domain's errors to SendGrid's
// codes, for campaigns, Single Sends and lists alike.

// marketingErrors maps each sentinel of package marketing to its status,
// its field (null when ""), and the error_id Single Sends add. The message
// is the sentinel's own text: those SendGrid documents are its wording
// exactly (the 403s of notes §6). A *marketing.ValidationError is 400 with
// one item per problem (see mktErrorOf).
var marketingErrors = []struct {
	err     error
	status  int
	field   string
	errorID string
}{
	{marketing.ErrNotFound, http.StatusNotFound, "", "not_found"},
	{marketing.ErrListExists, http.StatusBadRequest, "name", "list_exists"},
	{marketing.ErrNotDraft, http.StatusForbidden, "", "not_draft"},
	{marketing.ErrAlreadyScheduled, http.StatusForbidden, "", "already_scheduled"},
	{marketing.ErrPastSendAt, http.StatusBadRequest, "send_at", "past_send_at"},
	{marketing.ErrNotScheduled, http.StatusForbidden, "", "not_scheduled"},
	{marketing.ErrSendNotDraft, http.StatusForbidden, "", "not_draft"},
	{marketing.ErrInProgress, http.StatusForbidden, "", "in_progress"},
	{marketing.ErrSent, http.StatusForbidden, "", "sent"},
	{marketing.ErrPaused, http.StatusForbidden, "", "paused"},
	{marketing.ErrCanceled, http.StatusForbidden, "", "canceled"},
	// SendGrid documents no code for these (the Single Sends spec lists
	// only 400, 404 and 500): a request the Single Send's state refuses
	// is a bad request.
	{marketing.ErrSingleSendNotDraft, http.StatusBadRequest, "", "not_draft"},
	{marketing.ErrTriggered, http.StatusBadRequest, "", "triggered"},
}

// mktItem is one error item of a marketing endpoint; ErrorID is written
// only by the Single Sends endpoints, whose errors carry it.
type mktItem struct {
	Field   *string `json:"field"`
	Message string  `json:"message"`
	ErrorID string  `json:"error_id"`
}

// mktError is a marketing endpoint's refusal.
type mktError struct {
	status int
	items  []mktItem
	detail string
}

// mktErrorOf maps err by marketingErrors; what names the call for the log
// of a 500.
func mktErrorOf(what string, err error) *mktError {
	var invalid *marketing.ValidationError
	if errors.As(err, &invalid) {
		e := &mktError{status: http.StatusBadRequest, detail: err.Error()}
		for _, p := range invalid.Problems {
			e.items = append(e.items, mktItem{Field: field(p.Field), Message: p.Message, ErrorID: "invalid"})
		}
		return e
	}
	for _, m := range marketingErrors {
		if errors.Is(err, m.err) {
			it := mktItem{Message: m.err.Error(), ErrorID: m.errorID}
			if m.field != "" {
				it.Field = field(m.field)
			}
			return &mktError{status: m.status, items: []mktItem{it}, detail: err.Error()}
		}
	}
	return fromAPIError(internal(what, err))
}

// fromAPIError carries a refusal of the shared decoding (bad JSON, 413,
// 503, 500) into a marketing one, its error_id named after its status.
func fromAPIError(e *apiError) *mktError {
	id := "bad_request"
	switch e.status {
	case http.StatusRequestEntityTooLarge:
		id = "payload_too_large"
	case http.StatusServiceUnavailable:
		id = "unavailable"
	case http.StatusInternalServerError:
		id = "internal"
	case http.StatusNotFound:
		id = "not_found"
	}
	out := &mktError{status: e.status, detail: e.detail}
	for _, f := range e.errs {
		out.items = append(out.items, mktItem{Field: f.Field, Message: f.Message, ErrorID: id})
	}
	return out
}

// badRequest is a 400 with one item per problem found while decoding.
func badRequest(errs []fieldError) *mktError {
	return fromAPIError(&apiError{status: http.StatusBadRequest, errs: errs})
}

// writeCampaignError writes e in the legacy API's ErrorResponse shape
// ({"field","message"}, no error_id).
func writeCampaignError(w http.ResponseWriter, r *http.Request, e *mktError) {
	out := &apiError{status: e.status, detail: e.detail}
	for _, it := range e.items {
		out.errs = append(out.errs, fieldError{Field: it.Field, Message: it.Message})
	}
	writeError(w, r, out)
}

// fields decodes the members of one JSON object, naming every wrong one
// (prefix + member, as the API spells its paths: "email_config.subject").
type fields struct {
	o      object
	prefix string
	errs   *[]fieldError
}

func newFields(o object) fields { return fields{o: o, errs: new([]fieldError)} }

// has reports whether the member was sent, null included: a PATCH sets
// what it sends.
func (f fields) has(name string) bool { _, ok := f.o[name]; return ok }

func (f fields) bad(name, msg string) {
	*f.errs = append(*f.errs, fieldError{Field: field(f.prefix + name), Message: msg})
}

// decode unmarshals a non-null member into v; a wrong type is told as
// "The <name> must be <what>." and leaves v as it was.
func (f fields) decode(name, what string, v any) {
	raw, ok := f.o[name]
	if !ok || isNull(raw) {
		return
	}
	if err := json.Unmarshal(raw, v); err != nil {
		f.bad(name, "The "+f.prefix+name+" must be "+what+".")
	}
}

func (f fields) str(name string) (v string) {
	if raw := f.o[name]; len(raw) > 0 && raw[0] != '"' && !isNull(raw) {
		f.bad(name, "The "+f.prefix+name+" must be a string.")
		return ""
	}
	f.decode(name, "a string", &v)
	return v
}

func (f fields) strs(name string) (v []string) {
	f.decode(name, "an array of strings", &v)
	return v
}

func (f fields) intPtr(name string) *int64 {
	var v *int64
	f.decode(name, "an integer", &v)
	return v
}

func (f fields) ints(name string) (v []int64) {
	f.decode(name, "an array of integers", &v)
	return v
}

func (f fields) boolean(name string) (v bool) {
	f.decode(name, "a boolean", &v)
	return v
}

// sub is the member name as an object (nil when absent or null).
func (f fields) sub(name string) *fields {
	raw, ok := f.o[name]
	if !ok || isNull(raw) {
		return nil
	}
	var o object
	if raw[0] != '{' || json.Unmarshal(raw, &o) != nil {
		f.bad(name, "The "+f.prefix+name+" must be an object.")
		return nil
	}
	return &fields{o: o, prefix: f.prefix + name + ".", errs: f.errs}
}

// campaignJSON is Campaigns2xx. A member the campaign has no value for
// is left out: POST's schema (Campaigns2xx) makes them nullable but GET's
// types them as bare strings and integers, and both require only title and
// status, so leaving them out satisfies both. Lists are [] when empty.
type campaignJSON struct {
	ID                   int64    `json:"id"`
	Title                string   `json:"title"`
	Subject              *string  `json:"subject,omitempty"`
	SenderID             *int64   `json:"sender_id,omitempty"`
	ListIDs              []int64  `json:"list_ids"`
	SegmentIDs           []int64  `json:"segment_ids"`
	Categories           []string `json:"categories"`
	SuppressionGroupID   *int64   `json:"suppression_group_id,omitempty"`
	CustomUnsubscribeURL *string  `json:"custom_unsubscribe_url,omitempty"`
	IPPool               *string  `json:"ip_pool,omitempty"`
	HTMLContent          *string  `json:"html_content,omitempty"`
	PlainContent         *string  `json:"plain_content,omitempty"`
	Editor               string   `json:"editor,omitempty"`
	Status               string   `json:"status"`
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func orEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func toCampaignJSON(c marketing.Campaign) campaignJSON {
	return campaignJSON{ID: c.ID, Title: c.Title, Subject: orNull(c.Subject), SenderID: c.SenderID,
		ListIDs: orEmpty(c.ListIDs), SegmentIDs: orEmpty(c.SegmentIDs), Categories: orEmpty(c.Categories),
		SuppressionGroupID: c.SuppressionGroupID, CustomUnsubscribeURL: orNull(c.CustomUnsubscribeURL),
		IPPool: orNull(c.IPPool), HTMLContent: orNull(c.HTMLContent), PlainContent: orNull(c.PlainContent),
		Editor: c.Editor, Status: string(c.Status)}
}

// readCampaign decodes a campaign body into a patch: every member sent is
// set (null clears it), every wrong one is named.
func readCampaign(r *http.Request) (marketing.CampaignPatch, *mktError) {
	o, e := readObject(r, false)
	if e != nil {
		return marketing.CampaignPatch{}, fromAPIError(e)
	}
	f := newFields(o)
	var p marketing.CampaignPatch
	str := func(name string, dst *marketing.Opt[string]) {
		if v := f.str(name); f.has(name) {
			*dst = marketing.Some(v)
		}
	}
	str("title", &p.Title)
	str("subject", &p.Subject)
	if v := f.intPtr("sender_id"); f.has("sender_id") {
		p.SenderID = marketing.Some(v)
	}
	if v := f.ints("list_ids"); f.has("list_ids") {
		p.ListIDs = marketing.Some(v)
	}
	if v := f.ints("segment_ids"); f.has("segment_ids") {
		p.SegmentIDs = marketing.Some(v)
	}
	if v := f.strs("categories"); f.has("categories") {
		p.Categories = marketing.Some(v)
	}
	if v := f.intPtr("suppression_group_id"); f.has("suppression_group_id") {
		p.SuppressionGroupID = marketing.Some(v)
	}
	str("custom_unsubscribe_url", &p.CustomUnsubscribeURL)
	str("ip_pool", &p.IPPool)
	str("html_content", &p.HTMLContent)
	str("plain_content", &p.PlainContent)
	str("editor", &p.Editor)
	if p.Editor.Set && p.Editor.Value != "" && p.Editor.Value != "code" && p.Editor.Value != "design" {
		f.bad("editor", "editor must be code or design")
	}
	if len(*f.errs) > 0 {
		return marketing.CampaignPatch{}, badRequest(*f.errs)
	}
	return p, nil
}

// newCampaign is what POST creates: the members sent, the rest unset.
func newCampaign(p marketing.CampaignPatch) store.CampaignFields {
	return store.CampaignFields{Title: p.Title.Value, Subject: p.Subject.Value, SenderID: p.SenderID.Value,
		ListIDs: p.ListIDs.Value, SegmentIDs: p.SegmentIDs.Value, Categories: p.Categories.Value,
		SuppressionGroupID: p.SuppressionGroupID.Value, CustomUnsubscribeURL: p.CustomUnsubscribeURL.Value,
		IPPool: p.IPPool.Value, HTMLContent: p.HTMLContent.Value, PlainContent: p.PlainContent.Value, Editor: p.Editor.Value}
}

// campaignID reads {campaign_id}: not an integer is no campaign (404).
func campaignID(r *http.Request) (int64, *mktError) {
	id, err := strconv.ParseInt(r.PathValue("campaign_id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, mktErrorOf("", marketing.ErrNotFound)
	}
	return id, nil
}

// createCampaign is POST /v3/campaigns: 201 with the Draft campaign.
func (h *Handler) createCampaign(w http.ResponseWriter, r *http.Request, c *caller) {
	p, e := readCampaign(r)
	if e != nil {
		writeCampaignError(w, r, e)
		return
	}
	camp, err := h.cfg.Marketing.CreateCampaign(r.Context(), c.principal.AccountID, newCampaign(p))
	if err != nil {
		writeCampaignError(w, r, mktErrorOf("create campaign", err))
		return
	}
	writeJSON(w, http.StatusCreated, toCampaignJSON(camp))
}

// listCampaigns is GET /v3/campaigns?limit&offset: newest first,
// {"result":[…]}. limit defaults to 10 and must be at least 1.
func (h *Handler) listCampaigns(w http.ResponseWriter, r *http.Request, c *caller) {
	q := r.URL.Query()
	var errs []fieldError
	limit, offset := marketing.DefaultLimit, 0
	if v := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fieldError{Field: field("limit"), Message: "limit must be an integer of at least 1"})
		}
		limit = n
	}
	if v := q.Get("offset"); q.Has("offset") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fieldError{Field: field("offset"), Message: "offset must be an integer of at least 0"})
		}
		offset = n
	}
	if len(errs) > 0 {
		writeCampaignError(w, r, badRequest(errs))
		return
	}
	cs, err := h.cfg.Marketing.Campaigns(r.Context(), c.principal.AccountID, limit, offset)
	if err != nil {
		writeCampaignError(w, r, mktErrorOf("list campaigns", err))
		return
	}
	out := result[campaignJSON]{Result: make([]campaignJSON, len(cs))}
	for i, camp := range cs {
		out.Result[i] = toCampaignJSON(camp)
	}
	writeJSON(w, http.StatusOK, out)
}

// getCampaign is GET /v3/campaigns/{campaign_id}.
func (h *Handler) getCampaign(w http.ResponseWriter, r *http.Request, c *caller) {
	id, e := campaignID(r)
	if e != nil {
		writeCampaignError(w, r, e)
		return
	}
	camp, err := h.cfg.Marketing.Campaign(r.Context(), c.principal.AccountID, id)
	if err != nil {
		writeCampaignError(w, r, mktErrorOf("get campaign", err))
		return
	}
	writeJSON(w, http.StatusOK, toCampaignJSON(camp))
}

// updateCampaign is PATCH /v3/campaigns/{campaign_id}: 200 with the
// campaign; 403 once it is no longer a Draft.
func (h *Handler) updateCampaign(w http.ResponseWriter, r *http.Request, c *caller) {
	id, e := campaignID(r)
	if e != nil {
		writeCampaignError(w, r, e)
		return
	}
	p, e := readCampaign(r)
	if e != nil {
		writeCampaignError(w, r, e)
		return
	}
	camp, err := h.cfg.Marketing.UpdateCampaign(r.Context(), c.principal.AccountID, id, p)
	if err != nil {
		writeCampaignError(w, r, mktErrorOf("update campaign", err))
		return
	}
	writeJSON(w, http.StatusOK, toCampaignJSON(camp))
}

// deleteCampaign is DELETE /v3/campaigns/{campaign_id}: 204. A campaign
// in progress is halted: none of its sends not yet taken by the
// dispatcher goes out (seed 000's way to stop one).
func (h *Handler) deleteCampaign(w http.ResponseWriter, r *http.Request, c *caller) {
	id, e := campaignID(r)
	if e != nil {
		writeCampaignError(w, r, e)
		return
	}
	if err := h.cfg.Marketing.DeleteCampaign(r.Context(), c.principal.AccountID, id); err != nil {
		writeCampaignError(w, r, mktErrorOf("delete campaign", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// campaignScheduleJSON is the schedule calls' answer: {"id","send_at",
// "status"} (POST, PATCH), {"id","status"} (now), {"send_at"} (GET).
type campaignScheduleJSON struct {
	ID     int64  `json:"id"`
	SendAt *int64 `json:"send_at"`
	Status string `json:"status"`
}

func unixOrNull(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	s := t.Unix()
	return &s
}

// readSendAt reads {"send_at": <UNIX seconds>}, required.
func readSendAt(r *http.Request) (time.Time, *mktError) {
	o, e := readObject(r, false)
	if e != nil {
		return time.Time{}, fromAPIError(e)
	}
	f := newFields(o)
	at := f.intPtr("send_at")
	if len(*f.errs) == 0 && at == nil {
		f.bad("send_at", "send_at is required")
	}
	if len(*f.errs) > 0 {
		return time.Time{}, badRequest(*f.errs)
	}
	return time.Unix(*at, 0).UTC(), nil
}

// scheduleCampaign is POST /v3/campaigns/{campaign_id}/schedules
// {"send_at"}: 201 {"id","send_at","status":"Scheduled"}.
func (h *Handler) scheduleCampaign(w http.ResponseWriter, r *http.Request, c *caller) {
	h.schedule(w, r, c, http.StatusCreated, h.cfg.Marketing.ScheduleCampaign)
}

// rescheduleCampaign is PATCH …/schedules {"send_at"}: 200, or 403 when
// the campaign is not Scheduled (any more).
func (h *Handler) rescheduleCampaign(w http.ResponseWriter, r *http.Request, c *caller) {
	h.schedule(w, r, c, http.StatusOK, h.cfg.Marketing.RescheduleCampaign)
}

func (h *Handler) schedule(w http.ResponseWriter, r *http.Request, c *caller, status int,
	call func(ctx context.Context, accountID, id int64, sendAt time.Time) (marketing.CampaignSchedule, error)) {
	id, e := campaignID(r)
	if e != nil {
		writeCampaignError(w, r, e)
		return
	}
	at, e := readSendAt(r)
	if e != nil {
		writeCampaignError(w, r, e)
		return
	}
	s, err := call(r.Context(), c.principal.AccountID, id, at)
	if err != nil {
		writeCampaignError(w, r, mktErrorOf("schedule campaign", err))
		return
	}
	writeJSON(w, status, campaignScheduleJSON{ID: s.ID, SendAt: unixOrNull(s.SendAt), Status: string(s.Status)})
}

// sendCampaignNow is POST …/schedules/now: 201 {"id","status"}.
func (h *Handler) sendCampaignNow(w http.ResponseWriter, r *http.Request, c *caller) {
	id, e := campaignID(r)
	if e != nil {
		writeCampaignError(w, r, e)
		return
	}
	s, err := h.cfg.Marketing.SendCampaignNow(r.Context(), c.principal.AccountID, id)
	if err != nil {
		writeCampaignError(w, r, mktErrorOf("send campaign now", err))
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}{s.ID, string(s.Status)})
}

// getCampaignSchedule is GET …/schedules: 200 {"send_at"}; a Draft has
// no schedule to view (404: the spec requires an integer send_at).
func (h *Handler) getCampaignSchedule(w http.ResponseWriter, r *http.Request, c *caller) {
	id, e := campaignID(r)
	if e != nil {
		writeCampaignError(w, r, e)
		return
	}
	s, err := h.cfg.Marketing.CampaignScheduleOf(r.Context(), c.principal.AccountID, id)
	if err != nil {
		writeCampaignError(w, r, mktErrorOf("campaign schedule", err))
		return
	}
	if s.SendAt.IsZero() {
		writeCampaignError(w, r, mktErrorOf("", marketing.ErrNotFound))
		return
	}
	writeJSON(w, http.StatusOK, struct {
		SendAt int64 `json:"send_at"`
	}{s.SendAt.Unix()})
}

// unscheduleCampaign is DELETE …/schedules: 204, the campaign a Draft
// again; 403 with the documented message once it is In Progress, Sent,
// Paused or Canceled (only DELETE of the campaign stops it then).
func (h *Handler) unscheduleCampaign(w http.ResponseWriter, r *http.Request, c *caller) {
	id, e := campaignID(r)
	if e != nil {
		writeCampaignError(w, r, e)
		return
	}
	if err := h.cfg.Marketing.UnscheduleCampaign(r.Context(), c.principal.AccountID, id); err != nil {
		writeCampaignError(w, r, mktErrorOf("unschedule campaign", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
