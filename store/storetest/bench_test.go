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
// GOMAXPROCS×4 callers on one account's sends, each on its own sends (every
// cancel counts what the others change: the held limit serializes them);
// ParallelAccounts: as many callers, each on an account of its own;
// Repeated: cancels of sends canceled already.
func BenchmarkCancel(b *testing.B) {
	db := testrig.OpenStore(b)
	ctx := b.Context()
	const n = 10_000
	const accounts = 16
	acct := make([]int64, accounts)
	for i := range acct {
		a := store.Account{Username: "bench" + string(rune('a'+i))}
		if err := db.CreateAccount(ctx, &a); err != nil {
			b.Fatal(err)
		}
		acct[i] = a.ID
	}
	ids := make([]int64, 0, n)
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	err := db.Update(ctx, func(tx store.Tx) error {
		ids = ids[:0]
		for i := range n {
			s := store.Send{
				AccountID: acct[i%accounts], ObjectID: uuid.NewString(), EmailID: int64(i % 50),
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
	// ids[i] is a send of account acct[i%accounts].
	cancel := func(i int) error {
		account := acct[i%accounts]
		return db.Update(ctx, func(tx store.Tx) error {
			s, err := tx.SendByKey(ctx, account, store.SendKey{ID: ids[i]})
			if err != nil {
				return err
			}
			if _, err := tx.CountHeldSends(ctx, account, now); err != nil {
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
			if err := cancel((i * accounts) % n); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	// parallel runs GOMAXPROCS×4 callers; the k-th works on account
	// pick(k) only, on sends no other caller touches.
	parallel := func(b *testing.B, pick func(k int) int) {
		b.SetParallelism(4)
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			k := int(next.Add(1)) - 1
			account := pick(k)
			for j := 0; pb.Next(); j++ {
				// Sends of the account: account, account+accounts, …,
				// the caller's own among them by k.
				row := (k/accounts + j*17) % (n / accounts / 2)
				if err := cancel(account + accounts*(row*2+k%2)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.Run("Parallel", func(b *testing.B) { parallel(b, func(int) int { return 0 }) })
	b.Run("ParallelAccounts", func(b *testing.B) { parallel(b, func(k int) int { return k % accounts }) })

	// Repeated: a cancel of a send canceled already, which reads the
	// send and writes nothing (PostgreSQL's one-shot transactions send
	// its BEGIN, read and COMMIT together once predicted), from
	// GOMAXPROCS×4 callers over the accounts.
	repeat := func(i int) error {
		account := acct[i%accounts]
		return db.Update(ctx, func(tx store.Tx) error {
			s, err := tx.SendByKey(ctx, account, store.SendKey{ID: ids[i]})
			if err != nil || s.Status == store.StatusCanceled {
				return err
			}
			read := s.Status
			s.Status, s.StatusChangedAt, s.ModifiedDate = store.StatusCanceled, now, now
			return tx.UpdateSendFrom(ctx, s, read)
		})
	}
	const repeated = 256
	for i := range repeated {
		if err := repeat(i); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Repeated", func(b *testing.B) {
		b.SetParallelism(4)
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := repeat(int(next.Add(1)) % repeated); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
