// Package testrig opens the store tests run against, picked from the
// environment, so that the same tests run on every backend:
//
//	PARTNERD_TEST_STORE unset or "sqlite"   a SQLite file in the test's temp dir
//	PARTNERD_TEST_STORE=postgres://…        PostgreSQL: a schema of its own per test in
//	                                        that database, dropped when the test ends
//
// scripts/pg-test.sh starts a throw-away server and sets the variable.
// Anything else fails the test: a typo must not quietly test SQLite.
// Tests that need SQLite itself (its files, its SQL, its locks) open
// store/sqlite directly instead.
package testrig

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
	_ "github.com/partnerd/partnerd/store/postgres" // PARTNERD_TEST_STORE=postgres://…
	_ "github.com/partnerd/partnerd/store/sqlite"   // the default backend
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

// Name is the store name (as --db takes it, see store.Open) of a fresh,
// empty store for t: a SQLite file, or on PostgreSQL a new schema (in the
// database the variable names), dropped when the test that made it ends,
// named in the URL's search_path. As the same file in the same InDir
// re-opens one SQLite database, so it names one schema on PostgreSQL.
func Name(t testing.TB, opts ...Option) string {
	t.Helper()
	o := options{file: "store.db"}
	for _, f := range opts {
		f(&o)
	}
	if Backend(t) == "postgres" {
		if o.dir == "" {
			return postgresSchema(t, os.Getenv(Env))
		}
		key := filepath.Join(o.dir, o.file)
		schemasMu.Lock()
		defer schemasMu.Unlock()
		name, ok := schemas[key]
		if !ok {
			name = postgresSchema(t, os.Getenv(Env))
			schemas[key] = name
			t.Cleanup(func() {
				schemasMu.Lock()
				delete(schemas, key)
				schemasMu.Unlock()
			})
		}
		return name
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
// same database (or PostgreSQL schema) again.
func Reopener(t *testing.T) func(*testing.T) store.Store {
	var root string
	if Backend(t) == "sqlite" {
		root = t.TempDir()
	}
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

// postgresSchema creates an empty schema for t in the database base names,
// drops it (and everything in it) when t ends, and returns base with the
// schema as its search_path: a store opened on it works in the schema
// alone. A schema, not a database: creating one costs a catalog row, so
// hundreds of tests stay fast.
func postgresSchema(t testing.TB, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("testrig: %s: %v", Env, err)
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "partnerd_test_" + hex.EncodeToString(b[:])
	if err := pgExec(base, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("testrig: PostgreSQL at %s=%s: %v", Env, u.Redacted(), err)
	}
	t.Cleanup(func() {
		if err := pgExec(base, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("testrig: drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// schemas are the PostgreSQL stores named by InDir and File, by the path
// they would have on SQLite.
var (
	schemasMu sync.Mutex
	schemas   = map[string]string{}
)

// pgExec runs one statement on a connection of its own.
func pgExec(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
