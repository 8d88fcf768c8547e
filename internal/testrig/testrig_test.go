package testrig

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/store"
)

// verdict records how a rig call ended a test without ending ours.
type verdict struct {
	testing.TB
	fatal, skip string
}

func (v *verdict) Fatalf(format string, args ...any) {
	v.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (v *verdict) Skipf(format string, args ...any) {
	v.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (v *verdict) Helper() {}

func TestOpenStoreByEnvironment(t *testing.T) {
	for _, tc := range []struct {
		env        string
		opens      bool
		skip, fail string // what the message must say
	}{
		{env: "", opens: true},
		{env: "sqlite", opens: true},
		// No server there: a clear failure naming the variable, never a
		// quiet fall-back to SQLite.
		{env: "postgres://127.0.0.1:1/partnerd_test?connect_timeout=5", fail: "testrig: PostgreSQL at PARTNERD_TEST_STORE="},
		{env: "postgresql://127.0.0.1:1/partnerd_test?connect_timeout=5", fail: "testrig: PostgreSQL at PARTNERD_TEST_STORE="},
		{env: "sqlite3", fail: "want unset, sqlite, or a postgres:// URL"},
		{env: "mysql://localhost/x", fail: "want unset, sqlite, or a postgres:// URL"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(Env, tc.env)
			v := &verdict{TB: t}
			var st store.Store
			done := make(chan struct{})
			go func() {
				defer close(done)
				st = OpenStore(v)
			}()
			<-done
			switch {
			case tc.opens:
				if st == nil || v.fatal != "" || v.skip != "" {
					t.Fatalf("OpenStore = %v (fatal %q, skip %q); want a store", st, v.fatal, v.skip)
				}
				if _, err := st.ListAccounts(context.Background()); err != nil {
					t.Errorf("ListAccounts: %v", err)
				}
			case tc.skip != "":
				if !strings.Contains(v.skip, tc.skip) {
					t.Errorf("skip %q, fatal %q; want a skip saying %q", v.skip, v.fatal, tc.skip)
				}
			default:
				if !strings.Contains(v.fatal, tc.fail) {
					t.Errorf("fatal %q, skip %q; want a failure saying %q", v.fatal, v.skip, tc.fail)
				}
			}
		})
	}
}

func TestFileReopens(t *testing.T) {
	dir := t.TempDir()
	a := OpenStore(t, InDir(dir), File("same.db"))
	acct := store.Account{Username: "kept"}
	if err := a.CreateAccount(t.Context(), &acct); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := OpenStore(t, InDir(dir), File("same.db"))
	if _, err := b.AccountByUsername(t.Context(), "kept"); err != nil {
		t.Errorf("re-opened store: %v", err)
	}
}

// TestPostgresStoresAreFresh: on PostgreSQL each test's store is empty and
// its own, and the Reopener re-opens the same one for the same test.
func TestPostgresStoresAreFresh(t *testing.T) {
	if Backend(t) != "postgres" {
		t.Skipf("%s names no PostgreSQL database (postgres://…)", Env)
	}
	a, b := OpenStore(t), OpenStore(t)
	acct := store.Account{Username: "only-in-a"}
	if err := a.CreateAccount(t.Context(), &acct); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AccountByUsername(t.Context(), "only-in-a"); err == nil {
		t.Errorf("a second store of one test sees the first's account")
	}
	reopen := Reopener(t)
	t.Run("same", func(t *testing.T) {
		first := reopen(t)
		kept := store.Account{Username: "kept"}
		if err := first.CreateAccount(t.Context(), &kept); err != nil {
			t.Fatal(err)
		}
		first.Close()
		if _, err := reopen(t).AccountByUsername(t.Context(), "kept"); err != nil {
			t.Errorf("re-opened store: %v", err)
		}
	})
}
