package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/partnerd/partnerd/internal/loadgen"
)

// benchReport is what --json prints: the run's figures and how its Sends
// were prepared.
type benchReport struct {
	*loadgen.Result
	Prepared        int     `json:"prepared,omitempty"`
	PreparedBatches int     `json:"prepared_batches,omitempty"`
	PrepareSeconds  float64 `json:"prepare_seconds,omitempty"`
	IDs             int64   `json:"ids"`
}

// runBench is "partnerd bench": the load generator, against any Partner API
// endpoint.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	url := fs.String("url", "", "SOAP endpoint, e.g. http://127.0.0.1:8080/Service.asmx (required)")
	username := fs.String("username", envDefault("PARTNERD_BENCH_USERNAME", ""), "UsernameToken username (env PARTNERD_BENCH_USERNAME)")
	password := fs.String("password", envDefault("PARTNERD_BENCH_PASSWORD", ""), "UsernameToken password (env PARTNERD_BENCH_PASSWORD, which keeps it out of ps)")
	digest := fs.Bool("digest", false, "send PasswordDigest instead of PasswordText")
	workload := fs.String("workload", "cancel", "SOAP: cancel, cancel-batch, retrieve, create, pause-resume or wsdl; SendGrid v3 (served at --url's host): sg-send or sg-hold")
	apiKey := fs.String("api-key", envDefault("PARTNERD_BENCH_API_KEY", ""), "API key for the sg-* workloads (env PARTNERD_BENCH_API_KEY)")
	prepareBatches := fs.Int("prepare-batches", 0, "sg-hold: first create this many batches, each with one scheduled send (default: 4 per client)")
	batchesFile := fs.String("batches", "", "sg-hold: use the batch IDs in this file (one per line) instead of preparing them")
	saveBatches := fs.String("save-batches", "", "sg-hold: prepare the batches, write their IDs to this file (for later runs' --batches) and stop")
	concurrency := fs.Int("concurrency", 64, "clients, each with one keep-alive connection")
	duration := fs.Duration("duration", 20*time.Second, "how long to measure (unless --requests is given alone)")
	requests := fs.Int64("requests", 0, "measure this many requests, then stop")
	warmup := fs.Duration("warmup", 0, "run this long before measuring")
	rate := fs.Float64("rate", 0, "requests per second, all clients together, on a fixed schedule; 0 for as fast as possible")
	prepare := fs.Int("prepare", 0, "first create this many Sends through SOAP Create and use their IDs")
	idRange := fs.String("ids", "", "use the existing Sends LO-HI (e.g. 1-10000) instead of --prepare")
	batch := fs.Int("batch", loadgen.DefaultBatchSize, "Definitions per cancel-batch request")
	timeout := fs.Duration("timeout", 30*time.Second, "limit for one request")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	quiet := fs.Bool("quiet", false, "no progress line on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	durationSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "duration" {
			durationSet = true
		}
	})
	if *url == "" {
		return errors.New("bench: --url is required")
	}
	cfg := loadgen.Config{
		URL:         *url,
		Creds:       loadgen.Credentials{Username: *username, Password: *password, Digest: *digest},
		Workload:    loadgen.Workload(*workload),
		Concurrency: *concurrency,
		Duration:    *duration,
		Requests:    *requests,
		Warmup:      *warmup,
		Rate:        *rate,
		BatchSize:   *batch,
		Timeout:     *timeout,
		APIKey:      *apiKey,
	}
	// A count alone means "this many requests", not "this many or 20s".
	if *requests > 0 && !durationSet {
		cfg.Duration = 0
	}
	if !*quiet {
		cfg.Progress = stderr
	}

	report := benchReport{}
	switch {
	case *prepare > 0 && *idRange != "":
		return errors.New("bench: give --prepare or --ids, not both")
	case *prepare > 0:
		fmt.Fprintf(stderr, "bench: creating %d Sends through SOAP Create…\n", *prepare)
		start := time.Now()
		ids, err := loadgen.Prepare(ctx, nil, *url, cfg.Creds, *prepare)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		report.Prepared, report.PrepareSeconds = len(ids), time.Since(start).Seconds()
		fmt.Fprintf(stderr, "bench: created %d Sends in %.1fs (%.0f/s)\n", len(ids), report.PrepareSeconds, float64(len(ids))/report.PrepareSeconds)
		cfg.IDs = loadgen.IDs{List: ids}
	case *idRange != "":
		lo, hi, err := parseIDRange(*idRange)
		if err != nil {
			return err
		}
		cfg.IDs = loadgen.IDs{Lo: lo, Hi: hi}
	}
	report.IDs = cfg.IDs.Len()
	if cfg.Workload == loadgen.SGHold && *batchesFile != "" {
		data, err := os.ReadFile(*batchesFile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		cfg.Batches = strings.Fields(string(data))
	} else if cfg.Workload == loadgen.SGHold {
		n := *prepareBatches
		if n <= 0 {
			n = 4 * cfg.Concurrency
		}
		fmt.Fprintf(stderr, "bench: creating %d batches, each with one scheduled send…\n", n)
		start := time.Now()
		batches, err := loadgen.PrepareBatches(ctx, nil, *url, *apiKey, n)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		report.PreparedBatches = len(batches)
		if *saveBatches != "" {
			if err := os.WriteFile(*saveBatches, []byte(strings.Join(batches, "\n")+"\n"), 0o600); err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			return nil
		}
		fmt.Fprintf(stderr, "bench: created %d batches in %.1fs\n", len(batches), time.Since(start).Seconds())
		cfg.Batches = batches
	}

	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	report.Result = res
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		printBench(stdout, report)
	}
	// Figures of a run in which nothing worked would only mislead a script
	// reading them.
	if res.Requests > 0 && res.OK == 0 {
		return fmt.Errorf("bench: none of %d requests succeeded", res.Requests)
	}
	return nil
}

