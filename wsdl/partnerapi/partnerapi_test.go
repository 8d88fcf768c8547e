package partnerapi

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hooklift/gowsdl/soap"
)

// fakeHTTP records the request the generated client sends and answers with
// a canned response, so the client is exercised end to end without a server.
type fakeHTTP struct {
	req  *http.Request
	body []byte
	resp string
}

func (f *fakeHTTP) Do(req *http.Request) (*http.Response, error) {
	f.req = req
	var err error
	if f.body, err = io.ReadAll(req.Body); err != nil {
		return nil, err
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"text/xml; charset=utf-8"}},
		Body:       io.NopCloser(strings.NewReader(f.resp)),
	}, nil
}

func TestPerformRequestMarshals(t *testing.T) {
	req := &PerformRequestMsg{Action: "cancel"}
	req.Definitions.Definition = []*APIObject{{ID: 29605}}

	b, err := xml.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">`,
		`<Action>cancel</Action>`,
		`<Definitions><Definition><ID>29605</ID></Definition></Definitions>`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("marshaled request lacks %s:\n%s", want, b)
		}
	}
}

func TestClientPerform(t *testing.T) {
	fake := &fakeHTTP{resp: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		`<PerformResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results><Result>` +
		`<StatusCode>OK</StatusCode><StatusMessage>Send performed</StatusMessage>` +
		`<Object><ID>29605</ID></Object><Task><StatusCode>OK</StatusCode><StatusMessage>OK</StatusMessage></Task>` +
		`</Result></Results><OverallStatus>OK</OverallStatus><OverallStatusMessage/>` +
		`<RequestID>6fb20bc4-2772-4681-8ee3-b36445457676</RequestID></PerformResponseMsg></soap:Body></soap:Envelope>`}
	var client PartnerAPISoap = NewPartnerAPISoap(soap.NewClient("http://partnerd.invalid/Service.asmx", soap.WithHTTPClient(fake)))

	req := &PerformRequestMsg{Action: "cancel"}
	req.Definitions.Definition = []*APIObject{{ID: 29605}}
	resp, err := client.Perform(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.req.Header.Get("SOAPAction"); got != "Perform" {
		t.Errorf("SOAPAction %q, want Perform", got)
	}
	if !bytes.Contains(fake.body, []byte(`<Action>cancel</Action>`)) {
		t.Errorf("request body lacks the action:\n%s", fake.body)
	}
	if resp.OverallStatus != "OK" || resp.RequestID != "6fb20bc4-2772-4681-8ee3-b36445457676" {
		t.Errorf("response %+v", resp)
	}
	if len(resp.Results.Result) != 1 || resp.Results.Result[0].Object == nil || resp.Results.Result[0].Object.ID != 29605 {
		t.Errorf("results not decoded: %+v", resp.Results)
	}
}
