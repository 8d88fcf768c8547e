// Package crashtest checks that partnerd loses no answered cancel when it is
// killed: it runs a cancel load against the real binary, kills the server
// with SIGKILL at random moments, restarts it, and finally checks that every
// cancel answered OK is Canceled in the database and that the database
// passes PRAGMA integrity_check. scripts/crash-cancel.sh and a CI-sized test
// in cmd/partnerd drive it.
package crashtest

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3" // the check reads the database directly
)

// Config says how hard to shake the server.
type Config struct {
	Binary  string // the partnerd binary
	Dir     string // where the database and server logs go
	Sends   int    // scheduled sends to create, then cancel
	Kills   int    // SIGKILLs
	Workers int    // concurrent cancel clients
	// Each run of the server lasts a random time in [MinUp, MaxUp]
	// before it is killed.
	MinUp, MaxUp time.Duration
	Seed         uint64
	Log          io.Writer // progress; nil discards
}

// Result is what happened.
type Result struct {
	Starts     int
	Kills      int
	Requests   int64 // cancel requests sent
	AnsweredOK int   // sends whose cancel was answered OK
	NoAnswer   int64 // requests cut off by a kill (outcome unknown to the client)
	Refused    int64 // requests answered with something other than OK
	Canceled   int   // sends Canceled in the database at the end
	Lost       []int64
	Integrity  string
	Elapsed    time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%d kills (SIGKILL), %d starts; %d cancel requests, %d cut off by a kill, %d answered other than OK; %d sends answered OK, %d Canceled in the database; answered-OK cancels lost: %d; integrity_check: %s; %v",
		r.Kills, r.Starts, r.Requests, r.NoAnswer, r.Refused, r.AnsweredOK, r.Canceled, len(r.Lost), r.Integrity, r.Elapsed.Round(time.Millisecond))
}

const (
	username = "crash"
	password = "crash-pw"
)