func parseIDRange(s string) (int64, int64, error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	hi, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	if !ok || err1 != nil || err2 != nil || lo <= 0 || hi < lo {
		return 0, 0, fmt.Errorf("bench: --ids %q: want LO-HI with 0 < LO <= HI", s)
	}
	return lo, hi, nil
}

func printBench(w io.Writer, r benchReport) {
	pw := "PasswordText"
	if r.Digest {
		pw = "PasswordDigest"
	}
	fmt.Fprintf(w, "workload      %s on %s, %d connections, %s", r.Workload, r.URL, r.Concurrency, pw)
	if r.Rate > 0 {
		fmt.Fprintf(w, ", target %.0f requests/s", r.Rate)
	}
	fmt.Fprintln(w)
	if r.Prepared > 0 {
		fmt.Fprintf(w, "prepared      %d Sends in %.1fs\n", r.Prepared, r.PrepareSeconds)
	}
	fmt.Fprintf(w, "requests      %d in %.1fs: %d OK, %d errors\n", r.Requests, r.Seconds, r.OK, r.Errors)
	fmt.Fprintf(w, "throughput    %.0f requests/s", r.RequestsPerSec)
	if r.DefinitionsPerSec > 0 {
		fmt.Fprintf(w, ", %.0f definitions/s", r.DefinitionsPerSec)
	}
	fmt.Fprintln(w)
	l := r.Latency
	fmt.Fprintf(w, "latency (ms)  p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f\n", l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
	fmt.Fprintf(w, "errors        ")
	for i, k := range loadgen.Kinds {
		if i > 0 {
			fmt.Fprint(w, "  ")
		}
		fmt.Fprintf(w, "%s %d", k, r.ErrorsByKind[k])
	}
	fmt.Fprintln(w)
	for _, k := range loadgen.Kinds {
		for _, s := range r.ErrorSamples[k] {
			fmt.Fprintf(w, "  %-12s %8d × %s\n", k, s.Count, s.Detail)
		}
	}
}
