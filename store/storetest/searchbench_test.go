package storetest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store"
)

// BenchmarkSearchRequests is the console's exchange search on a request
// log of 100,000 exchanges, what serve keeps by default
// (--request-log-max-entries; PARTNERD_TEST_STORE picks the backend): one
// page of 100 for an account that made 1% of them, one that made 5, one
// that made none, and the whole log unfiltered. An account's search walks
// the log newest first: an index by account would make a rare account's
// page a short range, at the cost of every logged request (BENCHMARKS.md).
func BenchmarkSearchRequests(b *testing.B) {
	db := testrig.OpenStore(b)
	ctx := b.Context()
	const n = 100_000
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]store.RequestLog, 0, 1000)
	for i := range n {
		acct := int64(1 + i%50) // 50 busy accounts, 2% each
		switch {
		case i%100 == 7:
			acct = 100 // 1%
		case i%20_000 == 11:
			acct = 101 // 10 exchanges
		}
		batch = append(batch, store.RequestLog{RequestID: fmt.Sprintf("r-%07d", i), AccountID: acct, Username: "u",
			Operation: "Perform", Status: "OK", Face: "soap", ReceivedAt: base.Add(time.Duration(i) * time.Millisecond),
			Duration: time.Millisecond, Request: "<a/>", Response: "<b/>"})
		if len(batch) == cap(batch) {
			if err := db.LogRequests(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for _, c := range []struct {
		name    string
		account int64
		want    int
	}{{"all", 0, 100}, {"account-1pct", 100, 100}, {"account-5", 101, 5}, {"account-none", 102, 0}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				es, err := db.SearchRequests(ctx, store.RequestQuery{AccountID: c.account, Limit: 100})
				if err != nil || len(es) != c.want {
					b.Fatal(len(es), err)
				}
			}
		})
	}
}

// BenchmarkLogRequests is the request log's write: batches of 100
// exchanges of 50 accounts, as the server's log writer commits them (the
// cost every index on request_log adds to every request), with bodies of
// a few bytes and with a cancel's envelopes (testdata/golden), the most
// common exchange.
func BenchmarkLogRequests(b *testing.B) {
	cancelRequest, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "001_seed_cancel.txt"))
	if err != nil {
		b.Fatal(err)
	}
	cancelResponse, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "001_seed_cancel.golden"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bodies := range []struct{ name, request, response string }{
		{"Tiny", "<a/>", "<b/>"},
		{"Cancel", string(cancelRequest), string(cancelResponse)},
	} {
		b.Run(bodies.name, func(b *testing.B) {
			db := testrig.OpenStore(b)
			ctx := b.Context()
			base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			batch := make([]store.RequestLog, 100)
			i := 0
			for b.Loop() {
				for j := range batch {
					batch[j] = store.RequestLog{RequestID: fmt.Sprintf("r-%09d", i), AccountID: int64(1 + i%50), Username: "u",
						Operation: "Perform", Status: "OK", Face: "soap", ReceivedAt: base.Add(time.Duration(i) * time.Millisecond),
						Duration: time.Millisecond, Request: bodies.request, Response: bodies.response}
					i++
				}
				if err := db.LogRequests(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/exchange")
		})
	}
}

// BenchmarkPruneRequestBytes is the size budget's check on a log of
// 100,000 exchanges within it, as the server makes it every few thousand
// exchanges logged: 1,000 more exchanges, then the prune.
func BenchmarkPruneRequestBytes(b *testing.B) {
	db := testrig.OpenStore(b)
	ctx := b.Context()
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]store.RequestLog, 1000)
	i := 0
	logBatch := func() {
		for j := range batch {
			batch[j] = store.RequestLog{RequestID: fmt.Sprintf("r-%09d", i), AccountID: 1, Username: "u",
				Operation: "Perform", Status: "OK", Face: "soap", ReceivedAt: base.Add(time.Duration(i) * time.Millisecond),
				Duration: time.Millisecond, Request: "<a/>", Response: "<b/>"}
			i++
		}
		if err := db.LogRequests(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	for range 100 {
		logBatch()
	}
	for b.Loop() {
		b.StopTimer()
		logBatch()
		b.StartTimer()
		if n, err := db.PruneRequestBytes(ctx, 1<<40); err != nil || n != 0 {
			b.Fatal(n, err)
		}
	}
}
