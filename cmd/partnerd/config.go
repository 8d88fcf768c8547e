package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/partnerd/partnerd/credential"
	"github.com/partnerd/partnerd/store/sqlite"
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
	fs.StringVar(&s.db, "db", envDefault("PARTNERD_DB", "partnerd.db"), "SQLite database file (env PARTNERD_DB)")
	fs.StringVar(&s.secretKey, "secret-key-file", envDefault("PARTNERD_SECRET_KEY_FILE", ""),
		"file holding the key that seals passwords at rest; default <db>.key, created if missing (env PARTNERD_SECRET_KEY_FILE; or PARTNERD_SECRET_KEY=base64 key)")
}

func (s *storeFlags) open(opts ...sqlite.Option) (*sqlite.DB, error) {
	db, err := sqlite.Open(s.db, opts...)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", s.db, err)
	}
	return db, nil
}

// sealer loads the secret key: PARTNERD_SECRET_KEY (base64) when set,
// otherwise the key file, created on first use next to the database.
func (s *storeFlags) sealer() (*credential.Sealer, error) {
	if v := os.Getenv("PARTNERD_SECRET_KEY"); v != "" {
		return credential.SealerFromBase64(v)
	}
	path := s.secretKey
	if path == "" {
		path = s.db + ".key"
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

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			envProblems = append(envProblems, fmt.Errorf("%s=%q is not a duration (like 10m or 90s)", name, v))
			return def
		}
		return d
	}
	return def
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			envProblems = append(envProblems, fmt.Errorf("%s=%q is not a whole number", name, v))
			return def
		}
		return n
	}
	return def
}
