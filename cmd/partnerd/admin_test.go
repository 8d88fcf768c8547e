package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

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
