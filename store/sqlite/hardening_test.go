package sqlite

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/partnerd/partnerd/store"
)

// writeFailure is a way of making the store's writes fail, and of undoing it.
type writeFailure struct {
	name string
	// inject makes every write fail from now on; the returned function
	// makes writes work again.
	inject func(t *testing.T, db *DB) (recover func())
}

var writeFailures = []writeFailure{
	{"statements refused (read-only)", func(t *testing.T, db *DB) func() {
		// The writer connection refuses to write, as on a read-only file
		// system: BEGIN IMMEDIATE fails with SQLITE_READONLY.
		if _, err := db.write.Exec(`PRAGMA query_only = 1`); err != nil {
			t.Fatal(err)
		}
		return func() {
			if _, err := db.write.Exec(`PRAGMA query_only = 0`); err != nil {
				t.Fatal(err)
			}
		}
	}},
	{"commit fails (disk full)", func(t *testing.T, db *DB) func() {
		// The statements succeed and the commit fails, as when the disk
		// fills while the WAL is written.
		fail := func() error { return sqlite3.Error{Code: sqlite3.ErrFull} }
		db.beforeCommit.Store(&fail)
		return func() { db.beforeCommit.Store(nil) }
	}},
}

// settle waits until every write queued so far has been attempted: a
// waiting Update joins (or follows) the batch of the async writes queued
// before it, and those are answered first. Its own error is the batch's.
func settle(db *DB) error {
	return db.Update(context.Background(), func(store.Tx) error { return nil })
}

