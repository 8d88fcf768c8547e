package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/crashtest"
)

// Tests of the hardening flags against the real binary: TLS, slow clients,
// graceful shutdown, online backup and crash safety. Time bounds here are
// generous ceilings, never expectations of speed.

// startHard starts a server without the demo account.
func startHard(t *testing.T, db string, args ...string) *runningServer {
	t.Helper()
	return startServer(t, db, append([]string{"--demo-account=false"}, args...)...)
}

func soapEnvelope(user, pw, body string) string {
	return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>` +
		user + `</Username><Password>` + pw + `</Password></UsernameToken></Security></s:Header><s:Body>` + body + `</s:Body></s:Envelope>`
}

const versionInfo = `<VersionInfoRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><IncludeVersionHistory>false</IncludeVersionHistory></VersionInfoRequestMsg>`

func TestTLSSelfSigned(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tls.db")
	partnerd(t, db, "account", "add", "--username", "tls", "--password", "tls-pw")
	srv := startHard(t, db, "--tls-self-signed")
	if !strings.HasPrefix(srv.base, "https://127.0.0.1:") {
		t.Fatalf("announced %s, want https", srv.base)
	}
	m := regexp.MustCompile(`SHA-256 fingerprint ([0-9A-F:]{95})`).FindStringSubmatch(srv.output())
	if m == nil {
		t.Fatalf("no fingerprint printed:\n%s", srv.output())
	}
	checkTLS(t, srv, m[1])
}

func TestTLSCertFiles(t *testing.T) {
	dir := t.TempDir()
	cert, err := selfSignedCert(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	db := filepath.Join(dir, "tls.db")
	partnerd(t, db, "account", "add", "--username", "tls", "--password", "tls-pw")
	srv := startHard(t, db, "--tls-cert", certFile, "--tls-key", keyFile)
	checkTLS(t, srv, fingerprint(cert.Certificate[0]))

	// Flags that do not go together are refused.
	for _, args := range [][]string{{"--tls-cert", certFile}, {"--tls-self-signed", "--tls-cert", certFile, "--tls-key", keyFile}} {
		out, err := exec.Command(binary, append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, args...)...).CombinedOutput()
		if err == nil {
			t.Errorf("serve %v started:\n%s", args, out)
		}
	}
}

// checkTLS trusts exactly the server's certificate, after checking that it
// is the one whose fingerprint was printed, and talks SOAP over https.
func checkTLS(t *testing.T, srv *runningServer, printed string) {
	t.Helper()
	host := strings.TrimPrefix(srv.base, "https://")
	conn, err := tls.Dial("tcp", host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if got := fingerprint(leaf.Raw); got != printed {
		t.Fatalf("served certificate %s, printed %s", got, printed)
	}
	sum := sha256.Sum256(leaf.Raw)
	t.Logf("certificate SHA-256 %x", sum)

	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, base := range []string{srv.base, strings.Replace(srv.base, "127.0.0.1", "localhost", 1)} {
		resp, err := client.Get(base + "/Service.asmx?wsdl")
		if err != nil {
			t.Fatalf("GET %s with the certificate trusted: %v", base, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `location="`+base+`/Service.asmx"`) {
			t.Errorf("the WSDL's soap:address is not %s/Service.asmx", base)
		}
	}
	resp, err := client.Post(srv.base+"/Service.asmx", "text/xml; charset=utf-8", strings.NewReader(soapEnvelope("tls", "tls-pw", versionInfo)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "VersionInfoResponseMsg") {
		t.Fatalf("VersionInfo over https: %d %s", resp.StatusCode, body)
	}
	// A fault names the https endpoint as its actor.
	resp, err = client.Post(srv.base+"/Service.asmx", "text/xml", strings.NewReader(soapEnvelope("tls", "wrong", versionInfo)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "<faultactor>"+srv.base+"/Service.asmx</faultactor>") {
		t.Errorf("faultactor is not the https endpoint: %s", body)
	}
	// A client that does not trust the certificate is refused.
	if _, err := http.Get(srv.base + "/healthz"); err == nil {
		t.Error("an untrusting client connected")
	}
}

// TestSlowClientsAreCutOff opens slowloris connections — headers, then a
// body, trickled a byte at a time — and checks the server drops them at
// its timeouts while still serving a normal client.
func TestSlowClientsAreCutOff(t *testing.T) {
	db := filepath.Join(t.TempDir(), "slow.db")
	partnerd(t, db, "account", "add", "--username", "slow", "--password", "slow-pw")
	srv := startHard(t, db, "--read-header-timeout", "1s", "--read-timeout", "2s")
	host := strings.TrimPrefix(srv.base, "http://")

	trickle := func(prefix string) (time.Duration, error) {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			return 0, err
		}
		defer conn.Close()
		start := time.Now()
		if _, err := io.WriteString(conn, prefix); err != nil {
			return 0, err
		}
		// Read in the background: the server's answer or close ends it.
		closed := make(chan struct{})
		go func() {
			io.Copy(io.Discard, conn)
			close(closed)
		}()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case <-closed:
				return time.Since(start), nil
			case <-deadline:
				return 0, fmt.Errorf("still connected after 30s")
			case <-tick.C:
				conn.Write([]byte("X")) // errors once the server has closed
			}
		}
	}

	const slow = 40
	var wg sync.WaitGroup
	var cutHeaders, cutBody atomic.Int64
	errs := make(chan error, 2*slow)
	for i := 0; i < slow; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			d, err := trickle("POST /Service.asmx HTTP/1.1\r\nHost: x\r\nX-Slow: ")
			if err != nil {
				errs <- fmt.Errorf("slow headers: %w", err)
			}
			cutHeaders.Store(int64(d))
		}()
		go func() {
			defer wg.Done()
			d, err := trickle("POST /Service.asmx HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n<")
			if err != nil {
				errs <- fmt.Errorf("slow body: %w", err)
			}
			cutBody.Store(int64(d))
		}()
	}
	// Meanwhile a normal client is served.
	time.Sleep(300 * time.Millisecond)
	status, body := post(t, srv.base+"/Service.asmx", "text/xml", soapEnvelope("slow", "slow-pw", versionInfo))
	if status != 200 {
		t.Errorf("a normal client among %d slow ones: %d %s", 2*slow, status, body)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d slow-header connections cut after ~%v, %d slow-body ones after ~%v",
		slow, time.Duration(cutHeaders.Load()).Round(100*time.Millisecond), slow, time.Duration(cutBody.Load()).Round(100*time.Millisecond))
}

// TestGracefulShutdown sends SIGTERM while a cancel is in flight — its body
// half sent — and checks the request still completes, its commit is
// durable, and the server then exits cleanly.
func TestGracefulShutdown(t *testing.T) {
	db := filepath.Join(t.TempDir(), "graceful.db")
	partnerd(t, db, "account", "add", "--username", "g", "--password", "g-pw")
	srv := startHard(t, db)
	when := time.Now().UTC().Add(3 * time.Hour).Format(time.RFC3339)
	status, body := post(t, srv.base+"/Service.asmx", "text/xml", soapEnvelope("g", "g-pw",
		`<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Objects xsi:type="Send"><Email><ID>1</ID></Email><List><ID>2</ID></List><SendDate>`+when+`</SendDate></Objects></CreateRequest>`))
	m := regexp.MustCompile(`<NewID>(\d+)</NewID>`).FindStringSubmatch(body)
	if status != 200 || m == nil {
		t.Fatalf("Create: %d %s", status, body)
	}

	cancel := soapEnvelope("g", "g-pw", `<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>cancel</Action><Definitions><Definition xsi:type="Send"><ID>`+m[1]+`</ID></Definition></Definitions></PerformRequestMsg>`)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := len(cancel) / 2
	fmt.Fprintf(conn, "POST /Service.asmx HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s", len(cancel), cancel[:half])
	time.Sleep(300 * time.Millisecond) // the server is now reading the body
	srv.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(500 * time.Millisecond)

	// New connections are no longer accepted…
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.base, "http://"), time.Second); err == nil {
		c.Close()
		// The listener may close a moment later on a loaded machine;
		// only the in-flight request is what this test is about.
		t.Logf("a new connection was accepted 500ms after SIGTERM")
	}
	// …but the one in flight is finished.
	io.WriteString(conn, cancel[half:])
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(out), "<OverallStatus>OK</OverallStatus>") {
		t.Fatalf("in-flight cancel: %d %s", resp.StatusCode, out)
	}
	select {
	case err := <-srv.done:
		if err != nil {
			t.Fatalf("partnerd exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("partnerd did not exit after SIGTERM")
	}
	if out := partnerd(t, db, "send", "list", "--status", "Canceled"); !strings.Contains(out, "Canceled") {
		t.Fatalf("the cancel answered during shutdown is not in the store:\n%s", out)
	}
}

// TestBackupWhileServing copies the store with "partnerd backup" while a
// client creates sends, ten per Create: the copy must pass integrity_check
// and hold whole transactions only.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "live.db")
	partnerd(t, db, "account", "add", "--username", "b", "--password", "b-pw")
	srv := startHard(t, db)
	when := time.Now().UTC().Add(3 * time.Hour).Format(time.RFC3339)
	create := `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI">` +
		strings.Repeat(`<Objects xsi:type="Send"><Email><ID>1</ID></Email><List><ID>2</ID></List><SendDate>`+when+`</SendDate></Objects>`, 10) + `</CreateRequest>`

	ctx, stop := context.WithCancel(context.Background())
	var created atomic.Int64
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.base+"/Service.asmx", strings.NewReader(soapEnvelope("b", "b-pw", create)))
			req.Header.Set("Content-Type", "text/xml")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				created.Add(10)
			}
		}
	}()
	for created.Load() < 200 {
		time.Sleep(10 * time.Millisecond)
	}
	copyPath := filepath.Join(dir, "copy.db")
	before := created.Load()
	out := partnerd(t, db, "backup", "--to", copyPath)
	after := created.Load()
	stop()
	<-loadDone
	if !strings.Contains(out, "backed up") || !strings.Contains(out, "secret key") {
		t.Errorf("backup output:\n%s", out)
	}

	cp, err := sql.Open("sqlite3", "file:"+copyPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	var check string
	if err := cp.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	var sends, accounts int64
	cp.QueryRow(`SELECT COUNT(*) FROM sends`).Scan(&sends)
	cp.QueryRow(`SELECT COUNT(*) FROM accounts`).Scan(&accounts)
	// Answers may still be in flight either side of the copy, hence the
	// one-Create margins.
	if sends%10 != 0 || sends < before-10 || sends > after+10 || accounts != 1 {
		t.Fatalf("the copy holds %d sends and %d accounts; %d..%d sends were created around the copy", sends, accounts, before, after)
	}
	t.Logf("copy: %d sends (%d created before the backup started, %d when it ended)", sends, before, after)

	// The copy is a working store, and a backup never overwrites.
	if out := partnerd(t, copyPath, "account", "list"); !strings.Contains(out, "b") {
		t.Errorf("account list on the copy:\n%s", out)
	}
	if out, err := exec.Command(binary, "backup", "--db", db, "--to", copyPath).CombinedOutput(); err == nil {
		t.Errorf("a backup overwrote %s:\n%s", copyPath, out)
	}
	if out, err := exec.Command(binary, "backup", "--db", filepath.Join(dir, "missing.db"), "--to", filepath.Join(dir, "x.db")).CombinedOutput(); err == nil {
		t.Errorf("a backup of a missing database succeeded:\n%s", out)
	}
}

