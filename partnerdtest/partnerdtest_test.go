package partnerdtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/partnerdtest"
	"github.com/partnerd/partnerd/store"
)

// call posts a SOAP 1.1 envelope for op with body, as the test account,
// and returns the answer's body; anything but HTTP 200 fails t.
func call(t *testing.T, srv *partnerdtest.Server, op, body string) string {
	t.Helper()
	env := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Header>` +
		`<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>` +
		`<wsse:Username>` + srv.Account.Username + `</wsse:Username><wsse:Password>` + srv.Account.Password + `</wsse:Password>` +
		`</wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`
	req, err := http.NewRequest(http.MethodPost, srv.SOAPURL, strings.NewReader(env))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d\n%s", op, resp.StatusCode, b)
	}
	return string(b)
}

func createSends(t *testing.T, srv *partnerdtest.Server, keys ...string) string {
	t.Helper()
	var objs strings.Builder
	for _, k := range keys {
		objs.WriteString(`<Objects xsi:type="Send"><CustomerKey>` + k + `</CustomerKey><Email><ID>42</ID></Email><List><ID>7</ID></List><SendDate>` +
			srv.Now().Add(2*time.Hour).Format(time.RFC3339) + `</SendDate><Subject>` + k + `</Subject></Objects>`)
	}
	return call(t, srv, "Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI">`+objs.String()+`</CreateRequest>`)
}

// The way a user tests a client: create two sends over SOAP, cancel one,
// move the clock past their send time and see what went out.
func TestCreateCancelAdvance(t *testing.T) {
	srv := partnerdtest.New(t)
	if got := createSends(t, srv, "welcome", "oops"); strings.Count(got, "<StatusCode>OK</StatusCode>") != 2 {
		t.Fatalf("Create did not create both sends:\n%s", got)
	}
	got := call(t, srv, "Perform", `<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>Cancel</Action><Definitions>`+
		`<Definition xsi:type="Send"><CustomerKey>oops</CustomerKey></Definition></Definitions></PerformRequestMsg>`)
	if !strings.Contains(got, "<OverallStatus>OK</OverallStatus>") {
		t.Fatalf("cancel failed:\n%s", got)
	}
	if out := srv.Outbox(); len(out) != 0 {
		t.Fatalf("outbox before the send time: %+v", out)
	}

	srv.Advance(3 * time.Hour)

	status := map[string]store.SendStatus{}
	for _, s := range srv.Sends() {
		status[s.CustomerKey] = s.Status
	}
	if status["welcome"] != store.StatusComplete || status["oops"] != store.StatusCanceled {
		t.Errorf("after the send time: %v, want welcome Complete and oops Canceled", status)
	}
	out := srv.Outbox()
	if len(out) != 1 || out[0].Subject != "welcome" {
		t.Fatalf("outbox = %+v, want the welcome send only", out)
	}

	var ops []string
	for _, e := range srv.Exchanges() {
		ops = append(ops, e.Face+" "+e.Operation)
	}
	if strings.Join(ops, ",") != "soap Create,soap Perform" {
		t.Errorf("exchanges %v, want the Create and the Perform in order", ops)
	}
}

// The test account's API key works on the SendGrid face, and sees what
// the SOAP face created.
func TestAPIKeyReady(t *testing.T) {
	srv := partnerdtest.New(t, partnerdtest.WithAccount("acme", "s3cret", 0))
	createSends(t, srv, "k1")
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v3/user/scheduled_sends", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Account.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v3/user/scheduled_sends with the test key: HTTP %d", resp.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Account.APIKey+"x")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong key: HTTP %d, want 401", resp.StatusCode)
	}
}

// Two servers of one seed and start give the same key and byte-identical
// answers; without a seed they differ.
func TestWithSeedRepeats(t *testing.T) {
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	answer := func(opts ...partnerdtest.Option) (string, string) {
		srv := partnerdtest.New(t, append([]partnerdtest.Option{partnerdtest.WithStart(start)}, opts...)...)
		return srv.Account.APIKey, createSends(t, srv, "same")
	}
	k1, a1 := answer(partnerdtest.WithSeed(11))
	k2, a2 := answer(partnerdtest.WithSeed(11))
	if k1 != k2 || a1 != a2 {
		t.Errorf("one seed, two answers:\nkeys %s %s\n%s\n%s", k1, k2, a1, a2)
	}
	if _, a3 := answer(); a3 == a1 {
		t.Errorf("a server without a seed repeated the seeded answer")
	}
}

