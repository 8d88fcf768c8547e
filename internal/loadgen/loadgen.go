// Package loadgen is partnerd's load generator: it drives any Partner API
// endpoint (partnerd, or the baselines it is compared with) with N
// keep-alive clients, each request a fresh valid envelope (its own Nonce and
// Created, PasswordText or PasswordDigest), checks every answer, and reports
// throughput, latency percentiles and errors by kind. `partnerd bench` is
// its command line; bench/compare runs it against each server.
package loadgen

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Workload is what each request does.
type Workload string

// The workloads.
const (
	// Cancel: Perform cancel of one Send per request.
	Cancel Workload = "cancel"
	// CancelBatch: Perform cancel of BatchSize Sends per request.
	CancelBatch Workload = "cancel-batch"
	// Retrieve: Retrieve one Send by ID.
	Retrieve Workload = "retrieve"
	// WSDL: GET ?wsdl.
	WSDL Workload = "wsdl"
	// Create: Create of one Send per request, due in an hour, with an
	// inline Email (Subject, TextBody) and one Subscriber: what sg-send's
	// one personalization carries.
	Create Workload = "create"
	// PauseResume: Perform pause of one Send, then on the next request
	// resume of it; each client cycles over Sends of its own, so every
	// request changes a send (cancel's steady state repeats a cancel that
	// already took effect, and writes nothing). The SOAP twin of sg-hold.
	PauseResume Workload = "pause-resume"
)

// Workloads lists every workload.
var Workloads = []Workload{Cancel, CancelBatch, Retrieve, WSDL, Create, PauseResume, SGSend, SGHold}

// DefaultBatchSize is the number of Definitions in a cancel-batch request.
const DefaultBatchSize = 100

// IDs is the set of Send IDs requests draw from: List when it is not empty
// (IDs returned by Prepare), otherwise the range [Lo, Hi] (a store loaded
// by other means). Send IDs are positive, so the zero IDs is empty.
type IDs struct {
	List   []int64
	Lo, Hi int64
}

// Len returns the number of IDs.
func (s IDs) Len() int64 {
	if len(s.List) > 0 {
		return int64(len(s.List))
	}
	if s.Lo <= 0 || s.Hi < s.Lo {
		return 0
	}
	return s.Hi - s.Lo + 1
}

// At returns the i-th ID, 0 <= i < Len().
func (s IDs) At(i int64) int64 {
	if len(s.List) > 0 {
		return s.List[i]
	}
	return s.Lo + i
}

// Config describes one run.
type Config struct {
	// URL is the SOAP endpoint, e.g. http://127.0.0.1:8080/Service.asmx.
	URL   string
	Creds Credentials
	// Workload is what each request does.
	Workload Workload
	// Concurrency is the number of clients, each with its own keep-alive
	// connection and at most one request in flight.
	Concurrency int
	// Duration bounds the measured run; Requests bounds it by count
	// instead. At least one must be set; with both, the first reached
	// ends the run.
	Duration time.Duration
	Requests int64
	// Warmup runs the load this long before measuring starts, so that
	// connection set-up, pools and caches are not in the figures.
	Warmup time.Duration
	// Rate caps the request rate (requests per second, all clients
	// together) on a fixed schedule; 0 sends as fast as answers come.
	// With a rate, latency is measured from each request's scheduled
	// time, not from when it was sent, so that a server which stalls
	// cannot hide the requests it delayed (coordinated omission).
	Rate float64
	// IDs are the Sends that cancel, cancel-batch and retrieve use.
	IDs IDs
	// BatchSize is the number of Definitions per cancel-batch request
	// (default DefaultBatchSize).
	BatchSize int
	// Timeout bounds one request (default 30s).
	Timeout time.Duration
	// APIKey authenticates the SendGrid v3 workloads (sg-send, sg-hold),
	// which are served at URL's scheme and host.
	APIKey string
	// Batches are the batch IDs sg-hold pauses and resumes
	// (PrepareBatches); each client takes its own share.
	Batches []string
	// Progress, when set, receives a line each second.
	Progress io.Writer
	// Client overrides the HTTP client (tests).
	Client *http.Client
}

