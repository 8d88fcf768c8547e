package soap

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/xmlw"
)

type fakeAuth struct{ fail error }

func (a fakeAuth) Authenticate(ctx context.Context, env *Envelope) (Principal, error) {
	if a.fail != nil {
		return Principal{}, a.fail
	}
	return Principal{AccountID: 1, Username: "u", ClientID: 9}, nil
}

type memLog struct {
	mu sync.Mutex
	xs []Exchange
}

func (l *memLog) LogExchange(ctx context.Context, x Exchange) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.xs = append(l.xs, x)
}

func newTestHandler(auth Authenticator) (*Handler, *memLog) {
	log := &memLog{}
	h := &Handler{Auth: auth, Clock: clock.NewManual(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), Log: log, MaxBodyBytes: 2048}
	h.Handle("Perform", func(ctx context.Context, r *Request) (*Response, error) {
		w := &xmlw.Writer{}
		w.Start("PerformResponseMsg", "xmlns", NSPartnerAPI)
		w.Elem("OverallStatus", "OK")
		w.Elem("RequestID", r.RequestID)
		w.End("PerformResponseMsg")
		return &Response{Body: w.Buf, Status: "OK"}, nil
	})
	h.Handle("Retrieve", func(ctx context.Context, r *Request) (*Response, error) { panic("boom") })
	h.Handle("Create", func(ctx context.Context, r *Request) (*Response, error) { return nil, errors.New("disk on fire") })
	return h, log
}

const perform11 = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"/></soap:Body></soap:Envelope>`