// TestCrashCancel is the CI-sized crash test: 5 SIGKILLs under a cancel
// load (scripts/crash-cancel.sh runs 20 and more).
func TestCrashCancel(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the real binary under load")
	}
	res, err := crashtest.Run(context.Background(), crashtest.Config{
		Binary: binary, Dir: t.TempDir(), Sends: 3000, Kills: 5, Workers: 4,
		MinUp: 200 * time.Millisecond, MaxUp: 800 * time.Millisecond, Seed: uint64(time.Now().UnixNano()),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if len(res.Lost) > 0 {
		t.Errorf("answered-OK cancels lost: %v", res.Lost)
	}
	if res.Integrity != "ok" {
		t.Errorf("integrity_check: %s", res.Integrity)
	}
	if res.Refused > 0 {
		t.Errorf("%d cancels answered other than OK", res.Refused)
	}
	if res.AnsweredOK == 0 || res.Kills != 5 {
		t.Errorf("the load did not run: %+v", res)
	}
}

// TestCPUProfile runs the server with --cpuprofile under a few requests and
// reads the profile it leaves on SIGTERM with the profile parser's own
// format check (a gzipped protobuf that go tool pprof accepts).
func TestCPUProfile(t *testing.T) {
	dir := t.TempDir()
	db, prof := filepath.Join(dir, "prof.db"), filepath.Join(dir, "cpu.pprof")
	partnerd(t, db, "account", "add", "--username", "p", "--password", "p-pw")
	srv := startHard(t, db, "--cpuprofile", prof)
	for range 20 {
		post(t, srv.base+"/Service.asmx", "text/xml", soapEnvelope("p", "p-pw",
			`<VersionInfoRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><IncludeVersionHistory>false</IncludeVersionHistory></VersionInfoRequestMsg>`))
	}
	srv.stop(t) // the profile is written on the way out
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatalf("no profile written: %v", err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile is not gzipped protobuf (%d bytes)", len(b))
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := io.ReadAll(zr); err != nil || len(raw) == 0 {
		t.Fatalf("profile does not decompress: %d bytes, %v", len(raw), err)
	}
	// A file that cannot be created is an error at start, not a silent
	// run without a profile.
	if out, err := exec.Command(binary, "serve", "--db", db, "--cpuprofile", filepath.Join(dir, "no", "such", "dir", "p")).CombinedOutput(); err == nil {
		t.Fatalf("serve with an unwritable --cpuprofile started:\n%s", out)
	}
}
