package main

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var demoPasswordRE = regexp.MustCompile(`created demo account: username "demo" password "([^"]+)"`)

// deterministicRun starts a fresh `serve --deterministic --seed 7`, sends
// it a Create and a Retrieve, and returns the banner's demo password and
// each answer as written: status line, Date, Content-Type, body.
func deterministicRun(t *testing.T) (string, []string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "p.db")
	srv := startServer(t, db, "--deterministic", "--seed", "7", "--admin-addr", "127.0.0.1:0")
	defer srv.stop(t)
	out := srv.output()
	if !strings.Contains(out, "DETERMINISTIC: seed 7, manual clock from 2026-01-01T00:00:00Z") {
		t.Errorf("the banner does not say the server is deterministic:\n%s", out)
	}
	m := demoPasswordRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no demo account in the banner:\n%s", out)
	}
	envelope := func(op, body string) string {
		return `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>demo</wsse:Username><wsse:Password>` + m[1] + `</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`
	}
	var answers []string
	for _, x := range []struct{ op, body string }{
		{"Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Objects xsi:type="Send"><Email><ID>42</ID></Email><List><ID>7</ID></List><SendDate>2026-01-02T00:00:00Z</SendDate></Objects></CreateRequest>`},
		{"Retrieve", `<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><RetrieveRequest><ObjectType>Send</ObjectType><Properties>ID</Properties><Properties>ObjectID</Properties><Properties>SendDate</Properties></RetrieveRequest></RetrieveRequestMsg>`},
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.base+"/Service.asmx", strings.NewReader(envelope(x.op, x.body)))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", x.op)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<OverallStatus>OK</OverallStatus>") {
			t.Fatalf("%s: HTTP %d\n%s", x.op, resp.StatusCode, body)
		}
		answers = append(answers, fmt.Sprintf("%s\nDate: %s\nContent-Type: %s\n\n%s", resp.Status, resp.Header.Get("Date"), resp.Header.Get("Content-Type"), body))
	}
	resp, err := http.Get(srv.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(ready) != "ready\ndeterministic: seed 7\n" {
		t.Errorf("/readyz = %q, want it to name the seed", ready)
	}
	return m[1], answers
}

// Two fresh deterministic servers of one seed give the same demo password
// and byte-identical answers (IDs, timestamps, the Date header) to the
// same requests.
func TestServeDeterministicRepeats(t *testing.T) {
	pw1, a1 := deterministicRun(t)
	pw2, a2 := deterministicRun(t)
	if pw1 != pw2 {
		t.Errorf("demo passwords %q and %q from one seed", pw1, pw2)
	}
	for i := range a1 {
		if a1[i] != a2[i] {
			t.Errorf("answer %d differs between runs:\n%s\n---\n%s", i+1, a1[i], a2[i])
		}
	}
}

func TestServeDeterministicFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--seed", "3"}, "--seed needs --deterministic"},
		{[]string{"--deterministic", "--clock-start", "yesterday"}, "--clock-start: want an RFC 3339 time"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "p.db")
			err := runServe(t.Context(), append([]string{"--addr", "127.0.0.1:0", "--db", db}, tc.args...), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("serve %v: %v, want an error saying %q", tc.args, err, tc.want)
			}
		})
	}
}
