package soap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadEnvelope(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		version   Version
		body      string
		wsaAction string
		err       string
	}{
		{name: "soap11 prefixed", in: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"/></soap:Body></soap:Envelope>`, version: V11, body: "PerformRequestMsg"},
		{name: "soap11 default ns", in: `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header/><Body><x:CreateRequest xmlns:x="http://exacttarget.com/wsdl/partnerAPI"/></Body></Envelope>`, version: V11, body: "CreateRequest"},
		{name: "soap12 with wsa", in: `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header><a:Action s:mustUnderstand="1">Perform</a:Action><a:MessageID>urn:uuid:1</a:MessageID></s:Header><s:Body><PerformRequestMsg/></s:Body></s:Envelope>`, version: V12, body: "PerformRequestMsg", wsaAction: "Perform"},
		{name: "xml declaration and whitespace", in: "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n  <soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\n<soap:Body>\n<RetrieveRequestMsg/>\n</soap:Body></soap:Envelope>", version: V11, body: "RetrieveRequestMsg"},
		{name: "doctype", in: `<!DOCTYPE x [<!ENTITY a "b">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x>&a;</x></soap:Body></soap:Envelope>`, err: "DTDs are not allowed"},
		{name: "invalid utf-8", in: "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><x>\xff\xfe</x></soap:Body></soap:Envelope>", err: "not valid UTF-8"},
		{name: "not xml", in: `hello`, err: "no root element"},
		{name: "unclosed", in: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x></soap:Body>`, err: "not well-formed"},
		{name: "wrong root", in: `<html/>`, err: "not a SOAP Envelope"},
		{name: "unknown envelope ns", in: `<Envelope xmlns="urn:nope"><Body><x/></Body></Envelope>`, err: "unknown SOAP envelope namespace"},
		{name: "no body", in: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/></soap:Envelope>`, err: "no Body"},
		{name: "two body children", in: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a/><b/></soap:Body></soap:Envelope>`, err: "exactly one element"},
		{name: "too deep", in: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + strings.Repeat("<a>", MaxDepth+5) + strings.Repeat("</a>", MaxDepth+5) + `</soap:Body></soap:Envelope>`, err: "not well-formed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ReadEnvelope([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if env.Version != tt.version || env.Body.Tag != tt.body {
				t.Errorf("version %d body %s, want %d %s", env.Version, env.Body.Tag, tt.version, tt.body)
			}
			got := ""
			if env.Addressing != nil {
				got = env.Addressing.Action
			}
			if got != tt.wsaAction {
				t.Errorf("wsa:Action %q, want %q", got, tt.wsaAction)
			}
		})
	}
}

func TestActionName(t *testing.T) {
	for in, want := range map[string]string{
		`Perform`:    "Perform",
		`"Perform"`:  "Perform",
		` "Create" `: "Create",
		`""`:         "",
		`http://exacttarget.com/wsdl/partnerAPI/Retrieve`: "Retrieve",
		`urn:partnerAPI#Schedule`:                         "urn:partnerAPI#Schedule",
		`http://exacttarget.com/wsdl/partnerAPI#Delete`:   "Delete",
	} {
		if got := actionName(in); got != want {
			t.Errorf("actionName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestXSIType(t *testing.T) {
	env, err := ReadEnvelope([]byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><s:Body><P><D i:type="ns1:Send"/><D i:type="Send"/><D type="Send"/><D i:nil="true"/><D i:nil="1"/><D i:nil="false"/></P></s:Body></s:Envelope>`))
	if err != nil {
		t.Fatal(err)
	}
	ds := Children(env.Body, "D")
	wantType := []string{"Send", "Send", "", "", "", ""}
	wantNil := []bool{false, false, false, true, true, false}
	for i, d := range ds {
		if got, _ := XSIType(d); got != wantType[i] {
			t.Errorf("D[%d] xsi:type %q, want %q", i, got, wantType[i])
		}
		if IsNil(d) != wantNil[i] {
			t.Errorf("D[%d] nil %v, want %v", i, IsNil(d), wantNil[i])
		}
	}
}

// FuzzReadEnvelope checks that no input makes the envelope reader panic and
// that what it accepts is coherent.
func FuzzReadEnvelope(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/golden/*.txt")
	for _, s := range seeds {
		raw, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		for _, part := range strings.Split(string(raw), "\n=== ")[1:] {
			if _, body, ok := strings.Cut(part, "\n\n"); ok {
				f.Add([]byte(body))
			}
		}
	}
	f.Add([]byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><PerformRequestMsg/></soap:Body></soap:Envelope>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		env, err := ReadEnvelope(raw)
		if err != nil {
			return
		}
		if env.Body == nil || (env.Version != V11 && env.Version != V12) {
			t.Fatalf("accepted an envelope without a body or version: %+v", env)
		}
		OperationOfBody(env.Body)
		XSIType(env.Body)
		IsNil(env.Body)
	})
}
