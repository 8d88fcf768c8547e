package sqlite

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerd/partnerd/store"
)

// benchSends opens a database holding n sends of one account and returns
// it with the account and the send IDs.
func benchSends(b *testing.B, n int) (*DB, int64, []int64) {
	b.Helper()
	db, _ := newDB(b)
	ctx := b.Context()
	a := store.Account{Username: "bench"}
	if err := db.CreateAccount(ctx, &a); err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, 0, n)
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	err := db.Update(ctx, func(tx store.Tx) error {
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
	return db, a.ID, ids
}

// BenchmarkUpdateCancel is the store's share of a Perform cancel: one
// durable transaction that reads a send by ID and rewrites its status.
func BenchmarkUpdateCancel(b *testing.B) {
	db, acct, ids := benchSends(b, 10_000)
	ctx := b.Context()
	now := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	i := 0
	for b.Loop() {
		id := ids[i%len(ids)]
		i++
		err := db.Update(ctx, func(tx store.Tx) error {
			s, err := tx.SendByKey(ctx, acct, store.SendKey{ID: id})
			if err != nil {
				return err
			}
			read := s.Status
			s.Status = store.StatusCanceled
			if i%2 == 0 {
				s.Status = store.StatusScheduled
			}
			s.StatusChangedAt, s.ModifiedDate = now, now
			return tx.UpdateSendFrom(ctx, s, read)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFindSendsByID is a Retrieve of one send by ID through the filter
// path, in a View.
func BenchmarkFindSendsByID(b *testing.B) {
	db, acct, ids := benchSends(b, 10_000)
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if err := findByID(b, db, acct, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	// Readers use a pool of connections and never wait for the writer.
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if err := findByID(b, db, acct, ids[i%len(ids)]); err != nil {
					b.Error(err) // not Fatal: this is not the benchmark's goroutine
					return
				}
				i += 7
			}
		})
	})
}

func findByID(b *testing.B, db *DB, acct, id int64) error {
	ctx := b.Context()
	q := store.SendQuery{Filter: &store.Cond{Field: store.FieldID, Op: store.OpEquals, Values: []any{id}}}
	return db.View(ctx, func(tx store.Tx) error {
		got, err := tx.FindSends(ctx, acct, q)
		if err == nil && len(got) != 1 {
			return fmt.Errorf("FindSends(ID %d) = %d sends", id, len(got))
		}
		return err
	})
}

// BenchmarkUpdateCancelParallel is BenchmarkUpdateCancel from 64 goroutines
// at once, as under a burst of SOAP cancels: group commit shares one fsync
// among the Updates queued together.
func BenchmarkUpdateCancelParallel(b *testing.B) {
	db, acct, ids := benchSends(b, 10_000)
	ctx := b.Context()
	now := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	var next atomic.Int64
	b.SetParallelism(32) // 64 goroutines on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			id := ids[int(i)%len(ids)]
			err := db.Update(ctx, func(tx store.Tx) error {
				s, err := tx.SendByKey(ctx, acct, store.SendKey{ID: id})
				if err != nil {
					return err
				}
				read := s.Status
				s.Status = store.StatusCanceled
				s.StatusChangedAt, s.ModifiedDate = now, now
				return tx.UpdateSendFrom(ctx, s, read)
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSendByKey is the read every Perform makes of each Definition's
// send, in a read transaction.
func BenchmarkSendByKey(b *testing.B) {
	db, acct, ids := benchSends(b, 10_000)
	ctx := b.Context()
	i := 0
	err := db.View(ctx, func(tx store.Tx) error {
		for b.Loop() {
			if _, err := tx.SendByKey(ctx, acct, store.SendKey{ID: ids[i%len(ids)]}); err != nil {
				return err
			}
			i++
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAccountByUsername is the account read of every authenticated
// request.
func BenchmarkAccountByUsername(b *testing.B) {
	db, _, _ := benchSends(b, 1)
	ctx := b.Context()
	for b.Loop() {
		if _, err := db.AccountByUsername(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
