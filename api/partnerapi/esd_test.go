package partnerapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// definitionFixture creates the account's EmailSendDefinitions the filter
// tests below select from, one per CustomerKey, and returns their IDs by
// CustomerKey.
func definitionFixture(t *testing.T, e *testEnv) map[string]int64 {
	t.Helper()
	defs := []struct{ key, name, objectID string }{
		{"weekly", "Weekly News", ""},
		{"accent", "Été sale", ""},
		{"upper", "Upper GUID", "{6A0D2F80-2222-4000-8000-00000000C0DE}"},
		{"noname", "", ""},
	}
	var objs strings.Builder
	for _, d := range defs {
		objs.WriteString(`<Objects xsi:type="EmailSendDefinition">`)
		if d.objectID != "" {
			objs.WriteString(`<ObjectID>` + d.objectID + `</ObjectID>`)
		}
		objs.WriteString(`<CustomerKey>` + d.key + `</CustomerKey>`)
		if d.name != "" {
			objs.WriteString(`<Name>` + d.name + `</Name>`)
		}
		objs.WriteString(`<Email><ID>1</ID></Email><SendDefinitionList><List><ID>1</ID></List></SendDefinitionList></Objects>`)
	}
	root := e.mustCall("Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI">`+objs.String()+`</CreateRequest>`)
	ids := map[string]int64{}
	for i, r := range results(root) {
		if r.status != "OK" {
			t.Fatalf("create %s: %s %s", defs[i].key, r.status, r.message)
		}
		ids[defs[i].key] = r.newID
	}
	return ids
}

// retrieveDefinitions runs a Retrieve of EmailSendDefinitions with filter
// (a Filter element, or "") and answers its OverallStatus and the
// CustomerKeys of its Results.
func retrieveDefinitions(t *testing.T, e *testEnv, filter string) (string, []string) {
	t.Helper()
	root := e.mustCall("Retrieve", `<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><RetrieveRequest>`+
		`<ObjectType>EmailSendDefinition</ObjectType><Properties>CustomerKey</Properties>`+filter+`</RetrieveRequest></RetrieveRequestMsg>`)
	var keys []string
	for _, r := range root.SelectElements("Results") {
		keys = append(keys, childText(r, "CustomerKey"))
	}
	return overallStatus(root), keys
}

// simpleFilter is a Filter element holding a SimpleFilterPart.
func simpleFilter(property, op string, values ...string) string {
	return simplePart("Filter", property, op, values...)
}

// simplePart is a SimpleFilterPart as an element named tag (Filter,
// LeftOperand, RightOperand, Operand).
func simplePart(tag, property, op string, values ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<%s xsi:type="SimpleFilterPart"><Property>%s</Property><SimpleOperator>%s</SimpleOperator>`, tag, property, op)
	for _, v := range values {
		b.WriteString(`<Value>` + v + `</Value>`)
	}
	b.WriteString(`</` + tag + `>`)
	return b.String()
}

// TestDefinitionFilterFormerDisagreements pins, one case each, where the
// in-memory matcher that filtered EmailSendDefinitions until definitions
// were filtered by the store answered otherwise than the store's filter
// on sends does. The store's answer is the one kept; "was" says what the
// old matcher answered.
func TestDefinitionFilterFormerDisagreements(t *testing.T) {
	e := newTestEnv(t)
	ids := definitionFixture(t, e)
	created := e.clk.Now()

	cases := []struct {
		name, was  string
		filter     string
		wantStatus string // a prefix of OverallStatus
		want       []string
	}{
		{"like folds ASCII case only", "folded every letter (Unicode lower case): matched accent",
			simpleFilter("Name", "like", "ÉTÉ%"), "OK", nil},
		{"like folds ASCII case", "the same",
			simpleFilter("Name", "like", "WEEKLY%"), "OK", []string{"weekly"}},
		{"ObjectID compared in canonical spelling", "compared byte by byte: no match",
			simpleFilter("ObjectID", "equals", "6a0d2f80-2222-4000-8000-00000000c0de"), "OK", []string{"upper"}},
		{"ObjectID IN in another spelling", "no match",
			simpleFilter("ObjectID", "IN", "urn:uuid:6A0D2F80-2222-4000-8000-00000000C0DE", "none"), "OK", []string{"upper"}},
		{"ID compared as a number", "compared as text: 007 matched no ID",
			simpleFilter("ID", "equals", fmt.Sprintf("00%d", ids["accent"])), "OK", []string{"accent"}},
		{"ID not a number", "OK with no Results",
			simpleFilter("ID", "equals", "seven"), "Error: Filter value for ID", nil},
		{"like on ID", "matched the ID's decimal text",
			simpleFilter("ID", "like", "%"), "Error: The SimpleOperator like only applies to text properties", nil},
		{"equals with two Values", "used the first Value",
			simpleFilter("CustomerKey", "equals", "weekly", "upper"), "Error: The equals operator on CustomerKey needs 1 value(s), got 2", nil},
		{"CreatedDate", "refused: not a filterable field",
			simpleFilter("CreatedDate", "lessThanOrEqual", created.Format(time.RFC3339)), "OK", []string{"weekly", "accent", "upper", "noname"}},
		{"ModifiedDate after every definition", "refused: not a filterable field",
			simpleFilter("ModifiedDate", "greaterThan", created.Add(time.Second).Format(time.RFC3339)), "OK", nil},
		{"isNull on Name", "refused: operator not supported",
			simpleFilter("Name", "isNull"), "OK", []string{"noname"}},
		{"between on ID", "refused: operator not supported",
			simpleFilter("ID", "between", fmt.Sprint(ids["accent"]), fmt.Sprint(ids["upper"])), "OK", []string{"accent", "upper"}},
		{"AND and OR alternating past the store's depth", "evaluated, at any depth",
			nestedFilter(store.MaxFilterDepth+2, "AND", "OR"), "Error: The Filter nests AND and OR", nil},
		{"unknown property", "the same refusal, naming four fields",
			simpleFilter("Description", "equals", "x"), "Error: The Filter Property Description is not a filterable field of EmailSendDefinition", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, keys := retrieveDefinitions(t, e, c.filter)
			if !strings.HasPrefix(status, c.wantStatus) || !slices.Equal(keys, c.want) {
				t.Errorf("OverallStatus %q, Results %q; want %q…, %q (the in-memory matcher: %s)", status, keys, c.wantStatus, c.want, c.was)
			}
		})
	}
}

// TestDefinitionFilterComplex checks that a ComplexFilterPart over
// definitions is evaluated as on sends, AdditionalOperands included.
func TestDefinitionFilterComplex(t *testing.T) {
	e := newTestEnv(t)
	definitionFixture(t, e)
	f := `<Filter xsi:type="ComplexFilterPart">` + simplePart("LeftOperand", "CustomerKey", "equals", "weekly") +
		`<LogicalOperator>OR</LogicalOperator>` + simplePart("RightOperand", "Name", "like", "%guid") +
		`<AdditionalOperands>` + simplePart("Operand", "Name", "isNull") + `</AdditionalOperands></Filter>`
	status, keys := retrieveDefinitions(t, e, f)
	if want := []string{"weekly", "upper", "noname"}; status != "OK" || !slices.Equal(keys, want) {
		t.Errorf("OverallStatus %q, Results %q; want OK, %q", status, keys, want)
	}
}
