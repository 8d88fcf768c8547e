package partnerapi_test

import (
	"testing"

	"github.com/partnerd/partnerd/api/partnerapi"
)

// Create, Delete and Perform answer each object by its own type.

// TestCreateMixedTypes: Create dispatches by each object's type, so a
// request holding a Send, an EmailSendDefinition and an object partnerd
// does not create answers each on its own (the definition was refused
// with ErrorCode 5 when the request also held a Send).
func TestCreateMixedTypes(t *testing.T) {
	e := newTestEnv(t)
	root := e.mustCall("Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI">`+
		`<Objects xsi:type="Send"><Email><ID>1</ID></Email><List><ID>1</ID></List></Objects>`+
		`<Objects xsi:type="EmailSendDefinition"><CustomerKey>welcome</CustomerKey><Email><ID>1</ID></Email>`+
		`<SendDefinitionList><List><ID>1</ID></List></SendDefinitionList></Objects>`+
		`<Objects xsi:type="List"><ID>1</ID></Objects>`+
		`</CreateRequest>`)
	rs := results(root)
	want := []struct {
		status, message string
		code            int
	}{
		{"OK", "Created Send", 0},
		{"OK", "Created EmailSendDefinition", 0},
		{"Error", "Cannot perform Create on objects of type List", partnerapi.CodeCannotPerformOnType},
	}
	if len(rs) != len(want) {
		t.Fatalf("%d Results, want %d", len(rs), len(want))
	}
	for i, w := range want {
		if rs[i].status != w.status || rs[i].message != w.message || rs[i].code != w.code {
			t.Errorf("Result %d = %+v, want %+v", i, rs[i], w)
		}
		if w.status == "OK" && rs[i].newID == 0 {
			t.Errorf("Result %d has no NewID", i)
		}
	}
	if got := overallStatus(root); got != "Has Errors" {
		t.Errorf("OverallStatus %q, want %q", got, "Has Errors")
	}
	// The definition is there to start.
	r := one(t, e.mustCall("Perform", `<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>start</Action>`+
		`<Definitions><Definition xsi:type="EmailSendDefinition"><CustomerKey>welcome</CustomerKey></Definition></Definitions></PerformRequestMsg>`))
	if r.status != "OK" || r.taskID == 0 {
		t.Errorf("start of the created definition: %+v", r)
	}
}

// TestPerformMixedTypes: Perform answers each Definition by its own type:
// start reaches an EmailSendDefinition beside a Send (which was answered
// ErrorCode 100), and the Send is told start is not its action.
func TestPerformMixedTypes(t *testing.T) {
	e := newTestEnv(t)
	e.mustCall("Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI">`+
		`<Objects xsi:type="EmailSendDefinition"><CustomerKey>welcome</CustomerKey><Email><ID>1</ID></Email>`+
		`<SendDefinitionList><List><ID>1</ID></List></SendDefinitionList></Objects></CreateRequest>`)
	rs := results(e.mustCall("Perform", `<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>start</Action><Definitions>`+
		`<Definition xsi:type="Send"><ID>1</ID></Definition>`+
		`<Definition xsi:type="EmailSendDefinition"><CustomerKey>welcome</CustomerKey></Definition>`+
		`</Definitions></PerformRequestMsg>`))
	if len(rs) != 2 {
		t.Fatalf("%d Results, want 2", len(rs))
	}
	if rs[0].status != "Error" || rs[0].code != partnerapi.CodePerformUnsupportedAct {
		t.Errorf("start on a Send = %+v, want ErrorCode %d", rs[0], partnerapi.CodePerformUnsupportedAct)
	}
	if rs[1].status != "OK" || rs[1].taskID == 0 {
		t.Errorf("start on the definition = %+v, want OK with the new Send's ID", rs[1])
	}
}

// TestDeleteMixedTypes: Delete answers each object by its own type, so an
// EmailSendDefinition beside a Send is deleted (it was refused with
// ErrorCode 5 with the Send), and the Send is still refused.
func TestDeleteMixedTypes(t *testing.T) {
	e := newTestEnv(t)
	created := results(e.mustCall("Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI">`+
		`<Objects xsi:type="EmailSendDefinition"><CustomerKey>welcome</CustomerKey><Email><ID>1</ID></Email>`+
		`<SendDefinitionList><List><ID>1</ID></List></SendDefinitionList></Objects></CreateRequest>`))
	if len(created) != 1 || created[0].status != "OK" {
		t.Fatalf("Create: %+v", created)
	}
	root := e.mustCall("Delete", `<DeleteRequest xmlns="http://exacttarget.com/wsdl/partnerAPI">`+
		`<Objects xsi:type="Send"><ID>1</ID></Objects>`+
		`<Objects xsi:type="EmailSendDefinition"><CustomerKey>welcome</CustomerKey></Objects>`+
		`<Objects xsi:type="EmailSendDefinition"><CustomerKey>welcome</CustomerKey></Objects>`+
		`</DeleteRequest>`)
	rs := results(root)
	want := []struct {
		status string
		code   int
	}{{"Error", partnerapi.CodeCannotPerformOnType}, {"OK", 0}, {"Error", partnerapi.CodeDefinitionNotFound}}
	if len(rs) != len(want) {
		t.Fatalf("%d Results, want %d", len(rs), len(want))
	}
	for i, w := range want {
		if rs[i].status != w.status || rs[i].code != w.code {
			t.Errorf("Result %d = %+v, want %s with ErrorCode %d", i, rs[i], w.status, w.code)
		}
	}
}
