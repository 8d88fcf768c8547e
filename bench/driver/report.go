package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets of issue 6.
const (
	targetCeilingRatio = 0.30
	targetNodeRatio    = 4.0
	targetHalfP99ms    = 10.0
	targetBatchDefs    = 100_000.0
	targetBigRatio     = 0.80
	targetPeakMB       = 150.0
	targetIdleMB       = 30.0
)

type rendered struct{ table, markdown string }

type row struct {
	figure                  string
	partnerd, ceiling, node string
	vsCeiling, vsNode       string
	target, met             string
}

func (d *driver) rows() []row {
	var rows []row
	p, c, n := d.partnerd, d.ceiling, d.node
	rps := func(m *measurement) string {
		if m == nil {
			return "–"
		}
		return fmt.Sprintf("%.0f", m.res.OKPerSec)
	}
	ratio := func(a, b *measurement) (float64, string) {
		if a == nil || b == nil || b.res.OKPerSec == 0 {
			return 0, "–"
		}
		r := a.res.OKPerSec / b.res.OKPerSec
		return r, fmt.Sprintf("%.2f", r)
	}
	rc, rcs := ratio(p, c)
	rn, rns := ratio(p, n)
	rows = append(rows, row{"cancel: requests/s (64 conn, pinned)", rps(p), rps(c), rps(n), rcs, rns,
		"≥ 0.30 × ceiling, ≥ 4 × node-soap", both(met(rc >= targetCeilingRatio), met(n == nil || rn >= targetNodeRatio))})
	lat := func(m *measurement) string {
		if m == nil {
			return "–"
		}
		l := m.res.Latency
		return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f", l.P50, l.P90, l.P99, l.Max)
	}
	rows = append(rows, row{"cancel: latency p50 / p90 / p99 / max, ms", lat(p), lat(c), lat(n), "", "", "", ""})
	if d.half != nil {
		rows = append(rows, row{fmt.Sprintf("cancel at half throughput (%.0f/s): p99, ms", d.half.res.Rate),
			fmt.Sprintf("%.1f", d.half.res.Latency.P99), "", "", "", "", "≤ 10 ms", met(d.half.res.Latency.P99 <= targetHalfP99ms)})
	}
	if d.batch != nil {
		rows = append(rows, row{"cancel-batch (100 per request): definitions/s",
			fmt.Sprintf("%.0f", d.batch.res.DefinitionsPerSec), "", "", "", "", "≥ 100,000", met(d.batch.res.DefinitionsPerSec >= targetBatchDefs)})
	}
	if d.unpinned != nil {
		rows = append(rows, row{"cancel: requests/s, unpinned (both on 2 cores)", rps(d.unpinned), "", "", "", "", "", ""})
	}
	if d.retrieve != nil {
		rows = append(rows, row{"retrieve one Send: requests/s (pinned)", rps(d.retrieve), "", "", "", "", "", ""})
	}
	if d.big != nil && d.bigRef != nil {
		r := d.big.res.OKPerSec / d.bigRef.res.OKPerSec
		rows = append(rows, row{fmt.Sprintf("repeat cancels (as above): requests/s on %s Sends / on %s, taking turns", count(d.bigSize), count(int64(d.opts.prepare))),
			rps(d.big) + " / " + rps(d.bigRef), "", "", fmt.Sprintf("%.2f of %s", r, count(int64(d.opts.prepare))), "", "≥ 0.80 of the 10k figure", met(r >= targetBigRatio)})
	}
	if d.bigFresh != nil && d.smallFresh != nil {
		r := d.bigFresh.res.OKPerSec / d.smallFresh.res.OKPerSec
		rows = append(rows, row{fmt.Sprintf("first cancels (each a write): requests/s on %s Sends / on %s, taking turns", count(d.bigSize), count(freshStoreSize)),
			rps(d.bigFresh) + " / " + rps(d.smallFresh), "", "", fmt.Sprintf("%.2f of %s", r, count(freshStoreSize)), "", "≥ 0.80 of the small store's", met(r >= targetBigRatio)})
	}
	mb := func(kb int64) string {
		if kb == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f", float64(kb)/1024)
	}
	rows = append(rows, row{"resident memory idle (VmRSS after start), MB", mb(d.partnerdMem.idleKB), mb(d.ceilingMem.idleKB), mb(d.nodeMem.idleKB),
		"", "", "≤ 30 MB", met(float64(d.partnerdMem.idleKB)/1024 <= targetIdleMB)})
	rows = append(rows, row{"resident memory peak under load (VmHWM), MB", mb(d.partnerdMem.peakKB), mb(d.ceilingMem.peakKB), mb(d.nodeMem.peakKB),
		"", "", "≤ 150 MB", met(float64(d.partnerdMem.peakKB)/1024 <= targetPeakMB)})
	cpu := func(m *measurement, gen bool) string {
		if m == nil {
			return "–"
		}
		if gen {
			return fmt.Sprintf("%.2f", m.generatorCPU)
		}
		return fmt.Sprintf("%.2f", m.serverCPU)
	}
	rows = append(rows, row{"server CPU during the cancel run, cores", cpu(p, false), cpu(c, false), cpu(n, false), "", "", "", ""})
	rows = append(rows, row{"generator CPU during the cancel run, cores", cpu(p, true), cpu(c, true), cpu(n, true), "", "", "", ""})
	other := func(m *measurement) string {
		if m == nil {
			return "–"
		}
		return fmt.Sprintf("%.2f", m.otherCPU)
	}
	rows = append(rows, row{"other processes' CPU during the cancel run, cores (noise)", other(p), other(c), other(n), "", "", "", ""})
	errs := func(ms ...*measurement) string {
		var total int64
		any := false
		for _, m := range ms {
			if m != nil {
				total += m.res.Errors
				any = true
			}
		}
		if !any {
			return "–"
		}
		return fmt.Sprint(total)
	}
	rows = append(rows, row{"failed requests (all runs)", errs(p, d.half, d.batch, d.unpinned, d.retrieve, d.big, d.bigRef, d.bigFresh, d.smallFresh), errs(c), errs(n), "", "", "0", ""})
	return rows
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func both(a, b string) string {
	if a == "yes" && b == "yes" {
		return "yes"
	}
	return "**no**"
}

func count(n int64) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func (d *driver) report() rendered {
	rows := d.rows()
	var tb bytes.Buffer
	tw := tabwriter.NewWriter(&tb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tpartnerd\tceiling\tnode-soap\tpartnerd/ceiling\tpartnerd/node-soap\ttarget\tmet")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.figure, r.partnerd, r.ceiling, r.node, r.vsCeiling, r.vsNode, r.target, strings.Trim(r.met, "*"))
	}
	tw.Flush()

	var md strings.Builder
	md.WriteString("# Benchmarks\n\n")
	md.WriteString("Written by `bench/compare` (do not edit by hand: rerun it). Every figure below comes from one run of the\n" +
		"script on one machine; the machine is noisy, so compare the ratios, not absolute numbers across runs.\n\n")
	fmt.Fprintf(&md, "Run of %s on %s. Load average before the run %s, after it %s (this machine is shared: "+
		"the row \"other processes' CPU\" says how much of it was busy with something else during each run).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(), d.loadBefore, d.loadAfter)
	fmt.Fprintf(&md, "Workload `cancel` (Perform cancel of one Send per request, IDs drawn at random from %d Sends that an unmeasured run created and canceled once, so that every measured cancel is a repeat: "+
		"the steady state of a retrying client, and the same work the baselines do), "+
		"%d keep-alive connections, PasswordText with a fresh Nonce and Created per request, %s measured after a %s warm-up; "+
		"server on core 0 (`taskset -c 0`), generator on core 1 (`taskset -c 1`) unless marked unpinned. partnerd runs with "+
		"its default SQLite store (WAL, synchronous=FULL: every answer follows a durable commit) and `--held-limit 0` "+
		"(the default limit of 100 held Sends per account would refuse every cancel after the 100th, by design).\n\n",
		d.opts.prepare, d.opts.concurrency, d.opts.duration, d.opts.warmup)
	md.WriteString("| figure | partnerd | ceiling (bare net/http) | node-soap | partnerd/ceiling | partnerd/node-soap | target | met |\n")
	md.WriteString("|---|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.figure, r.partnerd, r.ceiling, r.node, r.vsCeiling, r.vsNode, r.target, r.met)
	}
	md.WriteString("\nrequests/s counts successful answers only; latency is measured by the generator from sending the request " +
		"(from its scheduled time in the rate-limited run) to reading the whole answer. CPU is the process's user+system " +
		"time over the bench command's wall time, prepare and warm-up included.\n")
	if len(d.rounds.partnerd) > 1 {
		fmt.Fprintf(&md, "\nThe three cancel runs took turns, %d rounds of partnerd, ceiling, node-soap; the table shows each one's median "+
			"round (its latency too). Requests/s of every round: partnerd %s; ceiling %s; node-soap %s.\n",
			len(d.rounds.partnerd), roundList(d.rounds.partnerd), roundList(d.rounds.ceiling), roundList(d.rounds.node))
	}
	if d.big != nil {
		fmt.Fprintf(&md, "\nThe %s-Send store was bulk-loaded by `bench/bulkload` in %.0f s, its first half already Canceled: repeat cancels "+
			"draw IDs from that half (the same work as the 10k run, on a store a thousand times larger), first cancels from the other half "+
			"(each a write: the Send's row and two of its indexes change). A 10k store has too few Sends for 15 s of first cancels, so "+
			"those are compared with first cancels on a %s-Send store. Each large-store run takes turns with its small-store "+
			"counterpart (%d rounds, medians shown), every round of first cancels on IDs no round canceled before.\n", count(d.bigSize), d.bigLoadSeconds, count(freshStoreSize), bigRounds)
	}
	if d.partnerd != nil && len(d.partnerd.res.ErrorSamples) > 0 {
		md.WriteString("\nErrors of the partnerd cancel run: ")
		for k, ss := range d.partnerd.res.ErrorSamples {
			for _, s := range ss {
				fmt.Fprintf(&md, "%s × %d (%s); ", k, s.Count, s.Detail)
			}
		}
		md.WriteString("\n")
	}

	md.WriteString("\n## Commands\n\n`$BIN` is the directory `bench/compare` built the binaries into, `$WORK` a fresh temporary directory.\n\n```sh\n")
	for _, c := range d.commands {
		c = strings.ReplaceAll(c, d.work, "$WORK")
		c = strings.ReplaceAll(c, d.opts.bin+"/", "$BIN/")
		md.WriteString(c + "\n")
	}
	md.WriteString("```\n")
	if b, err := os.ReadFile(d.opts.analysis); err == nil {
		md.WriteString("\n")
		md.Write(b)
	}
	return rendered{table: tb.String(), markdown: md.String()}
}

// machine describes the hardware and software the figures come from.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "?"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	node := "not installed"
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		node = strings.TrimSpace(string(out))
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0]); len(f) >= 2 {
			var kb int64
			fmt.Sscan(f[1], &kb)
			mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("nproc %d, %s%s, Linux %s, %s, node %s", runtime.NumCPU(), model, mem, kernel, runtime.Version(), node)
}

// roundList is the requests/s of each round, in order.
func roundList(ms []*measurement) string {
	if len(ms) == 0 {
		return "–"
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = "–"
		if m != nil {
			parts[i] = fmt.Sprintf("%.0f", m.res.OKPerSec)
		}
	}
	return strings.Join(parts, ", ")
}
