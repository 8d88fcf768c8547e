package sqlite

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/mattn/go-sqlite3"
)

// explainOpenError turns a SQLite error met while opening the database at
// path into one that names the real cause when the cause is that
// something cannot be written: SQLite reports SQLITE_CANTOPEN or
// SQLITE_READONLY with the errno of whatever system call failed last,
// which on a read-only file system is a probe for a missing -wal file
// ("unable to open database file: no such file or directory"). It checks,
// in order, that the directory exists and can be written (SQLite creates
// the -wal and -shm files there), then the database, -wal and -shm files
// that exist. Other errors are returned as they are.
func explainOpenError(path string, err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrCantOpen, sqlite3.ErrReadonly, sqlite3.ErrPerm, sqlite3.ErrIoErr:
	default:
		return err
	}
	cause := writeProblem(path)
	if cause == nil {
		return err
	}
	return &openError{cause: cause, sqlite: err, text: se.Code.Error()}
}

// writeProblem says why path's database cannot be written, or nil.
func writeProblem(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); err != nil {
		return err
	}
	if err := accessWrite(dir); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if err := accessWrite(p); err != nil {
			return err
		}
	}
	return nil
}

// openError is a SQLite open failure with its real cause in front and
// SQLite's own words (without its misleading errno) after.
type openError struct {
	cause, sqlite error
	text          string
}

func (e *openError) Error() string   { return e.cause.Error() + " (SQLite: " + e.text + ")" }
func (e *openError) Unwrap() []error { return []error{e.cause, e.sqlite} }
