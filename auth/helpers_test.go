package auth

import (
	"github.com/partnerd/partnerd/auth/authtest"
	"os"
	"testing"

	"github.com/partnerd/partnerd/internal/credential"
)

func TestMain(m *testing.M) {
	// The real iteration count would make the suite spend seconds hashing;
	// the benchmarks restore it.
	credential.DefaultIterations = 1000
	os.Exit(m.Run())
}

// The shared test helpers of auth/authtest, under the names the tests use.
var (
	mustTime   = authtest.MustTime
	account    = authtest.Account
	testSealer = authtest.Sealer
)
