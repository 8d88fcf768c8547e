package soap_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/loadgen"
)

// cancelIDs returns n Send IDs for a cancel envelope.
func cancelIDs(n int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(1000 + i)
	}
	return ids
}

// BenchmarkReadEnvelope is the parse of a Perform cancel request as a
// legacy client sends it (UsernameToken with Nonce and Created), with one
// and with 100 Definitions.
func BenchmarkReadEnvelope(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run("defs="+strconv.Itoa(n), func(b *testing.B) {
			raw := bytes.Clone(loadgen.NewEnvelopeWriter(loadgen.Credentials{Username: "bench", Password: "bench-pw"}).Cancel(cancelIDs(n)))
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := soap.ReadEnvelope(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchAuth accepts every request as one account: the handler's own cost,
// without the security check (see soap/wsse's benchmarks for that).
type benchAuth struct{}

func (benchAuth) Authenticate(context.Context, *soap.Envelope) (soap.Principal, error) {
	return soap.Principal{AccountID: 1, Username: "bench", ClientID: 1001}, nil
}

// benchAnswer is the size and shape of partnerd's answer to a one-Send
// cancel.
var benchAnswer = []byte(`<PerformResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results><Result><StatusCode>OK</StatusCode><StatusMessage>Send canceled</StatusMessage><OrdinalID>0</OrdinalID><Object xsi:type="Send"><Client><ID>1001</ID></Client><CreatedDate>2026-01-15T12:00:00Z</CreatedDate><ModifiedDate>2026-01-15T12:00:00Z</ModifiedDate><ID>5</ID><ObjectID>3b1f7a52-0c1e-4f0e-8d5a-9b8e2f6c4d21</ObjectID><Email><ID>100</ID></Email><List><ID>200</ID></List><SendDate>2026-01-15T15:00:00Z</SendDate><NumberSent>0</NumberSent><SentDate xsi:nil="true" /><Status>Canceled</Status></Object><Task><StatusCode>OK</StatusCode><StatusMessage>OK</StatusMessage><ID>5</ID></Task></Result></Results><OverallStatus>OK</OverallStatus><OverallStatusMessage /><RequestID>9d2c4b8e-6a1f-4e3d-b7c5-0f8a2e4d6b13</RequestID></PerformResponseMsg>`)

// BenchmarkHandlerStubbed is one Perform through Handler.ServeHTTP with the
// authenticator, the operation and the request log stubbed out: body read,
// parse, operation resolution, RequestID, and the response envelope write.
// The gap between it and BenchmarkReadEnvelope is the response side.
func BenchmarkHandlerStubbed(b *testing.B) {
	h := &soap.Handler{Auth: benchAuth{}}
	h.Handle("Perform", func(ctx context.Context, req *soap.Request) (*soap.Response, error) {
		return &soap.Response{Body: benchAnswer, Status: "OK"}, nil
	})
	raw := bytes.Clone(loadgen.NewEnvelopeWriter(loadgen.Credentials{Username: "bench", Password: "bench-pw"}).Cancel(cancelIDs(1)))
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/Service.asmx", bytes.NewReader(raw))
		r.Header.Set("Content-Type", "text/xml; charset=utf-8")
		r.Header.Set("SOAPAction", `"Perform"`)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("HTTP %d: %s", w.Code, w.Body)
		}
	}
}
