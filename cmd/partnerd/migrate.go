package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/store"
)

// runMigrate copies a whole store into another, empty one, of either
// backend (store.Copy: one snapshot of the source, one transaction of the
// target, every ID kept), prints each table's counts and fails unless the
// source's, the copied and the target's counts agree.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	from := fs.String("from", "", "the store to copy: a SQLite file path, sqlite:PATH, or postgres://… (read in one snapshot; a server may go on using it, but what it writes after the snapshot is not copied)")
	to := fs.String("to", "", "the store to fill: a SQLite file path (created if missing), sqlite:PATH, or postgres://…; no server may be using it")
	withLog := fs.Bool("with-request-log", false, "copy the request log too (left out by default: it is the largest table, and only the inspector reads it)")
	force := fs.Bool("force", false, "replace what the target holds (its rows are deleted in the copy's transaction) instead of refusing a target that is not empty")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return errors.New("migrate: --from and --to are both required")
	}
	srcFile, dstFile := sqliteFile(*from), sqliteFile(*to)
	if *from == *to || (srcFile != "" && srcFile == dstFile) {
		return errors.New("migrate: --from and --to name the same store")
	}
	if srcFile != "" {
		// Opening a missing path would create an empty store and copy it.
		if _, err := os.Stat(srcFile); err != nil {
			return fmt.Errorf("migrate: --from: %w", err)
		}
	}
	// The key that seals passwords goes with them: settled before
	// anything is written, so that a copy is never left with passwords no
	// key at hand can open.
	if _, err := moveSecretKey(srcFile, dstFile, false); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	src, err := store.Open(ctx, *from)
	if err != nil {
		return fmt.Errorf("migrate: open --from %s: %w", shown(*from), err)
	}
	defer src.Close()
	dst, err := store.Open(ctx, *to)
	if err != nil {
		return fmt.Errorf("migrate: open --to %s: %w", shown(*to), err)
	}
	defer dst.Close()
	exp, ok := src.(store.Exporter)
	if !ok {
		return fmt.Errorf("migrate: the store %s cannot be read whole", shown(*from))
	}
	imp, ok := dst.(store.Importer)
	if !ok {
		return fmt.Errorf("migrate: the store %s cannot be filled whole", shown(*to))
	}

	counts, err := store.Copy(ctx, exp, imp, store.CopyOptions{RequestLog: *withLog, Force: *force})
	if errors.Is(err, store.ErrTargetNotEmpty) {
		return fmt.Errorf("migrate: %w: give --force to replace its contents", err)
	}
	printCounts(stdout, counts)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	keyNote, err := moveSecretKey(srcFile, dstFile, true)
	if err != nil {
		return fmt.Errorf("migrate: the copy is committed, but its key is not: %w", err)
	}
	if !*withLog {
		fmt.Fprintln(stdout, "request_log: not copied (--with-request-log copies it)")
	}
	fmt.Fprintf(stdout, "not copied: the WS-Security nonces (a UsernameToken is accepted for %v after it was made: start the target's servers that long after the source's last request, or a token used just before the move is accepted once more); each store keeps its own schema version (both are at this partnerd's)\n",
		auth.DefaultMaxAge+auth.DefaultMaxFutureSkew)
	fmt.Fprintf(stdout, "copied %s to %s in one transaction; counts verified\n", shown(*from), shown(*to))
	fmt.Fprintln(stdout, keyNote)
	return nil
}

// printCounts prints the tables Copy reached; the target's count once
// the copy is committed, "-" before.
func printCounts(w io.Writer, counts []store.TableCount) {
	header := false
	for _, c := range counts {
		if c.Table == "" {
			continue
		}
		if !header {
			fmt.Fprintf(w, "%-24s %10s %10s %10s\n", "table", "source", "copied", "target")
			header = true
		}
		target, mark := "-", ""
		if c.Committed {
			target = fmt.Sprint(c.Target)
		}
		if c.Source != c.Copied || c.Committed && c.Copied != c.Target {
			mark = "  MISMATCH"
		}
		fmt.Fprintf(w, "%-24s %10d %10d %10s%s\n", c.Table, c.Source, c.Copied, target, mark)
	}
}

// shown is a store's name for messages: a URL without its password.
func shown(name string) string {
	if sqliteFile(name) != "" {
		return name
	}
	if u, err := url.Parse(name); err == nil {
		return u.Redacted()
	}
	return "the --from/--to URL"
}

// sqliteFile is the file a store name opens when it is a SQLite store,
// else "".
func sqliteFile(name string) string {
	if scheme, ref := store.ParseName(name); scheme == store.DefaultScheme {
		return ref
	}
	return ""
}

// moveSecretKey sees that the target can open the passwords sealed in the
// source: the rows keep them sealed, with the source's key. From one
// SQLite file to another, <from>.key is copied to <to>.key (refused if
// <to>.key exists with another key); otherwise it says what to do. Only
// with write does it write the key: the copy first checks, then commits,
// then writes.
func moveSecretKey(srcFile, dstFile string, write bool) (string, error) {
	if os.Getenv("PARTNERD_SECRET_KEY") != "" {
		return "sealed passwords are copied sealed: start the target's servers with the same PARTNERD_SECRET_KEY", nil
	}
	if srcFile == "" && dstFile != "" {
		return fmt.Sprintf("sealed passwords are copied sealed: the target needs the source's secret key (the --secret-key-file or PARTNERD_SECRET_KEY the source's servers use): put it in %s.key", dstFile), nil
	}
	if srcFile == "" {
		return "sealed passwords are copied sealed: the target's servers need the source's secret key (the --secret-key-file or PARTNERD_SECRET_KEY the source's servers use)", nil
	}
	srcKey := srcFile + ".key"
	key, err := os.ReadFile(srcKey)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("no secret key %s: the source has no sealed passwords unless its servers were given another key, which the target then needs", srcKey), nil
	}
	if err != nil {
		return "", err
	}
	if dstFile == "" {
		return fmt.Sprintf("sealed passwords are copied sealed: the target's servers need the source's key, %s (--secret-key-file %s, or PARTNERD_SECRET_KEY=its contents)", srcKey, srcKey), nil
	}
	dstKey := dstFile + ".key"
	old, err := os.ReadFile(dstKey)
	switch {
	case err == nil && bytes.Equal(old, key):
		return fmt.Sprintf("sealed passwords are copied sealed: %s already holds the source's key", dstKey), nil
	case err == nil:
		return "", fmt.Errorf("%s holds another key than %s: the copied passwords could not be opened with it; move it away first", dstKey, srcKey)
	case !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	if !write {
		return "", nil
	}
	if err := os.WriteFile(dstKey, key, 0o600); err != nil {
		return "", err
	}
	return fmt.Sprintf("sealed passwords are copied sealed: the source's key %s was copied to %s", srcKey, dstKey), nil
}
