// Command partnerd is a server that speaks the Marketing Cloud (ExactTarget)
// SOAP Partner API for scheduled sends, over an embedded SQLite store.
//
//	partnerd [serve] [flags]          run the server (the default)
//	partnerd account add|passwd|list|show|disable|enable
//	partnerd user add|list|passwd|disable|enable|delete
//	partnerd apikey create|list|revoke
//	partnerd client add|list|revoke
//	partnerd send list
//	partnerd requests --last N
//	partnerd backup --to FILE
//	partnerd migrate --from SRC --to DST
//	partnerd replay FILE|DIR …
//	partnerd check FILE …
//
// Every flag has an environment variable: --addr is PARTNERD_ADDR, --db is
// PARTNERD_DB, and so on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `partnerd: the Marketing Cloud SOAP Partner API for scheduled sends

Usage:
  partnerd [serve] [flags]        run the server (default 127.0.0.1:8080, ./partnerd.db)
  partnerd account add --username U --password P [--client-id N]
  partnerd account passwd --username U --password P
  partnerd account list
  partnerd account disable|enable --username U   every credential of the account
  partnerd account add --account A [--client-id N]   an account without users
  partnerd account show A [--minutes 5,60]        its credentials, requests per credential
  partnerd user add|passwd --account A --username U --password P
  partnerd user disable|enable|delete --account A --username U   one user only
  partnerd user list --account A
  partnerd apikey create --account U --name N [--scopes a,b]   SendGrid API key, shown once
  partnerd apikey list|revoke --account U [--id ID]
  partnerd client add --account U [--scopes a,b] [--mid N]   token client (installed package), secret shown once
  partnerd client list|revoke --account U [--id ID]
  partnerd send list [--account U] [--status S]
  partnerd requests [--last N] [--id REQUESTID] [--credential [KIND:]NAME]
  partnerd outbox [--last N] [--account U]        dispatched sends
  partnerd queue flush --account U [--reason R]   discard an account's pending sends
  partnerd queue actions [--last N]               operator actions
  partnerd backup --to FILE       consistent copy of the store, safe while serving
  partnerd migrate --from SRC --to DST [--with-request-log] [--force]   copy a whole store (SQLite or PostgreSQL) into an empty one
  partnerd bench --url URL --username U --password P [--workload cancel|cancel-batch|retrieve|wsdl] [--prepare N]
  partnerd replay [--url URL] [--expect DIR] [--refresh] FILE|DIR …   send recorded requests, compare answers
  partnerd check [--wsdl FILE] FILE …   validate request envelopes (and JSON requests) offline
  partnerd version

Run "partnerd <command> -h" for the flags of a command.
`

func main() {
	// The SQLite committer spends its commits in fsync inside a cgo call,
	// which keeps its P until sysmon notices (up to 10 ms later). With one
	// P — a server pinned to one core — every request would stall behind
	// each fsync, so at least two Ps run even on one core (measured on the
	// cancel workload pinned to one core: 1,555 → 4,047 requests/s).
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	// Requests allocate ~40 KB each and keep almost nothing: collecting at
	// twice the live heap instead of once saves ~7% of CPU on the cancel
	// workload, and a soft limit keeps the heap from growing with it
	// (peak RSS under cancel-batch: 110 MB before, 142 MB after, against a
	// 150 MB budget). The limit is 80 MiB, not 100: under sustained load
	// the live nonces of the six-minute window are ~45 MB of the heap
	// (pointer-free, so cheap to collect around), and with SQLite's page
	// caches outside the Go heap a 100 MiB limit let the process reach
	// 153 MB after 6 minutes at ~7,000 cancels/s. GOGC and GOMEMLIMIT in
	// the environment win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(80 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		// A command that explains its own failures (replay, check) asks
		// for its exit code this way.
		var code exitStatus
		if errors.As(err, &code) {
			os.Exit(code.ExitCode())
		}
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "partnerd:", err)
		}
		os.Exit(2)
	}
}

// run dispatches a command line; tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, stdout, stderr)
	case "account":
		return runAccount(ctx, args, stdout, stderr)
	case "apikey":
		return runAPIKey(ctx, args, stdout, stderr)
	case "client":
		return runClient(ctx, args, stdout, stderr)
	case "user":
		return runUser(ctx, args, stdout, stderr)
	case "send", "sends":
		return runSend(ctx, args, stdout, stderr)
	case "requests":
		return runRequests(ctx, args, stdout, stderr)
	case "outbox":
		return runOutbox(ctx, args, stdout, stderr)
	case "queue":
		return runQueue(ctx, args, stdout, stderr)
	case "list":
		return runList(ctx, args, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args, stdout, stderr)
	case "bench":
		return runBench(ctx, args, stdout, stderr)
	case "replay":
		return runReplay(ctx, args, stdout, stderr)
	case "check":
		return runCheck(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "partnerd", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
