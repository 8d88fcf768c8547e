// Command driver runs the comparison behind bench/compare: partnerd, the
// bare net/http ceiling and the node-soap baseline, one after another on
// this machine, each driven by `partnerd bench` with the same workload,
// concurrency and duration; server on core 0 and generator on core 1. It
// prints the table and writes BENCHMARKS.md. bench/compare builds the
// binaries and calls it; run that, not this.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/partnerd/partnerd/internal/loadgen"
)

const (
	benchUser = "bench"
	benchPass = "bench-pw"
)

type options struct {
	bin, nodeServer, out, analysis string
	duration, warmup               time.Duration
	concurrency, prepare           int
	big                            int64
	rounds                         int
	skipNode                       bool
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "directory holding the partnerd, ceiling and bulkload binaries")
	flag.StringVar(&o.nodeServer, "node", "bench/nodesoap/server.js", "the node-soap baseline")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "report to write")
	flag.StringVar(&o.analysis, "analysis", "bench/analysis.md", "hand-written analysis appended to the report")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "measured time of each run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up before each run")
	flag.IntVar(&o.concurrency, "concurrency", 64, "connections")
	flag.IntVar(&o.prepare, "prepare", 10_000, "Sends created through SOAP before the partnerd runs")
	flag.Int64Var(&o.big, "big", 0, "also measure cancel on a store bulk-loaded with this many Sends (0: skip)")
	flag.BoolVar(&o.skipNode, "skip-node", false, "leave the node-soap baseline out")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of the three cancel runs, taking turns; the median is reported")
	flag.Parse()
	if o.bin == "" {
		log.Fatal("driver: --bin is required (run bench/compare)")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d := &driver{opts: o}
	err := d.run(ctx)
	d.stopAll()
	if err != nil {
		log.Fatal("driver: ", err)
	}
}

// driver holds what one comparison measured.
type driver struct {
	opts     options
	work     string
	servers  []*server
	commands []string

	partnerd, half, batch, unpinned, retrieve, ceiling, node *measurement
	big, bigRef, bigFresh, smallFresh                        *measurement
	rounds                                                   struct{ partnerd, ceiling, node []*measurement }
	bigSize                                                  int64
	bigLoadSeconds                                           float64
	loadBefore, loadAfter                                    string // /proc/loadavg
	partnerdMem, ceilingMem, nodeMem                         memory
}

// measurement is one bench run with the server's CPU use during it.
type measurement struct {
	res          benchJSON
	serverCPU    float64 // cores busy in the server, averaged over the run
	generatorCPU float64 // cores busy in the generator
	otherCPU     float64 // cores busy in everything else: the noise
}

type benchJSON struct {
	loadgen.Result
	Prepared int   `json:"prepared"`
	IDs      int64 `json:"ids"`
}

type memory struct{ idleKB, peakKB, afterKB int64 }

