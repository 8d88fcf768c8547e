package partnerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/xmlw"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// filterNode is a Retrieve filter as the client sent it. It is kept in this
// plain form (not as store.Filter) so that a ContinueRequest can replay it
// from the cursor.
type filterNode struct {
	Property string        `json:"p,omitempty"`
	Operator string        `json:"o,omitempty"`
	Values   []string      `json:"v,omitempty"`
	Dates    []time.Time   `json:"d,omitempty"`
	Logical  string        `json:"l,omitempty"`
	Operands []*filterNode `json:"x,omitempty"`
}

// retrieveQuery is what a Retrieve asked for; saved in cursors.
type retrieveQuery struct {
	Properties []string    `json:"props"`
	Filter     *filterNode `json:"filter,omitempty"`
}

// retrieveError is answered as OverallStatus "Error: <message>" with no
// results, the way the real service reports bad Retrieve requests.
type retrieveError struct{ msg string }

func (e *retrieveError) Error() string { return e.msg }

func retrieveErr(format string, args ...any) error {
	return &retrieveError{msg: fmt.Sprintf(format, args...)}
}

// asRetrieveErr turns a field's refusal (a Client fault saying what was
// wrong with the field) into a retrieveError with the same message.
func asRetrieveErr(err error) error {
	var f *soap.Fault
	if errors.As(err, &f) && f.Kind == soap.Client {
		return &retrieveError{msg: strings.TrimPrefix(f.String, "Server was unable to read request. ---> ")}
	}
	return err
}

// readFilter parses a FilterPart element. The concrete type comes from
// xsi:type, or, when a client leaves it out, from the elements present.
func readFilter(el *etree.Element) (*filterNode, error) {
	typ := objectType(el)
	if typ == "" {
		if soap.Child(el, "LeftOperand") != nil {
			typ = "ComplexFilterPart"
		} else {
			typ = "SimpleFilterPart"
		}
	}
	switch typ {
	case "SimpleFilterPart":
		n := &filterNode{}
		n.Property, _ = text(el, "Property")
		n.Operator, _ = text(el, "SimpleOperator")
		if n.Property == "" || n.Operator == "" {
			return nil, retrieveErr("A SimpleFilterPart needs a Property and a SimpleOperator")
		}
		for _, v := range soap.Children(el, "Value") {
			n.Values = append(n.Values, strings.TrimSpace(v.Text()))
		}
		for _, v := range soap.Children(el, "DateValue") {
			t, err := parseDateTime(strings.TrimSpace(v.Text()))
			if err != nil {
				return nil, retrieveErr("DateValue: %v", err)
			}
			n.Dates = append(n.Dates, t)
		}
		return n, nil
	case "ComplexFilterPart":
		n := &filterNode{}
		n.Logical, _ = text(el, "LogicalOperator")
		n.Logical = strings.ToUpper(n.Logical)
		if n.Logical != "AND" && n.Logical != "OR" {
			return nil, retrieveErr("LogicalOperator must be AND or OR, not %s", soap.QuoteInput(n.Logical))
		}
		operands := []*etree.Element{soap.Child(el, "LeftOperand"), soap.Child(el, "RightOperand")}
		operands = append(operands, soap.Children(soap.Child(el, "AdditionalOperands"), "Operand")...)
		for _, o := range operands {
			if o == nil || soap.IsNil(o) {
				continue
			}
			c, err := readFilter(o)
			if err != nil {
				return nil, err
			}
			n.Operands = append(n.Operands, c)
		}
		if len(n.Operands) < 2 {
			return nil, retrieveErr("A ComplexFilterPart needs a LeftOperand and a RightOperand")
		}
		return n, nil
	}
	return nil, retrieveErr("Filter type %s is not supported: use SimpleFilterPart or ComplexFilterPart", typ)
}

// fieldKind is how a filter property's values are typed.
type fieldKind int

const (
	kindInt fieldKind = iota
	kindString
	kindTime
)

