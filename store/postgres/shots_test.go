package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/postgres"
)

// TestBatchedOneShots: once reads alone are predicted, concurrent
// read-only Updates go out together, and each fn reads its own send, once.
func TestBatchedOneShots(t *testing.T) {
	needPostgres(t)
	db, _ := twoProcesses(t)
	const n = 48
	acct, sends := groupSends(t, db, "shots", n)
	ctx := context.Background()
	read := func(i int) (calls int, err error) {
		err = db.Update(ctx, func(tx store.Tx) error {
			calls++
			got, err := tx.SendByKey(ctx, acct.ID, store.SendKey{ID: sends[i].ID})
			if err == nil && (got.ID != sends[i].ID || got.EmailName != sends[i].EmailName) {
				t.Errorf("read %d: send %d %q, want %d %q", i, got.ID, got.EmailName, sends[i].ID, sends[i].EmailName)
			}
			return err
		})
		return calls, err
	}
	for i := range 8 { // teaches the predictor
		if _, err := read(i); err != nil {
			t.Fatal(err)
		}
	}
	pipelines0, shots0 := postgres.ShotPipelines(db)
	var wg sync.WaitGroup
	for round := range 3 {
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if calls, err := read(i); err != nil || calls != 1 {
					t.Errorf("round %d, read %d: %v after %d runs of fn", round, i, err, calls)
				}
			}()
		}
		wg.Wait()
	}
	pipelines, shots := postgres.ShotPipelines(db)
	pipelines, shots = pipelines-pipelines0, shots-shots0
	t.Logf("%d one shots in %d pipelines", shots, pipelines)
	if shots != 3*n || pipelines >= shots {
		t.Errorf("%d one shots in %d pipelines: want %d, sharing pipelines", shots, pipelines, 3*n)
	}
}
