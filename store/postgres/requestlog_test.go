package postgres_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
	"github.com/partnerd/partnerd/store/postgres"
)

// TestPruneRequestBytesAcrossProcesses: each process keeps a running count
// of the log's size, and it must hold for every process's rows: what the
// other logged is pruned to the budget, what the other pruned does not make
// this one prune more than the budget asks, and the newest rows are the
// ones kept each time.
func TestPruneRequestBytesAcrossProcesses(t *testing.T) {
	needPostgres(t)
	a, b := twoProcesses(t)
	ctx := t.Context()
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	seq := 0
	log := func(db *postgres.DB, n int) {
		t.Helper()
		es := make([]store.RequestLog, n)
		for i := range es {
			seq++
			// Bodies of distinct decimal digits pack to about half.
			var body strings.Builder
			for j := 0; body.Len() < 4000; j++ {
				fmt.Fprintf(&body, "%d.", seq*7919+j*104729)
			}
			es[i] = store.RequestLog{RequestID: fmt.Sprintf("r-%04d", seq), Operation: "Perform", Status: "OK",
				ReceivedAt: base.Add(time.Duration(seq) * time.Second), Request: body.String()}
		}
		if err := db.LogRequests(ctx, es); err != nil {
			t.Fatal(err)
		}
	}
	kept := func() []store.RequestLog {
		t.Helper()
		es, err := a.RecentRequests(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	size := func(es []store.RequestLog) (total int64) {
		for _, e := range es {
			total += sqlcodec.PackLogs([]store.RequestLog{e})[0].Stored
		}
		return total
	}
	const budget = 40_000

	// a counts an empty log, then b logs past the budget: a's next prune
	// must see b's rows.
	if n, err := a.PruneRequestBytes(ctx, budget); err != nil || n != 0 {
		t.Fatalf("PruneRequestBytes of an empty log = %d, %v", n, err)
	}
	log(b, 40)
	n, err := a.PruneRequestBytes(ctx, budget)
	es := kept()
	if err != nil || n == 0 || int(n)+len(es) != 40 {
		t.Fatalf("a's prune of b's 40 rows = %d, %v; %d kept", n, err, len(es))
	}
	if got := size(es); got > budget || es[0].RequestID != fmt.Sprintf("r-%04d", seq) {
		t.Errorf("kept %d bytes (budget %d), newest %s", got, budget, es[0].RequestID)
	}
	// b prunes to a smaller budget; a, which counted more, prunes nothing
	// at its own budget.
	if _, err := b.PruneRequestBytes(ctx, budget/2); err != nil {
		t.Fatal(err)
	}
	before := len(kept())
	if n, err := a.PruneRequestBytes(ctx, budget); err != nil || n != 0 {
		t.Errorf("a's prune after b's = %d, %v; want 0 (the log is within its budget)", n, err)
	}
	if after := len(kept()); after != before {
		t.Errorf("%d rows before a's prune, %d after", before, after)
	}
	// Rows logged by both after the counts are counted too.
	log(a, 10)
	log(b, 10)
	if _, err := a.PruneRequestBytes(ctx, budget); err != nil {
		t.Fatal(err)
	}
	es = kept()
	if got := size(es); got > budget || es[0].RequestID != fmt.Sprintf("r-%04d", seq) {
		t.Errorf("after both logged: kept %d bytes (budget %d), newest %s", got, budget, es[0].RequestID)
	}
}
