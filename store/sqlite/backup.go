package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Backup writes a consistent copy of the database to path while it stays
// in use. It runs VACUUM INTO on a connection of its own: the copy is taken
// inside one read transaction, so it holds exactly the commits made before
// it began, and in WAL mode writers carry on meanwhile. (The pooled readers
// are query_only, which refuses VACUUM INTO; the writer connection would
// hold up every write for the length of the copy.) The copy is compacted,
// self-contained (no -wal file) and in rollback-journal mode; Open turns it
// back into WAL on first use.
//
// path must not exist: a backup never overwrites. On failure the partial
// file is removed.
func (db *DB) Backup(ctx context.Context, path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("sqlite: backup: %s already exists", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	var file string
	if err := db.read.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		return fmt.Errorf("sqlite: backup: locating the database file: %w", err)
	}
	// The copy holds what the store holds (sealed passwords, the request
	// log): it is created 0600 whatever the umask, and empty, which VACUUM
	// INTO accepts, before SQLite writes it (SQLite would create it 0644).
	// O_EXCL also closes the gap between the check above and the copy.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	err = f.Chmod(0o600)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil && runtime.GOOS != "windows" {
		os.Remove(path)
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	conn, err := sql.Open("sqlite3", dsn(file, false))
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("sqlite: backup to %s: %w", path, err)
	}
	return nil
}
