package postgres_test

import (
	"testing"

	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store/storetest"
)

// TestConformance runs the store conformance suite on PostgreSQL: a schema
// of its own per subtest in the database PARTNERD_TEST_STORE names
// (scripts/pg-test.sh starts one). Skipped, saying so, without it.
func TestConformance(t *testing.T) {
	if testrig.Backend(t) != "postgres" {
		t.Skipf("%s names no PostgreSQL database (postgres://…); run it with scripts/pg-test.sh go test ./store/postgres", testrig.Env)
	}
	storetest.Run(t, testrig.Reopener(t))
}