// Run runs the crash test. An error means the test could not be carried
// out; a carried-out test that lost cancels reports them in Result.Lost.
func Run(ctx context.Context, cfg Config) (Result, error) {
	start := time.Now()
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	db := filepath.Join(cfg.Dir, "crash.db")
	var res Result

	if out, err := exec.CommandContext(ctx, cfg.Binary, "account", "add", "--db", db, "--username", username, "--password", password).CombinedOutput(); err != nil {
		return res, fmt.Errorf("account add: %w: %s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	srv := &server{binary: cfg.Binary, db: db, addr: addr, logPath: filepath.Join(cfg.Dir, "server.log")}
	if err := srv.start(ctx); err != nil {
		return res, err
	}
	res.Starts++
	defer srv.kill()

	ids, err := createSends(ctx, srv.endpoint(), cfg.Sends)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(logw, "created %d scheduled sends\n", len(ids))

	// The load: workers cancel sends one per request. A send whose
	// cancel got no answer is retried (cancel is idempotent); one
	// answered OK is recorded and never touched again.
	queue := make(chan int64, len(ids))
	for _, id := range ids {
		queue <- id
	}
	var (
		mu       sync.Mutex
		ok       = map[int64]bool{}
		requests atomic.Int64
		noAnswer atomic.Int64
		refused  atomic.Int64
	)
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < max(cfg.Workers, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var id int64
				select {
				case <-loadCtx.Done():
					return
				case id = <-queue:
				}
				requests.Add(1)
				answered, err := cancelSend(loadCtx, client, srv.endpoint(), id)
				switch {
				case answered:
					mu.Lock()
					ok[id] = true
					mu.Unlock()
				case err == nil:
					// Answered, but not OK: a bug, not a crash
					// effect; reported, not retried.
					refused.Add(1)
				default:
					noAnswer.Add(1)
					queue <- id
					// The server is down or restarting: do not spin.
					select {
					case <-loadCtx.Done():
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
		}()
	}

	for k := 0; k < cfg.Kills; k++ {
		up := cfg.MinUp
		if cfg.MaxUp > cfg.MinUp {
			up += time.Duration(rng.Int64N(int64(cfg.MaxUp - cfg.MinUp)))
		}
		select {
		case <-ctx.Done():
			stopLoad()
			wg.Wait()
			return res, ctx.Err()
		case <-time.After(up):
		}
		srv.kill()
		res.Kills++
		mu.Lock()
		n := len(ok)
		mu.Unlock()
		fmt.Fprintf(logw, "kill %d after %v: %d cancels answered OK so far\n", k+1, up.Round(time.Millisecond), n)
		if k == cfg.Kills-1 {
			break
		}
		if err := srv.start(ctx); err != nil {
			stopLoad()
			wg.Wait()
			return res, fmt.Errorf("restart after kill %d: %w", k+1, err)
		}
		res.Starts++
	}
	stopLoad()
	wg.Wait()

	res.Requests, res.NoAnswer, res.Refused, res.AnsweredOK = requests.Load(), noAnswer.Load(), refused.Load(), len(ok)
	status, integrity, err := readBack(db)
	if err != nil {
		return res, err
	}
	res.Integrity = integrity
	for _, s := range status {
		if s == "Canceled" {
			res.Canceled++
		}
	}
	for id := range ok {
		if status[id] != "Canceled" {
			res.Lost = append(res.Lost, id)
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// server is one partnerd process, restarted on the same address.
type server struct {
	binary, db, addr, logPath string
	cmd                       *exec.Cmd
	done                      chan struct{}
}

func (s *server) endpoint() string { return "http://" + s.addr + "/Service.asmx" }

func (s *server) start(ctx context.Context) error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.binary, "serve", "--addr", s.addr, "--db", s.db, "--demo-account=false",
		"--login-failures", "0", "--max-inflight", "0", "--log-format", "json",
		// Every send gets canceled ahead of its SendDate: without this
		// the held limit would refuse all but the first 100.
		"--held-limit", "0")
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start partnerd: %w", err)
	}
	ready := make(chan struct{})
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		sc := bufio.NewScanner(stdout)
		signaled := false
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if !signaled && strings.Contains(sc.Text(), "listening on") {
				close(ready)
				signaled = true
			}
		}
		cmd.Wait()
		logf.Close()
		close(done)
	}(s.done)
	select {
	case <-ready:
		return nil
	case <-s.done:
		return fmt.Errorf("partnerd exited at start (see %s)", s.logPath)
	case <-time.After(30 * time.Second):
		s.kill()
		return fmt.Errorf("partnerd did not start within 30s (see %s)", s.logPath)
	case <-ctx.Done():
		s.kill()
		return ctx.Err()
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func envelope(body string) string {
	return `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>` +
		username + `</wsse:Username><wsse:Password>` + password + `</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`
}

func post(ctx context.Context, client *http.Client, url, action, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(envelope(body)))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", action)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, string(b), nil
}

var newIDRE = regexp.MustCompile(`<NewID>(\d+)</NewID>`)

// createSends creates n sends due tomorrow, 500 per Create.
func createSends(ctx context.Context, endpoint string, n int) ([]int64, error) {
	client := &http.Client{Timeout: 60 * time.Second}
	when := time.Now().UTC().Add(24 * time.Hour).Format(time.RFC3339)
	var ids []int64
	for len(ids) < n {
		var b strings.Builder
		b.WriteString(`<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Options/>`)
		for i := 0; i < min(500, n-len(ids)); i++ {
			b.WriteString(`<Objects xsi:type="Send"><Email><ID>1</ID></Email><List><ID>2</ID></List><SendDate>` + when + `</SendDate></Objects>`)
		}
		b.WriteString(`</CreateRequest>`)
		code, body, err := post(ctx, client, endpoint, "Create", b.String())
		if err != nil {
			return nil, fmt.Errorf("create sends: %w", err)
		}
		m := newIDRE.FindAllStringSubmatch(body, -1)
		if code != 200 || len(m) == 0 {
			return nil, fmt.Errorf("create sends: HTTP %d: %.500s", code, body)
		}
		for _, s := range m {
			id, _ := strconv.ParseInt(s[1], 10, 64)
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// cancelSend reports whether the cancel of id was answered OK. err is set
// when no answer came at all.
func cancelSend(ctx context.Context, client *http.Client, endpoint string, id int64) (bool, error) {
	code, body, err := post(ctx, client, endpoint, "Perform",
		`<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>cancel</Action><Definitions><Definition xsi:type="Send"><ID>`+strconv.FormatInt(id, 10)+`</ID></Definition></Definitions></PerformRequestMsg>`)
	if err != nil {
		return false, err
	}
	return code == 200 && strings.Contains(body, "<OverallStatus>OK</OverallStatus>"), nil
}

// readBack opens the database after the last kill, as the next start
// would, and returns every send's status and integrity_check's verdict.
func readBack(path string) (map[int64]string, string, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		return nil, "", err
	}
	defer db.Close()
	var lines []string
	rows, err := db.Query(`PRAGMA integrity_check`)
	if err != nil {
		return nil, "", fmt.Errorf("integrity_check: %w", err)
	}
	for rows.Next() {
		var l string
		rows.Scan(&l)
		lines = append(lines, l)
	}
	rows.Close()
	status := map[int64]string{}
	rows, err = db.Query(`SELECT s.id, s.status FROM sends s JOIN accounts a ON a.id = s.account_id WHERE a.username = ?`, username)
	if err != nil {
		return nil, "", fmt.Errorf("read sends: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var s string
		if err := rows.Scan(&id, &s); err != nil {
			return nil, "", err
		}
		status[id] = s
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("read sends: %w", err)
	}
	return status, strings.Join(lines, "; "), nil
}
