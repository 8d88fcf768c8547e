package partnerapi_test

import (
	"strings"
	"testing"
)

// TestFailedRetrieveStatus: every refusal of a Retrieve is answered
// OverallStatus "Error: <text>" with no Results, never a fault: fuel-soap
// splits the status on the colon and reports the text after it, and
// FuelSDK-CSharp throws on a fault (issue 14).
func TestFailedRetrieveStatus(t *testing.T) {
	e := newTestEnv(t)
	const open = `<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">`
	const close = `</RetrieveRequestMsg>`
	send := func(inner string) string {
		return open + `<RetrieveRequest><ObjectType>Send</ObjectType>` + inner + `</RetrieveRequest>` + close
	}
	esd := func(inner string) string {
		return open + `<RetrieveRequest><ObjectType>EmailSendDefinition</ObjectType>` + inner + `</RetrieveRequest>` + close
	}
	dateFilter := `<Filter xsi:type="SimpleFilterPart"><Property>SendDate</Property><SimpleOperator>greaterThan</SimpleOperator><DateValue>yesterday</DateValue></Filter>`
	for _, c := range []struct {
		name, body, says string
	}{
		{"no RetrieveRequest", open + close, "RetrieveRequestMsg has no RetrieveRequest"},
		{"unknown ObjectType", open + `<RetrieveRequest><ObjectType>Subscriber</ObjectType><Properties>ID</Properties></RetrieveRequest>` + close, "ObjectType"},
		{"unknown property", send(`<Properties>Colour</Properties>`), "Colour"},
		{"no properties", send(``), "No Properties"},
		{"BatchSize not a number", send(`<Properties>ID</Properties><Options><BatchSize>many</BatchSize></Options>`), `BatchSize: "many" is not a valid xsd:int`},
		{"DateValue not a date", send(`<Properties>ID</Properties>` + dateFilter), "DateValue: "},
		{"unknown filter property", send(`<Properties>ID</Properties><Filter xsi:type="SimpleFilterPart"><Property>Colour</Property><SimpleOperator>equals</SimpleOperator><Value>red</Value></Filter>`), "Colour"},
		{"unknown ContinueRequest", open + `<RetrieveRequest><ContinueRequest>nope</ContinueRequest></RetrieveRequest>` + close, "ContinueRequest"},
		{"EmailSendDefinition DateValue not a date", esd(`<Properties>Name</Properties>` + strings.Replace(dateFilter, "SendDate", "CreatedDate", 1)), "DateValue: "},
		{"BusinessUnit unknown property", open + `<RetrieveRequest><ObjectType>BusinessUnit</ObjectType><Properties>Colour</Properties></RetrieveRequest>` + close, "Colour"},
		{"BusinessUnit filter", open + `<RetrieveRequest><ObjectType>BusinessUnit</ObjectType><Properties>ID</Properties><Filter xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>equals</SimpleOperator><Value>1</Value></Filter></RetrieveRequest>` + close, "takes no Filter"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root, err := e.call("Retrieve", c.body)
			if err != nil {
				t.Fatalf("answered a fault (%v), want OverallStatus Error: …", err)
			}
			status := overallStatus(root)
			head, text, ok := strings.Cut(status, ": ")
			if !ok || head != "Error" || !strings.Contains(text, c.says) || strings.Contains(text, "Server was unable") {
				t.Errorf("OverallStatus %q, want \"Error: …%s…\"", status, c.says)
			}
			if n := len(root.SelectElements("Results")); n != 0 {
				t.Errorf("%d Results in a failed Retrieve", n)
			}
		})
	}
}

// TestRetrieveBusinessUnit: the Retrieve FuelSDK-CSharp's constructor
// sends (Properties ID and Client.EnterpriseID) answers the account's own
// business unit: ID and EnterpriseID its MID, in schema order.
func TestRetrieveBusinessUnit(t *testing.T) {
	e := newTestEnv(t)
	for _, c := range []struct {
		name, props, want string
	}{
		{"FuelSDK-CSharp's constructor", `<Properties>ID</Properties><Properties>Client.EnterpriseID</Properties>`,
			`<Results xsi:type="BusinessUnit"><Client><EnterpriseID>1001</EnterpriseID></Client><ID>1001</ID><AccountType>BUSINESS_UNIT</AccountType></Results>`},
		{"every property, any case", `<Properties>name</Properties><Properties>Client.ID</Properties><Properties>ACCOUNTTYPE</Properties><Properties>Client.EnterpriseID</Properties><Properties>ID</Properties>`,
			`<Results xsi:type="BusinessUnit"><Client><ID>1001</ID><EnterpriseID>1001</EnterpriseID></Client><ID>1001</ID><AccountType>BUSINESS_UNIT</AccountType><Name>acct</Name></Results>`},
		{"Client.ClientID alias", `<Properties>Client.ClientID</Properties>`,
			`<Results xsi:type="BusinessUnit"><Client><ID>1001</ID></Client><AccountType>BUSINESS_UNIT</AccountType></Results>`},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw, err := e.callRaw("Retrieve", `<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><RetrieveRequest><ObjectType>BusinessUnit</ObjectType>`+c.props+`</RetrieveRequest></RetrieveRequestMsg>`)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(raw), "<OverallStatus>OK</OverallStatus>") || !strings.Contains(string(raw), c.want) {
				t.Errorf("got %s\nwant OK with %s", raw, c.want)
			}
		})
	}
}
