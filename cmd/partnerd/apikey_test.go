package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/store"
)

// apikeyCLI runs one command line against db and returns its outputs.
func apikeyCLI(t *testing.T, db string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append(args, "--db", db), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestAPIKeyCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "keys.db")
	for _, u := range []string{"u", "other"} {
		if _, _, err := apikeyCLI(t, db, "account", "add", "--username", u, "--password", "pw"); err != nil {
			t.Fatal(err)
		}
	}

	token, notice, err := apikeyCLI(t, db, "apikey", "create", "--account", "u", "--name", "ci", "--scopes", "mail.send, mail.batch.read")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	token = strings.TrimSuffix(token, "\n")
	id, _, ok := auth.ParseKeyToken(token)
	if !ok {
		t.Fatalf("create printed %q, want the token alone", token)
	}
	if !strings.Contains(notice, id) || !strings.Contains(notice, "only time") || strings.Contains(notice, token) {
		t.Errorf("create's notice %q: want the id and the warning, never the secret", notice)
	}
	full, _, err := apikeyCLI(t, db, "apikey", "create", "--account", "u", "--name", "admin")
	if err != nil {
		t.Fatal(err)
	}

	list, _, err := apikeyCLI(t, db, "apikey", "list", "--account", "u")
	if err != nil {
		t.Fatal(err)
	}
	fullID, _, _ := auth.ParseKeyToken(strings.TrimSpace(full))
	for _, want := range []string{id, "ci", "mail.batch.read,mail.send", fullID, "admin", "full access"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, token[len(token)-43:]) {
		t.Error("list shows a secret")
	}
	if other, _, _ := apikeyCLI(t, db, "apikey", "list", "--account", "other"); strings.Contains(other, id) {
		t.Errorf("another account lists u's key:\n%s", other)
	}

	// The key works until it is revoked, and not after.
	check := func() error {
		st, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, _, err = (&auth.Keys{Store: st}).Verify(context.Background(), token)
		return err
	}
	if err := check(); err != nil {
		t.Fatalf("the created key does not verify: %v", err)
	}
	if _, _, err := apikeyCLI(t, db, "apikey", "revoke", "--account", "other", "--id", id); err == nil {
		t.Error("another account revoked u's key")
	}
	out, _, err := apikeyCLI(t, db, "apikey", "revoke", "--account", "u", "--id", id)
	if err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %q, %v", out, err)
	}
	if err := check(); err == nil {
		t.Error("the revoked key still verifies")
	}
	if list, _, _ := apikeyCLI(t, db, "apikey", "list", "--account", "u"); strings.Contains(list, id) {
		t.Errorf("list shows the revoked key:\n%s", list)
	}
}

func TestAPIKeyCommandRefusals(t *testing.T) {
	db := filepath.Join(t.TempDir(), "keys.db")
	if _, _, err := apikeyCLI(t, db, "account", "add", "--username", "u", "--password", "pw"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no subcommand", []string{"apikey"}, "create, list or revoke"},
		{"unknown subcommand", []string{"apikey", "rotate", "--account", "u"}, "unknown subcommand"},
		{"no account", []string{"apikey", "list"}, "--account is required"},
		{"unknown account", []string{"apikey", "list", "--account", "nobody"}, `no account "nobody"`},
		{"no name", []string{"apikey", "create", "--account", "u"}, "--name"},
		{"unknown scope", []string{"apikey", "create", "--account", "u", "--name", "n", "--scopes", "mail.send,root"}, `"root"`},
		{"empty scopes", []string{"apikey", "create", "--account", "u", "--name", "n", "--scopes", " , "}, "names no scope"},
		{"revoke without id", []string{"apikey", "revoke", "--account", "u"}, "--id is required"},
		{"revoke unknown", []string{"apikey", "revoke", "--account", "u", "--id", "nope"}, `no API key "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := apikeyCLI(t, db, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one saying %q", err, tc.wantErr)
			}
			if strings.HasPrefix(out, "SG.") {
				t.Errorf("a refused command printed a key: %q", out)
			}
		})
	}
	if list, _, _ := apikeyCLI(t, db, "apikey", "list", "--account", "u"); strings.Count(list, "\n") != 1 {
		t.Errorf("refused creates left keys:\n%s", list)
	}
}
