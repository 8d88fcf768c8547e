package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/partnerd/partnerd/store"
)

// runBackup copies the store to --to while a server may be using it, if
// its backend can (store.Backuper). SQLite's copy is one transaction's
// view of the database (VACUUM INTO), so it is consistent however busy
// the server is, and writers are not held up: WAL lets them commit while
// the copy reads.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sf := newStoreCommand("backup", stderr)
	to := sf.String("to", "", "file to write the copy to; must not exist")
	db, err := sf.parseAndOpen(ctx, args, func() error {
		if scheme, _ := store.ParseName(sf.db); scheme == "postgres" || scheme == "postgresql" {
			// Refused before connecting: the answer does not depend on
			// the server, and must not look like a copy was attempted.
			return fmt.Errorf("backup: a PostgreSQL store is backed up by PostgreSQL's own tools, not by partnerd: "+
				"pg_dump --format=custom --file=FILE '%s' (pg_restore restores it); keep the secret key (--secret-key-file or PARTNERD_SECRET_KEY) with the copy", sf.db)
		}
		if *to == "" {
			return errors.New("backup: --to FILE is required")
		}
		if f := sf.file(); f != "" {
			if _, err := os.Stat(f); err != nil {
				// Opening would create an empty store and back that up.
				return fmt.Errorf("backup: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer db.Close()
	b, ok := db.(store.Backuper)
	if !ok {
		return fmt.Errorf("backup: the store %s cannot copy itself: back it up with its database's own tools", sf.db)
	}
	if err := b.Backup(ctx, *to); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	info, err := os.Stat(*to)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	key := sf.secretKey
	if key == "" {
		key = sf.file() + ".key"
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes)\n", sf.db, *to, info.Size())
	fmt.Fprintf(stdout, "the secret key (%s or PARTNERD_SECRET_KEY) is not in the copy: PasswordDigest logins on a restored copy need it\n", filepath.Clean(key))
	return nil
}
