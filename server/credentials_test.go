package server

import (
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/partnerd/partnerd/internal/credential"
)

// TestCredentialOfEachRequest: two users of one account log in; the
// request log, the access log and the metrics name the user each request
// came from (never its password), beside the account; a failed login names
// none. Disabling one user refuses its next request with exactly the fault
// a wrong password gets, and the account's other user goes on working.
func TestCredentialOfEachRequest(t *testing.T) {
	s := newHardened(t, Limits{})
	s.f.AddUser("alice-ci", "ci-pw", "alice", false)

	for _, c := range []struct{ user, pw string }{{"alice", "alice-pw"}, {"alice-ci", "ci-pw"}, {"alice-ci", "ci-pw"}} {
		if rec := s.post(textEnvelope(c.user, c.pw, performVI)); rec.Code != 200 {
			t.Fatalf("%s: HTTP %d %s", c.user, rec.Code, rec.Body)
		}
	}
	wrong := s.post(textEnvelope("alice-ci", "wrong-pw", performVI))
	if wrong.Code != 500 {
		t.Fatalf("wrong password: HTTP %d", wrong.Code)
	}

	logged, err := s.f.db.RecentRequests(t.Context(), 10)
	if err != nil || len(logged) != 4 {
		t.Fatalf("logged %d exchanges (%v), want 4", len(logged), err)
	}
	want := []struct{ kind, name, account string }{{"", "", ""}, {"user", "alice-ci", "alice"}, {"user", "alice-ci", "alice"}, {"user", "alice", "alice"}}
	for i, e := range logged { // newest first
		if e.CredentialKind != want[i].kind || e.Credential != want[i].name || e.Username != want[i].account {
			t.Errorf("logged exchange %d: credential %q %q of account %q, want %+v", i, e.CredentialKind, e.Credential, e.Username, want[i])
		}
		if e.Credential != "" && e.AccountID != s.f.Accounts["alice"].ID {
			t.Errorf("logged exchange %d: account %d, want alice's", i, e.AccountID)
		}
		full, _ := s.f.db.RequestByID(t.Context(), e.RequestID)
		if strings.Contains(full.Request+full.Detail, "ci-pw") {
			t.Errorf("a password is in the log: %+v", full)
		}
	}
	if log := s.logs.String(); strings.Count(log, `"credential":"user:alice-ci"`) != 2 || strings.Count(log, `"credential":"user:alice"`) != 1 {
		t.Errorf("access log does not name each request's credential:\n%s", log)
	}
	m := s.get("/metrics").Body.String()
	for _, line := range []string{`partnerd_credential_requests_total{account="alice",credential="alice-ci",kind="user"} 2`,
		`partnerd_credential_requests_total{account="alice",credential="alice",kind="user"} 1`} {
		if !strings.Contains(m, line) {
			t.Errorf("/metrics lacks %s:\n%s", line, grepLines(m, "partnerd_credential"))
		}
	}

	ci, _, err := s.f.db.UserByUsername(t.Context(), "alice-ci")
	if err != nil {
		t.Fatal(err)
	}
	ci.Disabled = true
	if err := s.f.db.UpdateUser(t.Context(), ci); err != nil {
		t.Fatal(err)
	}
	refused := s.post(textEnvelope("alice-ci", "ci-pw", performVI))
	// Equal but for the Timestamp's Id, a fresh GUID in every answer.
	stamp := regexp.MustCompile(`Timestamp-[0-9a-f-]{36}`)
	same := func(b string) string { return stamp.ReplaceAllString(b, "Timestamp-ID") }
	if refused.Code != wrong.Code || same(refused.Body.String()) != same(wrong.Body.String()) {
		t.Errorf("a disabled user's request: HTTP %d %s\nwant the wrong password's answer: HTTP %d %s", refused.Code, refused.Body, wrong.Code, wrong.Body)
	}
	if rec := s.post(textEnvelope("alice", "alice-pw", performVI)); rec.Code != 200 {
		t.Errorf("the account's other user after a disable: HTTP %d", rec.Code)
	}
}

// TestRotateOneUserUnderLoadOverSOAP: two users of one account send
// requests over and over through the whole server while one user's
// password is rotated. Judged by order, not time: every request of the
// rotated user sent after the rotation committed gets the Login failed
// fault, every one answered before it began is served, and every request
// of the other user is served throughout.
func TestRotateOneUserUnderLoadOverSOAP(t *testing.T) {
	s := newHardened(t, Limits{})
	s.f.AddUser("alice-ci", "ci-pw", "alice", false)
	s.f.AddUser("alice-ops", "ops-pw", "alice", false)

	const before, after = 20, 20
	var rotating, rotated atomic.Bool
	ready := make(chan struct{}, 2)
	var wg sync.WaitGroup
	var failures sync.Map
	for _, u := range []struct{ name, pw string }{{"alice-ci", "ci-pw"}, {"alice-ops", "ops-pw"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, n := 0, 0; n < after; i++ {
				if i == before {
					ready <- struct{}{}
				}
				sentAfter := rotated.Load()
				rec := s.post(textEnvelope(u.name, u.pw, performVI))
				answeredBefore := !rotating.Load()
				if sentAfter {
					n++
				}
				ok := rec.Code == 200
				failed := rec.Code == 500 && strings.Contains(rec.Body.String(), "<faultstring>Login failed</faultstring>")
				switch {
				case u.name == "alice-ops" && !ok:
					failures.Store(u.name, rec.Body.String())
				case u.name == "alice-ci" && sentAfter && !failed:
					failures.Store(u.name+" after the rotation", rec.Body.String())
				case u.name == "alice-ci" && answeredBefore && !ok:
					failures.Store(u.name+" before the rotation", rec.Body.String())
				}
			}
		}()
	}
	<-ready
	<-ready
	ci, _, err := s.f.db.UserByUsername(t.Context(), "alice-ci")
	if err != nil {
		t.Fatal(err)
	}
	if ci.PasswordHash, err = credential.Hash("rotated-pw"); err != nil {
		t.Fatal(err)
	}
	ci.PasswordSealed = s.f.sealer.Seal("rotated-pw")
	rotating.Store(true)
	if err := s.f.db.UpdateUser(t.Context(), ci); err != nil {
		t.Fatal(err)
	}
	rotated.Store(true)
	wg.Wait()
	failures.Range(func(k, v any) bool {
		t.Errorf("%v: %v", k, v)
		return true
	})
	if rec := s.post(textEnvelope("alice-ci", "rotated-pw", performVI)); rec.Code != 200 {
		t.Errorf("the rotated user with its new password: HTTP %d", rec.Code)
	}
}