func (d *driver) run(ctx context.Context) error {
	o := d.opts
	var err error
	if d.work, err = os.MkdirTemp("", "partnerd-compare"); err != nil {
		return err
	}
	defer os.RemoveAll(d.work)
	d.loadBefore = loadAverage()
	run := func(s *server, args ...string) *measurement {
		if err != nil {
			return nil
		}
		var m *measurement
		m, err = d.bench(ctx, s, args...)
		return m
	}
	base := []string{"--workload", "cancel", "--concurrency", strconv.Itoa(o.concurrency),
		"--duration", o.duration.String(), "--warmup", o.warmup.String()}
	ids := fmt.Sprintf("1-%d", o.prepare)

	// (a) partnerd, default SQLite store, pinned: max throughput, then
	// p99 at half of it, then cancel-batch, then retrieve.
	fmt.Fprintln(os.Stderr, "== partnerd (SQLite), pinned to core 0; generator on core 1")
	db := filepath.Join(d.work, "partnerd.db")
	if err := d.cmd(ctx, filepath.Join(o.bin, "partnerd"), "account", "add", "--db", db, "--username", benchUser, "--password", benchPass); err != nil {
		return err
	}
	p, err := d.startPartnerd(ctx, db, true)
	if err != nil {
		return err
	}
	d.partnerdMem.idleKB = p.rss()
	// The Sends are created, and each canceled once, by a run that is not
	// measured: the measured run is the steady state the other servers
	// are measured in (repeat cancels of a known range), not a mix that
	// drifts from first cancels (writes) to repeat ones during the run.
	prep := run(p, "--workload", "cancel", "--concurrency", strconv.Itoa(o.concurrency),
		"--duration", "3s", "--warmup", "0s", "--prepare", strconv.Itoa(o.prepare))
	if err != nil {
		return err
	}
	if prep.res.Prepared != o.prepare {
		return fmt.Errorf("prepared %d Sends, wanted %d", prep.res.Prepared, o.prepare)
	}
	// (b) the ceiling and (c) node-soap start now, so that the three
	// cancel runs can take turns: this machine's speed drifts by tens of
	// percent within minutes, and ratios of runs made minutes apart
	// measured the drift as much as the servers. The median of the
	// rounds is reported, each round in the notes below the table.
	c, err := d.start(ctx, "ceiling", true, filepath.Join(o.bin, "ceiling"), "--addr", "127.0.0.1:0")
	if err != nil {
		d.stop(p)
		return err
	}
	d.ceilingMem.idleKB = c.rss()
	var n *server
	if !o.skipNode {
		n, err = d.start(ctx, "node-soap", true, "node", o.nodeServer, "--port", "0",
			"--username", benchUser, "--password", benchPass, "--seed", strconv.Itoa(o.prepare))
		if err != nil {
			d.stop(p)
			d.stop(c)
			return err
		}
		d.nodeMem.idleKB = n.rss()
	}
	for r := 1; r <= max(1, o.rounds); r++ {
		fmt.Fprintf(os.Stderr, "== round %d: partnerd (SQLite), ceiling, node-soap, each pinned to core 0; generator on core 1\n", r)
		d.rounds.partnerd = append(d.rounds.partnerd, run(p, append(base, "--ids", ids)...))
		d.rounds.ceiling = append(d.rounds.ceiling, run(c, append(base, "--ids", ids)...))
		if n != nil {
			d.rounds.node = append(d.rounds.node, run(n, append(base, "--ids", ids)...))
		}
	}
	d.ceilingMem.peakKB, d.ceilingMem.afterKB = c.hwm(), c.rss()
	d.stop(c)
	if n != nil {
		d.nodeMem.peakKB, d.nodeMem.afterKB = n.hwm(), n.rss()
		d.stop(n)
	}
	if err != nil {
		d.stop(p)
		return err
	}
	d.partnerd, d.ceiling, d.node = median(d.rounds.partnerd), median(d.rounds.ceiling), median(d.rounds.node)

	fmt.Fprintln(os.Stderr, "== partnerd (SQLite), pinned: half rate, cancel-batch, retrieve")
	half := fmt.Sprintf("%.0f", d.partnerd.res.OKPerSec/2)
	d.half = run(p, append(base, "--ids", ids, "--rate", half)...)
	d.batch = run(p, "--workload", "cancel-batch", "--concurrency", strconv.Itoa(o.concurrency),
		"--duration", o.duration.String(), "--warmup", o.warmup.String(), "--ids", ids)
	d.retrieve = run(p, "--workload", "retrieve", "--concurrency", strconv.Itoa(o.concurrency),
		"--duration", (o.duration / 2).String(), "--warmup", o.warmup.String(), "--ids", ids)
	d.partnerdMem.peakKB, d.partnerdMem.afterKB = p.hwm(), p.rss()
	d.stop(p)
	if err != nil {
		return err
	}

	fmt.Fprintln(os.Stderr, "== partnerd (SQLite), unpinned")
	p, err = d.startPartnerd(ctx, db, false)
	if err != nil {
		return err
	}
	d.unpinned = run(p, append(base, "--ids", ids)...)
	d.stop(p)
	if err != nil {
		return err
	}

	if o.big > 0 {
		if err := d.runBig(ctx, base, db); err != nil {
			return err
		}
	}

	d.loadAfter = loadAverage()
	report := d.report()
	fmt.Print(report.table)
	return os.WriteFile(o.out, []byte(report.markdown), 0o644)
}

// freshStoreSize is the store the first-cancel baseline is measured on:
// the smallest that a 15-second run of first cancels does not exhaust.
const freshStoreSize = 300_000

// bigRounds is how many turns the large-store runs take.
const bigRounds = 2

