// Command profserve is partnerd's server (server.New over the SQLite store,
// wired as `partnerd serve` wires it, held limit off) with CPU, block and
// mutex profiles written when it is stopped: the evidence behind "Where the
// time goes" in BENCHMARKS.md, taken under the same load as the figures.
// The store must already hold the account (partnerd account add).
//
//	profserve --db FILE --out DIR &   # prints its SOAP endpoint
//	partnerd bench --url … ; kill %1  # then: go tool pprof -top DIR/cpu.pprof
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/server"
	"github.com/partnerd/partnerd/store"
	_ "github.com/partnerd/partnerd/store/sqlite" // plain paths
)

func main() {
	dbPath := flag.String("db", "", "SQLite store holding the bench account")
	out := flag.String("out", ".", "directory for cpu.pprof, block.pprof and mutex.pprof")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	contention := flag.Bool("contention", true, "also sample every blocking event and contended mutex (slows the server a little)")
	flag.Parse()

	clk := clock.System{}
	db, err := store.Open(context.Background(), *dbPath)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	sealer, err := credential.LoadOrCreateKey(*dbPath + ".key")
	if err != nil {
		log.Fatal(err)
	}
	handler := server.New(server.Config{
		Store: db, Clock: clk, Sealer: sealer, Version: "profserve",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Policy: lifecycle.Policy{CancelCutoff: lifecycle.DefaultPolicy.CancelCutoff, PauseExpiry: lifecycle.DefaultPolicy.PauseExpiry},
	})

	// Sample every blocking event and every contended mutex: the point is
	// to see where requests wait, not only where CPU goes.
	if *contention {
		runtime.SetBlockProfileRate(1)
		runtime.SetMutexProfileFraction(1)
	}
	cpu, err := os.Create(filepath.Join(*out, "cpu.pprof"))
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		log.Fatal(err)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("profserve listening on http://%s/Service.asmx\n", ln.Addr())
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go srv.Serve(ln)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	srv.Close()
	pprof.StopCPUProfile()
	cpu.Close()
	for _, name := range []string{"block", "mutex"} {
		f, err := os.Create(filepath.Join(*out, name+".pprof"))
		if err != nil {
			log.Fatal(err)
		}
		pprof.Lookup(name).WriteTo(f, 0)
		f.Close()
	}
}