// logged reports whether nonce_log holds username's nonce.
func logged(t *testing.T, db *DB, username, nonce string) bool {
	t.Helper()
	var n int
	if err := db.read.QueryRow(`SELECT count(*) FROM nonce_log WHERE username = ? AND nonce = ?`, username, nonce).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestNonceSurvivesFailedWrite: a nonce accepted while the store's writes
// fail is written once they work again, however that comes about, and is
// still refused after a graceful restart (defect 8). Before the fix the
// failed flush dropped its records: after the restart the replay was
// accepted.
func TestNonceSurvivesFailedWrite(t *testing.T) {
	recoveries := []struct {
		name string
		// next brings about a commit after writes work again.
		next func(t *testing.T, db *DB)
	}{
		{"graceful restart", func(t *testing.T, db *DB) {}},
		{"next nonce", func(t *testing.T, db *DB) {
			if err := db.UseNonce(t.Context(), "u", "later", time.Now().Add(time.Hour), time.Now()); err != nil {
				t.Fatal(err)
			}
		}},
		{"housekeeping", func(t *testing.T, db *DB) {
			if _, err := db.PruneNonces(t.Context(), time.Now()); err != nil {
				t.Fatal(err)
			}
		}},
		{"readiness probe", func(t *testing.T, db *DB) {
			if err := db.WriteReady(t.Context()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, wf := range writeFailures {
		for _, rc := range recoveries {
			t.Run(wf.name+"/"+rc.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "n.db")
				db, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				ctx := t.Context()
				exp := time.Now().Add(time.Hour)

				recover := wf.inject(t, db)
				if err := db.UseNonce(ctx, "u", "n1", exp, time.Now()); err != nil {
					t.Fatalf("UseNonce while writes fail: %v", err)
				}
				if err := settle(db); err == nil {
					t.Fatal("a write succeeded with the failure injected")
				}
				if logged(t, db, "u", "n1") {
					t.Fatal("the nonce was written although writes fail")
				}
				// Still refused in this process.
				if err := db.UseNonce(ctx, "u", "n1", exp, time.Now()); !errors.Is(err, store.ErrReplay) {
					t.Fatalf("replay in the same process: %v, want ErrReplay", err)
				}

				recover()
				rc.next(t, db)
				if rc.name != "graceful restart" {
					if err := settle(db); err != nil {
						t.Fatal(err)
					}
					if !logged(t, db, "u", "n1") {
						t.Fatal("the nonce accepted while writes failed was not written by the next commit")
					}
				}
				if err := db.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				again, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer again.Close()
				if err := again.UseNonce(ctx, "u", "n1", exp, time.Now()); !errors.Is(err, store.ErrReplay) {
					t.Fatalf("replay after restart: %v, want ErrReplay", err)
				}
			})
		}
	}
}

// TestCloseReportsUnwrittenNonces: when the nonces still cannot be written
// at Close, Close says so instead of forgetting them silently.
func TestCloseReportsUnwrittenNonces(t *testing.T) {
	db, _ := newDB(t)
	writeFailures[0].inject(t, db)
	if err := db.UseNonce(t.Context(), "u", "n1", time.Now().Add(time.Hour), time.Now()); err != nil {
		t.Fatal(err)
	}
	err := db.Close()
	if err == nil || !strings.Contains(err.Error(), "1 accepted nonces could not be written") {
		t.Fatalf("Close = %v, want it to report the unwritten nonce", err)
	}
	if err := db.UseNonce(t.Context(), "u", "n2", time.Now().Add(time.Hour), time.Now()); err == nil {
		t.Error("UseNonce after Close succeeded")
	}
}

// TestNonceBacklogBounded: while writes fail, the nonces waiting to be
// written are bounded; past the bound a new nonce is refused (its request
// fails) rather than accepted and forgotten by a restart.
func TestNonceBacklogBounded(t *testing.T) {
	db, _ := newDB(t)
	db.nonces.mu.Lock()
	db.nonces.maxBacklog = 10
	db.nonces.mu.Unlock()
	recover := writeFailures[0].inject(t, db)
	exp := time.Now().Add(time.Hour)
	var refused error
	for i := range 20 {
		if err := db.UseNonce(t.Context(), "u", strconv.Itoa(i), exp, time.Now()); err != nil {
			refused = err
			break
		}
		settle(db)
	}
	if refused == nil || !strings.Contains(refused.Error(), "waiting to be written") {
		t.Fatalf("20 nonces accepted with writes failing and a bound of 10 (last error %v)", refused)
	}
	recover()
	if err := db.UseNonce(t.Context(), "u", "after", exp, time.Now()); err == nil {
		// Accepted only if a commit went through meanwhile; either way
		// every accepted nonce must now be written.
		settle(db)
	}
	db.PruneNonces(t.Context(), time.Now())
	var n int
	db.read.QueryRow(`SELECT count(*) FROM nonce_log`).Scan(&n)
	if n < 10 {
		t.Errorf("nonce_log holds %d records after recovery, want the 10 accepted", n)
	}
}

// TestWriteReady: the store's readiness follows its writes (defect 10:
// /readyz answered ready while every write failed).
func TestWriteReady(t *testing.T) {
	for _, wf := range writeFailures {
		t.Run(wf.name, func(t *testing.T) {
			db, _ := newDB(t)
			ctx := t.Context()
			if err := db.WriteReady(ctx); err != nil {
				t.Fatalf("healthy store not ready: %v", err)
			}
			recover := wf.inject(t, db)
			// With no write since, the last success still stands; after a
			// failed write the store is not ready.
			if err := settle(db); err == nil {
				t.Fatal("write succeeded with the failure injected")
			}
			if err := db.WriteReady(ctx); err == nil {
				t.Fatal("ready while writes fail")
			}
			// Repeated: the probe itself fails.
			if err := db.WriteReady(ctx); err == nil {
				t.Fatal("ready while writes fail (second check)")
			}
			recover()
			if err := db.WriteReady(ctx); err != nil {
				t.Fatalf("not ready once writes work again: %v", err)
			}
			// The probe leaves nothing behind.
			var n int
			db.read.QueryRow(`SELECT count(*) FROM nonce_log WHERE username = ''`).Scan(&n)
			if n != 0 {
				t.Errorf("the probe left %d rows", n)
			}
		})
	}
}

// TestWriteReadyProbesWhenIdle: with no recent write to go by, readiness
// commits a probe, which fails when writes do.
func TestWriteReadyProbesWhenIdle(t *testing.T) {
	db, _ := newDB(t)
	// As if the last write were long ago.
	db.lastWrite.Store(&writeState{at: time.Now().Add(-time.Hour)})
	writeFailures[1].inject(t, db)
	if err := db.WriteReady(t.Context()); err == nil {
		t.Fatal("an idle store whose commits fail is ready")
	}
}

// TestFileModes: the database, its -wal and -shm, a backup and the serve
// lock file are created 0600 whatever the umask (defect 6: they were
// 0644, and hold sealed passwords and the request log).
func TestFileModes(t *testing.T) {
	for _, umask := range []int{0o022, 0o000, 0o277} {
		t.Run("umask "+strconv.FormatInt(int64(umask), 8), func(t *testing.T) {
			old := syscall.Umask(umask)
			defer syscall.Umask(old)
			dir := t.TempDir()
			path := filepath.Join(dir, "m.db")
			db, err := Open(path, WithServeLock())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.UseNonce(t.Context(), "u", "n", time.Now().Add(time.Hour), time.Now()); err != nil {
				t.Fatal(err)
			}
			settle(db)
			backup := filepath.Join(dir, "copy.db")
			if err := db.Backup(t.Context(), backup); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm", path + ".lock", backup} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Errorf("%s: %v", filepath.Base(p), err)
					continue
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s has mode %04o, want 0600", filepath.Base(p), fi.Mode().Perm())
				}
			}
		})
	}
}

// TestOpenErrorNamesCause: SQLite's open errors carry the errno of its last
// system call, "no such file or directory" on a read-only file system;
// Open names the real cause (defect 10). The errno mapping is tested with
// the SQLite codes a read-only store gives; TestOpenReadOnlyFS checks it on
// a real read-only mount where the machine allows one.
func TestOpenErrorNamesCause(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	misleading := sqlite3.Error{Code: sqlite3.ErrCantOpen, SystemErrno: syscall.ENOENT}
	cases := []struct {
		name     string
		err      error
		denied   map[string]syscall.Errno // path → access(W_OK) error
		want     string
		wantNot  string
		wantIs   error
		unchange bool
	}{
		{"read-only fs, directory", misleading, map[string]syscall.Errno{dir: syscall.EROFS}, "read-only file system", "no such file", syscall.EROFS, false},
		{"permission, directory", misleading, map[string]syscall.Errno{dir: syscall.EACCES}, "permission denied", "no such file", syscall.EACCES, false},
		{"read-only database", sqlite3.Error{Code: sqlite3.ErrReadonly}, map[string]syscall.Errno{path: syscall.EROFS}, "read-only file system", "", syscall.EROFS, false},
		{"permission, database file", sqlite3.Error{Code: sqlite3.ErrCantOpen}, map[string]syscall.Errno{path: syscall.EACCES}, "permission denied", "", syscall.EACCES, false},
		{"nothing to blame", misleading, nil, "", "", nil, true},
		{"not a write problem", sqlite3.Error{Code: sqlite3.ErrConstraint}, map[string]syscall.Errno{dir: syscall.EROFS}, "", "", nil, true},
	}
	defer func(f func(string) error) { accessWrite = f }(accessWrite)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			accessWrite = func(p string) error {
				if e, ok := c.denied[p]; ok {
					return &os.PathError{Op: "write", Path: p, Err: e}
				}
				return nil
			}
			got := explainOpenError(path, c.err)
			if c.unchange {
				if got != c.err {
					t.Fatalf("got %v, want the error unchanged", got)
				}
				return
			}
			msg := got.Error()
			if !strings.Contains(msg, c.want) || (c.wantNot != "" && strings.Contains(msg, c.wantNot)) {
				t.Errorf("got %q, want %q without %q", msg, c.want, c.wantNot)
			}
			if !errors.Is(got, c.wantIs) {
				t.Errorf("%v is not %v", got, c.wantIs)
			}
			var se sqlite3.Error
			if !errors.As(got, &se) {
				t.Errorf("%v no longer wraps the SQLite error", got)
			}
		})
	}
}