// runBig bulk-loads a store of --big Sends, the first half already
// canceled, and measures cancel on it twice: repeat cancels (IDs of the
// first half: reads, as in the 10k run) and first cancels (the second
// half: every request a write). Each is compared with the same work on a
// small store, the two taking turns: repeat cancels with the 10k store of
// the main runs, first cancels with a store of freshStoreSize (a 10k store
// has too few Sends for a run of them). Every round of first cancels takes
// IDs no round has canceled before.
func (d *driver) runBig(ctx context.Context, base []string, smallDB string) error {
	o := d.opts
	half := o.big / 2
	fmt.Fprintf(os.Stderr, "== loading a store of %d Sends (1-%d already canceled) and one of %d\n", o.big, half, freshStoreSize)
	bigDB, secs, err := d.bulkStore(ctx, "big.db", o.big, half)
	if err != nil {
		return err
	}
	d.bigLoadSeconds, d.bigSize = secs, o.big
	freshDB, _, err := d.bulkStore(ctx, "fresh.db", freshStoreSize, 0)
	if err != nil {
		return err
	}
	var servers []*server
	defer func() {
		for _, s := range servers {
			d.stop(s)
		}
	}()
	start := func(db string) *server {
		if err != nil {
			return nil
		}
		var s *server
		if s, err = d.startPartnerd(ctx, db, true); err == nil {
			servers = append(servers, s)
		}
		return s
	}
	small, big, fresh := start(smallDB), start(bigDB), start(freshDB)
	if err != nil {
		return err
	}
	var rounds struct{ small, big, bigFresh, smallFresh []*measurement }
	run := func(s *server, ids string) *measurement {
		if err != nil {
			return nil
		}
		var m *measurement
		m, err = d.bench(ctx, s, append(base, "--ids", ids)...)
		return m
	}
	bigSpan, freshSpan := (o.big-half)/bigRounds, int64(freshStoreSize/bigRounds)
	for r := range int64(bigRounds) {
		fmt.Fprintf(os.Stderr, "== round %d: repeat cancels on %d Sends and on %d, first cancels on %d and on %d, pinned\n", r+1, o.prepare, o.big, o.big, freshStoreSize)
		rounds.small = append(rounds.small, run(small, fmt.Sprintf("1-%d", o.prepare)))
		rounds.big = append(rounds.big, run(big, fmt.Sprintf("1-%d", half)))
		rounds.bigFresh = append(rounds.bigFresh, run(big, fmt.Sprintf("%d-%d", half+1+r*bigSpan, half+(r+1)*bigSpan)))
		rounds.smallFresh = append(rounds.smallFresh, run(fresh, fmt.Sprintf("%d-%d", 1+r*freshSpan, (r+1)*freshSpan)))
	}
	if err != nil {
		return err
	}
	d.bigRef, d.big = median(rounds.small), median(rounds.big)
	d.bigFresh, d.smallFresh = median(rounds.bigFresh), median(rounds.smallFresh)
	return nil
}

// bulkStore makes a store named name in the work directory holding the
// bench account and n Sends, the first canceled of them Canceled.
func (d *driver) bulkStore(ctx context.Context, name string, n, canceled int64) (string, float64, error) {
	db := filepath.Join(d.work, name)
	if err := d.cmd(ctx, filepath.Join(d.opts.bin, "partnerd"), "account", "add", "--db", db, "--username", benchUser, "--password", benchPass); err != nil {
		return "", 0, err
	}
	start := time.Now()
	err := d.cmd(ctx, filepath.Join(d.opts.bin, "bulkload"), "--db", db, "--username", benchUser,
		"--n", strconv.FormatInt(n, 10), "--canceled", strconv.FormatInt(canceled, 10))
	return db, time.Since(start).Seconds(), err
}

// server is a server process under test.
type server struct {
	name   string
	cmd    *exec.Cmd
	url    string
	pinned bool
	done   chan struct{}
}

var urlRE = regexp.MustCompile(`(http://127\.0\.0\.1:\d+)(/Service\.asmx)?`)

func (d *driver) startPartnerd(ctx context.Context, db string, pinned bool) (*server, error) {
	// --held-limit 0: with the default of 100, the 101st cancel of
	// Sends due later is refused (7094) by design, so a cancel load test
	// of the default configuration would measure refusals.
	return d.start(ctx, "partnerd", pinned, filepath.Join(d.opts.bin, "partnerd"), "serve", "--db", db,
		"--addr", "127.0.0.1:0", "--held-limit", "0", "--demo-account=false", "--log-format", "json")
}

