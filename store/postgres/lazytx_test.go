package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store/postgres"
)

// TestLazySavepoints: savepoints sent only with a statement inside them,
// released with the next statement or by the COMMIT, keep SQL's meaning:
// a failed statement's savepoint rolled back leaves the transaction usable
// and the rows written before it; an outer savepoint rolled back undoes
// an inner one released; a savepoint with no statement costs nothing and
// undoes nothing; and the depth-named savepoints reused one after another
// stay apart.
func TestLazySavepoints(t *testing.T) {
	needPostgres(t)
	db, _ := twoProcesses(t)
	ctx := context.Background()

	type step func(t *testing.T, tx pgx.Tx)
	insert := func(key string) step {
		return func(t *testing.T, tx pgx.Tx) {
			t.Helper()
			if _, err := tx.Exec(ctx, `INSERT INTO nonces (key, username, expires) VALUES ($1, 'lazy', 1)`, []byte(key)); err != nil {
				t.Fatalf("insert %s: %v", key, err)
			}
		}
	}
	// inSavepoint runs steps in a savepoint and releases it, or rolls it
	// back when rollback is set (or a step's insert is a duplicate, which
	// fails as it should).
	var inSavepoint func(rollback bool, steps ...step) step
	inSavepoint = func(rollback bool, steps ...step) step {
		return func(t *testing.T, tx pgx.Tx) {
			t.Helper()
			sp, err := tx.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range steps {
				s(t, sp)
			}
			if rollback {
				err = sp.Rollback(ctx)
			} else {
				err = sp.Commit(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	duplicate := func(key string) step { // fails inside a savepoint, which is then rolled back
		return func(t *testing.T, tx pgx.Tx) {
			t.Helper()
			sp, err := tx.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sp.Exec(ctx, `INSERT INTO nonces (key, username, expires) VALUES ($1, 'lazy', 1)`, []byte(key)); err == nil {
				t.Fatalf("duplicate %s inserted", key)
			}
			if err := sp.Rollback(ctx); err != nil {
				t.Fatalf("rollback after the duplicate %s: %v", key, err)
			}
		}
	}

	tests := []struct {
		name  string
		steps []step
		want  []string
	}{
		{"a failed statement's savepoint rolled back", []step{insert("a"), duplicate("a"), insert("b")}, []string{"a", "b"}},
		{"the first statement is in a savepoint", []step{inSavepoint(false, insert("a")), insert("b")}, []string{"a", "b"}},
		{"savepoint rolled back", []step{insert("a"), inSavepoint(true, insert("b")), insert("c")}, []string{"a", "c"}},
		{"outer rolled back undoes inner released", []step{
			inSavepoint(true, insert("a"), inSavepoint(false, insert("b"))), insert("c")}, []string{"c"}},
		{"inner rolled back, outer released", []step{
			inSavepoint(false, insert("a"), inSavepoint(true, insert("b")), insert("c"))}, []string{"a", "c"}},
		{"empty savepoints", []step{inSavepoint(false), inSavepoint(true), insert("a"), inSavepoint(true), inSavepoint(false,
			inSavepoint(false))}, []string{"a"}},
		{"names reused one after another", []step{
			inSavepoint(false, insert("a")), inSavepoint(false, insert("b")), inSavepoint(true, insert("c")),
			duplicate("a"), inSavepoint(false, insert("d"))}, []string{"a", "b", "d"}},
		{"only savepoints, no statement", []step{inSavepoint(false), inSavepoint(true)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := db.PruneNonces(ctx, time.Now()); err != nil {
				t.Fatal(err)
			}
			tx, err := postgres.BeginLazy(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx) // after a failed step; a no-op after the commit
			for _, s := range tt.steps {
				s(t, tx)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatalf("commit: %v", err)
			}
			rows, err := db.Pool().Query(ctx, `SELECT convert_from(key, 'UTF8') FROM nonces WHERE username = 'lazy' ORDER BY 1`)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("committed %q, want %q", got, tt.want)
			}
		})
	}
}
