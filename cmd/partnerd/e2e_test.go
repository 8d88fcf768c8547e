package main

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gowsdlsoap "github.com/hooklift/gowsdl/soap"
	"github.com/partnerd/partnerd/wsdl/partnerapi"
)

// The end-to-end test builds the real binary, starts it on a free port with
// a temporary database, and drives it with the gowsdl-generated client and
// with plain HTTP, as users do.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "partnerd-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "partnerd")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build partnerd:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serverStoreKey is the sealing key of the test's PostgreSQL stores (32
// bytes, base64).
const serverStoreKey = "cGFydG5lcmQtdGVzdC1zZWFsaW5nLWtleS0zMmJ5dGU="

// partnerd runs a partnerd subcommand against db and returns its output.
func partnerd(t *testing.T, db string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "PARTNERD_DB="+db)
	if strings.Contains(db, "://") && os.Getenv("PARTNERD_SECRET_KEY") == "" {
		// A server store has no directory for the key file: its key comes
		// from the environment, as the README tells operators.
		cmd.Env = append(cmd.Env, "PARTNERD_SECRET_KEY="+serverStoreKey)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("partnerd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sendObject is a Send for the gowsdl client, which cannot write xsi:type:
// Go users wrap the generated types this way.
type sendObject struct {
	XSIType  string    `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
	Email    *idObject `xml:"Email,omitempty"`
	List     *idObject `xml:"List,omitempty"`
	SendDate string    `xml:"SendDate,omitempty"`
	Subject  string    `xml:"Subject,omitempty"`
}

type idObject struct {
	ID int32 `xml:"ID"`
}

type createRequest struct {
	XMLName xml.Name `xml:"http://exacttarget.com/wsdl/partnerAPI CreateRequest"`
	Options struct{} `xml:"Options"`
	Objects []sendObject
}

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "e2e.db")
	if out := partnerd(t, db, "account", "add", "--username", "e2e", "--password", "first-pw", "--client-id", "777"); !strings.Contains(out, "account e2e added") {
		t.Fatalf("account add: %s", out)
	}
	srv := startServer(t, db)
	if !strings.Contains(srv.output(), "SOAP endpoint: "+srv.base+"/Service.asmx") {
		t.Errorf("start-up does not print the endpoint:\n%s", srv.output())
	}
	endpoint := srv.base + "/Service.asmx"

	// The WSDL names the address it was fetched from.
	for _, path := range []string{"/Service.asmx?wsdl", "/service.asmx?WSDL", "/etframework.wsdl"} {
		resp, err := http.Get(srv.base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `location="`+srv.base) {
			t.Errorf("GET %s: %d, soap:address not %s", path, resp.StatusCode, srv.base)
		}
	}

	client := gowsdlsoap.NewClient(endpoint)
	client.AddHeader(gowsdlsoap.NewWSSSecurityHeader("e2e", "first-pw", "", "1"))
	api := partnerapi.NewPartnerAPISoap(client)

	// Create two Sends through the generated client's transport.
	when := time.Now().UTC().Add(2 * time.Hour).Format(time.RFC3339)
	var created partnerapi.CreateResponse
	err := client.Call("Create", &createRequest{Objects: []sendObject{
		{XSIType: "Send", Email: &idObject{ID: 1}, List: &idObject{ID: 2}, SendDate: when, Subject: "one"},
		{XSIType: "Send", Email: &idObject{ID: 1}, List: &idObject{ID: 3}, SendDate: when, Subject: "two"},
	}}, &created)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if created.OverallStatus != "OK" || len(created.Results) != 2 {
		t.Fatalf("Create: OverallStatus %q with %d results", created.OverallStatus, len(created.Results))
	}
	ids := []int32{created.Results[0].NewID, created.Results[1].NewID}

	// Retrieve them with the generated types.
	retrieved, err := api.Retrieve(&partnerapi.RetrieveRequestMsg{RetrieveRequest: &partnerapi.RetrieveRequest{
		ObjectType: "Send", Properties: []string{"ID", "Status"},
	}})
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if retrieved.OverallStatus != "OK" || len(retrieved.Results) != 2 || retrieved.Results[0].ID != ids[0] {
		t.Fatalf("Retrieve: %q, %d results", retrieved.OverallStatus, len(retrieved.Results))
	}

	// Perform cancel on both with the generated request type (untyped
	// Definitions, read as Sends).
	req := &partnerapi.PerformRequestMsg{Action: "cancel"}
	for _, id := range ids {
		req.Definitions.Definition = append(req.Definitions.Definition, &partnerapi.APIObject{ID: id})
	}
	performed, err := api.Perform(req)
	if err != nil {
		t.Fatalf("Perform: %v", err)
	}
	if performed.OverallStatus != "OK" || len(performed.Results.Result) != 2 || !guidRE.MatchString(performed.RequestID) {
		t.Fatalf("Perform: OverallStatus %q, %d results, RequestID %q", performed.OverallStatus, len(performed.Results.Result), performed.RequestID)
	}
	for i, r := range performed.Results.Result {
		if r.StatusCode != "OK" || r.OrdinalID != int32(i) {
			t.Errorf("result %d: %s (ordinal %d) %s", i, r.StatusCode, r.OrdinalID, r.StatusMessage)
		}
	}

	// An unknown ID: Error with an ErrorCode.
	performed, err = api.Perform(&partnerapi.PerformRequestMsg{Action: "cancel", Definitions: struct {
		Definition []*partnerapi.APIObject `xml:"Definition,omitempty" json:"Definition,omitempty"`
	}{Definition: []*partnerapi.APIObject{{ID: 424242}}}})
	if err != nil {
		t.Fatalf("Perform unknown: %v", err)
	}
	if performed.OverallStatus != "Error" || performed.Results.Result[0].ErrorCode != 7091 {
		t.Errorf("unknown ID: %q, code %d", performed.OverallStatus, performed.Results.Result[0].ErrorCode)
	}

	// The request log has the exchange, its password masked. The log is
	// written in the background, so give it a moment.
	var out string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if out = partnerd(t, db, "requests", "--last", "3"); strings.Contains(out, performed.RequestID) {
			break
		}
	}
	if !strings.Contains(out, performed.RequestID) || !strings.Contains(out, "Perform") {
		t.Errorf("requests --last 3 lacks %s:\n%s", performed.RequestID, out)
	}
	out = partnerd(t, db, "requests", "--id", performed.RequestID)
	if strings.Contains(out, "first-pw") || !strings.Contains(out, "****") {
		t.Errorf("request log does not mask the password:\n%s", out)
	}
	if out := partnerd(t, db, "send", "list", "--account", "e2e"); strings.Count(out, "Canceled") != 2 {
		t.Errorf("send list:\n%s", out)
	}

	// Rotating the password takes effect on the very next request.
	partnerd(t, db, "account", "passwd", "--username", "e2e", "--password", "second-pw")
	_, err = api.Perform(req)
	if !isLoginFailed(err) {
		t.Fatalf("old password after passwd: %v, want the Login failed security fault", err)
	}
	client.SetHeaders(gowsdlsoap.NewWSSSecurityHeader("e2e", "second-pw", "", "1"))
	if performed, err = api.Perform(req); err != nil || performed.OverallStatus != "OK" {
		t.Fatalf("new password: %v %+v", err, performed)
	}

	// A disabled account is refused at once.
	partnerd(t, db, "account", "disable", "--username", "e2e")
	if _, err = api.Perform(req); !isLoginFailed(err) {
		t.Fatalf("disabled account: %v", err)
	}

	// Plain HTTP: a SOAP 1.2 GetSystemStatus and the security fault.
	partnerd(t, db, "account", "enable", "--username", "e2e")
	status, body := post(t, endpoint, "application/soap+xml; charset=utf-8; action=GetSystemStatus",
		`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>e2e</Username><Password>second-pw</Password></UsernameToken></Security></s:Header><s:Body><SystemStatusRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"/></s:Body></s:Envelope>`)
	if status != 200 || !strings.Contains(body, "<SystemStatus>OK</SystemStatus>") {
		t.Errorf("GetSystemStatus: %d %s", status, body)
	}
	status, body = post(t, endpoint, "text/xml", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><VersionInfoRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><IncludeVersionHistory>false</IncludeVersionHistory></VersionInfoRequestMsg></s:Body></s:Envelope>`)
	if status != 500 || !strings.Contains(body, "<faultstring>Login failed</faultstring>") {
		t.Errorf("no credentials: %d %s", status, body)
	}

	srv.stop(t)

	// The cancels are durable: a restarted server still has them.
	if out := partnerd(t, db, "send", "list", "--status", "Canceled"); strings.Count(out, "Canceled") != 2 {
		t.Errorf("after restart:\n%s", out)
	}
}

// isLoginFailed reports whether err is the security fault. gowsdl reports a
// fault that comes with HTTP 500 (as the real service sends every fault) as
// an HTTPError carrying the envelope.
func isLoginFailed(err error) bool {
	var fault *gowsdlsoap.SOAPFault
	if errors.As(err, &fault) {
		return fault.String == "Login failed" && strings.HasSuffix(fault.Code, ":Security")
	}
	var httpErr *gowsdlsoap.HTTPError
	if errors.As(err, &httpErr) {
		body := string(httpErr.ResponseBody)
		return httpErr.StatusCode == 500 && strings.Contains(body, ">q0:Security</faultcode>") && strings.Contains(body, "<faultstring>Login failed</faultstring>")
	}
	return false
}

func post(t *testing.T, url, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFirstStartCreatesDemoAccount(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	srv := startServer(t, db)
	m := regexp.MustCompile(`username "demo" password "([^"]+)"`).FindStringSubmatch(srv.output())
	if m == nil {
		t.Fatalf("no demo account printed:\n%s", srv.output())
	}
	status, body := post(t, srv.base+"/Service.asmx", "text/xml", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>demo</Username><Password>`+m[1]+`</Password></UsernameToken></Security></s:Header><s:Body><SystemStatusRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"/></s:Body></s:Envelope>`)
	if status != 200 {
		t.Fatalf("demo credentials refused: %d %s", status, body)
	}
	srv.stop(t)
	// A second start keeps the account and prints no new password.
	srv = startServer(t, db)
	if strings.Contains(srv.output(), "password") {
		t.Errorf("second start printed a password:\n%s", srv.output())
	}
	srv.stop(t)
}
