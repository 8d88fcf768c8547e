// Command crashcancel runs partnerd's crash-safety check (see package
// internal/crashtest) and prints its figures; scripts/crash-cancel.sh
// builds partnerd and runs it. It exits 1 when an answered cancel was lost
// or the database is damaged.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/partnerd/partnerd/internal/crashtest"
)

func main() {
	var cfg crashtest.Config
	flag.StringVar(&cfg.Binary, "binary", "partnerd", "the partnerd binary")
	flag.StringVar(&cfg.Dir, "dir", "", "working directory (default: a new temporary one)")
	flag.IntVar(&cfg.Sends, "sends", 20000, "scheduled sends to create and cancel")
	flag.IntVar(&cfg.Kills, "kills", 20, "times to kill the server with SIGKILL")
	flag.IntVar(&cfg.Workers, "workers", 8, "concurrent cancel clients")
	flag.DurationVar(&cfg.MinUp, "min-up", 300*time.Millisecond, "shortest run of the server between kills")
	flag.DurationVar(&cfg.MaxUp, "max-up", 1500*time.Millisecond, "longest run of the server between kills")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed for the kill moments")
	flag.Parse()
	cfg.Seed = *seed
	cfg.Log = os.Stdout
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "partnerd-crash")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		cfg.Dir = dir
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Printf("crash test in %s (seed %d)\n", cfg.Dir, cfg.Seed)
	res, err := crashtest.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashcancel:", err)
		os.Exit(2)
	}
	fmt.Println(res)
	if len(res.Lost) > 0 || res.Integrity != "ok" || res.Refused > 0 {
		fmt.Printf("FAILED: lost %v\n", res.Lost)
		os.Exit(1)
	}
}