// Result is the outcome of a run.
type Result struct {
	URL         string  `json:"url"`
	Workload    string  `json:"workload"`
	Concurrency int     `json:"concurrency"`
	Digest      bool    `json:"digest"`
	Rate        float64 `json:"target_rate,omitempty"`
	BatchSize   int     `json:"batch_size,omitempty"`
	// Seconds is the measured wall time.
	Seconds  float64 `json:"seconds"`
	Requests int64   `json:"requests"`
	OK       int64   `json:"ok"`
	Errors   int64   `json:"errors"`
	// RequestsPerSec counts every answered request, failed ones too;
	// OKPerSec only the successful ones.
	RequestsPerSec float64 `json:"requests_per_sec"`
	OKPerSec       float64 `json:"ok_per_sec"`
	// DefinitionsPerSec is the Sends canceled per second (cancel,
	// cancel-batch), successful requests only.
	DefinitionsPerSec float64 `json:"definitions_per_sec,omitempty"`
	Latency           Latency `json:"latency_ms"`
	// ErrorsByKind counts failed requests by Kind; ErrorSamples holds
	// the most frequent details of each kind.
	ErrorsByKind map[Kind]int64    `json:"errors_by_kind"`
	ErrorSamples map[Kind][]Sample `json:"error_samples,omitempty"`

	hist Histogram
}

// Latency is a latency summary in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// Sample is one error detail and how often it occurred.
type Sample struct {
	Detail string `json:"detail"`
	Count  int64  `json:"count"`
}

// Histogram returns the latency histogram of the measured requests.
func (r *Result) Histogram() *Histogram { return &r.hist }

func (c *Config) validate() error {
	if c.URL == "" {
		return errors.New("loadgen: no URL")
	}
	switch c.Workload {
	case Cancel, CancelBatch, Retrieve, PauseResume:
		if c.IDs.Len() == 0 {
			return fmt.Errorf("loadgen: workload %s needs Send IDs (prepare some, or give a range)", c.Workload)
		}
		if c.Creds.Username == "" {
			return fmt.Errorf("loadgen: workload %s needs a username", c.Workload)
		}
	case Create:
		if c.Creds.Username == "" {
			return fmt.Errorf("loadgen: workload %s needs a username", c.Workload)
		}
	case SGSend, SGHold:
		if c.APIKey == "" {
			return fmt.Errorf("loadgen: workload %s needs an API key", c.Workload)
		}
		if _, err := restBase(c.URL); err != nil {
			return err
		}
		if c.Workload == SGHold && len(c.Batches) < c.Concurrency {
			return fmt.Errorf("loadgen: workload %s needs at least one batch per client (%d batches, %d clients)", c.Workload, len(c.Batches), c.Concurrency)
		}
	case WSDL:
	default:
		return fmt.Errorf("loadgen: unknown workload %q (want cancel, cancel-batch, retrieve, wsdl, create, sg-send or sg-hold)", c.Workload)
	}
	if c.Concurrency <= 0 {
		return errors.New("loadgen: concurrency must be positive")
	}
	if c.Duration <= 0 && c.Requests <= 0 {
		return errors.New("loadgen: give a duration or a request count")
	}
	if c.Rate < 0 {
		return errors.New("loadgen: negative rate")
	}
	return nil
}

// NewClient returns an HTTP client keeping up to n connections alive to one
// host, one per generator client, so that every request rides an
// established connection as a legacy client's pooled proxy would.
func NewClient(n int, timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil, // never measure a proxy by accident
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        n,
			MaxIdleConnsPerHost: n,
			MaxConnsPerHost:     n,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}

// run is the shared state of one Run.
type run struct {
	cfg      Config
	client   *http.Client
	wsdlURL  string
	measure  time.Time // when measuring starts (after the warm-up)
	deadline time.Time // zero without a Duration
	tickets  atomic.Int64
	slots    atomic.Int64 // next schedule slot, with a Rate
	interval time.Duration
	answered atomic.Int64 // every answer, warm-up included, for progress
	failed   atomic.Int64 // measured failures, for progress
}

// worker is one client.
type worker struct {
	r       *run
	env     *EnvelopeWriter
	rng     *rand.Rand
	body    bytes.Buffer
	ids     []int64
	rest    *restState // the REST workloads' state
	own     *ownState  // pause-resume's Sends
	created int64      // create's requests so far, numbering recipients
	hist    Histogram
	errs    map[Kind]map[string]int64
	ok      int64
	n       int64
}

