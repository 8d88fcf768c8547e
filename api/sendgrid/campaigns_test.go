package sendgrid

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/oascheck"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// mrig is the face over the real domain: a test store, sending.Service,
// marketing.Service (chunks of 2 recipients) and auth.Keys, under a
// manual clock. Account acct owns list (5 recipients); other is a second
// account.
type mrig struct {
	t        testing.TB
	h        *Handler
	db       store.Store
	clk      *clock.Manual
	mkt      *marketing.Service
	acct     int64
	other    int64
	full     string // full-access key of acct
	readOnly string // marketing_campaigns.read key of acct
	otherKey string // full-access key of other
	list     store.MarketingList
	vars     map[string]string // placeholders of paths and bodies: {list} …
	answers  []answer          // every 2xx answer, checked against the official excerpt
	all      []answer          // every answer, checked against openapi.json
}

// answer is one successful exchange, for checkSpec.
type answer struct {
	method, path string
	status       int
	contentType  string
	body         []byte
}

func newMarketingRig(t testing.TB) *mrig {
	t.Helper()
	ctx := t.Context()
	db := testrig.OpenStore(t)
	m := &mrig{t: t, db: db, clk: clock.NewManual(t0), vars: map[string]string{}}
	for _, a := range []struct {
		name string
		id   *int64
	}{{"acme", &m.acct}, {"other", &m.other}} {
		acct := store.Account{Username: a.name, ClientID: 1001}
		if err := db.CreateAccount(ctx, &acct); err != nil {
			t.Fatal(err)
		}
		*a.id = acct.ID
	}
	send := &sending.Service{Store: db, Clock: m.clk, Policy: lifecycle.DefaultPolicy}
	keys := &auth.Keys{Store: db, Clock: m.clk}
	m.mkt = &marketing.Service{Store: db, Clock: m.clk, Sends: send, ChunkSize: 2}
	m.h = New(Config{Batches: send, Sends: send, Keys: keys, Marketing: m.mkt, Clock: m.clk,
		RateNow: func() time.Time { return t0 }})
	mustKey := func(acct int64, scopes []string) string {
		_, tok, err := keys.Create(ctx, acct, "k", scopes)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	m.full = mustKey(m.acct, nil)
	m.readOnly = mustKey(m.acct, []string{"marketing_campaigns.read"})
	m.otherKey = mustKey(m.other, nil)
	rs := make([]store.ListRecipient, 5)
	for i := range rs {
		rs[i].Address = fmt.Sprintf("r%d@example.com", i)
	}
	var err error
	if m.list, err = m.mkt.CreateList(ctx, m.acct, "spring", rs); err != nil {
		t.Fatal(err)
	}
	m.vars["{list}"] = strconv.FormatInt(m.list.ID, 10)
	m.vars["{uuid}"] = m.list.UUID
	t.Cleanup(m.checkSpec)
	return m
}

// specFiles: which file of the official excerpt declares a path.
var specFiles = []struct{ prefix, file string }{
	{"/v3/campaigns", "tsg_lmc_campaigns_v3.json"},
	{"/v3/marketing/singlesends", "tsg_mc_singlesends_v3.json"},
	{"/v3/marketing/lists", "tsg_mc_lists_v3.json"},
	{"/v3/contactdb/lists", "tsg_lmc_contactdb_v3.json"},
}

// checkSpec validates every 2xx answer of the test against the official
// SendGrid excerpt (../shared/reference), when the checkout has it. Error
// answers are left out: the excerpt types "field" as a string where real
// servers send null (notes §9).
func (m *mrig) checkSpec() {
	// Our own document first: it must describe every answer, errors too,
	// but a 405 (a method no operation of the path has, which OpenAPI
	// cannot declare).
	ours, err := oascheck.Parse("openapi.json", OpenAPI())
	if err != nil {
		m.t.Fatal(err)
	}
	for _, a := range m.all {
		if a.status == 405 { // http.StatusMethodNotAllowed
			continue
		}
		if err := ours.Validate(a.method, a.path, a.status, a.contentType, a.body); err != nil {
			m.t.Errorf("openapi.json: %s %s: %v\n%s", a.method, a.path, err, a.body)
		}
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "reference", "sendgrid-oai-subset.json"))
	if err != nil {
		return // no ../shared beside this checkout
	}
	docs, err := oascheck.ParseSubset(data, true)
	if err != nil {
		m.t.Fatal(err)
	}
	for _, a := range m.answers {
		for _, f := range specFiles {
			if strings.HasPrefix(a.path, f.prefix) {
				if err := docs[f.file].Validate(a.method, a.path, a.status, a.contentType, a.body); err != nil {
					m.t.Errorf("%s %s: %v\n%s", a.method, a.path, err, a.body)
				}
				break
			}
		}
	}
}

