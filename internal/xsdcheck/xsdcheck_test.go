package xsdcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/wsdl"
)

// need skips when validation cannot run, except in CI, where a missing
// xmllint must fail loudly with the install instruction rather than let
// every schema check pass by skipping.
func need(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

const (
	soap11Open = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">
  <soap:Header>
    <wsa:Action>PerformResponse</wsa:Action>
    <wsse:Security>
      <wsu:Timestamp wsu:Id="Timestamp-22862e3f-fefa-45db-ba7f-e69d88571df3">
        <wsu:Created>2010-02-22T20:29:14Z</wsu:Created>
        <wsu:Expires>2010-02-22T20:34:14Z</wsu:Expires>
      </wsu:Timestamp>
    </wsse:Security>
  </soap:Header>
  <soap:Body>`
	soap11Close = `
  </soap:Body>
</soap:Envelope>`

	okResult = `
        <Result>
          <StatusCode>OK</StatusCode>
          <StatusMessage>Send performed</StatusMessage>
          <OrdinalID>0</OrdinalID>
          <Object><ID>29605</ID></Object>
          <Task>
            <StatusCode>OK</StatusCode>
            <StatusMessage>OK</StatusMessage>
          </Task>
        </Result>`
	status = `
      <OverallStatus>OK</OverallStatus>
      <OverallStatusMessage/>
      <RequestID>6fb20bc4-2772-4681-8ee3-b36445457676</RequestID>`
)

func perform(inner string) []byte {
	return []byte(soap11Open + `
    <PerformResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">` + inner + `
    </PerformResponseMsg>` + soap11Close)
}

func TestValidPerformResponse(t *testing.T) {
	need(t)
	if err := ValidateEnvelope(perform(`<Results>` + okResult + `</Results>` + status)); err != nil {
		t.Fatal(err)
	}
}

func TestOverallStatusBeforeResultsFails(t *testing.T) {
	need(t)
	err := ValidateEnvelope(perform(status + `<Results>` + okResult + `</Results>`))
	if err == nil {
		t.Fatal("OverallStatus before Results validated")
	}
	if !strings.Contains(err.Error(), "Results") {
		t.Errorf("error does not carry xmllint's message about Results: %v", err)
	}
}

func TestPerformResultWithoutTaskFails(t *testing.T) {
	need(t)
	// The reference declares PerformResult's Object and Task with no
	// minOccurs, i.e. both required (the real service always sends a Task
	// even when it says little), so a Result without Task is invalid.
	noTask := strings.Replace(okResult, `
          <Task>
            <StatusCode>OK</StatusCode>
            <StatusMessage>OK</StatusMessage>
          </Task>`, "", 1)
	if noTask == okResult {
		t.Fatal("test fixture did not change")
	}
	err := ValidateEnvelope(perform(`<Results>` + noTask + `</Results>` + status))
	if err == nil {
		t.Fatal("PerformResult without Task validated")
	}
	if !strings.Contains(err.Error(), "Task") {
		t.Errorf("error does not mention Task: %v", err)
	}
}

func TestXsiTypeSendValidates(t *testing.T) {
	need(t)
	for name, object := range map[string]string{
		// Unprefixed, resolved through the default namespace of PerformResponseMsg.
		"unprefixed": `<Object xsi:type="Send"><ID>29605</ID></Object>`,
		// Prefixed, with the prefix declared only on the Envelope, as some
		// stacks do: the standalone copy must keep that declaration.
		"prefixed": `<Object xsi:type="et:Send"><ID>29605</ID><SendDate>2024-05-01T10:00:00Z</SendDate></Object>`,
	} {
		t.Run(name, func(t *testing.T) {
			result := strings.Replace(okResult, `<Object><ID>29605</ID></Object>`, object, 1)
			env := strings.Replace(string(perform(`<Results>`+result+`</Results>`+status)),
				`<soap:Envelope `, `<soap:Envelope xmlns:et="http://exacttarget.com/wsdl/partnerAPI" `, 1)
			if err := ValidateEnvelope([]byte(env)); err != nil {
				t.Fatal(err)
			}
		})
	}
	// A field Send does not have is caught, which shows xsi:type is honoured.
	bad := strings.Replace(okResult, `<Object><ID>29605</ID></Object>`, `<Object xsi:type="Send"><ID>1</ID><NoSuchField/></Object>`, 1)
	if err := ValidateEnvelope(perform(`<Results>` + bad + `</Results>` + status)); err == nil {
		t.Error("unknown Send field validated")
	}
}

func TestSOAP12(t *testing.T) {
	need(t)
	env := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Body>` +
		`<PerformResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results>` + okResult + `</Results>` + status +
		`</PerformResponseMsg></s:Body></s:Envelope>`
	if err := ValidateEnvelope([]byte(env)); err != nil {
		t.Fatal(err)
	}
}

func TestFaults(t *testing.T) {
	need(t)
	const server = `<faultcode>soap:Server</faultcode><faultstring>Unplanned Outage</faultstring>` +
		`<faultactor>https://partnerd.example/Service.asmx</faultactor>`
	cases := []struct {
		name, fault string
		ok          bool
	}{
		{"server fault with apifault", server + `<detail><apifault xmlns="urn:fault.partner.exacttarget.com"><Code>2</Code><Message>Unplanned Outage</Message></apifault></detail>`, true},
		{"client fault with empty detail", `<faultcode>soap:Client</faultcode><faultstring>Server did not recognize the value of HTTP Header SOAPAction: Test.</faultstring><detail/>`, true},
		{"no faultstring", `<faultcode>soap:Client</faultcode>`, false},
		{"apifault Code not an int", server + `<detail><apifault xmlns="urn:fault.partner.exacttarget.com"><Code>two</Code><Message>x</Message></apifault></detail>`, false},
		{"apifault without namespace", server + `<detail><apifault><Code>2</Code><Message>x</Message></apifault></detail>`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateEnvelope([]byte(soap11Open + `<soap:Fault>` + c.fault + `</soap:Fault>` + soap11Close))
			if c.ok && err != nil {
				t.Fatal(err)
			}
			if !c.ok && err == nil {
				t.Fatal("invalid fault accepted")
			}
		})
	}

	soap12 := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault>` +
		`<s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason><s:Text xml:lang="en">Unplanned Outage</s:Text></s:Reason>` +
		`<s:Detail><apifault xmlns="urn:fault.partner.exacttarget.com"><Code>2</Code><Message>Unplanned Outage</Message></apifault></s:Detail>` +
		`</s:Fault></s:Body></s:Envelope>`
	if err := ValidateEnvelope([]byte(soap12)); err != nil {
		t.Errorf("SOAP 1.2 fault: %v", err)
	}
}

func TestNotAnEnvelope(t *testing.T) {
	// These fail before xmllint is needed.
	for name, doc := range map[string]string{
		"malformed":       `<soap:Envelope`,
		"wrong root":      `<Envelope/>`,
		"no body":         `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>`,
		"empty body":      `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`,
		"two body childs": `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a/><b/></soap:Body></soap:Envelope>`,
	} {
		if err := ValidateEnvelope([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSchemaPath(t *testing.T) {
	need(t)
	p, err := SchemaPath()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// The fault import must point at the local copy: xmllint runs with
	// --nonet, and the real URL hangs offline.
	if !strings.Contains(string(b), `schemaLocation="ETFrameworkFault.xsd"`) || strings.Contains(string(b), "https://webservice.exacttarget.com/ETFrameworkFault.xsd") {
		t.Error("fault import not rewritten to the local ETFrameworkFault.xsd")
	}
	// A minimal valid document compiles the schema and validates offline.
	doc := `<VersionInfoRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><IncludeVersionHistory>false</IncludeVersionHistory></VersionInfoRequestMsg>`
	cmd := exec.Command("xmllint", "--noout", "--nonet", "--schema", p, "-")
	cmd.Stdin = strings.NewReader(doc)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xmllint with the extracted schema: %v\n%s", err, out)
	}
}

// TestOurSubsetIsSelfContained compiles the schema of OUR WSDL (as served)
// with xmllint and validates a Perform response with it: a subset that
// dropped a type it references would fail to compile here even though the
// reference schema is fine.
func TestOurSubsetIsSelfContained(t *testing.T) {
	need(t)
	schema, err := extractSchema(wsdl.Document("http://localhost/Service.asmx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "partnerAPI.xsd")
	if err := os.WriteFile(p, schema, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, faultXSDName), wsdl.FaultSchema(), 0o644); err != nil {
		t.Fatal(err)
	}
	result := strings.Replace(okResult, `<Object><ID>29605</ID></Object>`, `<Object xsi:type="Send"><ID>29605</ID></Object>`, 1)
	doc := `<PerformResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Results>` +
		result + `</Results>` + status + `</PerformResponseMsg>`
	if err := validate(p, []byte(doc)); err != nil {
		t.Fatal(err)
	}
}
