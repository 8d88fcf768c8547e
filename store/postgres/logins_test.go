package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/postgres"
)

func needPostgres(t *testing.T) {
	t.Helper()
	if testrig.Backend(t) != "postgres" {
		t.Skipf("%s names no PostgreSQL database (postgres://…); run it with scripts/pg-test.sh go test ./store/postgres", testrig.Env)
	}
}

// twoProcesses opens one schema twice, as two partnerd processes would.
func twoProcesses(t *testing.T) (*postgres.DB, *postgres.DB) {
	t.Helper()
	url := testrig.Name(t)
	var dbs [2]*postgres.DB
	for i := range dbs {
		db, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs[0], dbs[1]
}

// TestLoginLogReachesTheOtherProcess: an event recorded before a follower
// starts is read at its start (when within since), one recorded after is
// notified, and a process never hears its own events.
func TestLoginLogReachesTheOtherProcess(t *testing.T) {
	needPostgres(t)
	a, b := twoProcesses(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := time.Now().UTC().Truncate(time.Microsecond)
	old := store.LoginEvent{Remote: "192.0.2.1:1", Subject: "old", Failed: true, At: now.Add(-2 * time.Hour)}
	before := store.LoginEvent{Remote: "192.0.2.1:2", Subject: "acme", Failed: true, At: now}
	for _, e := range []store.LoginEvent{old, before} {
		if err := a.RecordLogin(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan store.LoginEvent, 10)
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.FollowLogins(fctx, now.Add(-time.Hour), func(e store.LoginEvent) { got <- e }) }()
	next := func() store.LoginEvent {
		t.Helper()
		select {
		case e := <-got:
			return e
		case <-ctx.Done():
			t.Fatal("no login event reached the other process")
		}
		return store.LoginEvent{}
	}
	if e := next(); e != before {
		t.Fatalf("read at start: %+v, want %+v (and not the event before since)", e, before)
	}
	// b's own event is not handed back to b; a's later one is notified.
	if err := b.RecordLogin(ctx, store.LoginEvent{Remote: "192.0.2.9:1", Subject: "own", At: now}); err != nil {
		t.Fatal(err)
	}
	after := store.LoginEvent{Remote: "[2001:db8::1]:3", Subject: "acme", At: now.Add(time.Second)}
	if err := a.RecordLogin(ctx, after); err != nil {
		t.Fatal(err)
	}
	if e := next(); e != after {
		t.Fatalf("notified: %+v, want %+v", e, after)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("FollowLogins ended with %v, want context.Canceled", err)
	}
}

// TestInstanceLock: shared holders coexist; an exclusive one excludes and
// is excluded; a release (or a closed connection) frees the lock.
func TestInstanceLock(t *testing.T) {
	needPostgres(t)
	a, b := twoProcesses(t)
	ctx := context.Background()
	sharedA, err := a.LockInstance(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	sharedB, err := b.LockInstance(ctx, false)
	if err != nil {
		t.Fatalf("a second shared holder: %v", err)
	}
	if _, err := b.LockInstance(ctx, true); !errors.Is(err, store.ErrInstanceLocked) {
		t.Fatalf("exclusive beside shared holders: %v, want ErrInstanceLocked", err)
	}
	sharedA()
	sharedB()
	sharedB() // twice is harmless
	excl, err := a.LockInstance(ctx, true)
	if err != nil {
		t.Fatalf("exclusive once the shared holders left: %v", err)
	}
	for _, exclusive := range []bool{false, true} {
		if _, err := b.LockInstance(ctx, exclusive); !errors.Is(err, store.ErrInstanceLocked) {
			t.Fatalf("exclusive=%v beside an exclusive holder: %v, want ErrInstanceLocked", exclusive, err)
		}
	}
	excl()
	again, err := b.LockInstance(ctx, true)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again()
}
