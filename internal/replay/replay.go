// Package replay sends recorded requests to a running partnerd (or any
// server speaking its faces) in order, and prints each answer or compares
// it with the recorded one: `partnerd replay`.
//
// Requests come as bare SOAP envelopes (FILE.xml), recorded REST requests
// (FILE.json), golden cases in the format of the project's own tests
// (NAME.txt, testdata/golden/README.md; package goldencase) or a directory
// of them. Their placeholders ({{NOW}}, {{DIGEST:pw}}, {{JSON:name}} …)
// are filled as the golden harness fills them, against the server's clock.
// A golden case that moves the clock (advance=, a clock line) needs the
// manual clock's admin endpoint (Admin); without one replay says so and
// stops that case rather than send requests whose answers cannot match.
//
// Answers are recorded as a .golden file records them (goldencase.Record),
// GUIDs and the SendGrid face's IDs numbered in order of appearance, so
// the expected answers of a golden case are its NAME.golden.
package replay

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/partnerd/partnerd/internal/goldencase"
)

// Options say where and how to replay.
type Options struct {
	// URL is the server's base URL (http://127.0.0.1:8080). A bare
	// envelope is posted to its path, or DefaultSOAPPath when it has none
	// (Load takes that path); other requests name their own paths.
	URL    string
	Client *http.Client
	// Host, when set, is the Host header of every request; a golden case
	// otherwise names goldencase.Host, the host its answers record.
	Host string
	// Admin, when set, is the manual clock's admin endpoint: a golden case
	// starts from its clock (goldencase.Start and its clock lines) and
	// advance= moves it.
	Admin *Admin
	// Refresh gives every UsernameToken a fresh Nonce and Created (and
	// wsu:Timestamp a fresh Created and Expires) at the server's time, so
	// that a recorded envelope passes the replay and freshness checks
	// again. A PasswordDigest is recomputed with Password; without it a
	// digest token is sent as recorded (its Nonce and Created too, since
	// the digest covers them).
	Refresh  bool
	Password string
	// Expect, when set, is the directory of the expected answers:
	// NAME.golden for each source NAME.*; each answer is compared with
	// its recorded one after Normalize. Without it the answers are
	// printed, and an answer that is not 2xx is a failure.
	Expect    string
	Normalize Normalization
	// RecordTo, when set, is a directory where each source's answers are
	// written as NAME.golden (IDs numbered): expectations for a later run.
	RecordTo string
	// Setup applies a golden case's set-up lines other than clock lines
	// (accounts, sends, keys …), which no HTTP request can; nil leaves
	// them unapplied, with a note in Log.
	Setup func(line string) error
	// Out receives the answers (or the differences); Log the notes.
	Out, Log io.Writer
}

// FailureKind is why a request of a replay failed.
type FailureKind string

// Failure kinds.
const (
	Unreachable FailureKind = "unreachable" // the request could not be sent or answered
	BadStatus   FailureKind = "status"      // an answer that is not 2xx (without Expect)
	Different   FailureKind = "difference"  // an answer unlike the recorded one
	NoClock     FailureKind = "clock"       // the case moves the clock and replay cannot
	NoExpected  FailureKind = "expected"    // no recorded answer to compare with
	BadRequest  FailureKind = "request"     // a placeholder or set-up line that cannot be filled
)

// Failure is one thing that went wrong, explained in one line.
type Failure struct {
	Source string
	// Request counts from 1; 0 is the source as a whole.
	Request int
	Kind    FailureKind
	Detail  string
}

func (f Failure) String() string {
	if f.Request == 0 {
		return fmt.Sprintf("%s: %s: %s", f.Source, f.Kind, f.Detail)
	}
	return fmt.Sprintf("%s: request %d: %s: %s", f.Source, f.Request, f.Kind, f.Detail)
}

// Report sums up a replay.
type Report struct {
	Sources, Requests int
	Failures          []Failure
}

