package server

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/partnerd/partnerd/internal/credential"
)

// TestOnDue checks that a request which leaves a send due now — resumed past
// its SendDate, or created without a future one — tells the dispatcher, and
// that others do not.
func TestOnDue(t *testing.T) {
	credential.DefaultIterations = 1000
	const sec = `<s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>alice</Username><Password>alice-pw</Password></UsernameToken></Security></s:Header>`
	env := func(body string) string {
		return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` + sec + `<s:Body>` + body + `</s:Body></s:Envelope>`
	}
	perform := func(action string, id string) string {
		return env(`<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>` + action + `</Action><Definitions><Definition xsi:type="Send"><ID>` + id + `</ID></Definition></Definitions></PerformRequestMsg>`)
	}
	create := func(sendDate string) string {
		return env(`<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Options/><Objects xsi:type="Send"><Email><ID>1</ID></Email><List><ID>2</ID></List>` + sendDate + `</Objects></CreateRequest>`)
	}
	tests := []struct {
		name string
		body string
		want int64
	}{
		{"resume past its SendDate", perform("resume", "1"), 1},
		{"resume before its SendDate", perform("resume", "2"), 0},
		{"cancel", perform("cancel", "3"), 0},
		{"create without SendDate", create(""), 1},
		{"create in the future", create(`<SendDate>2030-01-01T00:00:00Z</SendDate>`), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.apply("send alice id=1 senddate=-1h status=Paused")
			f.apply("send alice id=2 senddate=+1h status=Paused")
			f.apply("send alice id=3 senddate=+1h")
			var calls atomic.Int64
			h := New(Config{Store: f.db, Clock: f.clock, Sealer: f.sealer, Policy: f.policy, Version: "test",
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnDue: func() { calls.Add(1) }})
			req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "text/xml")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<OverallStatus>OK</OverallStatus>") {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if got := calls.Load(); got != tt.want {
				t.Errorf("OnDue called %d times, want %d", got, tt.want)
			}
		})
	}
}
