// Command hostile measures what hostile or careless clients can make a
// running partnerd spend, one phase per run, against one loopback endpoint:
//
//	disk     store growth per unauthenticated 4 MiB body (random bytes, and an
//	         envelope without credentials)
//	rss      the server's peak RSS while 128 unauthenticated 4 MiB bodies
//	         arrive at once
//	guess    a real client's latency while 400 source addresses guess the
//	         same account's password, and the server's CPU meanwhile
//	lockout  whether a correct login from a clean address still works after
//	         an attacker's wrong guesses from another one
//	stall    how soon a good client is served again while clients that never
//	         read their (large) answers hold connections open
//
// Every phase is bounded in requests and seconds. scripts/hostile.sh starts a
// fresh server for each phase, so that the same figures can be taken of two
// binaries in turn.
package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/partnerd/partnerd/internal/loadgen"
)

type config struct {
	url, username, password string
	pid                     int
	db                      string
	seconds                 float64
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "http://127.0.0.1:8080/Service.asmx", "SOAP endpoint (loopback only)")
	flag.StringVar(&c.username, "username", "", "a real account")
	flag.StringVar(&c.password, "password", "", "its password")
	flag.IntVar(&c.pid, "pid", 0, "the server's process ID (rss, guess)")
	flag.StringVar(&c.db, "db", "", "the server's SQLite file (disk)")
	flag.Float64Var(&c.seconds, "seconds", 10, "length of the timed phases (guess, stall), at most 60")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: hostile [flags] disk|rss|guess|lockout|stall")
		os.Exit(2)
	}
	if c.seconds <= 0 || c.seconds > 60 {
		c.seconds = 10
	}
	host := strings.TrimPrefix(strings.TrimPrefix(c.url, "http://"), "https://")
	if !strings.HasPrefix(host, "127.") && !strings.HasPrefix(host, "localhost") && !strings.HasPrefix(host, "[::1]") {
		fmt.Fprintln(os.Stderr, "hostile: only loopback endpoints")
		os.Exit(2)
	}
	phases := map[string]func(config) error{"disk": disk, "rss": rss, "guess": guess, "lockout": lockout, "stall": stall}
	run, ok := phases[flag.Arg(0)]
	if !ok {
		fmt.Fprintln(os.Stderr, "hostile: unknown phase", flag.Arg(0))
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
}

const bigBody = 4 << 20

// randomBody is 4 MiB of random bytes; envelopeBody is a 4 MiB SOAP envelope
// without a Security header (one long text node), the case a server cannot
// refuse from its first bytes.
func randomBody() []byte {
	b := make([]byte, bigBody)
	crand.Read(b)
	return b
}

