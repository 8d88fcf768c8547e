package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestClientCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "clients.db")
	for _, u := range []string{"u", "other"} {
		if _, _, err := apikeyCLI(t, db, "account", "add", "--username", u, "--password", "pw", "--client-id", "7012345"); err != nil {
			t.Fatal(err)
		}
	}
	out, notice, err := apikeyCLI(t, db, "client", "add", "--account", "u", "--scopes", "email_read,email_send")
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	var id, secret string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "client_id":
			id = v
		case "client_secret":
			secret = v
		}
	}
	if len(id) != 24 || len(secret) != 43 {
		t.Fatalf("add printed %q, want client_id= and client_secret= lines", out)
	}
	if !strings.Contains(notice, id) || !strings.Contains(notice, "only time") || strings.Contains(notice, secret) {
		t.Errorf("add's notice %q: want the id and the warning, never the secret", notice)
	}
	list, _, err := apikeyCLI(t, db, "client", "list", "--account", "u")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, id) || !strings.Contains(list, "7012345") || !strings.Contains(list, "email_read email_send") || strings.Contains(list, secret) {
		t.Errorf("list:\n%s", list)
	}
	if other, _, _ := apikeyCLI(t, db, "client", "list", "--account", "other"); strings.Contains(other, id) {
		t.Error("another account lists the client")
	}
	for _, bad := range [][]string{
		{"client", "add", "--account", "u", "--scopes", "Email-Read"},
		{"client", "add", "--account", "u", "--scopes", ","},
		{"client", "add"},
		{"client", "revoke", "--account", "u"},
		{"client", "revoke", "--account", "other", "--id", id},
		{"client", "frob", "--account", "u"},
	} {
		if _, _, err := apikeyCLI(t, db, bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if out, _, err := apikeyCLI(t, db, "client", "revoke", "--account", "u", "--id", id); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %q, %v", out, err)
	}
	if _, _, err := apikeyCLI(t, db, "client", "revoke", "--account", "u", "--id", id); err == nil {
		t.Error("revoke twice: no error")
	}
	if list, _, _ := apikeyCLI(t, db, "client", "list", "--account", "u"); strings.Contains(list, id) {
		t.Error("a revoked client is listed")
	}
}