// expand replaces the rig's placeholders in s.
func (m *mrig) expand(s string) string {
	for k, v := range m.vars {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

func (m *mrig) do(method, path, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, m.expand(path), strings.NewReader(m.expand(body)))
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, req)
	a := answer{method, req.URL.Path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes()}
	m.all = append(m.all, a)
	if rec.Code/100 == 2 {
		m.answers = append(m.answers, a)
	}
	return rec
}

// step is one request and its answer; body "-" is not compared. Paths,
// bodies and answers may hold the rig's placeholders.
type step struct {
	name   string
	method string
	path   string
	token  string // "" is the full-access key
	body   string
	status int
	want   string
	after  func(t *testing.T) // checks or moves on the domain after the step
}

func (m *mrig) run(steps []step) {
	m.t.Helper()
	for _, s := range steps {
		ok := m.t.(*testing.T).Run(s.name, func(t *testing.T) {
			tok := s.token
			if tok == "" {
				tok = m.full
			}
			rec := m.do(s.method, s.path, tok, s.body)
			want := s.want
			if want != "-" {
				want = m.expand(want)
			}
			check(t, rec, s.status, want)
			if s.after != nil {
				s.after(t)
			}
		})
		if !ok {
			m.t.FailNow() // later steps build on this one
		}
	}
}

// sends reads every send of acct.
func (m *mrig) sends() []store.Send {
	m.t.Helper()
	var sends []store.Send
	err := m.db.View(m.t.Context(), func(tx store.Tx) error {
		var err error
		sends, err = tx.FindSends(m.t.Context(), m.acct, store.SendQuery{})
		return err
	})
	if err != nil {
		m.t.Fatal(err)
	}
	return sends
}

// live is the sends still to go out: Scheduled and not discarded.
func (m *mrig) live() []store.Send {
	var out []store.Send
	for _, s := range m.sends() {
		if s.Status == store.StatusScheduled && !s.Discarded {
			out = append(out, s)
		}
	}
	return out
}

// claim claims up to n due sends, as the dispatcher does.
func (m *mrig) claim(n int) []store.ClaimedSend {
	m.t.Helper()
	got, err := m.db.ClaimDueSends(m.t.Context(), store.Claim{Now: m.clk.Now(), Owner: "test",
		LeaseUntil: m.clk.Now().Add(time.Minute), Limit: n})
	if err != nil {
		m.t.Fatal(err)
	}
	return got
}

func (m *mrig) complete(cs []store.ClaimedSend) {
	m.t.Helper()
	entries := make([]store.OutboxEntry, len(cs))
	for i, c := range cs {
		entries[i] = store.OutboxEntry{SendID: c.ID, AccountID: c.AccountID, ObjectID: c.ObjectID, Transport: "outbox",
			NumberSent: int64(len(c.Content.Recipients)), DeliveredAt: m.clk.Now(), Attempt: 1}
	}
	if _, err := m.db.CompleteSends(m.t.Context(), entries); err != nil {
		m.t.Fatal(err)
	}
}

// wantLive fails unless n sends are still to go out, each due at at.
func (m *mrig) wantLive(t *testing.T, n int, at time.Time) {
	t.Helper()
	live := m.live()
	if len(live) != n {
		t.Fatalf("%d sends to go out, want %d", len(live), n)
	}
	for _, s := range live {
		if !s.SendDate.Equal(at) {
			t.Errorf("send %d due at %v, want %v", s.ID, s.SendDate, at)
		}
	}
}

