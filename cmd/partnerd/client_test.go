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

// TestAccountShowCountsTokenClients: account show lists the account's live
// token clients beside its users and counts the requests each made (its
// token requests and the SOAP calls made with its tokens); a revoked
// client's requests still show, as gone; requests --credential finds a
// client's exchanges by client:ID and by the bare ID.
func TestAccountShowCountsTokenClients(t *testing.T) {
	db := filepath.Join(t.TempDir(), "clients.db")
	must := func(args ...string) string {
		t.Helper()
		out, errOut, err := apikeyCLI(t, db, args...)
		if err != nil {
			t.Fatalf("partnerd %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	must("account", "add", "--username", "u", "--password", "pw", "--client-id", "7012345")
	idOf := func(out string) string {
		t.Helper()
		m := regexp.MustCompile(`(?m)^client_id=(\S+)$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("client add printed %q", out)
		}
		return m[1]
	}
	live, revoked := idOf(must("client", "add", "--account", "u")), idOf(must("client", "add", "--account", "u"))

	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.AccountByUsername(t.Context(), "u")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var logged []store.RequestLog
	for i, c := range []struct {
		id  string
		ago time.Duration
	}{{live, time.Minute}, {live, 2 * time.Minute}, {live, 30 * time.Minute}, {revoked, time.Minute}} {
		logged = append(logged, store.RequestLog{RequestID: uuid.NewString(), Face: "soap", Method: "POST", Path: "/Service.asmx",
			AccountID: acct.ID, Username: "u", CredentialKind: "client", Credential: c.id, Operation: "Create", Status: "OK",
			HTTPStatus: 200, ReceivedAt: now.Add(-c.ago - time.Duration(i))})
	}
	if err := st.LogRequests(t.Context(), logged); err != nil {
		t.Fatal(err)
	}
	must("client", "revoke", "--account", "u", "--id", revoked)

	show := must("account", "show", "u")
	for _, want := range []string{`client\s+` + live + `\s+active\s+\S+\s+2\s+3\b`, `client\s+` + revoked + `\s+gone\s+-\s+1\s+1\b`,
		`user\s+u\s+active\s+\S+\s+0\s+0\b`} {
		if !regexp.MustCompile(want).MatchString(show) {
			t.Errorf("account show lacks %s:\n%s", want, show)
		}
	}
	for _, flag := range []string{"client:" + live, live} {
		if reqs := must("requests", "--credential", flag); strings.Count(reqs, "client:"+live) != 3 || strings.Contains(reqs, revoked) {
			t.Errorf("requests --credential %s:\n%s", flag, reqs)
		}
	}
}
