package perform_test

import (
	"testing"

	"github.com/partnerd/partnerd/perform"
)

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
	}{{"Error", perform.CodeCannotPerformOnType}, {"OK", 0}, {"Error", perform.CodeDefinitionNotFound}}
	if len(rs) != len(want) {
		t.Fatalf("%d Results, want %d", len(rs), len(want))
	}
	for i, w := range want {
		if rs[i].status != w.status || rs[i].code != w.code {
			t.Errorf("Result %d = %+v, want %s with ErrorCode %d", i, rs[i], w.status, w.code)
		}
	}
}