// createCampaign creates a ready campaign over REST and names it {c}.
func (m *mrig) createCampaign(title string) string {
	m.t.Helper()
	rec := m.do("POST", "/v3/campaigns", m.full, `{"title":"`+title+`","subject":"Hello","list_ids":[{list}],"html_content":"<p>hi [unsubscribe]</p>","plain_content":"hi"}`)
	if rec.Code != 201 {
		m.t.Fatalf("create campaign: %d %s", rec.Code, rec.Body)
	}
	var c struct{ ID int64 }
	if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil {
		m.t.Fatal(err)
	}
	m.vars["{c}"] = strconv.FormatInt(c.ID, 10)
	return m.vars["{c}"]
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

const bodyNotFound = `{"errors":[{"field":null,"message":"not found"}]}`

func errBody(field, msg string) string {
	f := "null"
	if field != "-" {
		f = strconv.Quote(field)
	}
	return `{"errors":[{"field":` + f + `,"message":` + strconv.Quote(msg) + `}]}`
}

func TestCampaignLifecycle(t *testing.T) {
	m := newMarketingRig(t)
	at, later := t0.Add(time.Hour), t0.Add(2*time.Hour)
	var inFlight []store.ClaimedSend
	campaign := func(subject, status string) string {
		return `{"id":{c},"title":"Spring","subject":"` + subject + `","list_ids":[{list}],"segment_ids":[],"categories":[],` +
			`"html_content":"\u003cp\u003ehi [unsubscribe]\u003c/p\u003e",` +
			`"plain_content":"hi","status":"` + status + `"}`
	}
	rec := m.do("POST", "/v3/campaigns", m.full, `{"title":"Spring","subject":"Hello","list_ids":[{list}],"html_content":"<p>hi [unsubscribe]</p>","plain_content":"hi"}`)
	var created struct{ ID int64 }
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(rec.Body, err)
	}
	m.vars["{c}"] = strconv.FormatInt(created.ID, 10)
	check(t, rec, 201, m.expand(campaign("Hello", "Draft")))
	m.run([]step{
		{name: "get", method: "GET", path: "/v3/campaigns/{c}", status: 200, want: campaign("Hello", "Draft")},
		{name: "read-only key reads", method: "GET", path: "/v3/campaigns/{c}", token: m.readOnly, status: 200, want: campaign("Hello", "Draft")},
		{name: "read-only key may not update", method: "PATCH", path: "/v3/campaigns/{c}", token: m.readOnly, body: `{"subject":"x"}`, status: 403, want: bodyForbidden},
		{name: "another account's campaign is unknown", method: "GET", path: "/v3/campaigns/{c}", token: m.otherKey, status: 404, want: bodyNotFound},
		{name: "patch a draft", method: "PATCH", path: "/v3/campaigns/{c}", body: `{"subject":"Hi"}`, status: 200, want: campaign("Hi", "Draft")},
		{name: "schedule", method: "POST", path: "/v3/campaigns/{c}/schedules", body: `{"send_at":` + unix(at) + `}`,
			status: 201, want: `{"id":{c},"send_at":` + unix(at) + `,"status":"Scheduled"}`,
			after: func(t *testing.T) {
				m.wantLive(t, 3, at) // 5 recipients in chunks of 2, one batch, as SOAP Retrieve sees them
				for _, s := range m.live() {
					if s.Subject != "Hi" || s.BatchID != m.live()[0].BatchID || !strings.HasPrefix(s.CustomerKey, m.expand("campaign-{c}-")) {
						t.Errorf("send %+v", s)
					}
				}
			}},
		{name: "schedule again", method: "POST", path: "/v3/campaigns/{c}/schedules", body: `{"send_at":` + unix(at) + `}`,
			status: 403, want: errBody("-", "You cannot POST to a campaign that has already sent or scheduled. However you can update a scheduled campaign with a PATCH.")},
		{name: "send now once scheduled", method: "POST", path: "/v3/campaigns/{c}/schedules/now",
			status: 403, want: errBody("-", "You may only send a campaign when it is in draft mode.")},
		{name: "patch once scheduled", method: "PATCH", path: "/v3/campaigns/{c}", body: `{"subject":"x"}`,
			status: 403, want: errBody("-", "You may only update a campaign when it is in draft mode.")},
		{name: "get scheduled", method: "GET", path: "/v3/campaigns/{c}", status: 200, want: campaign("Hi", "Scheduled")},
		{name: "reschedule in the past", method: "PATCH", path: "/v3/campaigns/{c}/schedules", body: `{"send_at":` + unix(t0.Add(-time.Hour)) + `}`,
			status: 400, want: errBody("send_at", "Please choose a future time for sending your campaign.")},
		{name: "reschedule", method: "PATCH", path: "/v3/campaigns/{c}/schedules", body: `{"send_at":` + unix(later) + `}`,
			status: 200, want: `{"id":{c},"send_at":` + unix(later) + `,"status":"Scheduled"}`,
			after: func(t *testing.T) { m.wantLive(t, 3, later) }},
		{name: "get schedule", method: "GET", path: "/v3/campaigns/{c}/schedules", status: 200, want: `{"send_at":` + unix(later) + `}`},
		{name: "unschedule", method: "DELETE", path: "/v3/campaigns/{c}/schedules", status: 204, want: "",
			after: func(t *testing.T) { m.wantLive(t, 0, later) }},
		{name: "draft again", method: "GET", path: "/v3/campaigns/{c}", status: 200, want: campaign("Hi", "Draft")},
		{name: "get schedule of a draft", method: "GET", path: "/v3/campaigns/{c}/schedules", status: 404, want: bodyNotFound},
		{name: "reschedule a draft", method: "PATCH", path: "/v3/campaigns/{c}/schedules", body: `{"send_at":` + unix(later) + `}`,
			status: 403, want: errBody("-", "You cannot update the send_at value of non-scheduled campaign.")},
		{name: "send now", method: "POST", path: "/v3/campaigns/{c}/schedules/now", status: 201, want: `{"id":{c},"status":"Scheduled"}`,
			after: func(t *testing.T) { m.wantLive(t, 3, t0) }},
		{name: "claim one chunk", method: "GET", path: "/v3/campaigns/{c}/schedules", status: 200, want: `{"send_at":` + unix(t0) + `}`,
			after: func(t *testing.T) {
				if inFlight = m.claim(1); len(inFlight) != 1 {
					t.Fatalf("claimed %d", len(inFlight))
				}
			}},
		{name: "in progress", method: "GET", path: "/v3/campaigns/{c}", status: 200, want: campaign("Hi", "In Progress")},
		{name: "unschedule in progress", method: "DELETE", path: "/v3/campaigns/{c}/schedules",
			status: 403, want: errBody("-", "This campaign is already In Progress.")},
		{name: "delete halts it", method: "DELETE", path: "/v3/campaigns/{c}", status: 204, want: "",
			after: func(t *testing.T) {
				m.complete(inFlight) // the chunk being delivered may finish
				m.clk.Advance(24 * time.Hour)
				if got := m.claim(100); len(got) != 0 {
					t.Fatalf("%d sends of the deleted campaign claimed", len(got))
				}
				m.wantLive(t, 0, t0)
			}},
		{name: "deleted", method: "GET", path: "/v3/campaigns/{c}", status: 404, want: bodyNotFound},
		{name: "delete again", method: "DELETE", path: "/v3/campaigns/{c}", status: 404, want: bodyNotFound},
		{name: "schedules of a deleted one", method: "GET", path: "/v3/campaigns/{c}/schedules", status: 404, want: bodyNotFound},
	})
}

