//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockServe takes the serve lock of the database at path (see
// WithServeLock): an exclusive flock on path+".lock", created 0600, into
// which the holder writes its process ID. The file is never removed:
// removing a lock file races with a process about to lock it.
func lockServe(path string) (*os.File, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("serve lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "a process"
			if b, _ := io.ReadAll(io.LimitReader(f, 32)); len(b) > 0 {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					who = "process " + strconv.Itoa(pid)
				}
			}
			return nil, fmt.Errorf("%w (%s, which holds %s): one SQLite file serves one process, "+
				"since each keeps the nonces it accepted in memory; stop that server first "+
				"(the other partnerd commands work alongside it)", ErrInUse, who, name)
		}
		return nil, fmt.Errorf("serve lock %s: %w", name, err)
	}
	// Best effort: the PID only names the holder in the message above;
	// the mode, whatever the umask, lets the next server open it.
	f.Chmod(0o600)
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// accessWrite reports why the calling process may not write path, or nil.
// access(2) answers for the real user, as the kernel would: EROFS on a
// read-only file system even for root, EACCES for a permission.
var accessWrite = func(path string) error {
	const wOK = 2
	if err := syscall.Access(path, wOK); err != nil {
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}
