package partnerapi_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/partnerd/partnerd/api/partnerapi"
	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/loadgen"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/store"
)

// benchStore opens a fresh store (the one PARTNERD_TEST_STORE picks; a
// SQLite file by default) holding n Scheduled Sends of one account, due in
// 30 days.
func benchStore(b *testing.B, n int) (store.Store, store.Account) {
	b.Helper()
	db := testrig.OpenStore(b, testrig.File("perform.db"))
	ctx := context.Background()
	acct := store.Account{Username: "bench", ClientID: 1001}
	if err := db.CreateAccount(ctx, &acct); err != nil {
		b.Fatal(err)
	}
	due := time.Now().Add(30 * 24 * time.Hour).UTC()
	err := db.Update(ctx, func(tx store.Tx) error {
		for i := range n {
			s := store.Send{AccountID: acct.ID, ObjectID: "00000000-0000-4000-8000-" + pad12(i), EmailID: 1,
				ListIDs: []int64{1}, SendDate: due, Status: store.StatusScheduled, CreatedDate: due, ModifiedDate: due}
			if err := tx.InsertSend(ctx, &s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return db, acct
}

func pad12(i int) string {
	s := strconv.Itoa(i)
	return string(bytes.Repeat([]byte{'0'}, 12-len(s))) + s
}

// BenchmarkPerformCancel is Perform on the store: decode the Definitions,
// one durable transaction that reads and rewrites each Send, the response
// body. The envelope is parsed outside the timed loop. The IDs walk the
// 10,000 Sends, so the first pass cancels and later passes are the
// idempotent re-cancel (a read, no write, still a commit).
func BenchmarkPerformCancel(b *testing.B) {
	const sends = 10_000
	for _, n := range []int{1, 100} {
		b.Run("defs="+strconv.Itoa(n), func(b *testing.B) {
			db, acct := benchStore(b, sends)
			svc := &partnerapi.Service{Store: db, Clock: clock.System{}, Policy: lifecycle.Policy{CancelCutoff: 10 * time.Minute}}
			envs := loadgen.NewEnvelopeWriter(loadgen.Credentials{Username: "bench", Password: "x"})
			// Parse a ring of requests up front: the loop measures
			// Perform alone.
			reqs := make([]*soap.Request, sends/n)
			ids := make([]int64, n)
			for i := range reqs {
				for j := range ids {
					ids[j] = int64(i*n + j + 1)
				}
				env, err := soap.ReadEnvelope(bytes.Clone(envs.Cancel(ids)))
				if err != nil {
					b.Fatal(err)
				}
				reqs[i] = &soap.Request{RequestID: "00000000-0000-0000-0000-000000000000", Operation: "Perform",
					Envelope: env, Body: env.Body, Principal: soap.Principal{AccountID: acct.ID, Username: acct.Username, ClientID: 1001}}
			}
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				resp, err := svc.Perform(ctx, reqs[i%len(reqs)])
				if err != nil || resp.Status != "OK" {
					b.Fatalf("Perform: %v, %+v", err, resp)
				}
				i++
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "defs/s")
		})
	}
}
