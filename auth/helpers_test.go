package auth

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/clock"
	"github.com/partnerd/partnerd/credential"
	"github.com/partnerd/partnerd/store"
)

func TestMain(m *testing.M) {
	// The real iteration count would make the suite spend seconds hashing;
	// the benchmarks restore it.
	credential.DefaultIterations = 1000
	os.Exit(m.Run())
}

// fakeStore is the part of store.Store the Authenticator uses, in memory.
type fakeStore struct {
	clock clock.Clock

	mu       sync.Mutex
	accounts map[string]store.Account
	nonces   map[string]time.Time // username + "\x00" + nonce → expires
	lookups  int

	lookupErr error // returned by AccountByUsername when set
	nonceErr  error // returned by UseNonce when set
}

func newFakeStore(c clock.Clock, accounts ...store.Account) *fakeStore {
	s := &fakeStore{clock: c, accounts: map[string]store.Account{}, nonces: map[string]time.Time{}}
	for _, a := range accounts {
		s.accounts[a.Username] = a
	}
	return s
}

func (s *fakeStore) AccountByUsername(_ context.Context, username string) (store.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	if s.lookupErr != nil {
		return store.Account{}, s.lookupErr
	}
	a, ok := s.accounts[username]
	if !ok {
		return store.Account{}, store.ErrNotFound
	}
	return a, nil
}

func (s *fakeStore) UseNonce(_ context.Context, username, nonce string, expires, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nonceErr != nil {
		return s.nonceErr
	}
	k := username + "\x00" + nonce
	if exp, ok := s.nonces[k]; ok && s.clock.Now().Before(exp) {
		return store.ErrReplay
	}
	s.nonces[k] = expires
	return nil
}

func (s *fakeStore) setAccount(a store.Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[a.Username] = a
}

func (s *fakeStore) nonceExpiry(username, nonce string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.nonces[username+"\x00"+nonce]
	return t, ok
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC()
}

// account makes an account whose password is both hashed and sealed.
func account(t testing.TB, sealer *credential.Sealer, id int64, username, password string) store.Account {
	t.Helper()
	h, err := credential.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	return store.Account{ID: id, Username: username, ClientID: 1000 + id, PasswordHash: h, PasswordSealed: sealer.Seal(password)}
}

func testSealer(t testing.TB) *credential.Sealer {
	t.Helper()
	s, err := credential.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
