package loadgen

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	reNonce    = regexp.MustCompile(`<wsse:Nonce[^>]*>([^<]*)</wsse:Nonce>`)
	reCreated  = regexp.MustCompile(`<wsu:Created>([^<]*)</wsu:Created>`)
	rePassword = regexp.MustCompile(`<wsse:Password Type="[^"]*#(\w+)">([^<]*)</wsse:Password>`)
	reUser     = regexp.MustCompile(`<wsse:Username>([^<]*)</wsse:Username>`)
	reID       = regexp.MustCompile(`<ID>(\d+)</ID>`)
)

// fakeAPI is a Partner API endpoint that checks each envelope's token the
// way partnerd does (fresh nonce, recent Created, password or digest) and
// answers according to the first Send ID: 1 OK, 2 a fault, 3 HTTP 503,
// 4 a non-OK result, 5 a dropped connection.
type fakeAPI struct {
	t        *testing.T
	password string
	mu       sync.Mutex
	nonces   map[string]bool
	byID     map[int64]int
	bad      []string // token problems
	nextID   int64
}

func newFakeAPI(t *testing.T, password string) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, password: password, nonces: map[string]bool{}, byID: map[int64]int{}, nextID: 100}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		if _, ok := r.URL.Query()["wsdl"]; ok {
			io.WriteString(w, aWSDL)
			return
		}
		http.NotFound(w, r)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	body := string(raw)
	f.checkToken(body, r.Header.Get("SOAPAction"))

	if strings.Contains(body, "<CreateRequest") {
		n := strings.Count(body, "<Objects ")
		f.mu.Lock()
		var b strings.Builder
		b.WriteString(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><CreateResponse xmlns="http://exacttarget.com/wsdl/partnerAPI">`)
		for range n {
			f.nextID++
			fmt.Fprintf(&b, `<Results><StatusCode>OK</StatusCode><NewID>%d</NewID></Results>`, f.nextID)
		}
		b.WriteString(`<OverallStatus>OK</OverallStatus></CreateResponse></soap:Body></soap:Envelope>`)
		f.mu.Unlock()
		io.WriteString(w, b.String())
		return
	}

	m := reID.FindStringSubmatch(body)
	if m == nil {
		m = regexp.MustCompile(`<Value>(\d+)</Value>`).FindStringSubmatch(body)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	f.mu.Lock()
	f.byID[id]++
	f.mu.Unlock()
	switch id {
	case 2:
		w.WriteHeader(500)
		io.WriteString(w, fault11)
	case 3:
		http.Error(w, "busy", http.StatusServiceUnavailable)
	case 4:
		io.WriteString(w, partly)
	case 5:
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	default:
		if strings.Contains(body, "RetrieveRequestMsg") {
			io.WriteString(w, oneSend)
			return
		}
		io.WriteString(w, okPerform)
	}
}

func (f *fakeAPI) checkToken(body, action string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fail := func(format string, args ...any) { f.bad = append(f.bad, fmt.Sprintf(format, args...)) }
	if action != `"Perform"` && action != `"Retrieve"` && action != `"Create"` {
		fail("SOAPAction %q", action)
	}
	nonce, created, pw, user := reNonce.FindStringSubmatch(body), reCreated.FindStringSubmatch(body), rePassword.FindStringSubmatch(body), reUser.FindStringSubmatch(body)
	if nonce == nil || created == nil || pw == nil || user == nil {
		fail("incomplete token: %s", body)
		return
	}
	if user[1] != wireUser {
		fail("username %q", user[1])
	}
	if f.nonces[nonce[1]] {
		fail("nonce %s replayed", nonce[1])
	}
	f.nonces[nonce[1]] = true
	c, err := time.Parse(time.RFC3339Nano, created[1])
	if err != nil || time.Since(c) > time.Minute || time.Until(c) > time.Second {
		fail("Created %q", created[1])
	}
	switch pw[1] {
	case "PasswordText":
		if pw[2] != wirePass {
			fail("password %q", pw[2])
		}
	case "PasswordDigest":
		raw, _ := base64.StdEncoding.DecodeString(nonce[1])
		h := sha1.Sum([]byte(string(raw) + created[1] + f.password))
		if base64.StdEncoding.EncodeToString(h[:]) != pw[2] {
			fail("digest mismatch")
		}
	default:
		fail("password type %s", pw[1])
	}
}

// The escaped forms of the test credentials, as they appear on the wire.
const (
	wireUser = "bench&amp;co"
	wirePass = "p&amp;ss&lt;"
)

func TestRunClassifiesEveryAnswer(t *testing.T) {
	for _, digest := range []bool{false, true} {
		t.Run(fmt.Sprintf("digest=%v", digest), func(t *testing.T) {
			f, srv := newFakeAPI(t, "p&ss<")
			res, err := Run(context.Background(), Config{
				URL: srv.URL, Creds: Credentials{Username: "bench&co", Password: "p&ss<", Digest: digest},
				Workload: Cancel, Concurrency: 4, Requests: 300,
				IDs: IDs{List: []int64{1, 2, 3, 4, 5}},
			})
			if err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, b := range f.bad {
				t.Error(b)
			}
			if res.Requests != 300 {
				t.Errorf("Requests = %d, want exactly 300", res.Requests)
			}
			want := map[Kind]int64{KindFault: int64(f.byID[2]), KindHTTPStatus: int64(f.byID[3]), KindNotOK: int64(f.byID[4]), KindTransport: int64(f.byID[5])}
			for k, n := range want {
				if res.ErrorsByKind[k] != n {
					t.Errorf("%s errors = %d, server saw %d such requests", k, res.ErrorsByKind[k], n)
				}
			}
			if res.OK != int64(f.byID[1]) || res.OK+res.Errors != res.Requests {
				t.Errorf("OK %d, errors %d of %d; server answered %d OK", res.OK, res.Errors, res.Requests, f.byID[1])
			}
			if s := res.ErrorSamples[KindFault]; len(s) == 0 || s[0].Detail != "Login failed" {
				t.Errorf("fault samples %+v", s)
			}
			if res.Histogram().Count() != res.Requests || res.Latency.Max < res.Latency.P50 {
				t.Errorf("latency %+v over %d samples", res.Latency, res.Histogram().Count())
			}
		})
	}
}

func TestRunWorkloads(t *testing.T) {
	_, srv := newFakeAPI(t, "p&ss<")
	creds := Credentials{Username: "bench&co", Password: "p&ss<"}
	ids, err := Prepare(context.Background(), nil, srv.URL, creds, 1234)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1234 || ids[0] != 101 || ids[len(ids)-1] != 1334 {
		t.Fatalf("Prepare: %d IDs, %d … %d", len(ids), ids[0], ids[len(ids)-1])
	}
	for _, w := range Workloads {
		if restWorkload(w) {
			continue // TestRESTWorkloads
		}
		t.Run(string(w), func(t *testing.T) {
			res, err := Run(context.Background(), Config{
				URL: srv.URL, Creds: creds, Workload: w, Concurrency: 3, Requests: 50,
				IDs: IDs{List: ids}, BatchSize: 10,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != 50 || res.Errors != 0 {
				t.Fatalf("%d requests, %d errors: %+v", res.Requests, res.Errors, res.ErrorSamples)
			}
			switch w {
			case CancelBatch:
				if res.DefinitionsPerSec != res.OKPerSec*10 {
					t.Errorf("definitions/s %v, requests/s %v", res.DefinitionsPerSec, res.OKPerSec)
				}
			case WSDL, Retrieve:
				if res.DefinitionsPerSec != 0 {
					t.Errorf("definitions/s %v for %s", res.DefinitionsPerSec, w)
				}
			}
		})
	}
}

func TestCancelBatchEnvelope(t *testing.T) {
	e := newEnvelopeWriterSeeded(Credentials{Username: "bench&co", Password: "p&ss<"}, [32]byte{})
	body := string(e.Cancel([]int64{7, 8, 9}))
	if n := strings.Count(body, `<Definition xsi:type="Send"><ID>`); n != 3 {
		t.Errorf("%d Definitions in %s", n, body)
	}
	if !strings.Contains(body, wireUser) || !strings.Contains(body, wirePass) {
		t.Errorf("credentials not escaped: %s", body)
	}
	first := reNonce.FindStringSubmatch(body)[1]
	if again := reNonce.FindStringSubmatch(string(e.Cancel([]int64{7})))[1]; again == first {
		t.Errorf("nonce %s repeated", first)
	}
}

func TestRateAndDuration(t *testing.T) {
	_, srv := newFakeAPI(t, "p&ss<")
	const rate, dur, warm = 200.0, 300 * time.Millisecond, 100 * time.Millisecond
	res, err := Run(context.Background(), Config{
		URL: srv.URL, Creds: Credentials{Username: "bench&co", Password: "p&ss<"},
		Workload: Cancel, Concurrency: 4, Duration: dur, Warmup: warm, Rate: rate,
		IDs: IDs{Lo: 1, Hi: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The schedule has no more slots than rate × (warm-up + duration);
	// however slow the machine, the run cannot exceed it.
	if limit := int64(rate*(dur+warm).Seconds()) + 1; res.Requests <= 0 || res.Requests > limit {
		t.Errorf("%d requests, want 1..%d", res.Requests, limit)
	}
	if res.Errors != 0 || res.Rate != rate {
		t.Errorf("errors %d, rate %v", res.Errors, res.Rate)
	}
}

func TestRunTransportFailure(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	res, err := Run(context.Background(), Config{URL: url, Workload: WSDL, Concurrency: 2, Requests: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.ErrorsByKind[KindTransport] != 5 || res.OK != 0 {
		t.Errorf("errors %+v", res.ErrorsByKind)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Workload: Cancel, Concurrency: 1, Requests: 1, IDs: IDs{Lo: 1, Hi: 1}, Creds: Credentials{Username: "u"}},
		{URL: "http://x", Workload: "dance", Concurrency: 1, Requests: 1},
		{URL: "http://x", Workload: Cancel, Concurrency: 1, Requests: 1, Creds: Credentials{Username: "u"}},
		{URL: "http://x", Workload: WSDL, Concurrency: 0, Requests: 1},
		{URL: "http://x", Workload: WSDL, Concurrency: 1},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("Run(%+v) did not fail", c)
		}
	}
}
