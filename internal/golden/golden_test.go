package golden

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/goldencase"
	"github.com/partnerd/partnerd/marketing"
)

// jsonFace is a toy REST face: POST creates a batch (a GUID) scheduled at
// the request's send_at, GET lists the batches, both only with the right
// bearer token.
func jsonFace(clk *clock.Manual) http.Handler {
	type batch struct {
		BatchID string `json:"batch_id"`
		Status  string `json:"status"`
		SendAt  int64  `json:"send_at"`
	}
	var batches []batch
	n := 0
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer SG.test" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"errors":[{"field":null,"message":"authorization required"}]}`)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("POST /v3/user/scheduled_sends", auth(func(w http.ResponseWriter, r *http.Request) {
		var in batch
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		n++
		in.BatchID = fmt.Sprintf("7e57%04x-0000-4000-8000-%012d", n, clk.Now().Unix())
		batches = append(batches, in)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/v3/user/scheduled_sends/"+in.BatchID)
		w.Header().Set("X-Not-Recorded", "x")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(in)
	}))
	mux.HandleFunc("GET /v3/user/scheduled_sends", auth(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Batches", fmt.Sprint(len(batches)))
		json.NewEncoder(w).Encode(batches)
	}))
	return mux
}

const jsonCase = `# A JSON exchange case: the set-up lines are the SOAP cases' own.
clock 2026-03-01T09:00:00Z
=== POST /v3/user/scheduled_sends kind=json headers=Location
Authorization: Bearer SG.test
Content-Type: application/json

{"status": "pause", "send_at": {{UNIX+1h}}}
=== GET /v3/user/scheduled_sends kind=json headers=X-Batches advance=30m
Authorization: Bearer SG.test

=== GET /v3/user/scheduled_sends kind=json
Authorization: Bearer SG.wrong

=== POST /v3/user/scheduled_sends kind=json
Authorization: Bearer SG.test

not json
`

// The record of jsonCase: GUIDs numbered, JSON indented in the order the
// server wrote it, only the named headers, a body that is not JSON as is.
const jsonGolden = `=== response 1
HTTP 201
Content-Type: application/json
Location: /v3/user/scheduled_sends/00000000-0000-0000-0000-000000000001

{
  "batch_id": "00000000-0000-0000-0000-000000000001",
  "status": "pause",
  "send_at": 1772359200
}
=== response 2
HTTP 200
Content-Type: application/json
X-Batches: 1

[
  {
    "batch_id": "00000000-0000-0000-0000-000000000001",
    "status": "pause",
    "send_at": 1772359200
  }
]
=== response 3
HTTP 401
Content-Type: application/json

{
  "errors": [
    {
      "field": null,
      "message": "authorization required"
    }
  ]
}
=== response 4
HTTP 400
Content-Type: text/plain; charset=utf-8

bad json

`

func TestRunJSONCase(t *testing.T) {
	credential.DefaultIterations = 1000
	dir := t.TempDir()
	path := filepath.Join(dir, "100_json.txt")
	if err := os.WriteFile(path, []byte(jsonCase), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "100_json.golden"), []byte(jsonGolden), 0o644); err != nil {
		t.Fatal(err)
	}
	checked := 0
	h := Harness{
		Start: func(t *testing.T, f *Fixture) http.Handler {
			if got := f.Clock.Now(); !got.Equal(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) {
				t.Errorf("set-up clock: %v", got)
			}
			return jsonFace(f.Clock)
		},
		Check: func(t *testing.T, n int, rec *httptest.ResponseRecorder) { checked = n },
	}
	t.Run("cases", func(t *testing.T) { h.RunDir(t, dir) }) // returns when its parallel subtests are done
	if checked != 4 {
		t.Errorf("Check saw %d responses, want 4", checked)
	}
}

func TestParseCase(t *testing.T) {
	c, err := ParseCase("# comment\n\naccount carol carol-pw 1003\n=== POST /a advance=2h kind=json headers=location,x-request-id\nAuthorization: Bearer k\n\n{}\n\n=== GET /b\n\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Setup) != 1 || c.Setup[0] != "account carol carol-pw 1003" {
		t.Errorf("Setup %q", c.Setup)
	}
	if len(c.Exchanges) != 2 {
		t.Fatalf("%d exchanges", len(c.Exchanges))
	}
	x := c.Exchanges[0]
	if x.Method != "POST" || x.Path != "/a" || x.Advance != 2*time.Hour || x.Kind != KindJSON || x.Body != "{}" ||
		x.Header.Get("Authorization") != "Bearer k" || strings.Join(x.Record, ",") != "Location,X-Request-Id" {
		t.Errorf("exchange 1: %+v", x)
	}
	if y := c.Exchanges[1]; y.Kind != KindRaw || y.Body != "" || len(y.Record) != 0 {
		t.Errorf("exchange 2: %+v", y)
	}

	for _, bad := range []string{
		"=== POST\n\n",
		"=== POST /a advance=soon\n\n",
		"=== POST /a kind=yaml\n\n",
		"=== POST /a headers=Location\n\n", // headers= without kind=json
		"=== POST /a retries=3\n\n",
	} {
		if _, err := ParseCase(bad); err == nil {
			t.Errorf("ParseCase(%q) = nil error", bad)
		}
	}
}

