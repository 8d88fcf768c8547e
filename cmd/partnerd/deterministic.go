package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/ids"
)

// deterministicFlags are serve's --deterministic, --seed and --clock-start:
// a server whose answers repeat byte for byte for the same requests, for
// test suites that record and compare them.
type deterministicFlags struct {
	on         bool
	seed       uint64
	clockStart string
}

// DefaultDeterministicStart is where a deterministic server's manual clock
// starts unless --clock-start says otherwise: a fixed instant, so that the
// timestamps of the answers repeat too.
var DefaultDeterministicStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (d *deterministicFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&d.on, "deterministic", envDefault("PARTNERD_DETERMINISTIC", "false") == "true", "IDs, API-key values and timestamps derived from --seed, the clock and the order of requests: the same requests get byte-identical answers every run; implies --clock manual unless --clock is given. For tests only: whoever knows the seed knows every secret (env PARTNERD_DETERMINISTIC)")
	fs.Uint64Var(&d.seed, "seed", uint64(envInt("PARTNERD_SEED", 1)), "seed of --deterministic (env PARTNERD_SEED)")
	fs.StringVar(&d.clockStart, "clock-start", envDefault("PARTNERD_CLOCK_START", ""), "where --clock manual starts (RFC 3339); default real time, or "+DefaultDeterministicStart.Format(time.RFC3339)+" with --deterministic (env PARTNERD_CLOCK_START)")
}

// resolve settles the clock mode (--deterministic implies manual unless a
// clock was asked for by flag or environment) and returns the ID source
// (nil: random) and the manual clock's start.
func (d *deterministicFlags) resolve(fs *flag.FlagSet, clockMode *string) (ids.Source, time.Time, error) {
	if !d.on {
		if seedGiven(fs) {
			return nil, time.Time{}, fmt.Errorf("--seed needs --deterministic")
		}
		start, err := d.start(time.Now())
		return nil, start, err
	}
	clockGiven := os.Getenv("PARTNERD_CLOCK") != ""
	fs.Visit(func(f *flag.Flag) { clockGiven = clockGiven || f.Name == "clock" })
	if !clockGiven {
		*clockMode = "manual"
	}
	start, err := d.start(DefaultDeterministicStart)
	return ids.Seeded(d.seed), start, err
}

func (d *deterministicFlags) start(def time.Time) (time.Time, error) {
	if d.clockStart == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339, d.clockStart)
	if err != nil {
		return time.Time{}, fmt.Errorf("--clock-start: want an RFC 3339 time (2026-01-01T00:00:00Z): %w", err)
	}
	return t.UTC(), nil
}

// banner is the start-up line that says the server is deterministic, so
// that it is never on by accident unnoticed.
func (d *deterministicFlags) banner(clk clock.Clock) string {
	if !d.on {
		return ""
	}
	what := "system clock: timestamps are not repeatable"
	if m, ok := clk.(*clock.Manual); ok {
		what = "manual clock from " + m.Now().Format(time.RFC3339)
	}
	return "  DETERMINISTIC: seed " + strconv.FormatUint(d.seed, 10) + ", " + what + "; IDs and secrets are predictable, for tests only"
}

func seedGiven(fs *flag.FlagSet) bool {
	given := os.Getenv("PARTNERD_SEED") != ""
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "seed" })
	return given
}
