package sendgrid

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// ssErr is a Single Sends error body of one item.
func ssErr(field, msg, id string) string {
	f := "null"
	if field != "-" {
		f = `"` + field + `"`
	}
	return `{"errors":[{"field":` + f + `,"message":"` + msg + `","error_id":"` + id + `"}]}`
}

// createSingleSend creates one over REST and names it {ss}.
func (m *mrig) createSingleSend(name string) string {
	m.t.Helper()
	rec := m.do("POST", "/v3/marketing/singlesends", m.full,
		`{"name":"`+name+`","send_to":{"list_ids":["{uuid}"]},"email_config":{"subject":"Hi","html_content":"hi [unsubscribe]"}}`)
	if rec.Code != 201 {
		m.t.Fatalf("create single send: %d %s", rec.Code, rec.Body)
	}
	var ss struct{ ID string }
	if err := json.Unmarshal(rec.Body.Bytes(), &ss); err != nil {
		m.t.Fatal(err)
	}
	m.vars["{ss}"] = ss.ID
	return ss.ID
}

func TestSingleSendLifecycle(t *testing.T) {
	m := newMarketingRig(t)
	m.createSingleSend("Launch")
	at := t0.Add(96 * time.Hour) // mail/send's 72-hour ceiling does not apply
	iso := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	created := iso(t0)
	ss := func(name, status, sendAt string) string {
		return `{"id":"{ss}","name":"` + name + `","status":"` + status + `","categories":[],"send_at":` + sendAt +
			`,"send_to":{"list_ids":["{uuid}"],"segment_ids":[],"all":false},"email_config":{"subject":"Hi","html_content":"hi [unsubscribe]",` +
			`"plain_content":"","generate_plain_content":false,"editor":"code","suppression_group_id":null,"custom_unsubscribe_url":null,` +
			`"sender_id":null,"ip_pool":null},"updated_at":"` + created + `","created_at":"` + created + `"}`
	}
	var inFlight []store.ClaimedSend
	m.run([]step{
		{name: "get", method: "GET", path: "/v3/marketing/singlesends/{ss}", status: 200, want: ss("Launch", "draft", "null")},
		{name: "patch a draft (202)", method: "PATCH", path: "/v3/marketing/singlesends/{ss}", body: `{"name":"Launch 2"}`,
			status: 202, want: ss("Launch 2", "draft", "null")},
		{name: "send_at only pre-fills", method: "PATCH", path: "/v3/marketing/singlesends/{ss}", body: `{"send_at":"` + iso(at) + `"}`,
			status: 202, want: ss("Launch 2", "draft", `"`+iso(at)+`"`),
			after: func(t *testing.T) { m.wantLive(t, 0, at) }},
		{name: "schedule at a time (201)", method: "PUT", path: "/v3/marketing/singlesends/{ss}/schedule", body: `{"send_at":"` + iso(at) + `"}`,
			status: 201, want: `{"send_at":"` + iso(at) + `","status":"scheduled"}`,
			after: func(t *testing.T) { m.wantLive(t, 3, at) }},
		{name: "scheduled", method: "GET", path: "/v3/marketing/singlesends/{ss}", status: 200, want: ss("Launch 2", "scheduled", `"`+iso(at)+`"`)},
		{name: "patch once scheduled", method: "PATCH", path: "/v3/marketing/singlesends/{ss}", body: `{"name":"x"}`,
			status: 400, want: ssErr("-", "only a Single Send in draft status can be changed or scheduled; unschedule it first", "not_draft")},
		{name: "schedule twice", method: "PUT", path: "/v3/marketing/singlesends/{ss}/schedule", body: `{"send_at":"now"}`,
			status: 400, want: ssErr("-", "only a Single Send in draft status can be changed or scheduled; unschedule it first", "not_draft")},
		{name: "unschedule (200 with the body)", method: "DELETE", path: "/v3/marketing/singlesends/{ss}/schedule",
			status: 200, want: `{"send_at":"` + iso(at) + `","status":"draft"}`,
			after: func(t *testing.T) { m.wantLive(t, 0, at) }},
		{name: "unschedule a draft", method: "DELETE", path: "/v3/marketing/singlesends/{ss}/schedule",
			status: 200, want: `{"send_at":"` + iso(at) + `","status":"draft"}`},
		{name: "schedule now", method: "PUT", path: "/v3/marketing/singlesends/{ss}/schedule", body: `{"send_at":"now"}`,
			status: 201, want: `{"send_at":"` + iso(t0) + `","status":"scheduled"}`,
			after: func(t *testing.T) {
				m.wantLive(t, 3, t0)
				if inFlight = m.claim(1); len(inFlight) != 1 {
					t.Fatalf("claimed %d", len(inFlight))
				}
			}},
		{name: "triggered", method: "GET", path: "/v3/marketing/singlesends/{ss}", status: 200, want: ss("Launch 2", "triggered", `"`+iso(t0)+`"`)},
		{name: "unschedule once triggered", method: "DELETE", path: "/v3/marketing/singlesends/{ss}/schedule",
			status: 400, want: ssErr("-", "this Single Send has already been triggered and can no longer be unscheduled", "triggered")},
		{name: "delete halts it", method: "DELETE", path: "/v3/marketing/singlesends/{ss}", status: 204, want: "",
			after: func(t *testing.T) {
				m.complete(inFlight)
				m.clk.Advance(24 * time.Hour)
				if got := m.claim(100); len(got) != 0 {
					t.Fatalf("%d sends of the deleted Single Send claimed", len(got))
				}
			}},
		{name: "deleted", method: "GET", path: "/v3/marketing/singlesends/{ss}", status: 404, want: ssErr("-", "not found", "not_found")},
	})
}