func envelopeBody() []byte {
	head := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><VersionInfoRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><IncludeVersionHistory>`
	tail := `</IncludeVersionHistory></VersionInfoRequestMsg></soap:Body></soap:Envelope>`
	b := make([]byte, 0, bigBody)
	b = append(b, head...)
	b = append(b, bytes.Repeat([]byte("x"), bigBody-len(head)-len(tail))...)
	return append(b, tail...)
}

func client(local net.IP, conns int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: d.DialContext, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}}
}

func post(cl *http.Client, url string, body []byte) (int, []byte, error) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := cl.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, out, err
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func storeSize(db string) int64 { return fileSize(db) + fileSize(db+"-wal") }

// disk sends 25 bodies of each kind and reports the store's growth.
func disk(c config) error {
	if c.db == "" {
		return fmt.Errorf("disk needs --db")
	}
	cl := client(nil, 4)
	for _, kind := range []struct {
		name string
		body []byte
	}{{"random bytes", randomBody()}, {"envelope, no credentials", envelopeBody()}} {
		before := storeSize(c.db)
		statuses := map[int]int{}
		for range 25 {
			st, _, err := post(cl, c.url, kind.body)
			if err != nil {
				statuses[-1]++
				continue
			}
			statuses[st]++
		}
		time.Sleep(1500 * time.Millisecond) // the request log is written in the background
		after := storeSize(c.db)
		fmt.Printf("disk %-26s 25 × 4 MiB: store %d → %d bytes, %d bytes per request; statuses %v\n",
			kind.name, before, after, (after-before)/25, statuses)
	}
	return nil
}

// vmHWM is the process's peak resident set, in bytes.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for %d", pid)
}

// rss sends 128 unauthenticated 4 MiB envelopes at once, twice, and reports
// the server's peak RSS.
func rss(c config) error {
	if c.pid == 0 {
		return fmt.Errorf("rss needs --pid")
	}
	before, err := vmHWM(c.pid)
	if err != nil {
		return err
	}
	body := envelopeBody()
	cl := client(nil, 128)
	statuses := map[int]int{}
	var mu sync.Mutex
	for range 2 {
		var wg sync.WaitGroup
		for range 128 {
			wg.Go(func() {
				st, _, err := post(cl, c.url, body)
				if err != nil {
					st = -1
				}
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	after, err := vmHWM(c.pid)
	if err != nil {
		return err
	}
	fmt.Printf("rss 2 × 128 concurrent 4 MiB envelopes without credentials: VmHWM %.1f → %.1f MiB; statuses %v\n",
		float64(before)/(1<<20), float64(after)/(1<<20), statuses)
	return nil
}

// cpuTicks is the process's user+system CPU time in clock ticks.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return ut + st
}

// realClient sends authenticated Retrieves one after another until ctx
// ends, recording each latency and how many were refused.
func realClient(ctx context.Context, c config, local net.IP) (lat []time.Duration, refused int) {
	cl := client(local, 1)
	env := loadgen.NewEnvelopeWriter(loadgen.Credentials{Username: c.username, Password: c.password})
	for ctx.Err() == nil {
		start := time.Now()
		st, body, err := post(cl, c.url, env.Retrieve(1))
		if err != nil || st != http.StatusOK || !bytes.Contains(body, []byte("<OverallStatus>OK</OverallStatus>")) {
			refused++
		} else {
			lat = append(lat, time.Since(start))
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	return lat, refused
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

// guess measures a real client alone, then during a flood of wrong
// passwords for its account from 400 loopback addresses (127.0.1.0/23).
func guess(c config) error {
	period := time.Duration(c.seconds * float64(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), period/2)
	alone, refusedAlone := realClient(ctx, c, net.IPv4(127, 0, 0, 1))
	cancel()

	ctx, cancel = context.WithTimeout(context.Background(), period)
	defer cancel()
	var attempts atomic.Int64
	var wg sync.WaitGroup
	const sources, perSource = 400, 200 // at most 80,000 guesses
	sem := make(chan struct{}, 64)
	t0 := cpuTicks(c.pid)
	start := time.Now()
	for i := range sources {
		wg.Go(func() {
			ip := net.IPv4(127, 0, byte(1+i/256), byte(i%256))
			cl := client(ip, 1)
			env := loadgen.NewEnvelopeWriter(loadgen.Credentials{Username: c.username, Password: "wrong-" + strconv.Itoa(i)})
			for range perSource {
				select {
				case <-ctx.Done():
					return
				case sem <- struct{}{}:
				}
				post(cl, c.url, env.Retrieve(1))
				<-sem
				attempts.Add(1)
			}
		})
	}
	during, refusedDuring := realClient(ctx, c, net.IPv4(127, 0, 0, 1))
	cancel()
	wg.Wait()
	elapsed := time.Since(start)
	cores := 0.0
	if c.pid != 0 {
		cores = float64(cpuTicks(c.pid)-t0) / 100 / elapsed.Seconds()
	}
	fmt.Printf("guess real client alone: p50 %v (%d ok, %d refused)\n", median(alone).Round(10*time.Microsecond), len(alone), refusedAlone)
	fmt.Printf("guess during 400-address flood: p50 %v (%d ok, %d refused); %d guesses in %v (%.0f/s); server CPU %.2f cores\n",
		median(during).Round(10*time.Microsecond), len(during), refusedDuring, attempts.Load(), elapsed.Round(time.Millisecond),
		float64(attempts.Load())/elapsed.Seconds(), cores)
	return nil
}

// lockout guesses wrong 30 times from 127.0.0.2, then logs in correctly
// from 127.0.0.3 and from 127.0.0.2.
func lockout(c config) error {
	bad := client(net.IPv4(127, 0, 0, 2), 1)
	wrong := loadgen.NewEnvelopeWriter(loadgen.Credentials{Username: c.username, Password: "not-the-password"})
	statuses := map[int]int{}
	for range 30 {
		st, _, _ := post(bad, c.url, wrong.Retrieve(1))
		statuses[st]++
	}
	right := loadgen.NewEnvelopeWriter(loadgen.Credentials{Username: c.username, Password: c.password})
	clean, _, _ := post(client(net.IPv4(127, 0, 0, 3), 1), c.url, right.Retrieve(1))
	same, _, _ := post(bad, c.url, right.Retrieve(1))
	fmt.Printf("lockout 30 wrong guesses from 127.0.0.2: statuses %v; then the right password from 127.0.0.3: HTTP %d, from 127.0.0.2: HTTP %d\n",
		statuses, clean, same)
	return nil
}

// stall creates 2,500 Sends (so that a Retrieve of all of them is a large
// answer), opens 10 connections with a tiny receive buffer that each pipeline
// that Retrieve 20 times and never read, and measures how long until a good client is
// served, and what share of its requests were refused.
func stall(c config) error {
	cl := client(nil, 2)
	env := loadgen.NewEnvelopeWriter(loadgen.Credentials{Username: c.username, Password: c.password})
	for range 5 {
		st, body, err := post(cl, c.url, env.Create(500, time.Now().Add(24*time.Hour)))
		if err != nil || st != http.StatusOK {
			return fmt.Errorf("create: HTTP %d %v %.200s", st, err, body)
		}
	}
	st, body, err := post(cl, c.url, env.RetrieveAll())
	if err != nil || st != http.StatusOK {
		return fmt.Errorf("retrieve all: HTTP %d %v", st, err)
	}
	answer := len(body)

	host := strings.TrimPrefix(c.url, "http://")
	host, path, _ := strings.Cut(host, "/")
	var stalled []net.Conn
	defer func() {
		for _, conn := range stalled {
			conn.Close()
		}
	}()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
	}}
	for range 10 {
		conn, err := d.Dial("tcp", host)
		if err != nil {
			return err
		}
		stalled = append(stalled, conn)
		// Twenty pipelined requests (~10 MB of answers): more than the
		// socket buffers hold, so the server blocks writing one of them.
		for range 20 {
			req := env.RetrieveAll()
			fmt.Fprintf(conn, "POST /%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: %d\r\n\r\n", path, host, len(req))
			conn.Write(req)
		}
	}
	start := time.Now()
	deadline := start.Add(time.Duration(c.seconds * float64(time.Second)))
	ok, refused := 0, 0
	var streakStart time.Time // when the current run of refusals began
	var longest time.Duration
	good := client(nil, 1)
	for time.Now().Before(deadline) {
		t := time.Now()
		st, _, err := post(good, c.url, env.Retrieve(1))
		if err == nil && st == http.StatusOK {
			ok++
			if !streakStart.IsZero() {
				longest = max(longest, t.Sub(streakStart))
				streakStart = time.Time{}
			}
		} else {
			refused++
			if streakStart.IsZero() {
				streakStart = t
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !streakStart.IsZero() {
		longest = max(longest, time.Since(streakStart))
	}
	fmt.Printf("stall 10 non-reading connections × 20 Retrieves of %d-byte answers: good client %d served, %d refused in %v; longest run of refusals %v\n",
		answer, ok, refused, time.Since(start).Round(time.Millisecond), longest.Round(time.Millisecond))
	return nil
}