// Start serves outside a test and removes its store on Close.
func TestStartClose(t *testing.T) {
	srv, err := partnerdtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := http.Get(srv.URL + "/readyz"); err == nil {
		t.Error("the server still answers after Close")
	}
}

// A send without a SendDate goes out while its Create is answered: the
// test sees it in the outbox at once, without waiting or moving the clock.
func TestSendNowIsInTheOutboxAtOnce(t *testing.T) {
	srv := partnerdtest.New(t)
	got := call(t, srv, "Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Objects xsi:type="Send"><Email><ID>42</ID></Email><List><ID>7</ID></List><Subject>now</Subject></Objects></CreateRequest>`)
	if !strings.Contains(got, "<StatusCode>OK</StatusCode>") {
		t.Fatalf("Create failed:\n%s", got)
	}
	if out := srv.Outbox(); len(out) != 1 || out[0].Subject != "now" {
		t.Fatalf("outbox right after the Create = %+v, want the send", out)
	}
	if s := srv.Sends(); len(s) != 1 || s[0].Status != store.StatusComplete {
		t.Errorf("sends = %+v, want one Complete", s)
	}
}

// The test account's token client works as a Marketing Cloud SDK uses it:
// a token from URL+"/v2/token", whose soap_instance_url names this server,
// sent in a fueloauth header; the request log names the client, never
// the token. Past its life the token gets the "Token Expired" fault and a
// new one works.
func TestTokenClientReady(t *testing.T) {
	srv := partnerdtest.New(t)
	token := func() (string, string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"grant_type": "client_credentials",
			"client_id": srv.Account.TokenClientID, "client_secret": srv.Account.TokenClientSecret})
		resp, err := http.Post(srv.URL+"/v2/token", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			AccessToken     string `json:"access_token"`
			SOAPInstanceURL string `json:"soap_instance_url"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.AccessToken == "" {
			t.Fatalf("/v2/token: HTTP %d, %+v, %v", resp.StatusCode, out, err)
		}
		if out.SOAPInstanceURL != srv.URL+"/" {
			t.Errorf("soap_instance_url %q, want %q", out.SOAPInstanceURL, srv.URL+"/")
		}
		return out.AccessToken, out.SOAPInstanceURL
	}
	create := func(soapURL, tok string) (int, string) {
		t.Helper()
		env := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Header>` +
			`<fueloauth xmlns="http://exacttarget.com">` + tok + `</fueloauth></soap:Header><soap:Body>` +
			`<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Objects xsi:type="Send"><Email><ID>42</ID></Email><List><ID>7</ID></List><SendDate>` +
			srv.Now().Add(2*time.Hour).Format(time.RFC3339) + `</SendDate></Objects></CreateRequest></soap:Body></soap:Envelope>`
		req, _ := http.NewRequest(http.MethodPost, soapURL+"Service.asmx", strings.NewReader(env))
		req.Header.Set("Content-Type", "text/xml")
		req.Header.Set("SOAPAction", "Create")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	tok, soapURL := token()
	if code, body := create(soapURL, tok); code != http.StatusOK || !strings.Contains(body, "<OverallStatus>OK</OverallStatus>") {
		t.Fatalf("Create with the token: HTTP %d\n%s", code, body)
	}
	srv.Advance(21 * time.Minute) // past 1,080 s and the two minutes' grace
	if code, body := create(soapURL, tok); code != http.StatusInternalServerError || !strings.Contains(body, "<faultstring>Token Expired</faultstring>") {
		t.Fatalf("the expired token: HTTP %d, want the Token Expired fault\n%s", code, body)
	}
	fresh, _ := token()
	if code, body := create(soapURL, fresh); code != http.StatusOK {
		t.Fatalf("Create with a new token: HTTP %d\n%s", code, body)
	}

	// The refused call names no credential, as a failed login never does.
	named := []bool{true, true, false, true, true}
	es := srv.Exchanges()
	if len(es) != len(named) {
		t.Fatalf("%d exchanges logged, want %d", len(es), len(named))
	}
	for i, e := range es {
		if want := map[bool]string{true: srv.Account.TokenClientID}[named[i]]; e.Credential != want || (want != "") != (e.CredentialKind == "client") {
			t.Errorf("%s %s (%s): credential %q %q, want %q", e.Face, e.Operation, e.Status, e.CredentialKind, e.Credential, want)
		}
		if strings.Contains(e.Request+e.Response, tok) || strings.Contains(e.Request+e.Response, fresh) {
			t.Errorf("%s %s: a token in the request log", e.Face, e.Operation)
		}
	}
}
