package soap

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
)

// fuelSoapCreate is a Create as fuel-soap 2.2.4 writes it (issue 14): the
// envelope in the default namespace, no prefix, the Body before the
// Header (xml2js writes an object's keys in order), pretty-printed, and a
// CreateRequest without Options (sfmc-sdk leaves it out).
const fuelSoapCreate = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Body>
    <CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI">
      <Objects xsi:type="Send">
        <Email>
          <ID>100</ID>
        </Email>
      </Objects>
    </CreateRequest>
  </Body>
  <Header>
    <fueloauth xmlns="http://exacttarget.com">token</fueloauth>
  </Header>
</Envelope>`

// authFunc is an Authenticator from a function.
type authFunc func(env *Envelope) (Principal, error)

func (f authFunc) Authenticate(_ context.Context, env *Envelope) (Principal, error) { return f(env) }

// TestNodeSDKRequestShape: what fuel-soap and sfmc-sdk send is accepted —
// Body before Header, no prefixes, no Options, SOAPAction unquoted,
// Content-Type text/xml without a charset — and the Header after the Body
// is the one the authenticator is given.
func TestNodeSDKRequestShape(t *testing.T) {
	var seen *Envelope
	h, _ := newTestHandler(authFunc(func(env *Envelope) (Principal, error) {
		seen = env
		return Principal{AccountID: 1, Username: "u", ClientID: 9}, nil
	}))
	h.Handle("Create", func(_ context.Context, r *Request) (*Response, error) {
		if Child(r.Body, "Options") != nil || Child(r.Body, "Objects") == nil {
			t.Errorf("CreateRequest read wrongly: %v", r.Body.Tag)
		}
		return &Response{Body: []byte(`<CreateResponse xmlns="http://exacttarget.com/wsdl/partnerAPI"><RequestID>x</RequestID><OverallStatus>OK</OverallStatus></CreateResponse>`), Status: "OK"}, nil
	})
	for _, action := range []string{"Create", `"Create"`} {
		req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", strings.NewReader(fuelSoapCreate))
		req.Header.Set("Content-Type", "text/xml")
		req.Header.Set("SOAPAction", action)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<OverallStatus>OK</OverallStatus>") {
			t.Fatalf("SOAPAction %s: HTTP %d: %s", action, rec.Code, rec.Body)
		}
		if seen == nil || seen.Header == nil || Child(seen.Header, "fueloauth") == nil {
			t.Fatalf("SOAPAction %s: the authenticator was not given the Header after the Body", action)
		}
	}
}

// TestResponsePrefix: the Node SDKs read res['soap:Envelope']['soap:Body']
// and soap:Fault literally, so every answer — SOAP 1.1 and 1.2, result and
// fault — writes those three with the prefix soap (bound to the request's
// envelope namespace; WCF reads 1.2 answers by namespace, whatever the
// prefix).
func TestResponsePrefix(t *testing.T) {
	h, _ := newTestHandler(fakeAuth{})
	env12 := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"/></s:Body></s:Envelope>`
	for _, c := range []struct {
		name, ctype, body, ns string
		fault                 bool
	}{
		{"1.1 result", "text/xml", perform11, NSEnvelope11, false},
		{"1.1 fault", "text/xml", strings.Replace(perform11, "PerformRequestMsg", "FrobRequestMsg", 2), NSEnvelope11, true},
		{"1.2 result", "application/soap+xml", env12, NSEnvelope12, false},
		{"1.2 fault", "application/soap+xml", strings.Replace(env12, "PerformRequestMsg", "FrobRequestMsg", 2), NSEnvelope12, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.ctype)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			out := rec.Body.String()
			want := []string{`<soap:Envelope xmlns:soap="` + c.ns + `"`, "<soap:Body>", "</soap:Body></soap:Envelope>"}
			if c.fault {
				want = append(want, "<soap:Fault>")
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("no %s in %s", w, out)
				}
			}
		})
	}
}