// start runs a server (under taskset -c 0 when pinned) and waits for the
// URL it prints.
func (d *driver) start(ctx context.Context, name string, pinned bool, prog string, args ...string) (*server, error) {
	if pinned {
		args = append([]string{"-c", "0", prog}, args...)
		prog = "taskset"
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	d.commands = append(d.commands, commandLine(prog, args))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard // partnerd logs to stderr; a flood would cost it, not us
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{name: name, cmd: cmd, pinned: pinned, done: make(chan struct{})}
	d.servers = append(d.servers, s)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1] + "/Service.asmx":
				default:
				}
			}
		}
		cmd.Wait()
		close(s.done)
	}()
	select {
	case s.url = <-found:
	case <-s.done:
		return nil, fmt.Errorf("%s exited before listening", name)
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("%s did not print its URL within 30s", name)
	}
	// Let start-up work (GC of init garbage, node's JIT of the WSDL
	// parse) settle, so "idle" memory is idle.
	time.Sleep(time.Second)
	return s, nil
}

// stop ends a server this driver started: SIGTERM, then SIGKILL.
func (d *driver) stop(s *server) {
	if s == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

func (d *driver) stopAll() {
	for _, s := range d.servers {
		d.stop(s)
	}
}

// bench runs `partnerd bench` against s (on core 1 when s is pinned) and
// reads its JSON.
func (d *driver) bench(ctx context.Context, s *server, args ...string) (*measurement, error) {
	prog := filepath.Join(d.opts.bin, "partnerd")
	all := append([]string{"bench", "--url", s.url, "--username", benchUser, "--password", benchPass, "--json"}, args...)
	if s.pinned {
		all = append([]string{"-c", "1", prog}, all...)
		prog = "taskset"
	}
	d.commands = append(d.commands, commandLine(prog, all))
	cmd := exec.CommandContext(ctx, prog, all...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr // the progress lines

	before, machineBefore := s.cpuSeconds(), machineBusySeconds()
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start).Seconds()
	used, machineUsed := s.cpuSeconds()-before, machineBusySeconds()-machineBefore
	if err != nil {
		return nil, fmt.Errorf("%s: %w", commandLine(prog, all), err)
	}
	var m measurement
	if err := json.Unmarshal(out.Bytes(), &m.res); err != nil {
		return nil, fmt.Errorf("bench output: %w", err)
	}
	// CPU over the whole bench process (prepare and warm-up included):
	// a utilisation, not a cost per request.
	m.serverCPU = used / wall
	st := cmd.ProcessState
	m.generatorCPU = (st.UserTime() + st.SystemTime()).Seconds() / wall
	m.otherCPU = max(0, machineUsed/wall-m.serverCPU-m.generatorCPU)
	r := &m.res
	fmt.Fprintf(os.Stderr, "   %s: %.0f requests/s, p99 %.2f ms, %d errors; cores busy: server %.2f, generator %.2f, other processes %.2f\n",
		r.Workload, r.OKPerSec, r.Latency.P99, r.Errors, m.serverCPU, m.generatorCPU, m.otherCPU)
	return &m, nil
}

// cmd runs a set-up command to completion.
func (d *driver) cmd(ctx context.Context, prog string, args ...string) error {
	d.commands = append(d.commands, commandLine(prog, args))
	c := exec.CommandContext(ctx, prog, args...)
	c.Stderr = os.Stderr
	out, err := c.Output()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", commandLine(prog, args), err, out)
	}
	return nil
}

// procStatus returns a field of /proc/PID/status in kB.
func (s *server) procStatus(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// rss is the resident set now (VmRSS); hwm its peak so far (VmHWM).
func (s *server) rss() int64 { return s.procStatus("VmRSS") }
func (s *server) hwm() int64 { return s.procStatus("VmHWM") }

// cpuSeconds is the CPU time the process has used (utime + stime of
// /proc/PID/stat). taskset execs the server, so the PID is the server's.
func (s *server) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; count from after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks
}

// machineBusySeconds is the CPU time all cores have spent busy since boot
// (the first line of /proc/stat, less idle and iowait).
func machineBusySeconds() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy float64
	for i, v := range f[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		busy += n
	}
	return busy / clockTicks
}

// loadAverage is the 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

func commandLine(prog string, args []string) string {
	parts := []string{filepath.Base(prog)}
	for _, a := range args {
		if strings.ContainsAny(a, " '\"$") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// median is the measurement with the median requests/s (the lower middle
// one of an even count), nil for none.
func median(ms []*measurement) *measurement {
	var ok []*measurement
	for _, m := range ms {
		if m != nil {
			ok = append(ok, m)
		}
	}
	if len(ok) == 0 {
		return nil
	}
	slices.SortFunc(ok, func(a, b *measurement) int { return cmp.Compare(a.res.OKPerSec, b.res.OKPerSec) })
	return ok[(len(ok)-1)/2]
}