func TestSingleSendErrors(t *testing.T) {
	m := newMarketingRig(t)
	m.createSingleSend("Launch")
	ready := m.vars["{ss}"]
	rec := m.do("POST", "/v3/marketing/singlesends", m.full, `{"name":"Empty"}`)
	var empty struct{ ID string }
	json.Unmarshal(rec.Body.Bytes(), &empty)
	m.vars["{empty}"] = empty.ID
	m.vars["{ss}"] = ready
	unknown := "/v3/marketing/singlesends/00000000-0000-4000-8000-000000000000"
	m.run([]step{
		{name: "no name", method: "POST", path: "/v3/marketing/singlesends", body: `{}`, status: 400, want: ssErr("name", "name can't be blank", "invalid")},
		{name: "wrong types", method: "POST", path: "/v3/marketing/singlesends", body: `{"name":1,"send_to":{"list_ids":"x","all":"yes"},"email_config":[]}`,
			status: 400, want: `{"errors":[{"field":"name","message":"The name must be a string.","error_id":"bad_request"},` +
				`{"field":"send_to.list_ids","message":"The send_to.list_ids must be an array of strings.","error_id":"bad_request"},` +
				`{"field":"send_to.all","message":"The send_to.all must be a boolean.","error_id":"bad_request"},` +
				`{"field":"email_config","message":"The email_config must be an object.","error_id":"bad_request"}]}`},
		{name: "send_at not ISO 8601", method: "POST", path: "/v3/marketing/singlesends", body: `{"name":"x","send_at":"tomorrow"}`,
			status: 400, want: ssErr("send_at", "send_at must be an ISO 8601 date-time (2026-01-02T15:04:05Z)", "bad_request")},
		{name: "unknown list", method: "POST", path: "/v3/marketing/singlesends", body: `{"name":"x","send_to":{"list_ids":["00000000-0000-4000-8000-000000000000"]}}`,
			status: 400, want: ssErr("send_to.list_ids[0]", `list 00000000-0000-4000-8000-000000000000 does not exist`, "invalid")},
		{name: "not JSON", method: "POST", path: "/v3/marketing/singlesends", body: `{`, status: 400, want: ssErr("-", msgBadJSON, "bad_request")},
		{name: "get unknown", method: "GET", path: unknown, status: 404, want: ssErr("-", "not found", "not_found")},
		{name: "get not a uuid", method: "GET", path: "/v3/marketing/singlesends/nope", status: 404, want: ssErr("-", "not found", "not_found")},
		{name: "another account's", method: "GET", path: "/v3/marketing/singlesends/{ss}", token: m.otherKey, status: 404, want: ssErr("-", "not found", "not_found")},
		{name: "patch unknown", method: "PATCH", path: unknown, body: `{"name":"x"}`, status: 404, want: ssErr("-", "not found", "not_found")},
		{name: "delete unknown", method: "DELETE", path: unknown, status: 404, want: ssErr("-", "not found", "not_found")},
		{name: "schedule unknown", method: "PUT", path: unknown + "/schedule", body: `{"send_at":"now"}`, status: 404, want: ssErr("-", "not found", "not_found")},
		{name: "unschedule unknown", method: "DELETE", path: unknown + "/schedule", status: 404, want: ssErr("-", "not found", "not_found")},
		{name: "schedule without send_at", method: "PUT", path: "/v3/marketing/singlesends/{ss}/schedule", body: `{}`,
			status: 400, want: ssErr("send_at", `send_at is required: an ISO 8601 date-time or \"now\"`, "bad_request")},
		{name: "schedule at a bad time", method: "PUT", path: "/v3/marketing/singlesends/{ss}/schedule", body: `{"send_at":"tomorrow"}`,
			status: 400, want: ssErr("send_at", `send_at must be an ISO 8601 date-time (2026-01-02T15:04:05Z) or \"now\"`, "bad_request")},
		{name: "schedule in the past", method: "PUT", path: "/v3/marketing/singlesends/{ss}/schedule", body: `{"send_at":"2020-01-01T00:00:00Z"}`,
			status: 400, want: ssErr("send_at", "send_at must not be in the past", "invalid")},
		{name: "schedule what cannot be sent", method: "PUT", path: "/v3/marketing/singlesends/{empty}/schedule", body: `{"send_at":"now"}`,
			status: 400, want: `{"errors":[{"field":"email_config.subject","message":"subject can't be blank","error_id":"invalid"},` +
				`{"field":"email_config.html_content","message":"html_content and plain_content can't both be blank","error_id":"invalid"},` +
				`{"field":"send_to.list_ids","message":"a Single Send needs at least 1 list, or send_to.all","error_id":"invalid"}]}`},
		{name: "page_size 0", method: "GET", path: "/v3/marketing/singlesends?page_size=0", status: 400,
			want: ssErr("page_size", "page_size must be an integer from 1 to 100", "bad_request")},
		{name: "bad page_token", method: "GET", path: "/v3/marketing/singlesends?page_token=zz", status: 400,
			want: ssErr("page_token", "invalid page_token", "invalid")},
		{name: "no scope to schedule", method: "PUT", path: "/v3/marketing/singlesends/{ss}/schedule", token: m.readOnly, body: `{"send_at":"now"}`,
			status: 403, want: bodyForbidden},
		{name: "method not allowed", method: "POST", path: "/v3/marketing/singlesends/{ss}/schedule", status: 405, want: errBody("-", msgMethod)},
	})
	if n := len(m.live()); n != 0 {
		t.Errorf("%d sends made by refused requests", n)
	}
}

