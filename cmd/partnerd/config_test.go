package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestBadEnvironmentIsAnError(t *testing.T) {
	t.Setenv("PARTNERD_CANCEL_CUTOFF", "ten minutes")
	t.Cleanup(func() { envProblems = nil })
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"serve", "--db", t.TempDir() + "/x.db", "--addr", "127.0.0.1:0"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "PARTNERD_CANCEL_CUTOFF") {
		t.Fatalf("err = %v, want one naming PARTNERD_CANCEL_CUTOFF", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "Usage:") {
		t.Fatalf("err = %v, stderr %q", err, errOut.String())
	}
}

// TestDBNames: --db takes a path, sqlite:PATH or sqlite://PATH, and the
// secret key file defaults to the SQLite file's name plus .key whatever
// the spelling; a postgres:// URL opens PostgreSQL (here: fails to
// connect, saying so); an unknown scheme is refused, saying why.
func TestDBNames(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		db      string
		file    string // the SQLite file, "" when refused
		wantErr string
	}{
		{db: dir + "/plain.db", file: dir + "/plain.db"},
		{db: "sqlite:" + dir + "/scheme.db", file: dir + "/scheme.db"},
		{db: "sqlite://" + dir + "/url.db", file: dir + "/url.db"},
		// Opened by the PostgreSQL store: no server listens there.
		{db: "postgres://127.0.0.1:1/partnerd?connect_timeout=5", wantErr: "postgres: connect"},
		{db: "mysql://localhost/partnerd", wantErr: `unknown scheme "mysql"`},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"account", "add", "--db", tc.db, "--username", "u", "--password", "pw"}, &out, &errOut)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("--db %s: err = %v, want one saying %q", tc.db, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("--db %s: %v (%s)", tc.db, err, errOut.String())
			continue
		}
		for _, f := range []string{tc.file, tc.file + ".key"} {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("--db %s: %v", tc.db, err)
			}
		}
	}
}

// TestBackupOnPostgreSQLSaysPgDump: partnerd does not pretend to copy a
// server database; it says which tool does, before connecting anywhere.
func TestBackupOnPostgreSQLSaysPgDump(t *testing.T) {
	for _, db := range []string{"postgres://127.0.0.1:1/partnerd", "postgresql://127.0.0.1:1/partnerd"} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"backup", "--db", db, "--to", t.TempDir() + "/copy.db"}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "pg_dump") || strings.Contains(err.Error(), "connect") {
			t.Errorf("backup --db %s: err = %v, want one naming pg_dump (and no connection attempt)", db, err)
		}
	}
}
