package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/limit"
)

// Tests of issue 10 defects 4 and 5: the bytes of request bodies in flight
// are bounded, and a client that stops reading its answers holds no
// in-flight slot.

// padded returns env with a comment of n bytes in its header.
func padded(env string, n int) string {
	return strings.Replace(env, "<soap:Header>", "<soap:Header><!--"+strings.Repeat("p", n)+"-->", 1)
}

// TestInFlightBytesBudget is issue 10 defect 4b: 128 bodies of 4 MiB were
// all held at once (~1 GiB). Now bodies reserve their size from
// MaxInFlightBytes before they are read, and what does not fit is refused
// at once like --max-inflight; a body larger than the budget is still
// served when it is alone.
func TestInFlightBytesBudget(t *testing.T) {
	credential.DefaultIterations = 1000
	f := newFixture(t)
	f.apply("send alice id=1 senddate=+3h")
	bs := blockingStore{Store: f.db, entered: make(chan struct{}, 10), release: make(chan struct{})}
	h := New(Config{Store: bs, Clock: f.clock, Sealer: f.sealer, Policy: f.policy, Version: "test",
		Limits: Limits{MaxInFlightBytes: 1 << 20}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	do := func(body string, chunked bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", strings.NewReader(body))
		if chunked {
			req.ContentLength = -1
		}
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	isOverload := func(rec *httptest.ResponseRecorder) bool {
		return rec.Code == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "1" &&
			strings.Contains(rec.Body.String(), "<Code>17</Code>") && strings.Contains(rec.Body.String(), "request bytes")
	}
	cancel := padded(textEnvelope("alice", "alice-pw", `<PerformRequestMsg xmlns="`+nsPartner+`"><Action>cancel</Action><Definitions><Definition xsi:type="Send"><ID>1</ID></Definition></Definitions></PerformRequestMsg>`), 700_000)
	done := make(chan int)
	go func() { done <- do(cancel, false).Code }()
	<-bs.entered // 700 KB held inside the store

	if rec := do(padded(textEnvelope("alice", "alice-pw", performVI), 700_000), false); !isOverload(rec) {
		t.Errorf("700 KB more than the budget: HTTP %d %s", rec.Code, rec.Body.String())
	}
	if rec := do(padded(textEnvelope("alice", "alice-pw", performVI), 700_000), true); !isOverload(rec) {
		t.Errorf("700 KB chunked: HTTP %d %s", rec.Code, rec.Body.String())
	}
	if rec := do(textEnvelope("alice", "alice-pw", performVI), false); rec.Code != 200 {
		t.Errorf("a small request that fits: HTTP %d", rec.Code)
	}
	close(bs.release)
	if code := <-done; code != 200 {
		t.Errorf("the held request: HTTP %d", code)
	}
	// Alone, a body larger than the whole budget is served.
	for _, chunked := range []bool{false, true} {
		if rec := do(padded(textEnvelope("alice", "alice-pw", performVI), 3<<20), chunked); rec.Code != 200 {
			t.Errorf("3 MiB alone (chunked %v): HTTP %d %s", chunked, rec.Code, rec.Body.String())
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://partnerd.test/metrics", nil))
	for _, want := range []string{
		"partnerd_inflight_request_bytes 0",
		"partnerd_inflight_requests 0",
		`partnerd_rejected_requests_total{limit="inflight_bytes"} 2`,
		`partnerd_requests_total{face="soap",operation="unknown",outcome="Throttled"} 2`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(rec.Body.String(), "partnerd_"))
		}
	}
}

type allowAll struct{}

func (allowAll) Authenticate(context.Context, *soap.Envelope) (soap.Principal, error) {
	return soap.Principal{AccountID: 1, Username: "u"}, nil
}

// TestStalledReadersHoldNoSlot is issue 10 defect 5: clients that never
// read their answers held every in-flight slot until --write-timeout. Now
// a request's slot is released once its answer is computed, and the write
// of an answer is bounded by a deadline proportional to its size.
func TestStalledReadersHoldNoSlot(t *testing.T) {
	defer func(g time.Duration) { writeGrace = g }(writeGrace)
	writeGrace = time.Second
	const answerSize = 24 << 20 // more than loopback socket buffers hold
	h := &soap.Handler{Auth: allowAll{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h.Handle("VersionInfo", func(ctx context.Context, r *soap.Request) (*soap.Response, error) {
		return &soap.Response{Status: "OK", Body: []byte(`<VersionInfoResponseMsg xmlns="` + nsPartner + `"><!--` + strings.Repeat("x", answerSize) + `--></VersionInfoResponseMsg>`)}, nil
	})
	h.Handle("Perform", func(ctx context.Context, r *soap.Request) (*soap.Response, error) {
		return &soap.Response{Status: "OK", Body: []byte(`<PerformResponseMsg xmlns="` + nsPartner + `"><OverallStatus>OK</OverallStatus></PerformResponseMsg>`)}, nil
	})
	in := limit.NewInFlight(2)
	srv := httptest.NewUnstartedServer(limitInFlight(h, refusal{refuse: soapFace{h}.Refuse, err: soapFace{h}.OverloadError}, inFlight{count: in, bytes: limit.NewBytes(0), maxBody: 1 << 20, minWriteRate: 8 << 20}, nil))
	srv.Config.WriteTimeout = 10 * time.Minute // the old bound
	srv.Start()
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	body := textEnvelope("u", "p", performVI)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	var lastSent time.Time
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /Service.asmx HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body)
		// The client reads the first bytes of its answer, then stops: the
		// server has begun writing (the answer is computed), and blocks.
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, 12)); err != nil {
			t.Fatalf("stalled client %d: no answer begun: %v", i, err)
		}
		// Each stalled answer gives its slot back: the next one finds room.
		deadline := time.Now().Add(30 * time.Second)
		for in.Current() != 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := in.Current(); n != 0 {
			t.Fatalf("%d slots held by %d clients that do not read", n, i+1)
		}
		lastSent = time.Now() // its write deadline is set by now
	}
	t.Logf("3 stalled clients, slots free after %v", time.Since(start))
	resp, err := http.Post(srv.URL+"/Service.asmx", "text/xml; charset=utf-8",
		strings.NewReader(textEnvelope("u", "p", `<PerformRequestMsg xmlns="`+nsPartner+`"><Action>start</Action></PerformRequestMsg>`)))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("a well-behaved client beside the stalled ones: HTTP %d", resp.StatusCode)
	}

	// The stalled answers' deadline (1s + 24 MiB at 8 MiB/s = 4s) passes;
	// their connections are closed with the answers cut short, instead of
	// waiting out the write timeout.
	time.Sleep(time.Until(lastSent.Add(6 * time.Second)))
	var wg sync.WaitGroup
	got := make([]int64, len(conns))
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			got[i], _ = io.Copy(io.Discard, bufio.NewReader(c))
		}()
	}
	wg.Wait()
	for i, n := range got {
		if n >= answerSize {
			t.Errorf("stalled client %d received its whole answer (%d bytes) after the deadline", i, n)
		}
	}
}
