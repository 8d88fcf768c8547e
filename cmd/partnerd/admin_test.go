package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/api/admin"
	"github.com/partnerd/partnerd/dispatch"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/store"
)

func TestAdminClock(t *testing.T) {
	db := testrig.OpenStore(t)
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	acct := store.Account{Username: "a"}
	if err := db.CreateAccount(t.Context(), &acct); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(t.Context(), func(tx store.Tx) error {
		for _, d := range []time.Duration{time.Hour, 2 * time.Hour} {
			s := &store.Send{AccountID: acct.ID, ObjectID: fmt.Sprint("00000000-0000-4000-8000-00000000000", int(d.Hours())),
				SendDate: t0.Add(d), Status: store.StatusScheduled}
			if err := tx.InsertSend(t.Context(), s); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	m := clock.NewManual(t0)
	d := dispatch.New(dispatch.Config{Store: db, Clock: m, Policy: lifecycle.DefaultPolicy})
	d.Follow(t.Context(), m)
	mux := http.NewServeMux()
	admin.New("s3cret", m, d).Mount(mux)
	h := mux

	cases := []struct {
		name, method, body, token string
		wantCode                  int
		wantNow                   time.Time
		wantCompleted             int64
		wantErr                   string
	}{
		{"no token", "GET", "", "", 401, time.Time{}, 0, "bearer token"},
		{"wrong token", "GET", "", "nope", 401, time.Time{}, 0, "bearer token"},
		{"get", "GET", "", "s3cret", 200, t0, 0, ""},
		{"advance 90m dispatches the first", "POST", `{"advance": "90m"}`, "s3cret", 200, t0.Add(90 * time.Minute), 1, ""},
		{"set dispatches the second", "POST", `{"set": "2026-05-01T12:00:00Z"}`, "s3cret", 200, t0.Add(4 * time.Hour), 1, ""},
		{"set backwards", "POST", `{"set": "2026-05-01T08:30:00+00:00"}`, "s3cret", 200, t0.Add(30 * time.Minute), 0, ""},
		{"both", "POST", `{"set": "2026-05-01T12:00:00Z", "advance": "1h"}`, "s3cret", 400, time.Time{}, 0, "exactly one"},
		{"neither", "POST", `{}`, "s3cret", 400, time.Time{}, 0, "exactly one"},
		{"bad duration", "POST", `{"advance": "soon"}`, "s3cret", 400, time.Time{}, 0, "advance"},
		{"bad time", "POST", `{"set": "tomorrow"}`, "s3cret", 400, time.Time{}, 0, "set"},
		{"unknown field", "POST", `{"rewind": "1h"}`, "s3cret", 400, time.Time{}, 0, "body must be"},
		{"method", "DELETE", "", "s3cret", 405, time.Time{}, 0, "GET or POST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "/admin/clock", strings.NewReader(c.body))
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.wantCode || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			var got struct {
				Now        string
				Error      string
				Dispatched *struct{ Completed int64 }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if c.wantErr != "" {
				if !strings.Contains(got.Error, c.wantErr) {
					t.Errorf("error %q, want it to mention %q", got.Error, c.wantErr)
				}
				return
			}
			now, err := time.Parse(time.RFC3339Nano, got.Now)
			if err != nil || !now.Equal(c.wantNow) {
				t.Errorf("now %q, want %v", got.Now, c.wantNow)
			}
			if c.method == "POST" && (got.Dispatched == nil || got.Dispatched.Completed != c.wantCompleted) {
				t.Errorf("dispatched %+v, want %d completed", got.Dispatched, c.wantCompleted)
			}
		})
	}
}

// TestManualClockServer drives the binary with --clock manual: schedule
// over SOAP (Create an EmailSendDefinition, Schedule it), move the clock
// through the admin listener, and find the send in the outbox.
func TestManualClockServer(t *testing.T) {
	db := filepath.Join(t.TempDir(), "manual.db")
	partnerd(t, db, "account", "add", "--username", "m", "--password", "m-pw")
	os.Setenv("PARTNERD_ADMIN_TOKEN", "admintok")
	defer os.Unsetenv("PARTNERD_ADMIN_TOKEN")
	srv := startServer(t, db, "--clock", "manual", "--admin-addr", "127.0.0.1:0")
	m := regexp.MustCompile(`admin \(manual clock\): (http://\S+/admin/clock)\s+Authorization: Bearer (\S+)`).FindStringSubmatch(srv.output())
	if m == nil || m[2] != "admintok" {
		t.Fatalf("no admin line with the token from PARTNERD_ADMIN_TOKEN:\n%s", srv.output())
	}
	admin := m[1]
	call := func(method, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, admin, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer admintok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		raw, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(raw, &v); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, admin, resp.StatusCode, raw)
		}
		return v
	}
	start, _ := time.Parse(time.RFC3339Nano, call("GET", "")["now"].(string))

	soapCall := func(action, body string) string {
		t.Helper()
		env := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>m</wsse:Username><wsse:Password>m-pw</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`
		req, _ := http.NewRequest("POST", srv.base+"/Service.asmx", strings.NewReader(env))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", action)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return string(raw)
	}
	out := soapCall("Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Objects xsi:type="EmailSendDefinition"><CustomerKey>weekly</CustomerKey><Name>Weekly</Name><SendClassification><CustomerKey>Default Commercial</CustomerKey></SendClassification><SenderProfile><FromName>Acme</FromName><FromAddress>news@acme.example</FromAddress></SenderProfile><SendDefinitionList><List><ID>5</ID><Subscribers><EmailAddress>ann@example.com</EmailAddress></Subscribers></List></SendDefinitionList><Email><ID>9</ID><Subject>Weekly news</Subject><TextBody>Hello</TextBody></Email></Objects></CreateRequest>`)
	if !strings.Contains(out, "<OverallStatus>OK</OverallStatus>") {
		t.Fatalf("Create EmailSendDefinition:\n%s", out)
	}
	when := start.Add(2 * time.Hour).Format(time.RFC3339)
	out = soapCall("Schedule", `<ScheduleRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>start</Action><Schedule><StartDateTime>`+when+`</StartDateTime></Schedule><Interactions><Interaction xsi:type="EmailSendDefinition"><CustomerKey>weekly</CustomerKey></Interaction></Interactions></ScheduleRequestMsg>`)
	if !strings.Contains(out, "<OverallStatus>OK</OverallStatus>") || !strings.Contains(out, "<Task><StatusCode>OK</StatusCode>") {
		t.Fatalf("Schedule:\n%s", out)
	}
	if v := call("POST", `{"advance": "1h"}`); v["dispatched"].(map[string]any)["completed"].(float64) != 0 {
		t.Errorf("advance 1h dispatched %v", v)
	}
	if v := call("POST", `{"advance": "1h"}`); v["dispatched"].(map[string]any)["completed"].(float64) != 1 {
		t.Errorf("advance to the StartDateTime dispatched %v", v)
	}
	list := partnerd(t, db, "outbox", "--account", "m")
	if !strings.Contains(list, "Weekly news") || !strings.Contains(list, "ann@example.com") || !strings.Contains(list, when) {
		t.Errorf("outbox:\n%s", list)
	}
	srv.stop(t)
}