// TestCampaignUnscheduleRefusals: once its sends have begun, a campaign is
// In Progress, Sent, Paused or Canceled, and DELETE …/schedules answers
// the documented 403 of each.
func TestCampaignUnscheduleRefusals(t *testing.T) {
	tests := []struct {
		name string
		move func(m *mrig)
		msg  string
	}{
		{"sent", func(m *mrig) { m.complete(m.claim(10)) }, "This campaign is already Sent."},
		{"paused", func(m *mrig) { m.hold("pause") }, "This campaign is already Paused."},
		{"canceled", func(m *mrig) { m.hold("cancel") }, "This campaign is already Canceled."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMarketingRig(t)
			m.createCampaign("Spring")
			if rec := m.do("POST", "/v3/campaigns/{c}/schedules/now", m.full, ""); rec.Code != 201 {
				t.Fatalf("now: %d %s", rec.Code, rec.Body)
			}
			tt.move(m)
			check(t, m.do("DELETE", "/v3/campaigns/{c}/schedules", m.full, ""), 403, errBody("-", tt.msg))
		})
	}
}

// hold pauses or cancels the batch of acct's sends over
// /v3/user/scheduled_sends: a schedule's chunks share one batch.
func (m *mrig) hold(status string) {
	m.t.Helper()
	m.clk.Advance(-time.Hour) // holds are refused inside the cutoff
	defer m.clk.Advance(time.Hour)
	sends := m.sends()
	rec := m.do("POST", "/v3/user/scheduled_sends", m.full, `{"batch_id":"`+sends[0].BatchID+`","status":"`+status+`"}`)
	if rec.Code != 201 {
		m.t.Fatalf("hold: %d %s", rec.Code, rec.Body)
	}
}

