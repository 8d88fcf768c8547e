// Package metrics is partnerd's Prometheus collectors: requests of every
// face, logins, overload refusals, store commits and sends, registered
// on a Registry of their own (so that tests may build many servers in one
// process) and served by Handler.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/partnerd/partnerd/store"
)

// Metrics holds partnerd's collectors. Its methods are safe for concurrent
// use; a nil *Metrics records nothing.
type Metrics struct {
	Registry *prometheus.Registry

	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
	rejected     *prometheus.CounterVec
	update       *prometheus.HistogramVec
	credentials  *prometheus.CounterVec
}

// Buckets for request and commit latency: a commit with synchronous=FULL
// costs a few milliseconds on a disk, a Retrieve of 2,500 sends some
// hundreds.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New returns the collectors, registered with the Go runtime and process
// collectors on a fresh Registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "partnerd_requests_total",
			Help: "Requests by face (soap, ops, admin …), operation and outcome (the face's own: an OverallStatus or Fault for SOAP, the HTTP status for others; Throttled when refused by a limit).",
		}, []string{"face", "operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "partnerd_request_duration_seconds",
			Help:    "Time from receiving a request to writing its response, by face and operation.",
			Buckets: latencyBuckets,
		}, []string{"face", "operation"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "partnerd_auth_failures_total",
			Help: "Failed logins by reason (the client is only ever told \"Login failed\").",
		}, []string{"reason"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "partnerd_rejected_requests_total",
			Help: "Requests refused by a limit: inflight, inflight_bytes, account_rate, login_throttle or hashing.",
		}, []string{"limit"}),
		update: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "partnerd_store_update_duration_seconds",
			Help:    "Duration of store write transactions up to their durable commit, by result (ok or error).",
			Buckets: latencyBuckets,
		}, []string{"result"}),
		// One series per credential that made a request: as many as
		// operators created (users, API keys), never one per client input,
		// since only logged-in requests are counted.
		credentials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "partnerd_credential_requests_total",
			Help: "Requests that logged in, by account, credential kind (user, apikey) and credential (username or API key ID): which of an account's credentials is busy.",
		}, []string{"account", "kind", "credential"}),
	}
	m.Registry.MustRegister(m.requests, m.duration, m.authFailures, m.rejected, m.update, m.credentials,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format. A collector
// that fails (the store did not answer) is reported and left out; the
// others are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveRequest counts one request served by face. operation is "" when
// the request could not be read far enough to know it.
func (m *Metrics) ObserveRequest(face, operation, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	if operation == "" {
		operation = "unknown"
	}
	m.requests.WithLabelValues(face, operation, outcome).Inc()
	m.duration.WithLabelValues(face, operation).Observe(d.Seconds())
}

// ObserveCredential counts one request that logged in with credential
// name of kind (never its secret) for account.
func (m *Metrics) ObserveCredential(account, kind, name string) {
	if m == nil || name == "" {
		return
	}
	m.credentials.WithLabelValues(account, kind, name).Inc()
}

// AuthFailure counts one failed login.
func (m *Metrics) AuthFailure(reason string) {
	if m == nil {
		return
	}
	m.authFailures.WithLabelValues(reason).Inc()
}

// Rejected counts one request refused by a limit.
func (m *Metrics) Rejected(limit string) {
	if m == nil {
		return
	}
	m.rejected.WithLabelValues(limit).Inc()
}

// GaugeFunc registers a gauge read at scrape time, such as the number of
// requests in flight.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// InstrumentStore returns st with its Update timed. Only Update is wrapped:
// it is where every durable commit happens.
func (m *Metrics) InstrumentStore(st store.Store) store.Store {
	if m == nil {
		return st
	}
	return instrumentedStore{Store: st, update: m.update}
}

type instrumentedStore struct {
	store.Store
	update *prometheus.HistogramVec
}

func (s instrumentedStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	start := time.Now()
	err := s.Store.Update(ctx, fn)
	result := "ok"
	if err != nil {
		result = "error"
	}
	s.update.WithLabelValues(result).Observe(time.Since(start).Seconds())
	return err
}

// SendCounter counts sends by status cheaply (one grouped query).
type SendCounter interface {
	CountSendsByStatus(ctx context.Context) (map[store.SendStatus]int64, error)
}

// WatchSends registers partnerd_sends{status}, counted by c at scrape
// time; every status is reported, zero included, so that a series does not
// vanish when its last send changes status.
func (m *Metrics) WatchSends(c SendCounter) {
	if m == nil || c == nil {
		return
	}
	m.Registry.MustRegister(&sendCollector{counter: c, desc: prometheus.NewDesc(
		"partnerd_sends", "Sends in the store by status.", []string{"status"}, nil)})
}

// scrapeTimeout bounds the store query of one scrape, so that a locked
// store slows the scrape rather than hanging it.
const scrapeTimeout = 2 * time.Second

var allStatuses = []store.SendStatus{store.StatusScheduled, store.StatusPaused, store.StatusCanceled,
	store.StatusSending, store.StatusComplete, store.StatusExpired, store.StatusError}

type sendCollector struct {
	counter SendCounter
	desc    *prometheus.Desc
}

func (c *sendCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *sendCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	counts, err := c.counter.CountSendsByStatus(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	seen := map[store.SendStatus]bool{}
	for _, s := range allStatuses {
		seen[s] = true
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
	for s, n := range counts {
		if !seen[s] {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), string(s))
		}
	}
}