// Run replays the sources in order, each on its own numbering and
// placeholder state. A source stops at its first failure to send or to
// move the clock; an answer that differs does not stop it.
func Run(ctx context.Context, opts Options, sources []Source) Report {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	var rep Report
	for _, src := range sources {
		rep.Sources++
		r := runner{opts: opts, src: src, rep: &rep}
		r.run(ctx)
	}
	return rep
}

type runner struct {
	opts Options
	src  Source
	rep  *Report
	now  time.Time
}

func (r *runner) fail(n int, kind FailureKind, format string, args ...any) {
	r.rep.Failures = append(r.rep.Failures, Failure{Source: r.src.Path, Request: n, Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

// clockOf is the server's time for the next request: the admin clock's
// as last set or read, or the wall clock's without an admin endpoint.
func (r *runner) clockOf() time.Time {
	if r.opts.Admin == nil {
		return time.Now().UTC()
	}
	return r.now
}

func (r *runner) run(ctx context.Context) {
	if !r.setUp(ctx) {
		return
	}
	norm := goldencase.NewNormalizer(goldencase.SendGridIDs...)
	st := goldencase.NewState()
	var record strings.Builder
	for i, x := range r.src.Case.Exchanges {
		n := i + 1
		r.rep.Requests++
		if x.Advance != 0 {
			if r.opts.Admin == nil {
				r.fail(n, NoClock, "the case moves the clock (advance=%s) and replay cannot without the manual clock's admin endpoint: serve with --clock manual and give --admin URL --admin-token TOKEN", x.Advance)
				return
			}
			t, err := r.opts.Admin.Advance(ctx, x.Advance)
			if err != nil {
				r.fail(n, NoClock, "advance=%s: %v", x.Advance, err)
				return
			}
			r.now = t
		}
		req, err := r.request(ctx, st, x)
		if err != nil {
			r.fail(n, BadRequest, "%v", err)
			return
		}
		status, header, body, err := r.send(req)
		if err != nil {
			r.fail(n, Unreachable, "%s %s: %v", x.Method, req.URL.Path, err)
			return
		}
		st.Remember(body)
		rec := goldencase.Record(x, status, header, body)
		fmt.Fprintf(&record, "=== response %d\n%s", n, norm.Normalize(rec))
		if r.opts.Expect == "" {
			fmt.Fprintf(r.opts.Out, "=== %s response %d (%s %s)\n%s", r.src.Name, n, x.Method, req.URL.Path, rec)
			if status < 200 || status > 299 {
				r.fail(n, BadStatus, "%s %s: HTTP %d%s", x.Method, req.URL.Path, status, faultSummary(body))
			}
		}
	}
	if r.opts.RecordTo != "" {
		path := filepath.Join(r.opts.RecordTo, r.src.Name+".golden")
		if err := os.WriteFile(path, []byte(record.String()), 0o644); err != nil {
			r.fail(0, NoExpected, "recording the answers: %v", err)
		}
	}
	if r.opts.Expect != "" {
		r.compare(record.String())
	}
}

// setUp starts a golden case from its clock, and applies (or notes) its
// other set-up lines. It reports whether the case can go on.
func (r *runner) setUp(ctx context.Context) bool {
	if !r.src.Golden {
		if r.opts.Admin != nil {
			t, err := r.opts.Admin.Now(ctx)
			if err != nil {
				r.fail(0, NoClock, "%v", err)
				return false
			}
			r.now = t
		}
		return true
	}
	start, moved := goldencase.Start, false
	for _, line := range r.src.Case.Setup {
		f := strings.Fields(line)
		if f[0] != "clock" {
			continue
		}
		if len(f) != 2 {
			r.fail(0, BadRequest, "set-up line %q: want clock TIME", line)
			return false
		}
		t, err := goldencase.When(f[1], start)
		if err != nil {
			r.fail(0, BadRequest, "set-up line %q: %v", line, err)
			return false
		}
		start, moved = t, true
	}
	if r.opts.Admin != nil {
		// One move to the case's start time: moving through the default
		// start first could make due (and dispatch) what the case seeded.
		t, err := r.opts.Admin.Set(ctx, start)
		if err != nil {
			r.fail(0, NoClock, "setting the clock to the case's start %s: %v", start.Format(time.RFC3339), err)
			return false
		}
		r.now = t
	} else if moved {
		r.fail(0, NoClock, "the case sets the clock (%s) and replay cannot without the manual clock's admin endpoint: serve with --clock manual and give --admin URL --admin-token TOKEN", start.Format(time.RFC3339))
		return false
	}
	for _, line := range r.src.Case.Setup {
		if strings.Fields(line)[0] == "clock" {
			continue
		}
		if r.opts.Setup == nil {
			fmt.Fprintf(r.opts.Log, "%s: set-up line not applied (replay cannot seed a store; create what it names yourself, e.g. partnerd account add): %s\n", r.src.Path, line)
			continue
		}
		if err := r.opts.Setup(line); err != nil {
			r.fail(0, BadRequest, "set-up line %q: %v", line, err)
			return false
		}
	}
	return true
}

// request builds x's HTTP request: placeholders filled, the security
// header refreshed when asked.
func (r *runner) request(ctx context.Context, st *goldencase.State, x goldencase.Exchange) (*http.Request, error) {
	now := r.clockOf()
	body := x.Body
	digest := false
	if r.opts.Refresh {
		digest = isDigest(body)
		if digest && r.opts.Password == "" && !strings.Contains(body, "{{DIGEST:") {
			fmt.Fprintf(r.opts.Log, "%s: a PasswordDigest token is sent as recorded (give --password to refresh it: the digest covers its Nonce and Created)\n", r.src.Path)
		} else {
			body = Refresh(body, now)
		}
	}
	body, err := st.Expand(body, now)
	if err != nil {
		return nil, err
	}
	if r.opts.Refresh && digest && r.opts.Password != "" {
		body = Redigest(body, r.opts.Password)
	}
	path, err := st.Expand(x.Path, now)
	if err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	base := strings.TrimRight(r.opts.URL, "/")
	if u, err := parseBase(r.opts.URL); err == nil {
		base = u
	}
	req, err := http.NewRequestWithContext(ctx, x.Method, base+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	switch {
	case r.opts.Host != "":
		req.Host = r.opts.Host
	case r.src.Golden:
		req.Host = goldencase.Host
	}
	for k, vs := range x.Header {
		for _, v := range vs {
			v, err := st.Expand(v, now)
			if err != nil {
				return nil, fmt.Errorf("header %s: %w", k, err)
			}
			req.Header.Add(k, v)
		}
	}
	return req, nil
}

// parseBase is the scheme and host of a URL: request paths are absolute.
func parseBase(raw string) (string, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "", errors.New("no scheme")
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host, nil
}

func (r *runner) send(req *http.Request) (int, http.Header, []byte, error) {
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		return 0, nil, nil, errors.New(explainTransport(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading the answer: %v", err)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// explainTransport words a failure to reach the server for the person
// running the replay.
func explainTransport(err error) string {
	var nerr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: nothing listens there (is partnerd running, on that address?)"
	case errors.As(err, &nerr) && nerr.Timeout():
		return "no answer in time: " + err.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "unknown host: " + dnsErr.Name
	}
	return err.Error()
}

var faultStringRE = regexp.MustCompile(`<(?:\w+:)?(?:faultstring|Text)[^>]*>([^<]{0,200})`)

// faultSummary is ": <the fault string>" of a SOAP fault answer, or the
// start of a JSON error body, for the one-line explanation of a non-2xx.
func faultSummary(body []byte) string {
	if m := faultStringRE.FindSubmatch(body); m != nil {
		return ": " + string(m[1])
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	if s == "" {
		return ""
	}
	return ": " + strings.Join(strings.Fields(s), " ")
}

var blockRE = regexp.MustCompile(`(?m)^=== response ([0-9]+)\n`)

// blocks splits a .golden record into its answers, by number.
func blocks(s string) map[string]string {
	out := map[string]string{}
	idx := blockRE.FindAllStringSubmatchIndex(s, -1)
	for i, m := range idx {
		end := len(s)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		out[s[m[2]:m[3]]] = s[m[1]:end]
	}
	return out
}

// compare checks the answers against NAME.golden in Expect, answer by
// answer, printing a unified diff of each that differs.
func (r *runner) compare(got string) {
	path := filepath.Join(r.opts.Expect, r.src.Name+".golden")
	raw, err := os.ReadFile(path)
	if err != nil {
		r.fail(0, NoExpected, "no recorded answers to compare with: %v (record them with --record DIR)", err)
		return
	}
	want, have := blocks(string(raw)), blocks(got)
	n := max(len(want), len(have))
	for i := 1; i <= n; i++ {
		key := fmt.Sprint(i)
		w, okW := want[key]
		g, okG := have[key]
		switch {
		case !okW:
			r.fail(i, Different, "an answer %s does not record", path)
			continue
		case !okG:
			r.fail(i, Different, "%s records an answer the replay did not get", path)
			continue
		}
		w, g = r.opts.Normalize.Apply(w), r.opts.Normalize.Apply(g)
		if w == g {
			continue
		}
		d := UnifiedDiff(fmt.Sprintf("%s (response %d)", path, i), fmt.Sprintf("replayed (response %d)", i), w, g)
		fmt.Fprint(r.opts.Out, d)
		r.fail(i, Different, "the answer differs from %s (diff above)%s", path, statusChange(w, g))
	}
}

// statusChange names a change of HTTP status, the most telling difference.
func statusChange(want, got string) string {
	ws, _, _ := strings.Cut(want, "\n")
	gs, _, _ := strings.Cut(got, "\n")
	if ws != gs {
		return fmt.Sprintf(": %s, recorded %s", gs, ws)
	}
	return ""
}

var (
	nonceRE    = regexp.MustCompile(`(<(?:[\w.-]+:)?Nonce(?:\s[^>]*)?>)([^<]*)(<)`)
	createdRE  = regexp.MustCompile(`(<(?:[\w.-]+:)?Created(?:\s[^>]*)?>)([^<]*)(<)`)
	expiresRE  = regexp.MustCompile(`(<(?:[\w.-]+:)?Expires(?:\s[^>]*)?>)([^<]*)(<)`)
	passwordRE = regexp.MustCompile(`(<(?:[\w.-]+:)?Password(?:\s[^>]*)?>)([^<]*)(<)`)
	digestType = regexp.MustCompile(`<(?:[\w.-]+:)?Password\s[^>]*Type\s*=\s*["'][^"']*#PasswordDigest["']`)
)

func isDigest(body string) bool { return digestType.MatchString(body) }

// Refresh gives the WS-Security header of an envelope a fresh Nonce (16
// random bytes) and Created (now), and a wsu:Timestamp's Expires five
// minutes after now. Placeholders and other text are left alone.
func Refresh(body string, now time.Time) string {
	body = nonceRE.ReplaceAllStringFunc(body, func(m string) string {
		var n [16]byte
		_, _ = rand.Read(n[:]) // crypto/rand.Read never fails (Go 1.24)
		sub := nonceRE.FindStringSubmatch(m)
		return sub[1] + base64.StdEncoding.EncodeToString(n[:]) + sub[3]
	})
	body = createdRE.ReplaceAllString(body, "${1}"+now.UTC().Format(time.RFC3339)+"${3}")
	body = expiresRE.ReplaceAllString(body, "${1}"+now.Add(5*time.Minute).UTC().Format(time.RFC3339)+"${3}")
	return body
}

// Redigest recomputes a PasswordDigest from the envelope's Nonce and the
// UsernameToken's Created with password. An envelope without them is
// returned as it is.
func Redigest(body, password string) string {
	nonce := nonceRE.FindStringSubmatch(body)
	ut := strings.Index(body, "UsernameToken")
	if nonce == nil || ut < 0 {
		return body
	}
	created := createdRE.FindStringSubmatch(body[ut:])
	if created == nil {
		return body
	}
	raw, err := base64.StdEncoding.DecodeString(nonce[2])
	if err != nil {
		return body
	}
	d := goldencase.PasswordDigest(raw, created[2], password)
	return passwordRE.ReplaceAllString(body, "${1}"+d+"${3}")
}
