// Command sendgrid-go-client drives partnerd's SendGrid v3 face with the
// official Go library, github.com/sendgrid/sendgrid-go (pinned in go.mod),
// and checks that the SOAP face sees the same sends: a send made by mail/send
// is found by a SOAP Retrieve, a batch paused over REST reads Paused over
// SOAP, and a SOAP cancel shows in the batch over REST. It lives in a module
// of its own so that partnerd's module does not depend on the library.
//
// It prints "ok <check>" / "FAIL <check>: <why>" per check and a closing
// RESULT line, like the other clients of interop/run.sh.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/sendgrid/rest"
	"github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"
)

var (
	base     = flag.String("base", "", "partnerd's base URL, http://127.0.0.1:PORT")
	key      = flag.String("key", "", "an API key of the account (SG.…)")
	endpoint = flag.String("endpoint", "", "the SOAP endpoint, …/Service.asmx")
	user     = flag.String("user", "", "the account's SOAP username")
	password = flag.String("password", "", "its password")
	label    = flag.String("label", "sendgrid-go", "label of the output lines")

	passed, failed int
)

func check(name string, ok bool, why string, args ...any) {
	if ok {
		passed++
		fmt.Printf("ok %s: %s\n", *label, name)
		return
	}
	failed++
	fmt.Printf("FAIL %s: %s: %s\n", *label, name, fmt.Sprintf(why, args...))
}

// call makes one request with the library's own request builder.
func call(method rest.Method, endpoint string, body any) (*rest.Response, error) {
	req := sendgrid.GetRequest(*key, endpoint, *base)
	req.Method = method
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		req.Body = b
	}
	return sendgrid.MakeRequest(req)
}

// soap posts a Partner API envelope with a PasswordText UsernameToken and
// returns the response body.
func soap(action, body string) (string, error) {
	env := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<s:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>` +
		`<wsse:Username>` + html.EscapeString(*user) + `</wsse:Username>` +
		`<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">` + html.EscapeString(*password) + `</wsse:Password>` +
		`</wsse:UsernameToken></wsse:Security></s:Header><s:Body>` + body + `</s:Body></s:Envelope>`
	req, err := http.NewRequest(http.MethodPost, *endpoint, strings.NewReader(env))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+action+`"`)
	res, err := httpClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

var (
	statusRE = regexp.MustCompile(`<Status>([^<]*)</Status>`)
	idRE     = regexp.MustCompile(`<ID>([0-9]+)</ID>`)
)

// soapSend retrieves the send with subject over SOAP: its ID and Status.
func soapSend(subject string) (id, status string, err error) {
	out, err := soap("Retrieve", `<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><RetrieveRequest>`+
		`<ObjectType>Send</ObjectType><Properties>ID</Properties><Properties>Subject</Properties><Properties>Status</Properties>`+
		`<Filter xsi:type="SimpleFilterPart"><Property>Subject</Property><SimpleOperator>equals</SimpleOperator><Value>`+html.EscapeString(subject)+`</Value></Filter>`+
		`</RetrieveRequest></RetrieveRequestMsg>`)
	if err != nil {
		return "", "", err
	}
	results := strings.Count(out, "<Results")
	if results != 1 {
		return "", "", fmt.Errorf("%d Results: %.600s", results, out)
	}
	i, s := idRE.FindStringSubmatch(out), statusRE.FindStringSubmatch(out)
	if i == nil || s == nil {
		return "", "", fmt.Errorf("no ID or Status: %.600s", out)
	}
	return i[1], s[1], nil
}

func main() {
	flag.Parse()
	// The library's default client has no timeout (notes §8).
	sendgrid.DefaultClient = &rest.Client{HTTPClient: httpClient}
	defer func() {
		if r := recover(); r != nil {
			check("the scenario runs to its end", false, "%v", r)
		}
		fmt.Printf("RESULT %s: %d passed, %d failed\n", *label, passed, failed)
		if failed > 0 {
			os.Exit(1)
		}
	}()
	run()
}

