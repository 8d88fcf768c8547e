package dispatch_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/partnerd/partnerd/dispatch"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/store"
)

// BenchmarkDispatch measures dispatch throughput into the outbox on a real
// file (synchronous=FULL, so every commit is fsynced): b.N due sends, each
// with two recipients, claimed, captured and completed. It reports sends/s.
//
//	go test -run - -bench Dispatch -benchtime 20000x ./dispatch
func BenchmarkDispatch(b *testing.B) {
	for _, batch := range []int{100, 500} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			db := testrig.OpenStore(b)
			acct := store.Account{Username: "bench"}
			if err := db.CreateAccount(b.Context(), &acct); err != nil {
				b.Fatal(err)
			}
			content := store.SendContent{Subject: "Hello", TextBody: "Hi there",
				Recipients: []store.Recipient{{Address: "a@example.com"}, {Address: "b@example.com"}}}
			for done := 0; done < b.N; {
				err := db.Update(b.Context(), func(tx store.Tx) error {
					for i := 0; i < 1000 && done < b.N; i, done = i+1, done+1 {
						s := &store.Send{AccountID: acct.ID, ObjectID: fmt.Sprintf("00000000-0000-4000-8000-%012d", done),
							EmailID: 1, ListIDs: []int64{2}, SendDate: t0, Status: store.StatusScheduled}
						if err := tx.InsertSend(b.Context(), s); err != nil {
							return err
						}
						if err := tx.SetSendContent(b.Context(), acct.ID, s.ID, content); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			d := dispatch.New(dispatch.Config{Store: db, Clock: clock.NewManual(t0.Add(time.Minute)),
				Policy: lifecycle.DefaultPolicy, BatchSize: batch})
			b.ResetTimer()
			st, err := d.RunDue(b.Context())
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if st.Completed != int64(b.N) {
				b.Fatalf("completed %d of %d", st.Completed, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sends/s")
		})
	}
}