// filterField is a filter property as the store knows it.
type filterField struct {
	field store.Field
	kind  fieldKind
}

// filterSchema is what a Retrieve of one ObjectType may filter on: its
// properties (lower case) and how to name them in a refusal. Sends and
// EmailSendDefinitions have their own schemas but one conversion
// (convertFilter) and one engine (the store's).
type filterSchema struct {
	object string
	fields map[string]filterField
	hint   string // appended to the refusal of an unknown property
}

var sendFilter = filterSchema{object: "Send", fields: filterFields}

var filterFields = map[string]filterField{
	"id":           {store.FieldID, kindInt},
	"objectid":     {store.FieldObjectID, kindString},
	"customerkey":  {store.FieldCustomerKey, kindString},
	"status":       {store.FieldStatus, kindString},
	"senddate":     {store.FieldSendDate, kindTime},
	"sentdate":     {store.FieldSentDate, kindTime},
	"createddate":  {store.FieldCreatedDate, kindTime},
	"modifieddate": {store.FieldModifiedDate, kindTime},
	"email.id":     {store.FieldEmailID, kindInt},
	"emailname":    {store.FieldEmailName, kindString},
	"subject":      {store.FieldSubject, kindString},
}

var filterOps = map[string]store.Op{
	"equals": store.OpEquals, "notequals": store.OpNotEquals,
	"greaterthan": store.OpGreaterThan, "lessthan": store.OpLessThan,
	"greaterthanorequal": store.OpGreaterThanOrEqual, "lessthanorequal": store.OpLessThanOrEqual,
	"between": store.OpBetween, "in": store.OpIn, "like": store.OpLike,
	"isnull": store.OpIsNull, "isnotnull": store.OpIsNotNull,
}

// toStoreFilter validates n and turns it into a store.Filter no deeper
// than the store evaluates (store.MaxFilterDepth): a chain of one
// LogicalOperator, however long (nested ComplexFilterParts, or many
// AdditionalOperands), is one n-ary AND or OR and becomes a balanced tree;
// only alternations of AND and OR nested past the limit are refused.
func toStoreFilter(n *filterNode) (store.Filter, error) {
	return toStoreFilterOf(sendFilter, n)
}

// toStoreFilterOf is toStoreFilter for the ObjectType schema describes.
func toStoreFilterOf(schema filterSchema, n *filterNode) (store.Filter, error) {
	f, err := convertFilter(schema, n)
	if err != nil {
		return nil, err
	}
	if d := store.FilterDepth(f); d > store.MaxFilterDepth {
		return nil, retrieveErr("The Filter nests AND and OR %d levels deep; partnerd evaluates at most %d levels", d, store.MaxFilterDepth)
	}
	return f, nil
}