// TestOpenReadOnlyFS opens a store on a read-only bind mount (in a user
// and mount namespace of its own, so no privilege is needed; skipped where
// unshare is unavailable): the error says "read-only file system" for an
// existing store and for a new one. Before the fix both said "no such file
// or directory".
func TestOpenReadOnlyFS(t *testing.T) {
	if dir := os.Getenv("PARTNERD_TEST_RO_DIR"); dir != "" {
		for _, name := range []string{"existing.db", "new.db"} {
			_, err := Open(filepath.Join(dir, name))
			if err == nil {
				t.Errorf("%s: Open on a read-only file system succeeded", name)
				continue
			}
			t.Logf("%s: %v", name, err)
			if msg := err.Error(); !strings.Contains(msg, "read-only file system") || strings.Contains(msg, "no such file") {
				t.Errorf("%s: %v; want the read-only file system named", name, err)
			}
		}
		return
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare not available")
	}
	src, ro := t.TempDir(), t.TempDir()
	db, err := Open(filepath.Join(src, "existing.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := exec.Command("unshare", "-rm", "mount", "--bind", "-o", "ro", src, ro).Run(); err != nil {
		t.Skipf("no read-only bind mount here (unshare -rm mount: %v)", err)
	}
	cmd := exec.Command("unshare", "-rm", "sh", "-c", `mount --bind -o ro "$1" "$2" && exec "$3" -test.run='^TestOpenReadOnlyFS$' -test.v`,
		"sh", src, ro, os.Args[0])
	cmd.Env = append(os.Environ(), "PARTNERD_TEST_RO_DIR="+ro)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("on a read-only mount: %v", err)
	}
}

// TestServeLock: a second server on one file is refused with a message
// naming the file and the serving process; the command-line tools (Open
// without the lock) still work alongside it, and the lock goes with Close
// (defect 10).
func TestServeLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	first, err := Open(path, WithServeLock())
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, WithServeLock())
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second serving Open: %v, want ErrInUse", err)
	}
	for _, want := range []string{path, "process " + strconv.Itoa(os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not name %q", err, want)
		}
	}
	tool, err := Open(path)
	if err != nil {
		t.Fatalf("Open without the lock while served: %v", err)
	}
	if _, err := tool.ListAccounts(t.Context()); err != nil {
		t.Error(err)
	}
	tool.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := Open(path, WithServeLock())
	if err != nil {
		t.Fatalf("serving Open after the first closed: %v", err)
	}
	second.Close()
}
