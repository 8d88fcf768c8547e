package partnerapi_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/partnerd/partnerd/api/partnerapi"
	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/store"
)

// testEnv is a Service over a real store (the one PARTNERD_TEST_STORE
// picks; by default SQLite in a temporary file), with a manual clock, for
// one account.
type testEnv struct {
	t    *testing.T
	path string
	db   store.Store
	clk  *clock.Manual
	svc  *partnerapi.Service
	acct store.Account
}

var envNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	db, name := testrig.OpenNamed(t, testrig.File("perform.db"))
	path := strings.TrimPrefix(name, "sqlite:") // for the tests that write SQLite rows directly
	acct := store.Account{Username: "acct", ClientID: 1001}
	if err := db.CreateAccount(t.Context(), &acct); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(envNow)
	svc := &partnerapi.Service{Store: db, Clock: clk, Policy: lifecycle.DefaultPolicy}
	return &testEnv{t: t, path: path, db: db, clk: clk, svc: svc, acct: acct}
}

// call runs operation op with body (the request wrapper element) and
// returns the parsed response wrapper, or the error the operation returned.
func (e *testEnv) call(op, body string) (*etree.Element, error) {
	e.t.Helper()
	raw, err := e.callRaw(op, body)
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		e.t.Fatalf("response is not XML: %v\n%s", err, raw)
	}
	return doc.Root(), nil
}

// callRaw is call answering the response body as it was written.
func (e *testEnv) callRaw(op, body string) ([]byte, error) {
	e.t.Helper()
	raw := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body>` +
		body + `</soap:Body></soap:Envelope>`
	env, err := soap.ReadEnvelope([]byte(raw))
	if err != nil {
		e.t.Fatalf("ReadEnvelope: %v", err)
	}
	req := &soap.Request{RequestID: "00000000-0000-4000-8000-000000000000", Operation: op, Envelope: env, Body: env.Body,
		Principal: soap.Principal{AccountID: e.acct.ID, Username: e.acct.Username, ClientID: e.acct.ClientID}}
	ops := map[string]soap.OperationFunc{"Create": e.svc.Create, "Delete": e.svc.Delete, "Perform": e.svc.Perform, "Retrieve": e.svc.Retrieve, "Schedule": e.svc.Schedule}
	resp, err := ops[op](context.Background(), req)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// mustCall is call for a request that must not fault at all.
func (e *testEnv) mustCall(op, body string) *etree.Element {
	e.t.Helper()
	root, err := e.call(op, body)
	if err != nil {
		e.t.Fatalf("%s: %v", op, err)
	}
	return root
}

// notServerFault fails the test when err is a Server fault: client input
// must never be answered "Unexpected Error".
func notServerFault(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		if f := soap.AsFault(err); f.Kind == soap.Server {
			t.Fatalf("%s: Server fault %q (%s), want a Client fault or a Result error", what, f.String, f.Reason)
		}
	}
}

type result struct {
	status, message string
	code            int
	newID           int64
	objectID        string
	taskID          int64
}

// results reads every Result of a Create, Delete, Perform or Schedule response.
func results(root *etree.Element) []result {
	var els []*etree.Element
	switch root.Tag {
	case "CreateResponse", "DeleteResponse":
		els = root.SelectElements("Results")
	default:
		if r := root.SelectElement("Results"); r != nil {
			els = r.SelectElements("Result")
		}
	}
	var out []result
	for _, el := range els {
		r := result{status: childText(el, "StatusCode"), message: childText(el, "StatusMessage")}
		r.code, _ = strconv.Atoi(childText(el, "ErrorCode"))
		r.newID, _ = strconv.ParseInt(childText(el, "NewID"), 10, 64)
		r.objectID = childText(el, "NewObjectID")
		if task := el.SelectElement("Task"); task != nil {
			r.taskID, _ = strconv.ParseInt(childText(task, "ID"), 10, 64)
			if r.objectID == "" {
				r.objectID = childText(task, "InteractionObjectID")
			}
		}
		out = append(out, r)
	}
	return out
}

func childText(el *etree.Element, name string) string {
	if c := el.SelectElement(name); c != nil {
		return c.Text()
	}
	return ""
}

func overallStatus(root *etree.Element) string { return childText(root, "OverallStatus") }

// one is the single Result of a response.
func one(t *testing.T, root *etree.Element) result {
	t.Helper()
	rs := results(root)
	if len(rs) != 1 {
		t.Fatalf("%d Results, want 1", len(rs))
	}
	return rs[0]
}

// createSend is a CreateRequest for one Send with extra fields (after the
// APIObject ones the caller puts in keys, before Email and List).
func createSend(keys, fields string) string {
	return `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Objects xsi:type="Send">` + keys +
		`<Email><ID>1</ID></Email><List><ID>1</ID></List>` + fields + `</Objects></CreateRequest>`
}

func performSend(action, key string) string {
	return `<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>` + action +
		`</Action><Definitions><Definition xsi:type="Send">` + key + `</Definition></Definitions></PerformRequestMsg>`
}

func retrieveSends(filter string) string {
	return `<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><RetrieveRequest><ObjectType>Send</ObjectType>` +
		`<Properties>ID</Properties><Properties>SendDate</Properties>` + filter + `</RetrieveRequest></RetrieveRequestMsg>`
}

// sendsWith returns the account's sends matching f, read from the store.
func (e *testEnv) sendsWith(f store.Filter) []store.Send {
	e.t.Helper()
	var got []store.Send
	err := e.db.View(e.t.Context(), func(tx store.Tx) error {
		var err error
		got, err = tx.FindSends(e.t.Context(), e.acct.ID, store.SendQuery{Filter: f})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

func (e *testEnv) send(id int64) store.Send {
	e.t.Helper()
	var s store.Send
	err := e.db.View(e.t.Context(), func(tx store.Tx) error {
		var err error
		s, err = tx.SendByKey(e.t.Context(), e.acct.ID, store.SendKey{ID: id})
		return err
	})
	if err != nil {
		e.t.Fatalf("send %d: %v", id, err)
	}
	return s
}

// claimDue claims every send due at the clock's now, as the dispatcher
// would, and returns their IDs.
func (e *testEnv) claimDue() []int64 {
	e.t.Helper()
	now := e.clk.Now()
	claimed, err := e.db.ClaimDueSends(e.t.Context(), store.Claim{Now: now, Owner: "test", LeaseUntil: now.Add(time.Minute), Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []int64
	for _, c := range claimed {
		ids = append(ids, c.ID)
	}
	return ids
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '<' || r == '&':
			fmt.Fprintf(&b, "&#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
