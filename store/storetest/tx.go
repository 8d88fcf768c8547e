package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// errAbort is the error the suite's transactions fail with on purpose.
var errAbort = errors.New("storetest: abort")

// sendCount is how many sends account has, seen from a fresh View.
func sendCount(t *testing.T, s store.Store, accountID int64) int {
	t.Helper()
	got, err := find(t, s, accountID, store.SendQuery{})
	if err != nil {
		t.Fatalf("FindSends: %v", err)
	}
	return len(got)
}

func testTransactions(t *testing.T, open func(*testing.T) store.Store) {
	// Each case runs fn as an Update (or View) that tries to insert a send
	// and save a cursor, and checks the returned error and whether the
	// writes are visible afterwards.
	cases := []struct {
		name string
		// run performs the transaction; write does the writes inside it.
		run       func(t *testing.T, s store.Store, write func(context.Context, store.Tx) error) error
		wantErr   error // nil: must succeed
		committed bool
	}{
		{
			name: "Update commits",
			run: func(t *testing.T, s store.Store, write func(context.Context, store.Tx) error) error {
				return s.Update(t.Context(), func(tx store.Tx) error { return write(t.Context(), tx) })
			},
			committed: true,
		},
		{
			name: "error rolls back",
			run: func(t *testing.T, s store.Store, write func(context.Context, store.Tx) error) error {
				err := s.Update(t.Context(), func(tx store.Tx) error {
					if err := write(t.Context(), tx); err != nil {
						return err
					}
					return errAbort
				})
				if err != errAbort {
					t.Errorf("Update returned %v, want fn's error unchanged", err)
				}
				return err
			},
			wantErr: errAbort,
		},
		{
			name: "wrapped store error passes through",
			run: func(t *testing.T, s store.Store, write func(context.Context, store.Tx) error) error {
				return s.Update(t.Context(), func(tx store.Tx) error {
					if err := write(t.Context(), tx); err != nil {
						return err
					}
					_, err := tx.SendByKey(t.Context(), 1, store.SendKey{ID: 1 << 30})
					return fmt.Errorf("cancel: %w", err)
				})
			},
			wantErr: store.ErrNotFound,
		},
		{
			name: "panic rolls back and re-panics",
			run: func(t *testing.T, s store.Store, write func(context.Context, store.Tx) error) (err error) {
				defer func() {
					r := recover()
					if r != errAbort {
						t.Errorf("recovered %v, want the panic value from fn", r)
					}
					err = errAbort
				}()
				_ = s.Update(t.Context(), func(tx store.Tx) error {
					if err := write(t.Context(), tx); err != nil {
						return err
					}
					panic(errAbort)
				})
				t.Error("Update returned after fn panicked")
				return nil
			},
			wantErr: errAbort,
		},
		{
			name: "context canceled before Update",
			run: func(t *testing.T, s store.Store, write func(context.Context, store.Tx) error) error {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				return s.Update(ctx, func(tx store.Tx) error { return write(ctx, tx) })
			},
			wantErr: context.Canceled,
		},
		{
			name: "View is read-only",
			run: func(t *testing.T, s store.Store, write func(context.Context, store.Tx) error) error {
				err := s.View(t.Context(), func(tx store.Tx) error { return write(t.Context(), tx) })
				if err == nil {
					t.Error("writes inside View succeeded")
				}
				return errAbort // any error will do
			},
			wantErr: errAbort,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			acct := newAccount(t, s, "acct")
			send := newSend(acct.ID, "tx")
			write := func(ctx context.Context, tx store.Tx) error {
				if err := tx.InsertSend(ctx, &send); err != nil {
					return err
				}
				// A transaction sees its own writes.
				if _, err := tx.SendByKey(ctx, acct.ID, store.SendKey{CustomerKey: "tx"}); err != nil {
					return fmt.Errorf("own write not visible: %w", err)
				}
				return tx.SaveCursor(ctx, store.Cursor{RequestID: "tx", AccountID: acct.ID, AfterID: 1, Expires: at(time.Hour)})
			}
			err := c.run(t, s, write)
			if c.wantErr == nil && err != nil {
				t.Fatalf("transaction: %v", err)
			}
			if c.wantErr != nil {
				wantErr(t, "transaction", err, c.wantErr)
			}
			var cursorErr error
			viewErr := s.View(t.Context(), func(tx store.Tx) error {
				_, cursorErr = tx.Cursor(t.Context(), acct.ID, "tx", base)
				return nil
			})
			if viewErr != nil {
				t.Fatalf("View: %v", viewErr)
			}
			if n := sendCount(t, s, acct.ID); c.committed != (n == 1) || c.committed != (cursorErr == nil) {
				t.Errorf("after the transaction: %d sends, cursor error %v; committed should be %v", n, cursorErr, c.committed)
			}
			// The store is still usable: a failed transaction released
			// whatever it held.
			insert(t, s, newSend(acct.ID, "after"))
		})
	}

	t.Run("canceled during Update: nil means committed", func(t *testing.T) {
		s := open(t)
		acct := newAccount(t, s, "acct")
		ctx, cancel := context.WithCancel(t.Context())
		err := s.Update(ctx, func(tx store.Tx) error {
			send := newSend(acct.ID, "")
			if err := tx.InsertSend(ctx, &send); err != nil {
				return err
			}
			cancel()
			return nil
		})
		n := sendCount(t, s, acct.ID)
		if (err == nil) != (n == 1) {
			t.Errorf("Update = %v with %d sends stored: a nil error must mean committed, an error not", err, n)
		}
	})
}

