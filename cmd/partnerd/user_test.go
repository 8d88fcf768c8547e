package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerd/partnerd/store"
)

// TestUserCommands: an account's users are added, listed, rotated,
// disabled, enabled and deleted one by one; each change touches only its
// user, is recorded as an operator action naming the credential, and
// names from another account are refused. The account's request counts
// per credential and the request log's credential filter show which
// credential made which requests.
func TestUserCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "users.db")
	t.Setenv("PARTNERD_SECRET_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	must := func(args ...string) string {
		t.Helper()
		out, errOut, err := apikeyCLI(t, db, args...)
		if err != nil {
			t.Fatalf("partnerd %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	refused := func(want string, args ...string) {
		t.Helper()
		_, _, err := apikeyCLI(t, db, args...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("partnerd %s: %v, want an error saying %q", strings.Join(args, " "), err, want)
		}
	}
	must("account", "add", "--username", "acme", "--password", "acme-pw", "--client-id", "7012345")
	must("account", "add", "--account", "globex") // an account alone
	must("user", "add", "--account", "acme", "--username", "acme-ci", "--password", "ci-pw")
	must("user", "add", "--account", "acme", "--username", "acme-ops", "--password", "ops-pw")
	must("user", "add", "--account", "globex", "--username", "globex-ci", "--password", "g-pw")
	refused("already exists", "user", "add", "--account", "globex", "--username", "acme-ci", "--password", "x")
	refused("already exists", "account", "add", "--username", "acme-ops", "--password", "x")
	refused("has no user", "user", "disable", "--account", "globex", "--username", "acme-ci")
	refused("--password is required", "user", "passwd", "--account", "acme", "--username", "acme-ci")

	if out := must("user", "list", "--account", "acme"); !regexp.MustCompile(`(?m)^\d+\s+acme\s+active[\s\S]*acme-ci\s+active[\s\S]*acme-ops\s+active`).MatchString(out) {
		t.Errorf("user list:\n%s", out)
	}
	open := func() store.Store {
		t.Helper()
		st, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	before, _, _ := st.UserByUsername(t.Context(), "acme-ops")
	st.Close()

	must("user", "passwd", "--account", "acme", "--username", "acme-ci", "--password", "ci-pw-2")
	must("user", "disable", "--account", "acme", "--username", "acme-ops")
	st = open()
	defer st.Close()
	ci, acct, err := st.UserByUsername(t.Context(), "acme-ci")
	if err != nil || ci.Disabled || acct.Disabled || ci.PasswordHash == "" {
		t.Fatalf("acme-ci after passwd: %+v of %+v, %v", ci, acct, err)
	}
	ops, _, _ := st.UserByUsername(t.Context(), "acme-ops")
	if !ops.Disabled || ops.PasswordHash != before.PasswordHash {
		t.Errorf("acme-ops after disable: %+v; want disabled with its password unchanged", ops)
	}
	if own, _, _ := st.UserByUsername(t.Context(), "acme"); own.Disabled {
		t.Error("disabling acme-ops disabled acme's own user")
	}

	// Requests as two credentials of acme, one of globex, one anonymous.
	now := time.Now()
	var logged []store.RequestLog
	for i, c := range []struct {
		account int64
		name    string
		ago     time.Duration
	}{{acct.ID, "acme-ci", time.Minute}, {acct.ID, "acme-ci", 2 * time.Minute}, {acct.ID, "acme-ci", 30 * time.Minute},
		{acct.ID, "acme-ops", time.Minute}, {acct.ID + 1, "globex-ci", time.Minute}, {0, "", time.Minute}} {
		e := store.RequestLog{RequestID: uuid.NewString(), Face: "soap", Method: "POST", Path: "/Service.asmx",
			AccountID: c.account, Operation: "Perform", Status: "OK", HTTPStatus: 200, ReceivedAt: now.Add(-c.ago - time.Duration(i))}
		if c.name != "" {
			e.CredentialKind, e.Credential = "user", c.name
		}
		logged = append(logged, e)
	}
	if err := st.LogRequests(t.Context(), logged); err != nil {
		t.Fatal(err)
	}
	show := must("account", "show", "acme")
	for _, want := range []string{`user\s+acme-ci\s+active\s+\S+\s+2\s+3\b`, `user\s+acme-ops\s+disabled\s+\S+\s+1\s+1\b`,
		`user\s+acme\s+active\s+\S+\s+0\s+0\b`, `Client ID:\s+7012345`} {
		if !regexp.MustCompile(want).MatchString(show) {
			t.Errorf("account show lacks %s:\n%s", want, show)
		}
	}
	if strings.Contains(show, "globex-ci") {
		t.Errorf("account show acme lists another account's credential:\n%s", show)
	}
	reqs := must("requests", "--credential", "acme-ci")
	if n := strings.Count(reqs, "user:acme-ci"); n != 3 || strings.Contains(reqs, "acme-ops") {
		t.Errorf("requests --credential acme-ci: %d rows of it:\n%s", n, reqs)
	}
	if reqs := must("requests", "--credential", "apikey:acme-ci"); strings.Contains(reqs, "acme-ci") {
		t.Errorf("requests --credential apikey:acme-ci matched a user:\n%s", reqs)
	}

	must("user", "enable", "--account", "acme", "--username", "acme-ops")
	must("user", "delete", "--account", "acme", "--username", "acme-ci")
	if _, _, err := st.UserByUsername(t.Context(), "acme-ci"); err == nil {
		t.Error("acme-ci still logs in after delete")
	}
	acts := must("queue", "actions", "--last", "50")
	for _, want := range []string{`user\.passwd\s+acme\s.*user:acme-ci`, `user\.disable\s+acme\s.*user:acme-ops`,
		`user\.enable\s+acme\s.*user:acme-ops`, `user\.delete\s+acme\s.*user:acme-ci`, `user\.add\s+globex\s.*user:globex-ci`} {
		if !regexp.MustCompile(want).MatchString(acts) {
			t.Errorf("operator actions lack %s:\n%s", want, acts)
		}
	}
	if strings.Contains(acts, "ci-pw") {
		t.Errorf("operator actions show a password:\n%s", acts)
	}
}
