package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/store"
	_ "github.com/partnerd/partnerd/store/postgres" // the postgres: and postgresql: schemes
	_ "github.com/partnerd/partnerd/store/sqlite"   // the sqlite: scheme, and plain paths
)

// envDefault returns the environment variable's value, or def.
func envDefault(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// storeFlags are the flags every command that opens the store shares.
type storeFlags struct {
	db        string
	secretKey string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.db, "db", envDefault("PARTNERD_DB", "partnerd.db"), "the store: a SQLite file path, sqlite:PATH or sqlite://PATH, or a PostgreSQL URL postgres://USER@HOST:PORT/DB (env PARTNERD_DB)")
	fs.StringVar(&s.secretKey, "secret-key-file", envDefault("PARTNERD_SECRET_KEY_FILE", ""),
		"file holding the key that seals passwords at rest; default <db>.key, created if missing (env PARTNERD_SECRET_KEY_FILE; or PARTNERD_SECRET_KEY=base64 key)")
}

// storeCommand is a command that opens the store: its flag set with the
// store flags registered, so that every such command spells --db and
// --secret-key-file alike.
type storeCommand struct {
	*flag.FlagSet
	storeFlags
}

func newStoreCommand(name string, stderr io.Writer) *storeCommand {
	c := &storeCommand{FlagSet: newFlagSet(name, stderr)}
	c.register(c.FlagSet)
	return c
}

// parseAndOpen parses args, lets check refuse the values (nil: nothing to
// check) before the store is opened, since opening a SQLite path that
// does not exist creates it, and opens the store.
func (c *storeCommand) parseAndOpen(ctx context.Context, args []string, check func() error) (store.Store, error) {
	if err := parseFlags(c.FlagSet, args); err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(); err != nil {
			return nil, err
		}
	}
	return c.open(ctx)
}

// open opens the store --db names, by path or URL (store.Open; the
// backends this binary has are those main imports).
func (s *storeFlags) open(ctx context.Context, opts ...store.OpenOption) (store.Store, error) {
	db, err := store.Open(ctx, s.db, opts...)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", s.db, err)
	}
	return db, nil
}

// file is the store's file when it is one (SQLite), for the key file
// beside it and the backup's checks; "" for a store on a server.
func (s *storeFlags) file() string {
	if scheme, ref := store.ParseName(s.db); scheme == "sqlite" {
		return ref
	}
	return ""
}

// sealer loads the secret key: PARTNERD_SECRET_KEY (base64) when set,
// otherwise the key file, created on first use next to the database.
func (s *storeFlags) sealer() (*credential.Sealer, error) {
	if v := os.Getenv("PARTNERD_SECRET_KEY"); v != "" {
		return credential.SealerFromBase64(v)
	}
	path := s.secretKey
	if path == "" {
		if s.file() == "" {
			return nil, fmt.Errorf("the store %s is not a file: give the secret key with --secret-key-file or PARTNERD_SECRET_KEY", s.db)
		}
		path = s.file() + ".key"
	}
	return credential.LoadOrCreateKey(path)
}

// newFlagSet returns a FlagSet that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and refuses positional leftovers, which are always
// a typo here.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(envProblems) > 0 {
		return errors.Join(envProblems...)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), strings.Join(fs.Args(), " "))
	}
	return nil
}

// envProblems collects environment variables that could not be parsed;
// parseFlags reports them, so that a typo in PARTNERD_CANCEL_CUTOFF is an
// error rather than a silently ignored setting.
var envProblems []error

// envParsed is the environment variable name read by parse, or def when
// it is unset; a value parse refuses is recorded in envProblems as "is
// not " what (and def stands in until parseFlags reports it).
func envParsed[T any](name string, def T, parse func(string) (T, error), what string) T {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		envProblems = append(envProblems, fmt.Errorf("%s=%q is not %s", name, v, what))
		return def
	}
	return x
}

func envDuration(name string, def time.Duration) time.Duration {
	return envParsed(name, def, time.ParseDuration, "a duration (like 10m or 90s)")
}

func envInt(name string, def int) int {
	return envParsed(name, def, strconv.Atoi, "a whole number")
}

// defaultRequestLogMaxBytes bounds the request log at 256 MiB as stored:
// ~100,000 typical exchanges (a cancel's packed bodies are ~200 bytes, a
// 100-Definition Perform's a few KB) within a disk budget any host has.
const defaultRequestLogMaxBytes = 256 << 20

// byteSize is a flag holding a size in bytes: a whole number, optionally
// with a binary unit (KiB, MiB, GiB; K, M, G and KB, MB, GB mean the same).
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num := strings.TrimRightFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToUpper(strings.TrimSpace(t[len(num):]))
	var mult int64
	switch unit {
	case "", "B":
		mult = 1
	case "K", "KB", "KIB":
		mult = 1 << 10
	case "M", "MB", "MIB":
		mult = 1 << 20
	case "G", "GB", "GIB":
		mult = 1 << 30
	default:
		return 0, fmt.Errorf("%q is not a size (like 268435456, 256MiB or 1GiB)", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size (like 268435456, 256MiB or 1GiB)", s)
	}
	return n * mult, nil
}

func envByteSize(name string, def int64) byteSize {
	if v := os.Getenv(name); v != "" {
		n, err := parseByteSize(v)
		if err != nil {
			envProblems = append(envProblems, fmt.Errorf("%s: %w", name, err))
			return byteSize(def)
		}
		return byteSize(n)
	}
	return byteSize(def)
}