func convertFilter(schema filterSchema, n *filterNode) (store.Filter, error) {
	if n == nil {
		return nil, nil
	}
	if n.Logical != "" {
		var operands []store.Filter
		for _, o := range flattenOperands(n, nil) {
			g, err := convertFilter(schema, o)
			if err != nil {
				return nil, err
			}
			operands = append(operands, g)
		}
		return balanced(n.Logical, operands), nil
	}
	fd, ok := schema.fields[strings.ToLower(n.Property)]
	if !ok {
		return nil, retrieveErr("The Filter Property %s is not a filterable field of %s%s", n.Property, schema.object, schema.hint)
	}
	op, ok := filterOps[strings.ToLower(n.Operator)]
	if !ok {
		return nil, retrieveErr("The SimpleOperator %s is not supported on %s", n.Operator, schema.object)
	}
	if op == store.OpLike && fd.kind != kindString {
		return nil, retrieveErr("The SimpleOperator like only applies to text properties, not %s", n.Property)
	}
	c := &store.Cond{Field: fd.field, Op: op}
	raw := n.Values
	if fd.kind == kindTime {
		for _, t := range n.Dates {
			if err := checkDateRange("DateValue", t); err != nil {
				return nil, retrieveErr("Filter value for %s: %v", n.Property, err)
			}
			c.Values = append(c.Values, t)
		}
	}
	for _, v := range raw {
		switch fd.kind {
		case kindInt:
			i, err := parseInt(v)
			if err != nil {
				return nil, retrieveErr("Filter value for %s: %v", n.Property, err)
			}
			c.Values = append(c.Values, i)
		case kindTime:
			t, err := parseDateTime(v)
			if err == nil {
				err = checkDateRange("Value", t)
			}
			if err != nil {
				return nil, retrieveErr("Filter value for %s: %v", n.Property, err)
			}
			c.Values = append(c.Values, t)
		default:
			if op == store.OpLike && len(v) > store.MaxLikePattern {
				return nil, retrieveErr("The like pattern for %s has %d bytes; partnerd takes at most %d", n.Property, len(v), store.MaxLikePattern)
			}
			c.Values = append(c.Values, v)
		}
	}
	want := 1
	switch op {
	case store.OpIsNull, store.OpIsNotNull:
		want = 0
	case store.OpBetween:
		want = 2
	case store.OpIn:
		if len(c.Values) == 0 {
			return nil, retrieveErr("The IN operator on %s needs at least one Value", n.Property)
		}
		want = len(c.Values)
	}
	if len(c.Values) != want {
		return nil, retrieveErr("The %s operator on %s needs %d value(s), got %d", n.Operator, n.Property, want, len(c.Values))
	}
	return c, nil
}

// flattenOperands appends to out the operands of n, a ComplexFilterPart,
// with those that are themselves ComplexFilterParts of the same
// LogicalOperator replaced by their own operands (AND and OR associate).
func flattenOperands(n *filterNode, out []*filterNode) []*filterNode {
	for _, o := range n.Operands {
		if o.Logical == n.Logical {
			out = flattenOperands(o, out)
		} else {
			out = append(out, o)
		}
	}
	return out
}

// balanced joins operands (two or more) with logical as a tree of depth
// log2(len(operands)), the left half first so that the order of the
// conditions is kept.
func balanced(logical string, operands []store.Filter) store.Filter {
	if len(operands) == 1 {
		return operands[0]
	}
	mid := (len(operands) + 1) / 2
	l, r := balanced(logical, operands[:mid]), balanced(logical, operands[mid:])
	if logical == "AND" {
		return &store.And{Left: l, Right: r}
	}
	return &store.Or{Left: l, Right: r}
}

// Retrieve serves RetrieveRequestMsg for ObjectType Send (with paging by
// ContinueRequest), EmailSendDefinition and BusinessUnit. Every refusal of
// what was asked is answered OverallStatus "Error: <message>", never a
// fault: fuel-soap takes the text after the colon as the error, and
// FuelSDK-CSharp's constructor throws on a fault. Faults are left to what
// is not the request's doing (the store failing).
func (s *Service) Retrieve(ctx context.Context, req *soap.Request) (*soap.Response, error) {
	rr := soap.Child(req.Body, "RetrieveRequest")
	if rr == nil {
		return retrieveResponse(&xmlw.Writer{}, req.RequestID, "Error: RetrieveRequestMsg has no RetrieveRequest", true, func(*xmlw.Writer) {}), nil
	}
	switch ot, _ := text(rr, "ObjectType"); {
	case strings.EqualFold(ot, "EmailSendDefinition"):
		return s.retrieveESDs(ctx, req, rr)
	case strings.EqualFold(ot, "BusinessUnit"):
		return s.retrieveBusinessUnit(req, rr), nil
	}
	sends, more, props, err := s.retrieve(ctx, req, rr)
	var re *retrieveError
	status := "OK"
	switch {
	case errors.As(err, &re):
		status = "Error: " + re.msg
	case err != nil:
		return nil, err
	case more:
		status = "MoreDataAvailable"
	}
	w := &xmlw.Writer{Buf: make([]byte, 0, 256+300*len(sends))}
	return retrieveResponse(w, req.RequestID, status, re != nil, func(w *xmlw.Writer) {
		for i := range sends {
			writeSend(w, "Results", &sends[i], req.Principal.ClientID, props)
		}
	}), nil
}

