package loadgen

import (
	"reflect"
	"testing"
)

const (
	okPerform = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><PerformResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results><Result><StatusCode>OK</StatusCode><StatusMessage>Send canceled</StatusMessage></Result></Results><OverallStatus>OK</OverallStatus><OverallStatusMessage /><RequestID>x</RequestID></PerformResponseMsg></soap:Body></soap:Envelope>`
	// node-soap writes prefixes on every element.
	okPrefixed = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><tns:PerformResponseMsg xmlns:tns="http://exacttarget.com/wsdl/partnerAPI"><tns:OverallStatus>OK</tns:OverallStatus></tns:PerformResponseMsg></soap:Body></soap:Envelope>`
	fault11    = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode xmlns:q0="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">q0:Security</faultcode><faultstring>Login failed</faultstring></soap:Fault></soap:Body></soap:Envelope>`
	fault12    = `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:Sender</env:Value></env:Code><env:Reason><env:Text xml:lang="en">Bad &amp; wrong</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`
	partly     = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><PerformResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results><Result><StatusCode>Error</StatusCode><StatusMessage>Cannot cancel Send 5: too many sends are paused</StatusMessage><OrdinalID>0</OrdinalID><ErrorCode>7094</ErrorCode></Result></Results><OverallStatus>Error</OverallStatus><OverallStatusMessage>1 of 1 objects failed</OverallStatusMessage></PerformResponseMsg></soap:Body></soap:Envelope>`
	noSend     = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><RetrieveResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><OverallStatus>OK</OverallStatus><RequestID>x</RequestID></RetrieveResponseMsg></soap:Body></soap:Envelope>`
	oneSend    = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><RetrieveResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><OverallStatus>OK</OverallStatus><RequestID>x</RequestID><Results xsi:type="Send"><ID>5</ID></Results></RetrieveResponseMsg></soap:Body></soap:Envelope>`
	aWSDL      = `<?xml version="1.0"?><wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" name="PartnerAPI"></wsdl:definitions>`
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		w      Workload
		status int
		body   string
		want   *Problem
	}{
		{"perform OK", Cancel, 200, okPerform, nil},
		{"prefixed OK", Cancel, 200, okPrefixed, nil},
		{"fault with 500 is a fault, not a status", Cancel, 500, fault11, &Problem{KindFault, "Login failed"}},
		{"fault with 200 is still a fault", Cancel, 200, fault11, &Problem{KindFault, "Login failed"}},
		{"SOAP 1.2 fault reason", CancelBatch, 500, fault12, &Problem{KindFault, "Bad & wrong"}},
		{"plain 503", Cancel, 503, "Service Unavailable", &Problem{KindHTTPStatus, "HTTP 503"}},
		{"500 without a fault", Cancel, 500, "<html>oops</html>", &Problem{KindHTTPStatus, "HTTP 500"}},
		{"non-OK result", Cancel, 200, partly, &Problem{KindNotOK, "OverallStatus Error: ErrorCode 7094: Cannot cancel Send 5: too many sends are paused"}},
		{"no OverallStatus", Cancel, 200, "<x/>", &Problem{KindNotOK, "the answer has no OverallStatus"}},
		{"OverallStatusMessage alone is not OverallStatus", Cancel, 200, `<a><OverallStatusMessage>OK</OverallStatusMessage></a>`, &Problem{KindNotOK, "the answer has no OverallStatus"}},
		{"retrieve with the send", Retrieve, 200, oneSend, nil},
		{"retrieve OK without the send", Retrieve, 200, noSend, &Problem{KindNotOK, "Retrieve answered OK without the Send"}},
		{"wsdl", WSDL, 200, aWSDL, nil},
		{"wsdl 404", WSDL, 404, "not found", &Problem{KindHTTPStatus, "HTTP 404"}},
		{"wsdl that is not one", WSDL, 200, okPerform, &Problem{KindNotOK, "the answer is not a WSDL document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check(tt.w, tt.status, []byte(tt.body))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestElement(t *testing.T) {
	doc := []byte(`<a><ETFrameworkFault>x</ETFrameworkFault><p:NewID>1</p:NewID><NewIDs>9</NewIDs><NewID >2</NewID><NewID/></a>`)
	if _, _, ok := element(doc, "Fault"); ok {
		t.Errorf("Fault found inside ETFrameworkFault")
	}
	if got := allTexts(doc, "NewID"); !reflect.DeepEqual(got, []string{"1", "2", ""}) {
		t.Errorf("allTexts(NewID) = %q", got)
	}
}