func TestCampaignErrors(t *testing.T) {
	m := newMarketingRig(t)
	m.createCampaign("Spring")
	draft := m.vars["{c}"]
	m.vars["{empty}"] = func() string {
		rec := m.do("POST", "/v3/campaigns", m.full, `{"title":"Empty"}`)
		var c struct{ ID int64 }
		json.Unmarshal(rec.Body.Bytes(), &c)
		return strconv.FormatInt(c.ID, 10)
	}()
	m.vars["{c}"] = draft
	future := unix(t0.Add(time.Hour))
	m.run([]step{
		{name: "no title", method: "POST", path: "/v3/campaigns", body: `{}`, status: 400, want: errBody("title", "title can't be blank")},
		{name: "title too long", method: "POST", path: "/v3/campaigns", body: `{"title":"` + strings.Repeat("x", 101) + `"}`,
			status: 400, want: errBody("title", "title is too long (maximum is 100 characters)")},
		{name: "wrong types, each named", method: "POST", path: "/v3/campaigns", body: `{"title":5,"list_ids":"x","sender_id":"y"}`,
			status: 400, want: `{"errors":[{"field":"title","message":"The title must be a string."},{"field":"sender_id","message":"The sender_id must be an integer."},{"field":"list_ids","message":"The list_ids must be an array of integers."}]}`},
		{name: "unknown list", method: "POST", path: "/v3/campaigns", body: `{"title":"x","list_ids":[999999]}`,
			status: 400, want: errBody("list_ids", "list_ids do not all exist")},
		{name: "bad editor", method: "POST", path: "/v3/campaigns", body: `{"title":"x","editor":"word"}`,
			status: 400, want: errBody("editor", "editor must be code or design")},
		{name: "too many categories", method: "POST", path: "/v3/campaigns", body: `{"title":"x","categories":["1","2","3","4","5","6","7","8","9","10","11"]}`,
			status: 400, want: errBody("categories", "a campaign may have at most 10 categories")},
		{name: "not JSON", method: "POST", path: "/v3/campaigns", body: `{"title":`, status: 400, want: errBody("-", msgBadJSON)},
		{name: "not an object", method: "POST", path: "/v3/campaigns", body: `[]`, status: 400, want: errBody("-", msgNotObject)},
		{name: "unknown id", method: "GET", path: "/v3/campaigns/999999", status: 404, want: bodyNotFound},
		{name: "id not a number", method: "GET", path: "/v3/campaigns/abc", status: 404, want: bodyNotFound},
		{name: "patch unknown", method: "PATCH", path: "/v3/campaigns/999999", body: `{"title":"x"}`, status: 404, want: bodyNotFound},
		{name: "patch blanks the title", method: "PATCH", path: "/v3/campaigns/{c}", body: `{"title":""}`, status: 400, want: errBody("title", "title can't be blank")},
		{name: "schedule without send_at", method: "POST", path: "/v3/campaigns/{c}/schedules", body: `{}`, status: 400, want: errBody("send_at", "send_at is required")},
		{name: "send_at not an integer", method: "POST", path: "/v3/campaigns/{c}/schedules", body: `{"send_at":"tomorrow"}`,
			status: 400, want: errBody("send_at", "The send_at must be an integer.")},
		{name: "schedule in the past", method: "POST", path: "/v3/campaigns/{c}/schedules", body: `{"send_at":` + unix(t0) + `}`,
			status: 400, want: errBody("send_at", "Please choose a future time for sending your campaign.")},
		{name: "schedule unknown", method: "POST", path: "/v3/campaigns/999999/schedules", body: `{"send_at":` + future + `}`, status: 404, want: bodyNotFound},
		{name: "schedule what cannot be sent", method: "POST", path: "/v3/campaigns/{empty}/schedules", body: `{"send_at":` + future + `}`,
			status: 400, want: `{"errors":[{"field":"subject","message":"subject can't be blank"},{"field":"content","message":"html_content and plain_content can't both be blank"},{"field":"list_ids","message":"You must select at least 1 segment or 1 list to send to."}]}`},
		{name: "send now unknown", method: "POST", path: "/v3/campaigns/999999/schedules/now", status: 404, want: bodyNotFound},
		{name: "unschedule a draft", method: "DELETE", path: "/v3/campaigns/{c}/schedules",
			status: 403, want: errBody("-", "You cannot update the send_at value of non-scheduled campaign.")},
		{name: "unschedule unknown", method: "DELETE", path: "/v3/campaigns/999999/schedules", status: 404, want: bodyNotFound},
		{name: "limit 0", method: "GET", path: "/v3/campaigns?limit=0", status: 400, want: errBody("limit", "limit must be an integer of at least 1")},
		{name: "offset negative", method: "GET", path: "/v3/campaigns?offset=-1", status: 400, want: errBody("offset", "offset must be an integer of at least 0")},
		{name: "method not allowed", method: "PUT", path: "/v3/campaigns/{c}", body: `{}`, status: 405, want: errBody("-", msgMethod)},
		{name: "no scope to create", method: "POST", path: "/v3/campaigns", token: m.readOnly, body: `{"title":"x"}`, status: 403, want: bodyForbidden},
	})
}