func TestSingleSendPaging(t *testing.T) {
	m := newMarketingRig(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, m.createSingleSend(fmt.Sprintf("s%d", i)))
	}
	type page struct {
		Result []struct {
			ID       string
			Status   string
			IsABTest bool `json:"is_abtest"`
		}
		Metadata struct {
			Self, Next string
			Count      int
		} `json:"_metadata"`
	}
	get := func(path string) page {
		t.Helper()
		rec := m.do("GET", path, m.full, "")
		check(t, rec, 200, "-")
		var p page
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var got []string
	path := "/v3/marketing/singlesends?page_size=2"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		p := get(path)
		if p.Metadata.Count != len(p.Result) {
			t.Errorf("count %d for %d items", p.Metadata.Count, len(p.Result))
		}
		if len(p.Result) > 2 {
			t.Errorf("page of %d", len(p.Result))
		}
		for _, r := range p.Result {
			got = append(got, r.ID)
			if r.Status != "draft" {
				t.Errorf("status %q", r.Status)
			}
		}
		path = ""
		if p.Metadata.Next != "" {
			u, err := url.Parse(p.Metadata.Next)
			if err != nil || !u.IsAbs() {
				t.Fatalf("next %q", p.Metadata.Next)
			}
			path = u.RequestURI()
		}
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Errorf("pages gave %v, want %v (creation order)", got, ids)
	}
	if p := get("/v3/marketing/singlesends"); len(p.Result) != 5 || p.Metadata.Next != "" ||
		p.Metadata.Self != "http://example.com/v3/marketing/singlesends?page_size=100" {
		t.Errorf("default page: %+v", p)
	}
	check(t, m.do("GET", "/v3/marketing/singlesends", m.otherKey, ""), 200,
		`{"result":[],"_metadata":{"self":"http://example.com/v3/marketing/singlesends?page_size=100","count":0}}`)
}

// TestDuplicateSingleSend: POST /v3/marketing/singlesends/{id} answers 201
// with a draft copy, "Copy of …" or the name sent; refusals in the Single
// Sends shape.
func TestDuplicateSingleSend(t *testing.T) {
	m := newMarketingRig(t)
	id := m.createSingleSend("Launch")
	for _, c := range []struct {
		name, body string
		status     int
		wantName   string
	}{
		{"no body", "", 201, "Copy of Launch"},
		{"empty name", `{"name":""}`, 201, "Copy of Launch"},
		{"a name", `{"name":"Autumn"}`, 201, "Autumn"},
		{"name not a string", `{"name":5}`, 400, ""},
		{"name too long", `{"name":"` + strings.Repeat("x", 101) + `"}`, 400, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := m.do("POST", "/v3/marketing/singlesends/"+id, m.full, c.body)
			if rec.Code != c.status {
				t.Fatalf("HTTP %d %s", rec.Code, rec.Body)
			}
			if c.status != 201 {
				if !strings.Contains(rec.Body.String(), `"field":"name"`) {
					t.Errorf("refusal %s", rec.Body)
				}
				return
			}
			var ss struct{ ID, Name, Status string }
			if err := json.Unmarshal(rec.Body.Bytes(), &ss); err != nil {
				t.Fatal(err)
			}
			if ss.ID == id || ss.Name != c.wantName || ss.Status != "draft" {
				t.Errorf("copy %+v", ss)
			}
		})
	}
	if rec := m.do("POST", "/v3/marketing/singlesends/00000000-0000-4000-8000-000000000000", m.full, ""); rec.Code != 404 {
		t.Errorf("unknown: HTTP %d %s", rec.Code, rec.Body)
	}
}
