package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/postgres"
)

// nonceUser makes an account with one user, as read for a login.
func nonceUser(t *testing.T, db *postgres.DB, name string) (store.User, store.Account) {
	t.Helper()
	ctx := context.Background()
	a := store.Account{Username: name + "-acct", ClientID: 7, PasswordHash: "h0"}
	if err := db.CreateAccount(ctx, &a); err != nil {
		t.Fatal(err)
	}
	u := store.User{AccountID: a.ID, Username: name, PasswordHash: "h1", PasswordSealed: []byte{1, 2, 3}}
	if err := db.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	u, a, err := db.UserByUsername(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return u, a
}

// TestUseNonceIfCurrent: the nonce is recorded only while the user and its
// account are as read; each change a login depends on, made through any
// process, makes the next call record nothing, and a replay is refused.
func TestUseNonceIfCurrent(t *testing.T) {
	needPostgres(t)
	db, other := twoProcesses(t)
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	exp := now.Add(10 * time.Minute)

	// changeAccount rewrites a's whole record (credentials included)
	// through the other process.
	changeAccount := func(a store.Account, change func(*store.Account)) error {
		full, err := other.AccountByUsername(ctx, a.Username)
		if err != nil {
			return err
		}
		change(&full)
		return other.UpdateAccount(ctx, full)
	}
	tests := []struct {
		name   string
		change func(u store.User, a store.Account) error // through the other process
	}{
		{"password hash rotated", func(u store.User, _ store.Account) error {
			u.PasswordHash = "h2"
			return other.UpdateUser(ctx, u)
		}},
		{"sealed password rotated", func(u store.User, _ store.Account) error {
			u.PasswordSealed = []byte{9}
			return other.UpdateUser(ctx, u)
		}},
		{"sealed password removed", func(u store.User, _ store.Account) error {
			u.PasswordSealed = nil
			return other.UpdateUser(ctx, u)
		}},
		{"user disabled", func(u store.User, _ store.Account) error {
			u.Disabled = true
			return other.UpdateUser(ctx, u)
		}},
		{"account disabled", func(_ store.User, a store.Account) error {
			return changeAccount(a, func(full *store.Account) { full.Disabled = true })
		}},
		{"account's client ID changed", func(_ store.User, a store.Account) error {
			return changeAccount(a, func(full *store.Account) { full.ClientID = 8 })
		}},
		{"user deleted", func(u store.User, _ store.Account) error {
			return other.DeleteUser(ctx, u.AccountID, u.ID)
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, a := nonceUser(t, db, fmt.Sprintf("nonce-user-%d", i))
			ok, err := db.UseNonceIfCurrent(ctx, u, a, "n1", exp, now)
			if err != nil || !ok {
				t.Fatalf("unchanged user: recorded %v, %v; want true", ok, err)
			}
			ok, err = db.UseNonceIfCurrent(ctx, u, a, "n1", exp, now)
			if err != nil || ok {
				t.Fatalf("replay: recorded %v, %v; want false", ok, err)
			}
			if err := other.UseNonce(ctx, u.Username, "n1", exp, now); !errors.Is(err, store.ErrReplay) {
				t.Fatalf("replay on the other process: %v, want ErrReplay", err)
			}
			if err := tt.change(u, a); err != nil {
				t.Fatal(err)
			}
			ok, err = db.UseNonceIfCurrent(ctx, u, a, "n2", exp, now)
			if err != nil || ok {
				t.Fatalf("after the change: recorded %v, %v; want false", ok, err)
			}
			// Nothing was recorded: the ordinary path still takes n2.
			if err := db.UseNonce(ctx, u.Username, "n2", exp, now); err != nil {
				t.Fatalf("n2 after a refused conditional use: %v", err)
			}
		})
	}
}

// TestUseNonceConcurrently: of many callers racing with one nonce, on two
// processes, exactly one is accepted, while distinct nonces in the same
// batches are all accepted; an expired record is taken over.
func TestUseNonceConcurrently(t *testing.T) {
	needPostgres(t)
	a, b := twoProcesses(t)
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	exp := now.Add(10 * time.Minute)
	u, acct := nonceUser(t, a, "racer")

	const callers = 64
	var mu sync.Mutex
	accepted, replays := 0, 0
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(2)
		db := a
		if i%2 == 1 {
			db = b
		}
		go func() { // the shared nonce, half of them conditional
			defer wg.Done()
			var err error
			if i%4 < 2 {
				err = db.UseNonce(ctx, "racer", "shared", exp, now)
			} else {
				var ok bool
				ok, err = db.UseNonceIfCurrent(ctx, u, acct, "shared", exp, now)
				if err == nil && !ok {
					err = store.ErrReplay
				}
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted++
			case errors.Is(err, store.ErrReplay):
				replays++
			default:
				t.Errorf("shared nonce: %v", err)
			}
		}()
		go func() { // a nonce of its own
			defer wg.Done()
			if err := db.UseNonce(ctx, "racer", fmt.Sprintf("own-%d", i), exp, now); err != nil {
				t.Errorf("own nonce %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if accepted != 1 || replays != callers-1 {
		t.Errorf("shared nonce: %d accepted, %d replays; want 1 and %d", accepted, replays, callers-1)
	}

	// Past its expiry the record is taken over, once.
	later := exp.Add(time.Second)
	if err := b.UseNonce(ctx, "racer", "shared", later.Add(time.Minute), later); err != nil {
		t.Fatalf("expired record not taken over: %v", err)
	}
	if err := a.UseNonce(ctx, "racer", "shared", later.Add(time.Minute), later); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("taken-over record: %v, want ErrReplay", err)
	}
}

// TestUseNonceAfterClose: a closed store refuses, it does not hang.
func TestUseNonceAfterClose(t *testing.T) {
	needPostgres(t)
	db, _ := twoProcesses(t)
	db.Close()
	now := time.Unix(1_800_000_000, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.UseNonce(ctx, "x", "n", now.Add(time.Minute), now); err == nil || errors.Is(err, store.ErrReplay) {
		t.Fatalf("UseNonce on a closed store: %v, want an error", err)
	}
}
