package storetest_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store"
)

// BenchmarkCancel is the store's share of a cancel under the held limit,
// on the backend the test rig picks (PARTNERD_TEST_STORE: SQLite, or
// PostgreSQL), so that one benchmark compares them: one durable Update
// that reads a send by ID, counts the account's held sends and rewrites
// the send's status (canceling it, or on every other call scheduling it
// again, so the held count stays small). Serial: one caller; Parallel:
// GOMAXPROCS×4 callers on one account's sends, each on its own sends.
func BenchmarkCancel(b *testing.B) {
	db := testrig.OpenStore(b)
	ctx := b.Context()
	a := store.Account{Username: "bench"}
	if err := db.CreateAccount(ctx, &a); err != nil {
		b.Fatal(err)
	}
	const n = 10_000
	ids := make([]int64, 0, n)
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	err := db.Update(ctx, func(tx store.Tx) error {
		ids = ids[:0]
		for i := range n {
			s := store.Send{
				AccountID: a.ID, ObjectID: uuid.NewString(), EmailID: int64(i % 50),
				EmailName: "Bench", Subject: "Bench", ListIDs: []int64{1, 2},
				Status: store.StatusScheduled, SendDate: base.Add(time.Duration(i) * time.Minute),
				CreatedDate: base, ModifiedDate: base,
			}
			if err := tx.InsertSend(ctx, &s); err != nil {
				return err
			}
			ids = append(ids, s.ID)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	cancel := func(id int64) error {
		return db.Update(ctx, func(tx store.Tx) error {
			s, err := tx.SendByKey(ctx, a.ID, store.SendKey{ID: id})
			if err != nil {
				return err
			}
			if _, err := tx.CountHeldSends(ctx, a.ID, now); err != nil {
				return err
			}
			read := s.Status
			s.Status = store.StatusCanceled
			if read == store.StatusCanceled {
				s.Status = store.StatusScheduled
			}
			s.StatusChangedAt, s.ModifiedDate = now, now
			return tx.UpdateSendFrom(ctx, s, read)
		})
	}
	b.Run("Serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if err := cancel(ids[i%n]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.SetParallelism(4)
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			// Each caller its own stripe of sends: no two touch one row.
			stripe := next.Add(1) * 997
			for i := int64(0); pb.Next(); i++ {
				if err := cancel(ids[(stripe+i*31)%n]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
