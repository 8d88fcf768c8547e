package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

type fakeCounter struct {
	counts map[store.SendStatus]int64
	err    error
}

func (f fakeCounter) CountSendsByStatus(context.Context) (map[store.SendStatus]int64, error) {
	return f.counts, f.err
}

// updateOnly is a store.Store whose Update runs fn without a transaction;
// the embedded nil Store panics if anything else is called.
type updateOnly struct{ store.Store }

func (updateOnly) Update(ctx context.Context, fn func(store.Tx) error) error { return fn(nil) }

func scrape(t *testing.T, m *Metrics) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, string(body)
}

func TestMetrics(t *testing.T) {
	m := New()
	m.ObserveRequest("soap", "Perform", "OK", 3*time.Millisecond)
	m.ObserveRequest("soap", "", "Fault", time.Millisecond)
	m.ObserveRequest("admin", "Perform", "200", time.Millisecond) // same operation name, another face: its own series
	m.AuthFailure("bad_password")
	m.Rejected("inflight")
	m.GaugeFunc("partnerd_test_gauge", "a gauge", func() float64 { return 7 })
	m.WatchSends(fakeCounter{counts: map[store.SendStatus]int64{store.StatusScheduled: 3, "Archived": 1}})
	st := m.InstrumentStore(updateOnly{})
	st.Update(context.Background(), func(store.Tx) error { return nil })
	st.Update(context.Background(), func(store.Tx) error { return errors.New("no") })

	code, body := scrape(t, m)
	if code != 200 {
		t.Fatalf("HTTP %d", code)
	}
	for _, want := range []string{
		`partnerd_requests_total{face="soap",operation="Perform",outcome="OK"} 1`,
		`partnerd_requests_total{face="soap",operation="unknown",outcome="Fault"} 1`,
		`partnerd_requests_total{face="admin",operation="Perform",outcome="200"} 1`,
		`partnerd_request_duration_seconds_count{face="admin",operation="Perform"} 1`,
		`partnerd_request_duration_seconds_bucket{face="soap",operation="Perform",le="0.005"} 1`,
		`partnerd_auth_failures_total{reason="bad_password"} 1`,
		`partnerd_rejected_requests_total{limit="inflight"} 1`,
		`partnerd_test_gauge 7`,
		`partnerd_sends{status="Scheduled"} 3`,
		`partnerd_sends{status="Expired"} 0`,
		`partnerd_sends{status="Archived"} 1`,
		`partnerd_store_update_duration_seconds_count{result="ok"} 1`,
		`partnerd_store_update_duration_seconds_count{result="error"} 1`,
		`process_cpu_seconds_total`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A store that fails leaves partnerd_sends out of the scrape; the rest is
// still served.
func TestMetricsStoreDown(t *testing.T) {
	m := New()
	m.WatchSends(fakeCounter{err: errors.New("database is locked")})
	m.ObserveRequest("soap", "Perform", "OK", time.Millisecond)
	code, body := scrape(t, m)
	if code != 200 || !strings.Contains(body, `partnerd_requests_total{face="soap",operation="Perform",outcome="OK"} 1`) || strings.Contains(body, "partnerd_sends{") {
		t.Fatalf("HTTP %d:\n%s", code, body)
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.ObserveRequest("soap", "Perform", "OK", 0)
	m.AuthFailure("x")
	m.Rejected("x")
	m.GaugeFunc("x", "x", func() float64 { return 0 })
	m.WatchSends(fakeCounter{})
	if st := m.InstrumentStore(updateOnly{}); st == nil {
		t.Fatal("InstrumentStore on nil Metrics lost the store")
	}
}
