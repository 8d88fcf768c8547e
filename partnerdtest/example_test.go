package partnerdtest_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/partnerd/partnerd/partnerdtest"
)

// A client schedules a send over SOAP, cancels another, and the test moves
// the clock past their send time to see what went out. In a test, New(t)
// replaces Start and Close.
func Example() {
	srv, err := partnerdtest.Start(partnerdtest.WithStart(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)))
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	soap := func(action, body string) string {
		env := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
			`<soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">` +
			`<wsse:UsernameToken><wsse:Username>` + srv.Account.Username + `</wsse:Username><wsse:Password>` + srv.Account.Password +
			`</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`
		req, _ := http.NewRequest(http.MethodPost, srv.SOAPURL, strings.NewReader(env))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", action)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return regexp.MustCompile(`<OverallStatus>([^<]*)<`).FindStringSubmatch(string(b))[1]
	}

	fmt.Println("Create:", soap("Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI">`+
		`<Objects xsi:type="Send"><CustomerKey>spring</CustomerKey><Email><ID>42</ID></Email><List><ID>7</ID></List><SendDate>2026-05-04T10:00:00Z</SendDate><Subject>Spring sale</Subject></Objects>`+
		`<Objects xsi:type="Send"><CustomerKey>oops</CustomerKey><Email><ID>43</ID></Email><List><ID>7</ID></List><SendDate>2026-05-04T10:00:00Z</SendDate><Subject>Wrong list</Subject></Objects>`+
		`</CreateRequest>`))
	fmt.Println("Cancel:", soap("Perform", `<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>Cancel</Action>`+
		`<Definitions><Definition xsi:type="Send"><CustomerKey>oops</CustomerKey></Definition></Definitions></PerformRequestMsg>`))

	srv.Advance(2 * time.Hour) // past 10:00: the due send goes out before Advance returns

	for _, s := range srv.Sends() {
		fmt.Println(s.CustomerKey, s.Status)
	}
	for _, e := range srv.Outbox() {
		fmt.Printf("sent %q at %s\n", e.Subject, e.DeliveredAt.Format(time.RFC3339))
	}
	// Output:
	// Create: OK
	// Cancel: OK
	// spring Complete
	// oops Canceled
	// sent "Spring sale" at 2026-05-04T11:00:00Z
}