func TestNormalizer(t *testing.T) {
	batch := Numbering{Pattern: regexp.MustCompile(`batch_[A-Za-z0-9]{8}`), Format: func(n int) string { return fmt.Sprintf("batch_%d", n) }}
	n := NewNormalizer(batch)
	got := n.Normalize("A0000000-0000-4000-8000-00000000000A b a0000000-0000-4000-8000-00000000000a batch_Xy12Zz90 batch_Xy12Zz90 batch_00000000")
	want := "00000000-0000-0000-0000-000000000001 b 00000000-0000-0000-0000-000000000001 batch_1 batch_1 batch_2"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A pattern with a group numbers only the group's text.
	quoted := NewNormalizer(Numbering{Pattern: regexp.MustCompile(`"([A-Za-z]{4})"`), Format: func(n int) string { return fmt.Sprintf("id%02d", n) }})
	if got := quoted.Normalize(`{"a": "abcd", "b": "abcd", "c": "wxyz", "d": abcd}`); got != `{"a": "id01", "b": "id01", "c": "id02", "d": abcd}` {
		t.Errorf("grouped pattern: %s", got)
	}
	// Numbers hold across calls within a case.
	if got := n.Normalize("b0000000-0000-4000-8000-000000000000 a0000000-0000-4000-8000-00000000000a"); got != "00000000-0000-0000-0000-000000000002 00000000-0000-0000-0000-000000000001" {
		t.Errorf("second call: %s", got)
	}
}

func TestExpand(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	cases := []struct{ in, want string }{
		{"{{NOW}}", "2026-03-01T09:00:00Z"},
		{"{{NOW+90m}} {{NOW-1h}}", "2026-03-01T10:30:00Z 2026-03-01T08:00:00Z"},
		{`{"send_at": {{UNIX}}, "until": {{UNIX+24h}}}`, `{"send_at": 1772355600, "until": 1772442000}`},
		{"<RequestID>{{REQUEST_ID}}</RequestID>", "<RequestID>prev</RequestID>"},
		// The digest of the WS-Security example: SHA-1(nonce + created + password).
		{"<Nonce>AAAA</Nonce><UsernameToken><Created>2026-03-01T09:00:00Z</Created>{{DIGEST:pw}}", "<Nonce>AAAA</Nonce><UsernameToken><Created>2026-03-01T09:00:00Z</Created>" + digest("\x00\x00\x00", "2026-03-01T09:00:00Z", "pw")},
	}
	st := goldencase.NewState()
	st.Remember([]byte(`<RequestID>prev</RequestID>`))
	st.Remember([]byte(`{"api_key_id": "k1", "result": [{"batch_id": "b1", "n": 7}]}`))
	st.Remember([]byte(`[{"batch_id": "b2", "status": "pause"}]`))
	cases = append(cases, []struct{ in, want string }{
		{"/v3/api_keys/{{JSON:api_key_id}}", "/v3/api_keys/k1"},
		{`{"batch_id": "{{JSON:batch_id}}", "n": {{JSON:n}}}`, `{"batch_id": "b2", "n": 7}`},
		{"{{PAD:3}}.", "xxx."},
	}...)
	for _, c := range cases {
		got, err := st.Expand(c.in, now)
		if err != nil || got != c.want {
			t.Errorf("expand(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"{{NOW+soon}}", "{{DIGEST:pw}} without a token", "{{JSON:nowhere}}"} {
		if _, err := st.Expand(bad, now); err == nil {
			t.Errorf("expand(%q) = nil error", bad)
		}
	}
}

// digest is the PasswordDigest of nonce, created and password.
func digest(nonce, created, password string) string {
	h := sha1.Sum([]byte(nonce + created + password))
	return base64.StdEncoding.EncodeToString(h[:])
}

// TestListLine: a "list" set-up line makes the account's marketing list
// through marketing.Service.CreateList, an address given twice (in any
// case) counted once, and no addresses an empty list.
func TestListLine(t *testing.T) {
	f := NewFixture(t)
	tests := []struct {
		line  string
		name  string
		count int
	}{
		{"list alice spring a@x.example,b@x.example,A@x.example", "spring", 2},
		{"list alice empty", "empty", 0},
	}
	for _, tt := range tests {
		f.Apply(tt.line)
	}
	svc := &marketing.Service{Store: f.Store, Clock: f.Clock}
	lists, err := svc.Lists(context.Background(), f.Accounts["alice"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(lists) != len(tests) {
		t.Fatalf("%d lists, want %d", len(lists), len(tests))
	}
	for i, tt := range tests {
		if l := lists[i]; l.Name != tt.name || l.RecipientCount != tt.count || l.UUID == "" || l.ID == 0 {
			t.Errorf("%s: got %+v, want %s with %d recipients, an id and a UUID", tt.line, l, tt.name, tt.count)
		}
	}
	if other, _ := svc.Lists(context.Background(), f.Accounts["bob"].ID); len(other) != 0 {
		t.Errorf("bob has %d lists, want none", len(other))
	}
}
