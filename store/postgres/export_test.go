package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// OpenAt opens the database url names with its schema migrated through
// version last only, and returns the pool to write rows as that schema
// holds them.
func OpenAt(ctx context.Context, url string, last int) (*pgxpool.Pool, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := (&DB{pool: pool}).migrateThrough(ctx, last); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// BeginLazy starts a SERIALIZABLE transaction as Update does, for the
// tests of its laziness: the caller commits or rolls it back.
func BeginLazy(ctx context.Context, db *DB) (pgx.Tx, error) {
	return db.beginLazy(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
}

// GroupJoining is how many Updates wait to join the process's group.
func GroupJoining(db *DB) int { return int(db.group.joining.Load()) }

// GroupCommits is how many group transactions the process has committed.
func GroupCommits(db *DB) int64 { return db.group.commits.Load() }

// ShotPipelines is how many pipelines of one shots the process has sent,
// and how many one shots they held.
func ShotPipelines(db *DB) (pipelines, shots int64) {
	return db.shots.pipelines.Load(), db.shots.queries.Load()
}

// Pool is the store's connection pool, for tests that look under it.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }
