package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerd/partnerd/auth/authtest"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/sqlite"
)

// TestUsersOfAnAccount: each user of an account logs in with its own
// password, as the account (its ID and client ID) and as itself (the
// Principal's credential); a disabled user is refused while the account's
// other users log in; a disabled account refuses every user; all with the
// one login failure.
func TestUsersOfAnAccount(t *testing.T) {
	sealer := testSealer(t)
	acme := account(t, sealer, 1, "acme", "acme-pw")
	closed := account(t, sealer, 2, "closed", "closed-pw")
	closed.Disabled = true
	st := authtest.NewStore(clock.System{}, acme, closed)
	st.SetUser(authtest.User(t, sealer, 101, 1, "acme-ci", "ci-pw"))
	off := authtest.User(t, sealer, 102, 1, "acme-off", "off-pw")
	off.Disabled = true
	st.SetUser(off)
	st.SetUser(authtest.User(t, sealer, 103, 2, "closed-ci", "closed-ci-pw"))
	a := &Authenticator{Store: st, Sealer: sealer, Cache: credential.NewCache(8)}

	tests := []struct {
		user, password string
		want           error // nil: logs in as account 1
	}{
		{"acme", "acme-pw", nil},
		{"acme-ci", "ci-pw", nil},
		{"acme-ci", "acme-pw", ErrBadPassword}, // another user's password
		{"acme", "ci-pw", ErrBadPassword},
		{"acme-off", "off-pw", ErrUserDisabled},
		{"acme-off", "wrong", ErrBadPassword}, // checked before Disabled: no hint it exists
		{"closed", "closed-pw", ErrDisabled},
		{"closed-ci", "closed-ci-pw", ErrDisabled},
	}
	for _, tt := range tests {
		for _, digest := range []bool{false, true} {
			tok := UsernameToken{Username: tt.user, Password: tt.password}
			if digest {
				tok = digestToken(tt.user, tt.password, time.Now())
			}
			p, err := a.Authenticate(t.Context(), tok)
			if tt.want == nil {
				want := Principal{AccountID: 1, Username: "acme", ClientID: acme.ClientID, CredentialKind: KindUser, Credential: tt.user}
				if err != nil || p != want {
					t.Errorf("%s (digest %v): %+v, %v; want %+v", tt.user, digest, p, err, want)
				}
				continue
			}
			want := tt.want
			if digest && want == ErrBadPassword {
				want = ErrBadDigest
			}
			if !errors.Is(err, want) || !errors.Is(err, ErrLoginFailed) || p != (Principal{}) {
				t.Errorf("%s/%s (digest %v): %+v, %v; want %v", tt.user, tt.password, digest, p, err, want)
			}
		}
	}
}

var digestNonces atomic.Int64

// digestToken is a PasswordDigest token made now, with a nonce of its own.
func digestToken(user, password string, now time.Time) UsernameToken {
	nonce := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "nonce-%d", digestNonces.Add(1)))
	created := now.UTC().Format(time.RFC3339Nano)
	return UsernameToken{Username: user, Password: digest(nonce, created, password), Type: PasswordDigest,
		Nonce: nonce, Created: now, CreatedText: created, HasCreated: true}
}

// TestRotateOneUserUnderLoad rotates one user's password while two users
// of one account log in over and over with the password they know, through
// the real store and the password cache (which answers every request after
// the first, so that a stale entry would show). Structurally, not by
// timing: every request of the rotated user that began after the rotation
// committed fails, every one that ended before it began succeeds, and
// every request of the other user succeeds, before, during and after.
func TestRotateOneUserUnderLoad(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "rotate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sealer := testSealer(t)
	acct := store.Account{Username: "acme", ClientID: 7}
	if err := db.CreateAccount(t.Context(), &acct); err != nil {
		t.Fatal(err)
	}
	users := map[string]*store.User{}
	for _, name := range []string{"acme-ci", "acme-ops"} {
		u := authtest.User(t, sealer, 0, acct.ID, name, name+"-pw")
		if err := db.CreateUser(t.Context(), &u); err != nil {
			t.Fatal(err)
		}
		users[name] = &u
	}
	a := &Authenticator{Store: db, Sealer: sealer, Cache: credential.NewCache(8)}

	const before, after = 30, 30 // requests per user before the rotation, and after it
	var rotating, rotated atomic.Bool
	var wg sync.WaitGroup
	ready := make(chan struct{}, 2)
	done := map[string]*atomic.Int64{"acme-ci": {}, "acme-ops": {}}
	var failures sync.Map // what went wrong, by user
	for name := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := UsernameToken{Username: name, Password: name + "-pw"}
			afterCount := 0
			for i := 0; afterCount < after; i++ {
				if i == before {
					ready <- struct{}{}
				}
				startedAfter := rotated.Load()
				p, err := a.Authenticate(context.Background(), tok)
				endedBefore := !rotating.Load()
				done[name].Add(1)
				if startedAfter {
					afterCount++
				}
				switch {
				case name == "acme-ops" && err != nil:
					failures.Store(name, err)
				case name == "acme-ci" && startedAfter && !errors.Is(err, ErrBadPassword):
					failures.Store(name+" after the rotation", err)
				case name == "acme-ci" && endedBefore && err != nil:
					failures.Store(name+" before the rotation", err)
				case err == nil && p.Credential != name:
					failures.Store(name, "logged in as "+p.Credential)
				}
			}
		}()
	}
	<-ready
	<-ready
	ci := *users["acme-ci"]
	h, err := credential.Hash("rotated-pw")
	if err != nil {
		t.Fatal(err)
	}
	ci.PasswordHash, ci.PasswordSealed = h, sealer.Seal("rotated-pw")
	rotating.Store(true)
	if err := db.UpdateUser(t.Context(), ci); err != nil {
		t.Fatal(err)
	}
	rotated.Store(true)
	wg.Wait()
	failures.Range(func(k, v any) bool {
		t.Errorf("%v: %v", k, v)
		return true
	})
	if _, err := a.Authenticate(t.Context(), UsernameToken{Username: "acme-ci", Password: "rotated-pw"}); err != nil {
		t.Errorf("the rotated user with its new password: %v", err)
	}
	// Disabling the other user refuses its next request, and only its.
	ops := *users["acme-ops"]
	ops.Disabled = true
	if err := db.UpdateUser(t.Context(), ops); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(t.Context(), UsernameToken{Username: "acme-ops", Password: "acme-ops-pw"}); !errors.Is(err, ErrUserDisabled) {
		t.Errorf("the disabled user's next request: %v, want ErrUserDisabled", err)
	}
	if _, err := a.Authenticate(t.Context(), UsernameToken{Username: "acme-ci", Password: "rotated-pw"}); err != nil {
		t.Errorf("the other user after a disable: %v", err)
	}
}
