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
	"time"

	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/store"
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

// blockingLog is a store whose LogRequests waits until released.
type blockingLog struct {
	store.Store
	entered chan int // the batch size of each call
	release chan struct{}
}

func (b *blockingLog) LogRequests(ctx context.Context, es []store.RequestLog) error {
	b.entered <- len(es)
	<-b.release
	return nil
}

// TestAsyncRequestLogBoundsBytes checks that queued entries are bounded
// by their size, not only their number: a request waits while the queue
// holds maxBytes. What is queued is the entry as stored (masked, bounded),
// never the request's whole body.
func TestAsyncRequestLogBoundsBytes(t *testing.T) {
	st := &blockingLog{entered: make(chan int, 10), release: make(chan struct{})}
	l := newAsyncLog(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	body := []byte("<a>" + strings.Repeat("x", 100<<10) + "</a>")
	big := func(id string) soap.Exchange {
		return soap.Exchange{RequestID: id, Principal: soap.Principal{AccountID: 1, Username: "u"}, Request: body, Response: make([]byte, 16)}
	}
	first := toRequestLog(big("0"))
	size := entrySize(&first)
	l.maxBytes = 2*size + size/2 // two fit, a third does not
	l.LogExchange(t.Context(), big("1"))
	<-st.entered // the writer holds the first while the store is slow
	l.LogExchange(t.Context(), big("2"))

	third := make(chan struct{})
	go func() {
		l.LogExchange(t.Context(), big("3"))
		close(third)
	}()
	select {
	case <-third:
		t.Fatal("a third entry was queued while two filled the byte budget")
	case <-time.After(50 * time.Millisecond):
	}
	st.release <- struct{}{} // the first is stored: room for the third
	<-third
	// The second and third go out in one batch or, when the writer
	// takes the second before the third is queued, in two.
	n := <-st.entered
	if n == 1 {
		st.release <- struct{}{}
		n += <-st.entered
	}
	if n != 2 {
		t.Errorf("%d exchanges stored after the first, want 2", n)
	}
	close(st.release)
	l.close()

	// One exchange over the whole budget still goes through, alone.
	st = &blockingLog{entered: make(chan int, 10), release: make(chan struct{})}
	close(st.release)
	l = newAsyncLog(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	l.maxBytes = size / 2
	l.LogExchange(t.Context(), big("huge"))
	l.close()
	if n := <-st.entered; n != 1 {
		t.Errorf("huge exchange stored in a batch of %d", n)
	}
}

// TestAsyncRequestLogKeepsNoBody is issue 10 defect 4: requests waiting for
// room in the log queue held their whole bodies after giving back their
// in-flight slot and bytes, so a flood of large unauthenticated envelopes
// grew memory past every limit. The queue holds entries as stored.
func TestAsyncRequestLogKeepsNoBody(t *testing.T) {
	st := &blockingLog{entered: make(chan int, 10), release: make(chan struct{})}
	l := newAsyncLog(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	body := []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><X>` + strings.Repeat("x", 4<<20) + `</X></s:Body></s:Envelope>`)
	for i := range 3 {
		l.LogExchange(t.Context(), soap.Exchange{RequestID: fmt.Sprint(i), Request: body, RequestSize: int64(len(body))})
	}
	<-st.entered
	l.mu.Lock()
	queued := l.queued
	l.mu.Unlock()
	if queued > 3*(logExcerptMax+1024) {
		t.Errorf("3 unauthenticated 4 MiB exchanges hold %d bytes in the log queue", queued)
	}
	close(st.release)
	l.close()
}