func testDurability(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	acct := newAccount(t, s, "durable")
	send := insert(t, s, newSend(acct.ID, "kept"))[0]
	send.Status = store.StatusCanceled
	send.StatusChangedAt = at(time.Minute)
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.UpdateSendFrom(t.Context(), send, store.StatusScheduled) }); err != nil {
		t.Fatalf("UpdateSendFrom: %v", err)
	}
	err := s.Update(t.Context(), func(tx store.Tx) error {
		lost := newSend(acct.ID, "rolled-back")
		if err := tx.InsertSend(t.Context(), &lost); err != nil {
			return err
		}
		return errAbort
	})
	wantErr(t, "aborted Update", err, errAbort)
	if err := s.UseNonce(t.Context(), "durable", "n", time.Now().Add(time.Hour), time.Now()); err != nil {
		t.Fatalf("UseNonce: %v", err)
	}
	entry := requestLog(base, "Perform")
	if err := s.LogRequest(t.Context(), entry); err != nil {
		t.Fatalf("LogRequest: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t)
	defer s.Close()
	if _, err := s.AccountByUsername(t.Context(), "durable"); err != nil {
		t.Errorf("account after re-open: %v", err)
	}
	got, err := get(t, s, acct.ID, send.ID)
	if err != nil {
		t.Fatalf("send after re-open: %v", err)
	}
	if d := diffSend(got, send); d != "" {
		t.Errorf("send after re-open: %s", d)
	}
	if n := sendCount(t, s, acct.ID); n != 1 {
		t.Errorf("%d sends after re-open, want 1 (the rolled-back one must not appear)", n)
	}
	wantErr(t, "nonce after re-open", s.UseNonce(t.Context(), "durable", "n", time.Now().Add(time.Hour), time.Now()), store.ErrReplay)
	if _, err := s.RequestByID(t.Context(), entry.RequestID); err != nil {
		t.Errorf("request log after re-open: %v", err)
	}
}

func testConcurrency(t *testing.T, open func(*testing.T) store.Store) {
	const workers, rounds = 8, 25

	t.Run("NoLostUpdate", func(t *testing.T) {
		// Read-modify-write of one counter from 8 goroutines, while
		// readers watch: every increment must land.
		s := open(t)
		acct := newAccount(t, s, "acct")
		counter := insert(t, s, newSend(acct.ID, "counter"))[0]
		stop := make(chan struct{})
		var readers sync.WaitGroup
		for range 2 {
			readers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := get(t, s, acct.ID, counter.ID); err != nil {
						t.Errorf("concurrent read: %v", err)
						return
					}
				}
			})
		}
		var writers sync.WaitGroup
		for range workers {
			writers.Go(func() {
				for range rounds {
					err := s.Update(t.Context(), func(tx store.Tx) error {
						cur, err := tx.SendByKey(t.Context(), acct.ID, store.SendKey{ID: counter.ID})
						if err != nil {
							return err
						}
						cur.NumberSent++
						return tx.UpdateSendFrom(t.Context(), cur, cur.Status)
					})
					if err != nil {
						t.Errorf("Update: %v", err)
						return
					}
				}
			})
		}
		writers.Wait()
		close(stop)
		readers.Wait()
		if got := mustGet(t, s, acct.ID, counter.ID).NumberSent; got != workers*rounds {
			t.Errorf("NumberSent = %d after %d increments", got, workers*rounds)
		}
	})

	t.Run("OneNonceOneWinner", func(t *testing.T) {
		s := open(t)
		results := make(chan error, workers)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() { results <- s.UseNonce(t.Context(), "u", "contended", time.Now().Add(time.Hour), time.Now()) })
		}
		wg.Wait()
		close(results)
		var errs []error
		for err := range results {
			errs = append(errs, err)
		}
		if ok := winners(t, "UseNonce", store.ErrReplay, errs); ok != 1 {
			t.Errorf("%d of %d concurrent uses of one nonce succeeded, want 1", ok, workers)
		}
	})

	t.Run("ConcurrentInsertsGetDistinctIDs", func(t *testing.T) {
		s := open(t)
		acct := newAccount(t, s, "acct")
		var mu sync.Mutex
		seen := map[int64]bool{}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for r := range 5 {
					send := newSend(acct.ID, fmt.Sprintf("w%d-r%d", w, r))
					err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertSend(t.Context(), &send) })
					if err != nil {
						t.Errorf("InsertSend: %v", err)
						return
					}
					mu.Lock()
					if seen[send.ID] {
						t.Errorf("ID %d handed out twice", send.ID)
					}
					seen[send.ID] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if n := sendCount(t, s, acct.ID); n != workers*5 {
			t.Errorf("%d sends stored, want %d", n, workers*5)
		}
	})
}

// viewRead runs read in a View of s and returns what it read: the
// conformance tests' one-line look at the store.
func viewRead[T any](t *testing.T, s store.Store, read func(tx store.Tx) (T, error)) (T, error) {
	t.Helper()
	var got T
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		got, err = read(tx)
		return err
	})
	return got, err
}
