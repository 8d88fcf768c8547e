package postgres

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// TestShotBatch: one pipeline's queries each get their own rows, scanned
// as a connection's would be; a query that fails gets its own error, and
// the others in its pipeline, whose COMMIT never ran, are lost (run again
// without a one shot), whether they came before it or after.
func TestShotBatch(t *testing.T) {
	// The queries touch no table: a pool is enough (testrig, which makes
	// a schema, imports this package).
	url := os.Getenv("PARTNERD_TEST_STORE")
	if !strings.HasPrefix(url, "postgres") {
		t.Skip("PARTNERD_TEST_STORE names no PostgreSQL database (postgres://…); run it with scripts/pg-test.sh go test ./store/postgres")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := &DB{pool: pool}
	db.shots.pool = pool
	q := func(sql string, args ...any) *shot { return &shot{sql: sql, args: args, done: make(chan struct{})} }
	type outcome struct {
		rows []int64 // nil with err
		err  bool
		lost bool
	}
	tests := []struct {
		name  string
		batch []*shot
		want  []outcome
	}{
		{"one", []*shot{q("SELECT $1::bigint", 7)}, []outcome{{rows: []int64{7}}}},
		{"each its own rows", []*shot{
			q("SELECT $1::bigint", 1),
			q("SELECT generate_series(1, $1::bigint)", 3),
			q("SELECT 1::bigint WHERE false"),
		}, []outcome{{rows: []int64{1}}, {rows: []int64{1, 2, 3}}, {rows: []int64{}}}},
		{"a failure loses the others", []*shot{
			q("SELECT $1::bigint", 1),
			q("SELECT 1 / $1::bigint", 0),
			q("SELECT $1::bigint", 2),
		}, []outcome{{err: true, lost: true}, {err: true}, {err: true, lost: true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db.shots.send(tc.batch)
			for i, s := range tc.batch {
				<-s.done
				want := tc.want[i]
				if (s.err != nil) != want.err || s.lost != want.lost {
					t.Fatalf("query %d: error %v, lost %v; want error %v, lost %v", i, s.err, s.lost, want.err, want.lost)
				}
				if s.err != nil {
					continue
				}
				got := []int64{}
				for s.rows.Next() {
					var v int64
					if err := s.rows.Scan(&v); err != nil {
						t.Fatal(err)
					}
					got = append(got, v)
				}
				if err := s.rows.Err(); err != nil {
					t.Fatalf("query %d: %v", i, err)
				}
				if len(got) != len(want.rows) {
					t.Fatalf("query %d: rows %v, want %v", i, got, want.rows)
				}
				for j := range got {
					if got[j] != want.rows[j] {
						t.Fatalf("query %d: rows %v, want %v", i, got, want.rows)
					}
				}
			}
		})
	}
	// A context that ends while the query waits: its error, at once.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if s := db.shots.query(cancelled, "SELECT 1", nil); !errors.Is(s.err, context.Canceled) {
		t.Errorf("cancelled query: %v, want %v", s.err, context.Canceled)
	}
}
