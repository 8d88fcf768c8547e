package main

import (
	"bufio"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runningServer is a "partnerd serve" started by a test, with its announced
// base URL and the lines it printed.
type runningServer struct {
	cmd  *exec.Cmd
	base string
	mu   sync.Mutex
	out  strings.Builder
	done chan error
}

// output returns what the server printed so far.
func (s *runningServer) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

var listeningRE = regexp.MustCompile(`listening on (https?://\S+)`)

// startServer starts "partnerd serve" on a free port and returns once the
// start-up banner is complete (its last line names the store).
func startServer(t *testing.T, db string, extra ...string) *runningServer {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, extra...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &runningServer{cmd: cmd, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		var base string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.out.WriteString(line + "\n")
			s.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				base = m[1]
			}
			if strings.HasPrefix(strings.TrimSpace(line), "store:") {
				ready <- base
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case s.base = <-ready:
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", s.output())
	}
	return s
}

// stop sends SIGTERM and expects a clean exit.
func (s *runningServer) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("partnerd did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("partnerd did not stop within 15s of SIGTERM")
	}
}