func TestHandler(t *testing.T) {
	envelope := func(body string) string {
		return `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + body + `</soap:Body></soap:Envelope>`
	}
	tests := []struct {
		name       string
		method     string
		ctype      string
		soapAction *string
		body       string
		auth       Authenticator
		status     int
		contains   []string
	}{
		{name: "quoted SOAPAction", ctype: "text/xml; charset=utf-8", soapAction: ptr(`"Perform"`), body: perform11, status: 200, contains: []string{"<OverallStatus>OK</OverallStatus>", "<wsu:Created>2026-01-02T03:04:05Z</wsu:Created>", "<wsu:Expires>2026-01-02T03:09:05Z</wsu:Expires>"}},
		{name: "bare SOAPAction", ctype: "text/xml", soapAction: ptr(`Perform`), body: perform11, status: 200},
		{name: "URI SOAPAction", ctype: "text/xml", soapAction: ptr(`http://exacttarget.com/wsdl/partnerAPI/Perform`), body: perform11, status: 200},
		{name: "empty SOAPAction uses body", ctype: "text/xml", soapAction: ptr(`""`), body: perform11, status: 200},
		{name: "gowsdl quoted charset", ctype: `text/xml; charset="utf-8"`, soapAction: ptr(`Perform`), body: perform11, status: 200},
		{name: "soap12 action param", ctype: `application/soap+xml; charset=utf-8; action="Perform"`, body: `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><PerformRequestMsg/></s:Body></s:Envelope>`, status: 200, contains: []string{`xmlns:soap="http://www.w3.org/2003/05/soap-envelope"`}},
		{name: "soap12 action param mismatch", ctype: `application/soap+xml; action="Create"`, body: `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><PerformRequestMsg/></s:Body></s:Envelope>`, status: 500, contains: []string{"<soap:Value>soap:Sender</soap:Value>", "does not match"}},
		{name: "unknown body element", ctype: "text/xml", body: envelope(`<Frobnicate/>`), status: 500, contains: []string{"<faultcode>soap:Client</faultcode>", "did not recognize the request element Frobnicate"}},
		{name: "known but unserved operation", ctype: "text/xml", soapAction: ptr("Extract"), body: envelope(`<ExtractRequestMsg/>`), status: 500, contains: []string{"did not recognize the value of HTTP Header SOAPAction: Extract."}},
		{name: "login failed", ctype: "text/xml", body: perform11, auth: fakeAuth{fail: errors.New("wrong password")}, status: 500, contains: []string{">q0:Security</faultcode>", "<faultstring>Login failed</faultstring>"}},
		{name: "login failed soap12", ctype: "application/soap+xml", body: `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><PerformRequestMsg/></s:Body></s:Envelope>`, auth: fakeAuth{fail: errors.New("x")}, status: 500, contains: []string{"<soap:Value>soap:Sender</soap:Value><soap:Subcode><soap:Value xmlns:q0=", "Login failed"}},
		{name: "panic becomes server fault", ctype: "text/xml", body: envelope(`<RetrieveRequestMsg/>`), status: 500, contains: []string{"<faultcode>soap:Server</faultcode>", "<Code>2</Code>"}},
		{name: "error becomes server fault without detail leak", ctype: "text/xml", body: envelope(`<CreateRequest/>`), status: 500, contains: []string{"<faultstring>Unexpected Error</faultstring>"}},
		{name: "too large", ctype: "text/xml", body: envelope(`<PerformRequestMsg>` + strings.Repeat("x", 4096) + `</PerformRequestMsg>`), status: 413},
		{name: "json content type", ctype: "application/json", body: `{}`, status: 415},
		{name: "garbage content type", ctype: "text/xml; ===", body: perform11, status: 415},
		{name: "GET without wsdl", method: "GET", status: 405},
		{name: "PUT", method: "PUT", ctype: "text/xml", body: perform11, status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := tt.auth
			if auth == nil {
				auth = fakeAuth{}
			}
			h, log := newTestHandler(auth)
			method := tt.method
			if method == "" {
				method = "POST"
			}
			req := httptest.NewRequest(method, "http://partnerd.test/Service.asmx", strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if tt.soapAction != nil {
				req.Header.Set("SOAPAction", *tt.soapAction)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			for _, c := range tt.contains {
				if !strings.Contains(rec.Body.String(), c) {
					t.Errorf("response lacks %q:\n%s", c, rec.Body)
				}
			}
			if method == "POST" && rec.Code != 405 {
				if len(log.xs) != 1 {
					t.Fatalf("%d exchanges logged, want 1", len(log.xs))
				}
				x := log.xs[0]
				if x.HTTPStatus != tt.status || len(x.RequestID) != 36 {
					t.Errorf("logged %+v", x)
				}
				if tt.status != 200 && (x.Status != "Fault" || x.Reason == "") {
					t.Errorf("a fault is logged with status %q reason %q", x.Status, x.Reason)
				}
			}
		})
	}
}

func TestHandlerWSAddressingEcho(t *testing.T) {
	h, _ := newTestHandler(fakeAuth{})
	body := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action>Perform</a:Action><a:MessageID>urn:uuid:abc</a:MessageID></s:Header><s:Body><PerformRequestMsg/></s:Body></s:Envelope>`
	req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/soap+xml; charset=utf-8")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, want := range []string{`xmlns:wsa="http://www.w3.org/2005/08/addressing"`, "<wsa:Action>PerformResponse</wsa:Action>", "<wsa:RelatesTo>urn:uuid:abc</wsa:RelatesTo>", "<wsa:To>http://www.w3.org/2005/08/addressing/anonymous</wsa:To>"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("response lacks %s:\n%s", want, rec.Body)
		}
	}
	if got := rec.Header().Get("Content-Type"); got != "application/soap+xml; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
}

func TestHandlerWSDL(t *testing.T) {
	h, _ := newTestHandler(fakeAuth{})
	h.WSDL = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("wsdl!")) })
	for _, q := range []string{"?wsdl", "?WSDL", "?Wsdl"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "http://partnerd.test/Service.asmx"+q, nil))
		if rec.Body.String() != "wsdl!" {
			t.Errorf("GET %s: %d %s", q, rec.Code, rec.Body)
		}
	}
}

func ptr(s string) *string { return &s }

// TestRequestIDsGrow checks that RequestIDs are lower-case GUIDs that sort
// in the order they were made, which keeps the request log's index on them
// appending at its end.
func TestRequestIDsGrow(t *testing.T) {
	prev := ""
	h := &Handler{}
	for i := range 10_000 {
		id := h.newRequestID()
		if len(id) != 36 || strings.ToLower(id) != id || id[14] != '7' {
			t.Fatalf("RequestID %q: want a lower-case version 7 GUID", id)
		}
		if id <= prev {
			t.Fatalf("RequestID %d %q sorts before its predecessor %q", i, id, prev)
		}
		prev = id
	}
}
