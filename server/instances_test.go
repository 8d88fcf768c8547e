package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store"
)

// TestManualClockNeedsTheDatabaseToItself: on a store several processes
// share (PostgreSQL), a manual-clock server refuses to start beside any
// other server, and any server refuses to start beside a manual-clock
// one; servers of the system clock share the database; a closed server
// lets the other kind start. On SQLite, which has no instance lock, this
// is skipped.
func TestManualClockNeedsTheDatabaseToItself(t *testing.T) {
	first, name := testrig.OpenNamed(t)
	if _, ok := first.(store.InstanceLocker); !ok {
		t.Skipf("the %s store has no instance lock (one process per database); %s=postgres://… tests it", testrig.Backend(t), testrig.Env)
	}
	second, err := store.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	sealer, err := credential.NewSealer(bytes.Repeat([]byte{7}, credential.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	start := func(st store.Store, manual bool) (*App, error) {
		var clk clock.Clock = clock.System{}
		if manual {
			clk = clock.NewManual(time.Now())
		}
		return NewApp(AppConfig{Config: Config{Store: st, Clock: clk, Sealer: sealer,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	}
	tests := []struct {
		name                string
		firstManual, manual bool
		refused             string // "" when the second starts
	}{
		{"system beside system", false, false, ""},
		{"manual beside system", false, true, "a manual clock (--clock manual) moves only its own process's time"},
		{"system beside manual", true, false, "a partnerd serve --clock manual is running on this database"},
		{"manual beside manual", true, true, "a manual clock (--clock manual) moves only its own process's time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := start(first, tc.firstManual)
			if err != nil {
				t.Fatal(err)
			}
			b, err := start(second, tc.manual)
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("second server refused: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("second server: %v, want a refusal saying %q", err, tc.refused)
			}
			if b != nil {
				b.Close()
			}
			a.Close()
			// Closed, the first no longer holds the lock: the second's
			// kind starts alone.
			b, err = start(second, tc.manual)
			if err != nil {
				t.Fatalf("alone after the first closed: %v", err)
			}
			b.Close()
		})
	}
}
