package wsse_test

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/api/soap/wsse"
	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/loadgen"
	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/sqlite"
)

// memAccounts is an in-memory auth.AccountStore: the security check's own
// cost, with lookups and nonces free.
type memAccounts struct {
	acct   store.Account
	mu     sync.Mutex
	nonces map[string]time.Time
}

func (m *memAccounts) UserByUsername(context.Context, string) (store.User, store.Account, error) {
	a := m.acct
	return store.User{ID: a.ID, AccountID: a.ID, Username: a.Username, PasswordHash: a.PasswordHash, PasswordSealed: a.PasswordSealed}, a, nil
}

func (m *memAccounts) UseNonce(_ context.Context, username, nonce string, expires, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.nonces[username+nonce]; ok {
		return store.ErrReplay
	}
	m.nonces[username+nonce] = expires
	return nil
}

// benchAccount is an account with a real-cost password hash and sealed
// password.
func benchAccount(b *testing.B) (store.Account, *credential.Sealer) {
	sealer, err := credential.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		b.Fatal(err)
	}
	hash, err := credential.Hash("bench-pw")
	if err != nil {
		b.Fatal(err)
	}
	return store.Account{Username: "bench", ClientID: 1001, PasswordHash: hash, PasswordSealed: sealer.Seal("bench-pw")}, sealer
}

// BenchmarkSecurityCheck is what every request pays to log in: find and
// parse the wsse:Security header of a parsed envelope and verify the token
// (password through the verified-credential cache, or digest; freshness;
// nonce recorded). Each iteration builds a fresh envelope, as a client
// would (a nonce is accepted once), and parses it; that is ~25µs of each
// figure (see soap's BenchmarkReadEnvelope), the same for every case.
// "sqlite" records the nonce in a real store file: one durable commit.
func BenchmarkSecurityCheck(b *testing.B) {
	acct, sealer := benchAccount(b)
	for _, tc := range []struct {
		name   string
		digest bool
		sqlite bool
	}{
		{"text/memory", false, false},
		{"digest/memory", true, false},
		{"text/sqlite", false, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var st auth.AccountStore = &memAccounts{acct: acct, nonces: map[string]time.Time{}}
			if tc.sqlite {
				db, err := sqlite.Open(filepath.Join(b.TempDir(), "wsse.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				a := acct
				if err := db.CreateAccount(context.Background(), &a); err != nil {
					b.Fatal(err)
				}
				st = db
			}
			v := &auth.Authenticator{Store: st, Clock: clock.System{}, Sealer: sealer, Cache: credential.NewCache(4096)}
			envs := loadgen.NewEnvelopeWriter(loadgen.Credentials{Username: "bench", Password: "bench-pw", Digest: tc.digest})
			ctx := context.Background()
			check := func() {
				env, err := soap.ReadEnvelope(envs.Cancel([]int64{1}))
				if err != nil {
					b.Fatal(err)
				}
				tok, err := wsse.Parse(wsse.Find(env.Header))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := v.VerifyUsernameToken(ctx, tok.UsernameToken); err != nil {
					b.Fatal(err)
				}
			}
			check() // the one slow hash, which the cache then spares
			b.ReportAllocs()
			for b.Loop() {
				check()
			}
		})
	}
}