// retrieveResponse writes a RetrieveResponseMsg into w: OverallStatus
// (status), RequestID, then the Results results writes. A failed
// Retrieve's Status, for the logs and metrics, is "Error", whatever its
// message.
func retrieveResponse(w *xmlw.Writer, requestID, status string, failed bool, results func(*xmlw.Writer)) *soap.Response {
	w.Start("RetrieveResponseMsg", "xmlns", soap.NSPartnerAPI)
	w.Elem("OverallStatus", status)
	w.Elem("RequestID", requestID)
	results(w)
	w.End("RetrieveResponseMsg")
	if failed {
		status = "Error"
	}
	return &soap.Response{Body: w.Buf, Status: status}
}

func (s *Service) retrieve(ctx context.Context, req *soap.Request, rr *etree.Element) ([]store.Send, bool, propSet, error) {
	accountID := req.Principal.AccountID
	page := s.pageSize()
	if opts := soap.Child(rr, "Options"); opts != nil {
		n, ok, err := intField(opts, "BatchSize")
		if err != nil {
			return nil, false, nil, asRetrieveErr(err)
		}
		if ok && n > 0 && int(n) < page {
			page = int(n)
		}
	}

	var q retrieveQuery
	var afterID int64
	if cont, _ := text(rr, "ContinueRequest"); cont != "" {
		svc := s.sending()
		c, err := svc.Cursor(ctx, accountID, cont)
		if errors.Is(err, sending.ErrCursorNotFound) {
			return nil, false, nil, retrieveErr("ContinueRequest %s is unknown or has expired", cont)
		}
		if err != nil {
			return nil, false, nil, err
		}
		if err := json.Unmarshal(c.Query, &q); err != nil {
			return nil, false, nil, fmt.Errorf("retrieve: cursor %s: %w", cont, err)
		}
		afterID = c.AfterID
	} else {
		objectType, _ := text(rr, "ObjectType")
		if !strings.EqualFold(objectType, "Send") {
			return nil, false, nil, retrieveErr("ObjectType %s is not supported by Retrieve: partnerd serves Send", soap.QuoteInput(objectType))
		}
		var unknown []string
		for _, p := range soap.Children(rr, "Properties") {
			name := strings.TrimSpace(p.Text())
			if _, ok := propertyIndex[strings.ToLower(name)]; !ok {
				unknown = append(unknown, name)
				continue
			}
			q.Properties = append(q.Properties, name)
		}
		if len(unknown) > 0 {
			return nil, false, nil, retrieveErr("The Request Property(s) %s do not match with the fields of Send retrieve", strings.Join(unknown, ", "))
		}
		if len(q.Properties) == 0 {
			return nil, false, nil, retrieveErr("No Properties were requested: name at least one property of Send to retrieve")
		}
		if f := soap.Child(rr, "Filter"); f != nil && !soap.IsNil(f) && len(f.ChildElements()) > 0 {
			n, err := readFilter(f)
			if err != nil {
				return nil, false, nil, err
			}
			q.Filter = n
		}
	}
	filter, err := toStoreFilter(q.Filter)
	if err != nil {
		return nil, false, nil, err
	}
	props := selectProps(q.Properties...)

	svc := s.sending()
	p, err := svc.Query(ctx, accountID, sending.Query{Filter: filter, AfterID: afterID, PageSize: page,
		CursorID: req.RequestID, CursorTTL: s.cursorTTL(), State: func() ([]byte, error) { return json.Marshal(q) }})
	if err != nil {
		return nil, false, nil, fmt.Errorf("retrieve: %w", err)
	}
	return p.Sends, p.More, props, nil
}