// Run drives the endpoint as cfg says and returns the figures. It returns
// an error only when the run could not happen (bad configuration, ctx
// canceled before the end); failed requests are counted in the Result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	r := &run{cfg: cfg, client: cfg.Client}
	if r.client == nil {
		r.client = NewClient(cfg.Concurrency, cfg.Timeout)
		defer r.client.CloseIdleConnections()
	}
	r.wsdlURL = wsdlURL(cfg.URL)
	if cfg.Rate > 0 {
		r.interval = time.Duration(float64(time.Second) / cfg.Rate)
	}

	start := time.Now()
	r.measure = start.Add(cfg.Warmup)
	if cfg.Duration > 0 {
		r.deadline = r.measure.Add(cfg.Duration)
	}

	workers := make([]*worker, cfg.Concurrency)
	for i := range workers {
		workers[i] = &worker{
			r:    r,
			env:  NewEnvelopeWriter(cfg.Creds),
			rng:  rand.New(rand.NewPCG(uint64(i)+1, uint64(start.UnixNano()))),
			errs: make(map[Kind]map[string]int64),
		}
		if cfg.Workload == PauseResume {
			st := &ownState{}
			for j := int64(i); j < cfg.IDs.Len(); j += int64(cfg.Concurrency) {
				st.ids = append(st.ids, cfg.IDs.At(j))
			}
			st.paused = make([]bool, len(st.ids))
			workers[i].own = st
		}
		if restWorkload(cfg.Workload) {
			base, _ := restBase(cfg.URL) // validated
			st := &restState{base: base}
			for j := i; j < len(cfg.Batches); j += cfg.Concurrency {
				st.batches = append(st.batches, cfg.Batches[j])
			}
			st.paused = make([]bool, len(st.batches))
			workers[i].rest = st
		}
	}

	stopProgress := r.progress(ctx)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx)
		}()
	}
	wg.Wait()
	end := time.Now()
	stopProgress()

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("loadgen: run interrupted: %w", err)
	}

	res := &Result{
		URL: cfg.URL, Workload: string(cfg.Workload), Concurrency: cfg.Concurrency,
		Digest: cfg.Creds.Digest, Rate: cfg.Rate,
		ErrorsByKind: make(map[Kind]int64),
	}
	if cfg.Workload == CancelBatch {
		res.BatchSize = cfg.BatchSize
	}
	samples := make(map[Kind]map[string]int64)
	for _, w := range workers {
		res.hist.Merge(&w.hist)
		res.Requests += w.n
		res.OK += w.ok
		for k, m := range w.errs {
			if samples[k] == nil {
				samples[k] = make(map[string]int64)
			}
			for d, n := range m {
				samples[k][d] += n
				res.ErrorsByKind[k] += n
			}
		}
	}
	for _, k := range Kinds {
		if _, ok := res.ErrorsByKind[k]; !ok {
			res.ErrorsByKind[k] = 0
		}
	}
	res.ErrorSamples = topSamples(samples, 5)
	res.Errors = res.Requests - res.OK
	if end.After(r.measure) {
		res.Seconds = end.Sub(r.measure).Seconds()
	}
	if res.Seconds > 0 {
		res.RequestsPerSec = float64(res.Requests) / res.Seconds
		res.OKPerSec = float64(res.OK) / res.Seconds
		switch cfg.Workload {
		case Cancel:
			res.DefinitionsPerSec = res.OKPerSec
		case CancelBatch:
			res.DefinitionsPerSec = res.OKPerSec * float64(cfg.BatchSize)
		}
	}
	h := &res.hist
	res.Latency = Latency{
		Mean: ms(h.Mean()), P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)),
		P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)), Max: ms(h.Max()),
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// wsdlURL is the endpoint with a ?wsdl query, as every Partner API client
// fetches the service description.
func wsdlURL(endpoint string) string {
	if strings.Contains(endpoint, "?") {
		return endpoint + "&wsdl"
	}
	return endpoint + "?wsdl"
}

// loop sends requests until the run ends.
func (w *worker) loop(ctx context.Context) {
	r := w.r
	for ctx.Err() == nil {
		// The schedule slot (with a Rate) comes first: a request is
		// measured from the time it was due.
		var due time.Time
		if r.interval > 0 {
			slot := r.slots.Add(1) - 1
			due = r.schedStart().Add(time.Duration(slot) * r.interval)
			if !r.deadline.IsZero() && !due.Before(r.deadline) {
				return
			}
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		}
		now := time.Now()
		if !r.deadline.IsZero() && !now.Before(r.deadline) {
			return
		}
		measured := !now.Before(r.measure)
		if measured && r.cfg.Requests > 0 && r.tickets.Add(1) > r.cfg.Requests {
			return
		}
		start := now
		if !due.IsZero() && due.After(r.measure) {
			start = due
		}
		p := w.do(ctx)
		if ctx.Err() != nil {
			return // an interrupted request is no answer from the server
		}
		r.answered.Add(1)
		if !measured {
			continue
		}
		w.hist.Record(time.Since(start))
		w.n++
		if p == nil {
			w.ok++
			continue
		}
		r.failed.Add(1)
		m := w.errs[p.Kind]
		if m == nil {
			m = make(map[string]int64)
			w.errs[p.Kind] = m
		}
		m[p.Detail]++
	}
}

