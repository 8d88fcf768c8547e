package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestMigrateSQLiteToSQLite(t *testing.T) {
	t.Setenv("PARTNERD_SECRET_KEY", "")
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	if out, err := cli(t, "account", "add", "--db", src, "--username", "acme", "--password", "acme-pw"); err != nil {
		t.Fatalf("account add: %v\n%s", err, out)
	}

	out, err := cli(t, "migrate", "--from", src, "--to", dst)
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	for _, want := range []string{
		"table ", "accounts                          1          1          1\n", "users                             1          1          1\n",
		"request_log: not copied", "counts verified", "the source's key " + src + ".key was copied to " + dst + ".key",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	srcKey, _ := os.ReadFile(src + ".key")
	dstKey, err := os.ReadFile(dst + ".key")
	if err != nil || !bytes.Equal(srcKey, dstKey) || len(srcKey) == 0 {
		t.Errorf("the target's key is not the source's: %v", err)
	}
	if info, err := os.Stat(dst + ".key"); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("target key file mode: %v, %v", info, err)
	}
	if out, err := cli(t, "account", "list", "--db", dst); err != nil || !strings.Contains(out, "acme") {
		t.Errorf("account list on the copy: %v\n%s", err, out)
	}

	// Again: the target is not empty now.
	out, err = cli(t, "migrate", "--from", src, "--to", dst)
	if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second migrate into the copy: %v, want a refusal naming --force\n%s", err, out)
	}
	if out, err := cli(t, "migrate", "--from", src, "--to", dst, "--force", "--with-request-log"); err != nil || !strings.Contains(out, "request_log ") {
		t.Errorf("forced migrate: %v\n%s", err, out)
	}
}

func TestMigrateRefusals(t *testing.T) {
	t.Setenv("PARTNERD_SECRET_KEY", "")
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	if out, err := cli(t, "account", "add", "--db", src, "--username", "acme", "--password", "acme-pw"); err != nil {
		t.Fatalf("account add: %v\n%s", err, out)
	}
	if err := os.WriteFile(dst+".key", bytes.Repeat([]byte{'x'}, 44), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no --to", []string{"--from", src}, "--from and --to are both required"},
		{"same store", []string{"--from", src, "--to", "sqlite:" + src}, "the same store"},
		{"missing source", []string{"--from", filepath.Join(dir, "nope.db"), "--to", dst}, "no such file"},
		{"another key at the target", []string{"--from", src, "--to", dst}, "holds another key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := cli(t, append([]string{"migrate"}, c.args...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("migrate %v: %v, want %q\n%s", c.args, err, c.want, out)
			}
		})
	}
	if _, err := os.Stat(dst); err == nil {
		t.Errorf("a refused migrate created the target %s", dst)
	}
	if _, err := os.Stat(filepath.Join(dir, "nope.db")); err == nil {
		t.Error("a missing source was created")
	}
}