func TestCampaignListPaging(t *testing.T) {
	m := newMarketingRig(t)
	var ids []string
	for i := range 12 {
		ids = append(ids, m.createCampaign(fmt.Sprintf("c%d", i)))
		m.clk.Advance(time.Second)
	}
	list := func(query string) []string {
		rec := m.do("GET", "/v3/campaigns"+query, m.full, "")
		check(t, rec, 200, "-")
		var out struct {
			Result []struct {
				ID    int64
				Title string
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, c := range out.Result {
			got = append(got, strconv.FormatInt(c.ID, 10))
		}
		return got
	}
	newest := func(from, n int) []string { // ids newest first, from the from-th
		out := []string{}
		for i := len(ids) - 1 - from; i >= 0 && len(out) < n; i-- {
			out = append(out, ids[i])
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", newest(0, 10)}, // default limit 10
		{"?limit=3", newest(0, 3)},
		{"?limit=3&offset=10", newest(10, 3)},
		{"?offset=20", []string{}},
	}
	for _, tt := range tests {
		if got := list(tt.query); strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("GET /v3/campaigns%s = %v, want %v", tt.query, got, tt.want)
		}
	}
	check(t, m.do("GET", "/v3/campaigns", m.otherKey, ""), 200, `{"result":[]}`)
}

func TestLists(t *testing.T) {
	m := newMarketingRig(t)
	if _, err := m.mkt.CreateList(context.Background(), m.acct, "empty", nil); err != nil {
		t.Fatal(err)
	}
	ls, err := m.mkt.Lists(context.Background(), m.acct)
	if err != nil || len(ls) != 2 {
		t.Fatal(ls, err)
	}
	m.vars["{list2}"] = strconv.FormatInt(ls[1].ID, 10)
	m.vars["{uuid2}"] = ls[1].UUID
	m.run([]step{
		{name: "marketing lists", method: "GET", path: "/v3/marketing/lists", token: m.readOnly, status: 200,
			want: `{"result":[{"id":"{uuid}","name":"spring","contact_count":5},{"id":"{uuid2}","name":"empty","contact_count":0}],` +
				`"_metadata":{"self":"http://example.com/v3/marketing/lists","count":2}}`},
		{name: "contactdb lists", method: "GET", path: "/v3/contactdb/lists", token: m.readOnly, status: 200,
			want: `{"lists":[{"id":{list},"name":"spring","recipient_count":5},{"id":{list2},"name":"empty","recipient_count":0}]}`},
		{name: "another account has none", method: "GET", path: "/v3/contactdb/lists", token: m.otherKey, status: 200, want: `{"lists":[]}`},
		{name: "not created over REST", method: "POST", path: "/v3/contactdb/lists", body: `{"name":"x"}`, status: 405, want: errBody("-", msgMethod)},
	})
}
