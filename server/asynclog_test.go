package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/partnerd/partnerd/credential"
)

// TestAsyncRequestLogIsCompleteAfterClose sends concurrent requests through
// a server that logs in the background; once Close returns, every exchange
// is in the store.
func TestAsyncRequestLogIsCompleteAfterClose(t *testing.T) {
	credential.DefaultIterations = 1000
	f := newFixture(t)
	srv := New(Config{Store: f.db, Clock: f.clock, Sealer: f.sealer, Policy: f.policy, Version: "test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AsyncRequestLog: true})
	const n = 200
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := fmt.Sprintf(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>alice</Username><Password>alice-pw</Password></UsernameToken></Security></s:Header><s:Body><PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>cancel</Action><Definitions><Definition><ID>%d</ID></Definition></Definitions></PerformRequestMsg></s:Body></s:Envelope>`, i+1)
			req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", strings.NewReader(body))
			req.Header.Set("Content-Type", "text/xml")
			srv.ServeHTTP(httptest.NewRecorder(), req)
		}(i)
	}
	wg.Wait()
	srv.Close()
	logged, err := f.db.RecentRequests(context.Background(), 2*n)
	if err != nil {
		t.Fatal(err)
	}
	if len(logged) != n {
		t.Fatalf("%d exchanges logged, want %d", len(logged), n)
	}
	for _, e := range logged {
		if strings.Contains(e.Request, "alice-pw") {
			t.Fatalf("password stored in the log: %s", e.Request)
		}
	}
}
