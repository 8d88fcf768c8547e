// Package testrig opens the store tests run against, picked from the
// environment, so that the same tests run on every backend:
//
//	PARTNERD_TEST_STORE unset or "sqlite"   a SQLite file in the test's temp dir
//	PARTNERD_TEST_STORE=postgres://…        PostgreSQL (skipped until store/postgres exists)
//
// Anything else fails the test: a typo must not quietly test SQLite.
// Tests that need SQLite itself (its files, its SQL, its locks) open
// store/sqlite directly instead.
package testrig

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/partnerd/partnerd/store"
	_ "github.com/partnerd/partnerd/store/sqlite" // the default backend
)

// Env names the environment variable that picks the backend.
const Env = "PARTNERD_TEST_STORE"

// Option changes where OpenStore puts a SQLite store.
type Option func(*options)

type options struct {
	dir, file string
}

// InDir puts the SQLite file in dir instead of the test's temp dir (a
// tmpfs, say, for tests that commit a lot).
func InDir(dir string) Option { return func(o *options) { o.dir = dir } }

// File names the SQLite file: opening the same file in the same dir again
// re-opens the same database (durability tests).
func File(name string) Option { return func(o *options) { o.file = name } }

// Backend is the backend the environment picks: "sqlite", or "postgres".
// It fails t on anything else.
func Backend(t testing.TB) string {
	t.Helper()
	v := os.Getenv(Env)
	switch {
	case v == "" || v == "sqlite":
		return "sqlite"
	case strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://"):
		return "postgres"
	}
	t.Fatalf("%s=%q: want unset, sqlite, or a postgres:// URL", Env, v)
	return ""
}

// Name is the store name (as --db takes it, see store.Open) of a fresh
// store for t, or t is skipped when the backend is not built yet.
func Name(t testing.TB, opts ...Option) string {
	t.Helper()
	if Backend(t) == "postgres" {
		t.Skipf("%s asks for PostgreSQL: the postgres store is not built yet", Env)
	}
	o := options{file: "store.db"}
	for _, f := range opts {
		f(&o)
	}
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	return "sqlite:" + filepath.Join(o.dir, o.file)
}

// OpenStore opens a fresh store for t on the backend the environment
// picks, and closes it when t ends (a test may Close it first).
func OpenStore(t testing.TB, opts ...Option) store.Store {
	t.Helper()
	st, _ := OpenNamed(t, opts...)
	return st
}

// OpenNamed is OpenStore, and the store's name too, for tests that hand it
// to a command's --db.
func OpenNamed(t testing.TB, opts ...Option) (store.Store, string) {
	t.Helper()
	name := Name(t, opts...)
	return openName(t, name), name
}

func openName(t testing.TB, name string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("testrig: open %s: %v", name, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Reopener is the open function storetest.Run takes: the first call with
// a given t opens a new, empty store, a later call with the same t the
// same database again.
func Reopener(t *testing.T) func(*testing.T) store.Store {
	root := t.TempDir()
	var mu sync.Mutex
	names := map[string]string{}
	return func(t *testing.T) store.Store {
		t.Helper()
		mu.Lock()
		name, ok := names[t.Name()]
		mu.Unlock()
		if !ok {
			name = Name(t, InDir(root), File(strings.ReplaceAll(t.Name(), "/", "_")+".db"))
			mu.Lock()
			names[t.Name()] = name
			mu.Unlock()
		}
		return openName(t, name)
	}
}
