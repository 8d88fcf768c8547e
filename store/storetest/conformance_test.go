package storetest_test

import (
	"testing"

	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store/storetest"
)

// TestConformance runs the suite on the backend PARTNERD_TEST_STORE picks
// (testrig): SQLite by default, PostgreSQL once it exists.
func TestConformance(t *testing.T) {
	storetest.Run(t, testrig.Reopener(t))
}
