package auth

import (
	"os"
	"testing"
	"time"

	"github.com/partnerd/partnerd/credential"
	"github.com/partnerd/partnerd/store"
)

func TestMain(m *testing.M) {
	// The real iteration count would make the suite spend seconds hashing;
	// the benchmarks restore it.
	credential.DefaultIterations = 1000
	os.Exit(m.Run())
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
