package partnerapi_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/api/partnerapi"
)

// TestCreateSendDates is issue 10's second defect: .NET's DateTime.MinValue
// (what ASMX and WCF clients send for a date left unset) was stored as
// NULL, a send the dispatcher never claimed and no cancel could reach.
// Every SendDate is now refused, or stored as a date the rules act on:
// MinValue is "unset", as an omitted SendDate (due at once); a date outside
// years 1-9999 in UTC is refused; finer than milliseconds is truncated.
func TestCreateSendDates(t *testing.T) {
	cases := []struct {
		name     string
		sendDate string // "" omits it
		wantCode int    // 0: created
		want     time.Time
	}{
		{"omitted", "", 0, envNow},
		{"MinValue without zone", "0001-01-01T00:00:00", 0, envNow},
		{"MinValue in UTC", "0001-01-01T00:00:00Z", 0, envNow},
		{"MinValue with 7 digits", "0001-01-01T00:00:00.0000000", 0, envNow},
		{"MinValue with an offset", "0001-01-01T00:00:00+00:00", 0, envNow},
		{"a millisecond after MinValue", "0001-01-01T00:00:00.001Z", 0, time.Date(1, 1, 1, 0, 0, 0, 1e6, time.UTC)},
		{"before year 1 in UTC", "0001-01-01T00:30:00+01:00", partnerapi.CodeDateOutOfRange, time.Time{}},
		{"year 0", "0000-06-01T00:00:00Z", partnerapi.CodeDateOutOfRange, time.Time{}},
		{"after year 9999 in UTC", "9999-12-31T23:59:59-01:00", partnerapi.CodeDateOutOfRange, time.Time{}},
		{"MaxValue", "9999-12-31T23:59:59.9999999", 0, time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)},
		{".NET ticks", "2026-06-02T12:00:00.1234567Z", 0, time.Date(2026, 6, 2, 12, 0, 0, 123e6, time.UTC)},
		{"future with an offset", "2026-06-02T14:00:00+02:00", 0, time.Date(2026, 6, 2, 12, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t)
			fields := ""
			if c.sendDate != "" {
				fields = "<SendDate>" + c.sendDate + "</SendDate>"
			}
			root, err := e.call("Create", createSend("", fields))
			notServerFault(t, "Create", err)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			r := one(t, root)
			if c.wantCode != 0 {
				if r.status != "Error" || r.code != c.wantCode || !strings.Contains(r.message, "SendDate") {
					t.Errorf("Create = %+v, want Error %d naming SendDate", r, c.wantCode)
				}
				if n := len(e.sendsWith(nil)); n != 0 {
					t.Errorf("refused Create stored %d sends", n)
				}
				return
			}
			if r.status != "OK" {
				t.Fatalf("Create = %+v", r)
			}
			got := e.send(r.newID)
			if !got.SendDate.Equal(c.want) {
				t.Errorf("stored SendDate %v, want %v", got.SendDate, c.want)
			}
			// The echo is the stored date.
			if echo := root.FindElement("//Object/SendDate"); echo == nil || echo.Text() != c.want.Format("2006-01-02T15:04:05.999Z") {
				t.Errorf("echoed SendDate %v, want %s", echo, c.want.Format("2006-01-02T15:04:05.999Z"))
			}
			// It can be acted on: a future send canceled, a due one
			// dispatched.
			if c.want.After(envNow.Add(time.Hour)) {
				if r := one(t, e.mustCall("Perform", performSend("cancel", "<ID>"+itoa(r.newID)+"</ID>"))); r.status != "OK" {
					t.Errorf("cancel: %+v", r)
				}
				e.clk.Set(time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC))
				if ids := e.claimDue(); len(ids) != 0 {
					t.Errorf("canceled send claimed: %v", ids)
				}
			} else if ids := e.claimDue(); !slices.Equal(ids, []int64{r.newID}) {
				t.Errorf("due sends claimed %v, want [%d]", ids, r.newID)
			}
		})
	}
}

// TestScheduleStartDateTime: a Schedule's StartDateTime of MinValue is a
// start left unset, refused as the reference's 151 ("Start DateTime Not
// Specified"); one outside years 1-9999 is refused; any other becomes a
// Send due then that can be canceled.
func TestScheduleStartDateTime(t *testing.T) {
	cases := []struct {
		name     string
		start    string
		wantCode int
		want     time.Time
	}{
		{"MinValue", "0001-01-01T00:00:00", partnerapi.CodeScheduleStartMissing, time.Time{}},
		{"MinValue in UTC", "0001-01-01T00:00:00Z", partnerapi.CodeScheduleStartMissing, time.Time{}},
		{"before year 1 in UTC", "0001-01-01T00:00:00+01:00", partnerapi.CodeDateOutOfRange, time.Time{}},
		{"after year 9999 in UTC", "9999-12-31T23:00:00-02:00", partnerapi.CodeDateOutOfRange, time.Time{}},
		{"tomorrow", "2026-06-02T12:00:00.1234567Z", 0, time.Date(2026, 6, 2, 12, 0, 0, 123e6, time.UTC)},
		{"past", "2001-01-01T00:00:00Z", 0, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t)
			esd := one(t, e.mustCall("Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Objects xsi:type="EmailSendDefinition">`+
				`<CustomerKey>def</CustomerKey><Email><ID>1</ID></Email><SendDefinitionList><List><ID>1</ID></List></SendDefinitionList></Objects></CreateRequest>`))
			if esd.status != "OK" {
				t.Fatalf("Create EmailSendDefinition: %+v", esd)
			}
			root, err := e.call("Schedule", `<ScheduleRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>start</Action>`+
				`<Schedule><StartDateTime>`+c.start+`</StartDateTime></Schedule>`+
				`<Interactions><Interaction xsi:type="EmailSendDefinition"><CustomerKey>def</CustomerKey></Interaction></Interactions></ScheduleRequestMsg>`)
			notServerFault(t, "Schedule", err)
			if err != nil {
				t.Fatalf("Schedule: %v", err)
			}
			r := one(t, root)
			if c.wantCode != 0 {
				if r.status != "Error" || r.code != c.wantCode {
					t.Errorf("Schedule = %+v, want Error %d", r, c.wantCode)
				}
				if n := len(e.sendsWith(nil)); n != 0 {
					t.Errorf("refused Schedule stored %d sends", n)
				}
				return
			}
			if r.status != "OK" {
				t.Fatalf("Schedule = %+v", r)
			}
			got := e.send(r.taskID)
			if !got.SendDate.Equal(c.want) {
				t.Errorf("stored SendDate %v, want %v", got.SendDate, c.want)
			}
			if c.want.After(envNow) {
				if r := one(t, e.mustCall("Perform", performSend("cancel", "<ID>"+itoa(r.taskID)+"</ID>"))); r.status != "OK" {
					t.Errorf("cancel: %+v", r)
				}
			} else if ids := e.claimDue(); !slices.Equal(ids, []int64{r.taskID}) {
				t.Errorf("due sends claimed %v, want [%d]", ids, r.taskID)
			}
		})
	}
}
