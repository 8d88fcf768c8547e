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
		{name: "two bodies", in: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a/></soap:Body><soap:Body><b/></soap:Body></soap:Envelope>`, err: "more than one Body"},
		{name: "two headers", in: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/><soap:Header/><soap:Body><a/></soap:Body></soap:Envelope>`, err: "more than one Header"},
		// fuel-soap and sfmc-sdk write the Body first (issue 14).
		{name: "header after body", in: `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><RetrieveRequestMsg/></Body><Header><a:Action xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">Retrieve</a:Action></Header></Envelope>`, version: V11, body: "RetrieveRequestMsg", wsaAction: "Retrieve"},
		{name: "two headers around the body", in: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/><soap:Body><a/></soap:Body><soap:Header/></soap:Envelope>`, err: "more than one Header"},
		{name: "element after the root", in: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a/></soap:Body></soap:Envelope><b/>`, err: "content after the root element"},
		{name: "text after the root", in: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a/></soap:Body></soap:Envelope>x`, err: "content after the root element"},
		{name: "markup after the root", in: "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><a/></soap:Body></soap:Envelope>\r\n<!-- c --><?pi x?>", version: V11, body: "a"},
		{name: "UTF-8 BOM", in: "\xef\xbb\xbf<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><a/></soap:Body></soap:Envelope>", version: V11, body: "a"},
		{name: "syntax error quotes nothing", in: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a>pw&SECRET</a></soap:Body></soap:Envelope>`, err: "There is an error in XML document (1, "},
		{name: "long root name cut", in: `<` + strings.Repeat("n", 500) + `/>`, err: "not a SOAP Envelope"},
		{name: "too deep", in: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + strings.Repeat("<a>", MaxDepth+5) + strings.Repeat("</a>", MaxDepth+5) + `</soap:Body></soap:Envelope>`, err: "not well-formed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ReadEnvelope([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				if len(err.Error()) > maxEnvelopeErr || strings.Contains(err.Error(), "SECRET") {
					t.Errorf("err %q quotes the input", err)
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

// maxEnvelopeErr bounds the text of any error ReadEnvelope returns: fixed
// words and at most one name cut to maxEcho bytes (an escaped name can be
// up to four times longer).
const maxEnvelopeErr = 160 + 4*maxEcho

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
	seeds, _ := filepath.Glob("../../testdata/golden/*.txt")
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
	// Shapes of issue 10.
	for _, s := range []string{
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a/></soap:Body><soap:Body><b/></soap:Body></soap:Envelope>`,
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a/></soap:Body></soap:Envelope><b/>`,
		"<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><a/></soap:Body></soap:Envelope>\r\n<!-- c -->x",
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><x:T xmlns:x="urn:t" soap:mustUnderstand="1" soap:actor="http://schemas.xmlsoap.org/soap/actor/next"/></soap:Header><soap:Body><a/></soap:Body></soap:Envelope>`,
		`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header><x:T xmlns:x="urn:t" s:mustUnderstand="true" s:role="http://www.w3.org/2003/05/soap-envelope/role/none"/></s:Header><s:Body><a/></s:Body></s:Envelope>`,
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a>pw&tail</a></soap:Body></soap:Envelope>`,
		"\xef\xbb\xbf<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><a/></soap:Body></soap:Envelope>",
		`<?xml version="1.0" encoding="utf-16"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a/></soap:Body></soap:Envelope>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		env, err := ReadEnvelope(raw)
		if err != nil {
			// Errors quote at most a bounded name: never a stretch of
			// the input.
			if len(err.Error()) > maxEnvelopeErr {
				t.Fatalf("%d-byte error: %.200q", len(err.Error()), err)
			}
			return
		}
		for _, c := range env.NotUnderstood() {
			if understoodHeader(c) || c.Parent() != env.Header {
				t.Fatalf("NotUnderstood returned %s", c.Tag)
			}
		}
		if env.Body == nil || (env.Version != V11 && env.Version != V12) {
			t.Fatalf("accepted an envelope without a body or version: %+v", env)
		}
		OperationOfBody(env.Body)
		XSIType(env.Body)
		IsNil(env.Body)
	})
}