func run() {
	res, err := call(rest.Post, "/v3/mail/batch", nil)
	var batch struct {
		BatchID string `json:"batch_id"`
	}
	if err == nil {
		err = json.Unmarshal([]byte(res.Body), &batch)
	}
	check("POST /v3/mail/batch → 201", err == nil && res.StatusCode == 201 && batch.BatchID != "", "%v %+v", err, res)
	if batch.BatchID == "" {
		return
	}
	reset := res.Headers["X-Ratelimit-Reset"]
	check("X-RateLimit-Reset is a UNIX time in seconds", len(reset) == 1 && len(reset[0]) == 10, "%v", reset)

	// One send an hour ahead, into the batch, with the library's mail helpers.
	subject := fmt.Sprintf("interop %s %d", *label, time.Now().UnixNano())
	m := mail.NewSingleEmail(mail.NewEmail("Sender", "sender@example.com"), subject,
		mail.NewEmail("Someone", "someone@example.com"), "plain text body", "<p>html body</p>")
	m.SetSendAt(int(time.Now().Add(time.Hour).Unix()))
	m.SetBatchID(batch.BatchID)
	sender := &sendgrid.Client{Request: sendgrid.GetRequest(*key, "/v3/mail/send", *base)}
	sender.Method = rest.Post
	res, err = sender.Send(m)
	check("Client.Send (scheduled, batch_id) → 202 with X-Message-Id", err == nil && res.StatusCode == 202 && len(res.Headers["X-Message-Id"]) == 1 && res.Body == "", "%v %+v", err, res)

	// The same send over SOAP.
	id, status, err := soapSend(subject)
	check("SOAP Retrieve finds the mail/send send by Subject, Scheduled", err == nil && status == "Scheduled", "%v %q", err, status)

	res, err = call(rest.Post, "/v3/user/scheduled_sends", map[string]string{"batch_id": batch.BatchID, "status": "pause"})
	check("POST scheduled_sends pause → 201", err == nil && res.StatusCode == 201, "%v %+v", err, res)
	_, status, err = soapSend(subject)
	check("the batch paused over REST reads Paused over SOAP", err == nil && status == "Paused", "%v %q", err, status)
	res, err = call(rest.Patch, "/v3/user/scheduled_sends/"+batch.BatchID, map[string]string{"status": "cancel"})
	check("PATCH to cancel → 204", err == nil && res.StatusCode == 204, "%v %+v", err, res)
	_, status, err = soapSend(subject)
	check("… reads Canceled over SOAP", err == nil && status == "Canceled", "%v %q", err, status)
	res, err = call(rest.Delete, "/v3/user/scheduled_sends/"+batch.BatchID, nil)
	check("DELETE → 204", err == nil && res.StatusCode == 204, "%v %+v", err, res)
	_, status, err = soapSend(subject)
	check("… reads Scheduled over SOAP again", err == nil && status == "Scheduled", "%v %q", err, status)

	// A SOAP cancel shows in the send's batch over REST.
	out, err := soap("Perform", `<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>cancel</Action><Definitions>`+
		`<Definition xsi:type="Send"><ID>`+id+`</ID></Definition></Definitions></PerformRequestMsg>`)
	check("SOAP Perform cancel of that send → OK", err == nil && strings.Contains(out, "<OverallStatus>OK</OverallStatus>"), "%v %.600s", err, out)
	res, err = call(rest.Get, "/v3/user/scheduled_sends/"+batch.BatchID, nil)
	var held []struct{ BatchID, Status string }
	if err == nil {
		err = json.Unmarshal([]byte(res.Body), &held)
	}
	check("the SOAP cancel shows in its batch over REST (status cancel)", err == nil && res.StatusCode == 200 && len(held) == 1 && held[0].Status == "cancel", "%v %+v", err, res)

	// Errors in SendGrid's shape.
	bad := sendgrid.GetRequest(*key, "/v3/user/scheduled_sends", *base)
	bad.Method = rest.Post
	bad.Body = []byte(`{"batch_id": `)
	res, err = sendgrid.MakeRequest(bad)
	var e struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err == nil {
		err = json.Unmarshal(bytes.TrimSpace([]byte(res.Body)), &e)
	}
	check("malformed JSON → 400 with errors[]", err == nil && res.StatusCode == 400 && len(e.Errors) > 0 && e.Errors[0].Message != "", "%v %+v", err, res)
	noKey := sendgrid.GetRequest("", "/v3/mail/batch/"+batch.BatchID, *base)
	res, err = sendgrid.MakeRequest(noKey)
	check(`an empty key ("Bearer ") → 401 "authorization required"`, err == nil && res.StatusCode == 401 && strings.Contains(res.Body, `"authorization required"`), "%v %+v", err, res)
}
