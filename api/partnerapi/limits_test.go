package partnerapi_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func simple(prop, op, value string) string {
	return `<Property>` + prop + `</Property><SimpleOperator>` + op + `</SimpleOperator>` + value
}

// nestedFilter is a ComplexFilterPart nested depth levels deep, each level
// joining a condition with the next level; ops gives the LogicalOperator of
// each level in turn.
func nestedFilter(depth int, ops ...string) string {
	var b strings.Builder
	b.WriteString(`<Filter xsi:type="ComplexFilterPart">`)
	for i := range depth {
		b.WriteString(`<LeftOperand xsi:type="SimpleFilterPart">` + simple("ID", "greaterThan", "<Value>0</Value>") + `</LeftOperand>`)
		b.WriteString(`<LogicalOperator>` + ops[i%len(ops)] + `</LogicalOperator>`)
		if i == depth-1 {
			b.WriteString(`<RightOperand xsi:type="SimpleFilterPart">` + simple("ID", "greaterThan", "<Value>0</Value>") + `</RightOperand>`)
		} else {
			b.WriteString(`<RightOperand xsi:type="ComplexFilterPart">`)
		}
	}
	for range depth - 1 {
		b.WriteString(`</RightOperand>`)
	}
	b.WriteString(`</Filter>`)
	return b.String()
}

// TestClientSizedInputs is issue 10's ninth defect: requests a client may
// legally send, or send by mistake, were answered "Unexpected Error" (a
// Server fault) because they hit a limit of SQLite. Legal ones must work;
// the others get an error that says what was wrong.
func TestClientSizedInputs(t *testing.T) {
	e := newTestEnv(t)
	var ids []int64
	for range 3 {
		r := one(t, e.mustCall("Create", createSend("", "<SendDate>2026-06-02T12:00:00Z</SendDate>")))
		if r.status != "OK" {
			t.Fatalf("Create: %+v", r)
		}
		ids = append(ids, r.newID)
	}
	const many = 32_767 // one more argument than SQLite takes

	t.Run("Perform with 32,767 Definitions", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(`<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>pause</Action><Definitions>`)
		for i := range int64(many) {
			b.WriteString(`<Definition xsi:type="Send"><ID>` + itoa(i+1) + `</ID></Definition>`)
		}
		b.WriteString(`</Definitions></PerformRequestMsg>`)
		start := time.Now()
		// The answer (13 MB) is checked as text: parsing it into a tree
		// would cost more than the request.
		raw, err := e.callRaw("Perform", b.String())
		notServerFault(t, "Perform", err)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d Definitions in %v", many, time.Since(start))
		if n := bytes.Count(raw, []byte("<Result>")); n != many || !bytes.Contains(raw, []byte("<OverallStatus>Has Errors</OverallStatus>")) {
			t.Fatalf("%d Results, want %d with OverallStatus Has Errors", n, many)
		}
		// Result and Task each say OK for the paused sends only.
		if n := bytes.Count(raw, []byte("<StatusCode>OK</StatusCode>")); n != 2*len(ids) {
			t.Errorf("%d OK StatusCodes, want %d", n, 2*len(ids))
		}
		for _, id := range ids {
			if s := e.send(id); s.Status != store.StatusPaused {
				t.Errorf("send %d is %s, want Paused", id, s.Status)
			}
		}
		if n := bytes.Count(raw, []byte("<ErrorCode>7091</ErrorCode>")); n != 2*(many-len(ids)) {
			t.Errorf("%d ErrorCodes 7091, want %d", n, 2*(many-len(ids)))
		}
	})

	cases := []struct {
		name   string
		filter string
		want   string // OverallStatus prefix
		count  int    // Results when OK
		says   string // in the OverallStatus when an error
	}{
		{"IN with 32,767 values", func() string {
			var b strings.Builder
			b.WriteString(`<Filter xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>IN</SimpleOperator>`)
			for i := range int64(many) {
				b.WriteString(`<Value>` + itoa(i+1) + `</Value>`)
			}
			b.WriteString(`</Filter>`)
			return b.String()
		}(), "OK", 3, ""},
		{"ComplexFilterPart nested 70 levels, alternating", nestedFilter(70, "AND", "OR"), "Error", 0, "64"},
		{"ComplexFilterPart nested 80 levels of AND", nestedFilter(80, "AND"), "OK", 3, ""},
		{"ComplexFilterPart with 2,000 AdditionalOperands", func() string {
			var b strings.Builder
			b.WriteString(`<Filter xsi:type="ComplexFilterPart"><LeftOperand xsi:type="SimpleFilterPart">` + simple("ID", "equals", "<Value>"+itoa(ids[0])+"</Value>") + `</LeftOperand>`)
			b.WriteString(`<LogicalOperator>OR</LogicalOperator><RightOperand xsi:type="SimpleFilterPart">` + simple("ID", "equals", "<Value>"+itoa(ids[1])+"</Value>") + `</RightOperand><AdditionalOperands>`)
			for i := range 2000 {
				b.WriteString(`<Operand xsi:type="SimpleFilterPart">` + simple("ID", "equals", "<Value>"+strconv.Itoa(1_000_000+i)+"</Value>") + `</Operand>`)
			}
			b.WriteString(`</AdditionalOperands></Filter>`)
			return b.String()
		}(), "OK", 2, ""},
		{"LIKE pattern of 50,000 bytes", `<Filter xsi:type="SimpleFilterPart">` + simple("EmailName", "like", "<Value>"+strings.Repeat("%", 50_000)+"</Value>") + `</Filter>`, "OK", 3, ""},
		{"LIKE pattern of 50,001 bytes", `<Filter xsi:type="SimpleFilterPart">` + simple("EmailName", "like", "<Value>"+strings.Repeat("%", 50_001)+"</Value>") + `</Filter>`, "Error", 0, "50000"},
		{"DateValue of MinValue", `<Filter xsi:type="SimpleFilterPart">` + simple("SendDate", "greaterThan", "<DateValue>0001-01-01T00:00:00</DateValue>") + `</Filter>`, "OK", 3, ""},
		{"Value of MinValue", `<Filter xsi:type="SimpleFilterPart">` + simple("SentDate", "equals", "<Value>0001-01-01T00:00:00</Value>") + `</Filter>`, "OK", 0, ""},
		{"DateValue before year 1", `<Filter xsi:type="SimpleFilterPart">` + simple("SendDate", "greaterThan", "<DateValue>0000-01-01T00:00:00Z</DateValue>") + `</Filter>`, "Error", 0, "DateValue"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, err := e.call("Retrieve", retrieveSends(c.filter))
			notServerFault(t, "Retrieve", err)
			if err != nil {
				t.Fatal(err)
			}
			status := overallStatus(root)
			if !strings.HasPrefix(status, c.want) || !strings.Contains(status, c.says) {
				t.Fatalf("OverallStatus %q, want %s saying %q", status, c.want, c.says)
			}
			if n := len(root.SelectElements("Results")); c.want == "OK" && n != c.count {
				t.Errorf("%d Results, want %d", n, c.count)
			}
		})
	}
}
