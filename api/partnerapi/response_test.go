package partnerapi_test

import (
	"testing"
)

// TestRefusedAsAWhole: requests with nothing to answer per object are
// refused with OverallStatus Error and no Results, byte for byte as before
// the one response writer (no golden case covers them).
func TestRefusedAsAWhole(t *testing.T) {
	const ns = `xmlns="http://exacttarget.com/wsdl/partnerAPI"`
	const rid = `<RequestID>00000000-0000-4000-8000-000000000000</RequestID>`
	cases := []struct {
		name, op, body, want string
	}{
		{"Perform without Action", "Perform", `<PerformRequestMsg ` + ns + `><Definitions><Definition xsi:type="Send"><ID>1</ID></Definition></Definitions></PerformRequestMsg>`,
			`<PerformResponseMsg ` + ns + `><OverallStatus>Error</OverallStatus><OverallStatusMessage>No Action was given</OverallStatusMessage>` + rid + `</PerformResponseMsg>`},
		{"Perform without Definitions", "Perform", `<PerformRequestMsg ` + ns + `><Action>cancel</Action></PerformRequestMsg>`,
			`<PerformResponseMsg ` + ns + `><OverallStatus>Error</OverallStatus><OverallStatusMessage>No Definitions were given</OverallStatusMessage>` + rid + `</PerformResponseMsg>`},
		{"Schedule without Interactions", "Schedule", `<ScheduleRequestMsg ` + ns + `><Action>start</Action></ScheduleRequestMsg>`,
			`<ScheduleResponseMsg ` + ns + `><OverallStatus>Error</OverallStatus><OverallStatusMessage>No Interactions were given</OverallStatusMessage>` + rid + `</ScheduleResponseMsg>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t)
			got, err := e.callRaw(c.op, c.body)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}
