// Command ceiling is the bare net/http baseline of bench/compare: it reads
// each POST body and answers it with one fixed PerformResponseMsg envelope,
// shaped and sized like partnerd's answer to a one-Send cancel. No XML is
// parsed, nothing is checked or stored: its throughput is the most any Go
// HTTP server can reach on this machine with this generator, the ceiling
// partnerd's figure is a fraction of.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// answer is partnerd's golden cancel answer (testdata/golden), GUIDs and
// times included, so that both servers write the same number of bytes.
const answer = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><soap:Header><wsse:Security><wsu:Timestamp wsu:Id="Timestamp-5f0c0a4e-8d0b-4f43-9a53-2f7e1c0b6a11"><wsu:Created>2026-01-15T12:00:00Z</wsu:Created><wsu:Expires>2026-01-15T12:05:00Z</wsu:Expires></wsu:Timestamp></wsse:Security></soap:Header><soap:Body><PerformResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results><Result><StatusCode>OK</StatusCode><StatusMessage>Send canceled</StatusMessage><OrdinalID>0</OrdinalID><Object xsi:type="Send"><Client><ID>1001</ID></Client><CreatedDate>2026-01-15T12:00:00Z</CreatedDate><ModifiedDate>2026-01-15T12:00:00Z</ModifiedDate><ID>5</ID><ObjectID>3b1f7a52-0c1e-4f0e-8d5a-9b8e2f6c4d21</ObjectID><Email><ID>100</ID></Email><List><ID>200</ID></List><SendDate>2026-01-15T15:00:00Z</SendDate><NumberSent>0</NumberSent><SentDate xsi:nil="true" /><Status>Canceled</Status></Object><Task><StatusCode>OK</StatusCode><StatusMessage>OK</StatusMessage><ID>5</ID></Task></Result></Results><OverallStatus>OK</OverallStatus><OverallStatusMessage /><RequestID>9d2c4b8e-6a1f-4e3d-b7c5-0f8a2e4d6b13</RequestID></PerformResponseMsg></soap:Body></soap:Envelope>`

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()

	body := []byte(answer)
	length := strconv.Itoa(len(body))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST an envelope", http.StatusMethodNotAllowed)
			return
		}
		// Reading the whole request is the least any server must do.
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"] = []string{"text/xml; charset=utf-8"}
		h["Content-Length"] = []string{length}
		w.Write(body)
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ceiling listening on http://%s/Service.asmx\n", ln.Addr())
	os.Stdout.Sync()
	// The same timeouts as partnerd serve, so neither gets a cheaper
	// connection set-up.
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	log.Fatal(srv.Serve(ln))
}
