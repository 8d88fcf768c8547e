package sendgrid

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fuzzRoutes are the endpoints FuzzEndpoints sends bodies to; {list} and
// {uuid} are the rig's list, the other IDs exist or not as the fuzzer
// makes them.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/v3/mail/batch"}, {"POST", "/v3/mail/send"},
	{"POST", "/v3/user/scheduled_sends"}, {"PATCH", "/v3/user/scheduled_sends/b1"},
	{"POST", "/v3/api_keys"}, {"PUT", "/v3/api_keys/k1"}, {"PATCH", "/v3/api_keys/k1"},
	{"POST", "/v3/campaigns"}, {"PATCH", "/v3/campaigns/1"}, {"POST", "/v3/campaigns/1/schedules"},
	{"PATCH", "/v3/campaigns/1/schedules"}, {"POST", "/v3/marketing/singlesends"},
	{"PATCH", "/v3/marketing/singlesends/{uuid}"}, {"PUT", "/v3/marketing/singlesends/{uuid}/schedule"},
}

// FuzzEndpoints: whatever body reaches whichever endpoint, over the real
// domain and store, the answer is never a 500 and never a panic, and every
// refusal is SendGrid's JSON ErrorResponse with a message.
func FuzzEndpoints(f *testing.F) {
	for i := range fuzzRoutes {
		f.Add(uint8(i), []byte(`{}`))
	}
	f.Add(uint8(1), []byte(validMail))
	f.Add(uint8(2), []byte(`{"batch_id":"b1","status":"pause"}`))
	f.Add(uint8(7), []byte(`{"title":"t","subject":"s","list_ids":[{list}],"html_content":"h","plain_content":"p"}`))
	f.Add(uint8(9), []byte(`{"send_at":1}`))
	f.Add(uint8(11), []byte(`{"name":"n","send_to":{"list_ids":["{uuid}"]},"email_config":{"subject":"s","html_content":"h"}}`))
	f.Add(uint8(13), []byte(`{"send_at":"now"}`))
	f.Add(uint8(4), []byte(`{"name":"n","scopes":["mail.send",3]}`))
	m := newMarketingRig(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		b := m.expand(string(body))
		r := httptest.NewRequest(rt.method, m.expand(rt.path), strings.NewReader(b))
		r.Header.Set("Authorization", "Bearer "+m.full)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		m.h.ServeHTTP(w, r)
		if w.Code >= http.StatusInternalServerError {
			t.Fatalf("%s %s %q: HTTP %d %s", rt.method, rt.path, b, w.Code, w.Body)
		}
		if w.Code < 400 {
			return
		}
		var e struct {
			Errors []struct {
				Message string `json:"message"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || len(e.Errors) == 0 || e.Errors[0].Message == "" {
			t.Fatalf("%s %s %q: HTTP %d without an ErrorResponse: %s (%v)", rt.method, rt.path, b, w.Code, w.Body, err)
		}
	})
}
