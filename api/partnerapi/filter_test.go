package partnerapi

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/partnerd/partnerd/store"
)

func parseFilterXML(t testing.TB, s string) (*etree.Element, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.MaxDepth = 100
	if err := doc.ReadFromString(`<Filter xmlns="http://exacttarget.com/wsdl/partnerAPI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ` + s); err != nil {
		return nil, err
	}
	return doc.Root(), nil
}

func TestFilter(t *testing.T) {
	d := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339, s); return tm }
	tests := []struct {
		name string
		xml  string // after "<Filter "
		want string // rendered store.Filter, or the error text
	}{
		{"equals id", `xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>equals</SimpleOperator><Value>5</Value></Filter>`, "ID equals [5]"},
		{"case-insensitive names", `xsi:type="SimpleFilterPart"><Property>status</Property><SimpleOperator>Equals</SimpleOperator><Value>Canceled</Value></Filter>`, "Status equals [Canceled]"},
		{"in", `xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>IN</SimpleOperator><Value>1</Value><Value>2</Value><Value>3</Value></Filter>`, "ID IN [1 2 3]"},
		{"between dates", `xsi:type="SimpleFilterPart"><Property>SendDate</Property><SimpleOperator>between</SimpleOperator><DateValue>2026-01-01T00:00:00Z</DateValue><DateValue>2026-02-01T00:00:00Z</DateValue></Filter>`, "SendDate between [" + d("2026-01-01T00:00:00Z").String() + " " + d("2026-02-01T00:00:00Z").String() + "]"},
		{"date as Value", `xsi:type="SimpleFilterPart"><Property>SendDate</Property><SimpleOperator>greaterThan</SimpleOperator><Value>2026-01-01T00:00:00Z</Value></Filter>`, "SendDate greaterThan [" + d("2026-01-01T00:00:00Z").String() + "]"},
		{"untyped simple", `><Property>ID</Property><SimpleOperator>lessThan</SimpleOperator><Value>9</Value></Filter>`, "ID lessThan [9]"},
		{"complex and", `xsi:type="ComplexFilterPart"><LeftOperand xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>greaterThan</SimpleOperator><Value>1</Value></LeftOperand><LogicalOperator>AND</LogicalOperator><RightOperand xsi:type="SimpleFilterPart"><Property>Status</Property><SimpleOperator>notEquals</SimpleOperator><Value>Complete</Value></RightOperand></Filter>`, "(ID greaterThan [1] AND Status notEquals [Complete])"},
		{"complex additional operands", `xsi:type="ComplexFilterPart"><LeftOperand xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>equals</SimpleOperator><Value>1</Value></LeftOperand><LogicalOperator>OR</LogicalOperator><RightOperand xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>equals</SimpleOperator><Value>2</Value></RightOperand><AdditionalOperands><Operand xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>equals</SimpleOperator><Value>3</Value></Operand></AdditionalOperands></Filter>`, "((ID equals [1] OR ID equals [2]) OR ID equals [3])"},
		{"isNull", `xsi:type="SimpleFilterPart"><Property>SentDate</Property><SimpleOperator>isNull</SimpleOperator></Filter>`, "SentDate isNull []"},
		{"unknown property", `xsi:type="SimpleFilterPart"><Property>Colour</Property><SimpleOperator>equals</SimpleOperator><Value>1</Value></Filter>`, "error: not a filterable field"},
		{"unknown operator", `xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>isAnniversary</SimpleOperator><Value>1</Value></Filter>`, "error: not supported"},
		{"bad int", `xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>equals</SimpleOperator><Value>abc</Value></Filter>`, "error: not a valid xsd:int"},
		{"between one value", `xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>between</SimpleOperator><Value>1</Value></Filter>`, "error: needs 2 value(s)"},
		{"equals two values", `xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>equals</SimpleOperator><Value>1</Value><Value>2</Value></Filter>`, "error: needs 1 value(s)"},
		{"in without values", `xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>IN</SimpleOperator></Filter>`, "error: at least one Value"},
		{"like on int", `xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>like</SimpleOperator><Value>1%</Value></Filter>`, "error: only applies to text"},
		{"complex one operand", `xsi:type="ComplexFilterPart"><LeftOperand xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>equals</SimpleOperator><Value>1</Value></LeftOperand><LogicalOperator>AND</LogicalOperator></Filter>`, "error: needs a LeftOperand and a RightOperand"},
		{"bad logical", `xsi:type="ComplexFilterPart"><LeftOperand/><LogicalOperator>XOR</LogicalOperator></Filter>`, "error: must be AND or OR"},
		{"tag filter", `xsi:type="TagFilterPart"><Tags/></Filter>`, "error: not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			el, err := parseFilterXML(t, tt.xml)
			if err != nil {
				t.Fatal(err)
			}
			got, err := renderFilter(el)
			if err != nil {
				got = "error: " + err.Error()
			}
			if strings.HasPrefix(tt.want, "error: ") {
				if !strings.HasPrefix(got, "error: ") || !strings.Contains(got, strings.TrimPrefix(tt.want, "error: ")) {
					t.Fatalf("got %q, want an error containing %q", got, tt.want)
				}
				return
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func renderFilter(el *etree.Element) (string, error) {
	n, err := readFilter(el)
	if err != nil {
		return "", err
	}
	f, err := toStoreFilter(n)
	if err != nil {
		return "", err
	}
	return render(f), nil
}

func render(f store.Filter) string {
	switch f := f.(type) {
	case *store.Cond:
		vals := make([]string, len(f.Values))
		for i, v := range f.Values {
			switch v := v.(type) {
			case time.Time:
				vals[i] = v.String()
			default:
				vals[i] = strings.TrimSpace(strings.Trim(strings.TrimSpace(fmtAny(v)), "[]"))
			}
		}
		return string(f.Field) + " " + string(f.Op) + " [" + strings.Join(vals, " ") + "]"
	case *store.And:
		return "(" + render(f.Left) + " AND " + render(f.Right) + ")"
	case *store.Or:
		return "(" + render(f.Left) + " OR " + render(f.Right) + ")"
	}
	return "?"
}

func fmtAny(v any) string {
	switch v := v.(type) {
	case int64:
		return strings.TrimSpace(strings.Repeat(" ", 0) + itoa(v))
	case string:
		return v
	}
	return "?"
}

func itoa(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

// FuzzReadFilter checks that no filter makes the parser panic, and that any
// filter it accepts turns into a store filter whose conditions have the
// value count their operator needs.
func FuzzReadFilter(f *testing.F) {
	f.Add(`xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>equals</SimpleOperator><Value>5</Value></Filter>`)
	f.Add(`xsi:type="ComplexFilterPart"><LeftOperand xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>greaterThan</SimpleOperator><Value>1</Value></LeftOperand><LogicalOperator>AND</LogicalOperator><RightOperand xsi:type="SimpleFilterPart"><Property>SendDate</Property><SimpleOperator>between</SimpleOperator><DateValue>2026-01-01T00:00:00Z</DateValue><DateValue>2026-02-01T00:00:00Z</DateValue></RightOperand></Filter>`)
	f.Add(`><Property>Status</Property><SimpleOperator>IN</SimpleOperator><Value>Scheduled</Value><Value>Paused</Value></Filter>`)
	f.Fuzz(func(t *testing.T, s string) {
		el, err := parseFilterXML(t, s)
		if err != nil {
			return
		}
		n, err := readFilter(el)
		if err != nil {
			return
		}
		sf, err := toStoreFilter(n)
		if err != nil {
			var re *retrieveError
			if !errors.As(err, &re) {
				t.Fatalf("toStoreFilter error of unexpected kind: %v", err)
			}
			return
		}
		checkCond(t, sf)
	})
}

func checkCond(t *testing.T, f store.Filter) {
	switch f := f.(type) {
	case *store.Cond:
		switch f.Op {
		case store.OpIsNull, store.OpIsNotNull:
			if len(f.Values) != 0 {
				t.Fatalf("%s with values", f.Op)
			}
		case store.OpBetween:
			if len(f.Values) != 2 {
				t.Fatalf("between with %d values", len(f.Values))
			}
		case store.OpIn:
			if len(f.Values) == 0 {
				t.Fatalf("IN without values")
			}
		default:
			if len(f.Values) != 1 {
				t.Fatalf("%s with %d values", f.Op, len(f.Values))
			}
		}
	case *store.And:
		checkCond(t, f.Left)
		checkCond(t, f.Right)
	case *store.Or:
		checkCond(t, f.Left)
		checkCond(t, f.Right)
	case nil:
	default:
		t.Fatalf("unknown filter %T", f)
	}
}