// schedStart is when slot 0 of a rate-limited run is due: the start of the
// warm-up, so that the schedule runs on across the measuring boundary.
func (r *run) schedStart() time.Time { return r.measure.Add(-r.cfg.Warmup) }

// pick returns n IDs starting at a random position of the ID set (wrapping
// around), so that requests spread over the whole store as a migration
// replay would, rather than walking the few pages a sequential scan touches.
func (w *worker) pick(n int) []int64 {
	set := w.r.cfg.IDs
	total := set.Len()
	w.ids = w.ids[:0]
	at := w.rng.Int64N(total)
	for range n {
		w.ids = append(w.ids, set.At(at))
		if at++; at == total {
			at = 0
		}
	}
	return w.ids
}

// do sends one request and judges its answer.
func (w *worker) do(ctx context.Context) *Problem {
	cfg := &w.r.cfg
	if w.rest != nil {
		return w.doREST(ctx)
	}
	var req *http.Request
	var err error
	switch cfg.Workload {
	case WSDL:
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, w.r.wsdlURL, nil)
	default:
		var body []byte
		action := "Perform"
		switch cfg.Workload {
		case Cancel:
			body = w.env.Cancel(w.pick(1))
		case CancelBatch:
			body = w.env.Cancel(w.pick(cfg.BatchSize))
		case Retrieve:
			body = w.env.Retrieve(w.pick(1)[0])
			action = "Retrieve"
		case Create:
			w.created++
			body = w.env.CreateMail(w.created, time.Now().Add(time.Hour))
			action = "Create"
		case PauseResume:
			return w.pauseResume(ctx)
		}
		req, err = soapRequest(ctx, cfg.URL, action, body)
	}
	status, answer, p := w.sendChecked(req, err)
	if p != nil {
		return p
	}
	return Check(cfg.Workload, status, answer)
}

func soapRequest(ctx context.Context, url, action string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header["Content-Type"] = []string{"text/xml; charset=utf-8"}
	req.Header["SOAPAction"] = []string{`"` + action + `"`}
	return req, nil
}

// send performs req and reads the whole answer into the worker's buffer:
// reading to EOF is what lets the connection be reused.
func (w *worker) send(req *http.Request) (int, []byte, error) {
	resp, err := w.r.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	w.body.Reset()
	if _, err := w.body.ReadFrom(resp.Body); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, w.body.Bytes(), nil
}

// transportDetail shortens a transport error to what it says about the
// server, without the URL every error repeats.
func transportDetail(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			err = inner
		}
	}
	return cut(err.Error(), 100)
}

// progress prints a line each second until the returned function is
// called.
func (r *run) progress(ctx context.Context) func() {
	if r.cfg.Progress == nil {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				n := r.answered.Load()
				phase := "run"
				if now.Before(r.measure) {
					phase = "warm-up"
				}
				fmt.Fprintf(r.cfg.Progress, "%7.1fs %-7s %9d answers %8d/s  %d errors\n",
					now.Sub(r.schedStart()).Seconds(), phase, n, n-last, r.failed.Load())
				last = n
			}
		}
	}()
	return func() { close(stop); <-done }
}

// topSamples keeps the n most frequent details of each kind.
func topSamples(m map[Kind]map[string]int64, n int) map[Kind][]Sample {
	out := make(map[Kind][]Sample)
	for k, details := range m {
		var s []Sample
		for d, c := range details {
			s = append(s, Sample{d, c})
		}
		// Most frequent first; ties by detail, so reports are stable.
		slices.SortFunc(s, func(a, b Sample) int {
			if c := cmp.Compare(b.Count, a.Count); c != 0 {
				return c
			}
			return strings.Compare(a.Detail, b.Detail)
		})
		if len(s) > n {
			s = s[:n]
		}
		out[k] = s
	}
	return out
}

// ownState is one pause-resume client's Sends and whether each is paused.
type ownState struct {
	ids    []int64
	paused []bool
	next   int
}

// pauseResume pauses the client's next Send, or resumes it if paused.
func (w *worker) pauseResume(ctx context.Context) *Problem {
	st := w.own
	if len(st.ids) == 0 {
		return &Problem{KindNotOK, "this client has no Send (give more IDs than clients)"}
	}
	i := st.next
	st.next = (i + 1) % len(st.ids)
	action := "pause"
	if st.paused[i] {
		action = "resume"
	}
	req, err := soapRequest(ctx, w.r.cfg.URL, "Perform", w.env.Perform(action, []int64{st.ids[i]}))
	status, answer, p := w.sendChecked(req, err)
	if p == nil {
		p = Check(PauseResume, status, answer)
	}
	if p == nil {
		st.paused[i] = !st.paused[i]
	}
	return p
}
