// Package authtest is an in-memory account and nonce store for the tests
// of auth and of the faces that use it: the two methods of store.Store an
// auth.Authenticator needs, with switches to make them fail.
package authtest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/store"
)

// Store keeps accounts and nonces in memory. Its fields other than the
// errors are read by tests after the calls they count.
type Store struct {
	clock clock.Clock

	mu       sync.Mutex
	accounts map[string]store.Account
	users    map[string]store.User // username → user, beside the accounts' own users
	nonces   map[string]time.Time  // username + "\x00" + nonce → expires

	// Lookups counts AccountByUsername and UserByUsername calls.
	Lookups int
	// LookupErr, when set, is returned by AccountByUsername and
	// UserByUsername; NonceErr by UseNonce.
	LookupErr error
	NonceErr  error
}

// NewStore returns a Store holding accounts; c decides when a nonce has
// expired.
func NewStore(c clock.Clock, accounts ...store.Account) *Store {
	s := &Store{clock: c, accounts: map[string]store.Account{}, users: map[string]store.User{}, nonces: map[string]time.Time{}}
	for _, a := range accounts {
		s.accounts[a.Username] = a
	}
	return s
}

// AccountByUsername implements the store's method.
func (s *Store) AccountByUsername(_ context.Context, username string) (store.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Lookups++
	if s.LookupErr != nil {
		return store.Account{}, s.LookupErr
	}
	a, ok := s.accounts[username]
	if !ok {
		return store.Account{}, store.ErrNotFound
	}
	return a, nil
}

// UserByUsername implements the store's method: a user added by SetUser,
// else the own user of the account of that name (its password, the
// account's ID as its ID).
func (s *Store) UserByUsername(_ context.Context, username string) (store.User, store.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Lookups++
	if s.LookupErr != nil {
		return store.User{}, store.Account{}, s.LookupErr
	}
	return s.user(username)
}

// user is UserByUsername's answer; callers hold s.mu.
func (s *Store) user(username string) (store.User, store.Account, error) {
	identity := func(a store.Account) store.Account {
		return store.Account{ID: a.ID, Username: a.Username, ClientID: a.ClientID, Disabled: a.Disabled}
	}
	if u, ok := s.users[username]; ok {
		for _, a := range s.accounts {
			if a.ID == u.AccountID {
				return u, identity(a), nil
			}
		}
		return store.User{}, store.Account{}, store.ErrNotFound
	}
	a, ok := s.accounts[username]
	if !ok {
		return store.User{}, store.Account{}, store.ErrNotFound
	}
	u := store.User{ID: a.ID, AccountID: a.ID, Username: a.Username, PasswordHash: a.PasswordHash, PasswordSealed: a.PasswordSealed}
	return u, identity(a), nil
}

// SetUser adds or replaces a user of an account the Store holds (a
// rotated password, a disabled user). Its ID must not be an account's.
func (s *Store) SetUser(u store.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.Username] = u
}

// User makes a user of account accountID whose password is both hashed
// and sealed, as `partnerd user add` stores it.
func User(t testing.TB, sealer *credential.Sealer, id, accountID int64, username, password string) store.User {
	t.Helper()
	h, err := credential.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	return store.User{ID: id, AccountID: accountID, Username: username, PasswordHash: h, PasswordSealed: sealer.Seal(password)}
}

// UseNonce implements the store's method: a nonce is refused while an
// earlier use of it has not expired by the Store's clock.
func (s *Store) UseNonce(_ context.Context, username, nonce string, expires, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.useNonce(username, nonce, expires)
}

// useNonce is UseNonce; callers hold s.mu.
func (s *Store) useNonce(username, nonce string, expires time.Time) error {
	if s.NonceErr != nil {
		return s.NonceErr
	}
	k := username + "\x00" + nonce
	if exp, ok := s.nonces[k]; ok && s.clock.Now().Before(exp) {
		return store.ErrReplay
	}
	s.nonces[k] = expires
	return nil
}

// SetAccount adds or replaces an account (a rotated password, a disabled
// account).
func (s *Store) SetAccount(a store.Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[a.Username] = a
}

// NonceExpiry says whether the nonce was recorded, and until when.
func (s *Store) NonceExpiry(username, nonce string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.nonces[username+"\x00"+nonce]
	return t, ok
}

// Account makes an account whose password is both hashed and sealed, as
// `partnerd account add` stores it; its client ID is 1000 + id.
func Account(t testing.TB, sealer *credential.Sealer, id int64, username, password string) store.Account {
	t.Helper()
	h, err := credential.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	return store.Account{ID: id, Username: username, ClientID: 1000 + id, PasswordHash: h, PasswordSealed: sealer.Seal(password)}
}

// Sealer is a sealer under a fixed test key.
func Sealer(t testing.TB) *credential.Sealer {
	t.Helper()
	s, err := credential.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// MustTime parses an RFC 3339 time, in UTC.
func MustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC()
}

// CurrentStore is a Store that also records a nonce on the condition that
// a user is still as read, as the PostgreSQL store does
// (auth.CurrentNonceStore).
type CurrentStore struct {
	*Store
	// Conditional counts UseNonceIfCurrent calls, Recorded those that
	// recorded their nonce.
	Conditional, Recorded int
}

// UseNonceIfCurrent records the nonce only while user and acct are as the
// Store now holds them (credentials, identity, neither disabled); false
// when they are not or the nonce is a replay.
func (s *CurrentStore) UseNonceIfCurrent(_ context.Context, user store.User, acct store.Account, nonce string, expires, _ time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Conditional++
	u, a, err := s.user(user.Username)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if u.ID != user.ID || u.PasswordHash != user.PasswordHash || !bytes.Equal(u.PasswordSealed, user.PasswordSealed) || u.Disabled ||
		a.ID != acct.ID || a.Username != acct.Username || a.ClientID != acct.ClientID || a.Disabled {
		return false, nil
	}
	err = s.useNonce(user.Username, nonce, expires)
	if errors.Is(err, store.ErrReplay) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.Recorded++
	return true, nil
}
