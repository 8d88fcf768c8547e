package postgres

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Group commit. Every Update that writes costs a commit, and a durable
// commit waits for PostgreSQL's WAL flush; concurrent commits wait on each
// other's flushes, waking one another, and concurrent SERIALIZABLE writers
// of neighbouring rows abort each other through the predicate locks on the
// index pages they share. The SQLite store runs every Update queued while
// the previous commit was syncing in one transaction; this is the same
// for PostgreSQL, within one process.
//
// An Update whose first statement is not a predicted one shot joins its
// process's group: it takes the group's lock and runs in the group's open
// transaction (beginning one when none is open), inside a savepoint of its
// own, so that an Update whose fn fails rolls back alone. When it ends,
// the group commits if no other Update is waiting to join (or the group is
// full); otherwise the next one runs and a later one commits. Every member
// is answered after that commit, a member that failed as well as one that
// succeeded: it may have read what an earlier member wrote, and must not
// answer from writes that never commit. So no Update returns before the
// commit that holds its writes, as before, and the members ran one after
// the other in the commit's serial order. A serialization failure or
// deadlock in any member, or a failed commit, fails every member with
// that error, and each runs again as Update runs any lost transaction.
//
// Writes in one process thus run one at a time, as on SQLite: a long fn
// holds the others back. Read-only Updates predicted as one shots,
// Views and the queue's transactions keep connections of their own and
// run beside the group; other processes have groups of their own.
type writeGroup struct {
	// mu is held by the member running its fn and by the commit.
	mu sync.Mutex
	// joining counts the Updates waiting for mu to join.
	joining atomic.Int32

	// The open transaction: nil pc when none is open.
	pc      *pgxpool.Conn
	pending []queued // statements for the next member to send first
	begun   bool     // its BEGIN has been sent
	members []chan error
	doomed  error // lost: roll back at the end, and fail every member

	commits atomic.Int64 // group transactions committed, for tests
}

// groupMax bounds a group's members. A member that writes is a
// subtransaction (its savepoint), and a backend keeps the IDs of at most
// 64 subtransactions in shared memory before every other session's
// snapshots must look them up on disk; a member that inserts takes two
// (its own savepoint and the insert's).
const groupMax = 16

// memberSavepoint isolates one member's statements.
const memberSavepoint = "SAVEPOINT member"

// join makes tx a member: it waits for the group's lock, opens the
// group's transaction if none is open, and gives tx its connection and
// statements to send first. The lock is held until tx leaves.
func (g *writeGroup) join(ctx context.Context, tx *lazyTx) error {
	g.joining.Add(1)
	g.mu.Lock()
	g.joining.Add(-1)
	if err := ctx.Err(); err != nil {
		g.settle()
		g.mu.Unlock()
		return err
	}
	if g.pc == nil {
		pc, err := tx.pool.Acquire(ctx)
		if err != nil {
			g.mu.Unlock()
			return err
		}
		g.pc = pc
		// tx's own first pending statement is its BEGIN.
		g.pending = append(g.pending[:0], tx.pending[0])
		g.begun = false
	}
	tx.member = true
	tx.conn = g.pc.Conn()
	p := make([]queued, 0, len(g.pending)+len(tx.pending))
	p = append(p, g.pending...)
	p = append(p, queued{sql: memberSavepoint})
	tx.pending = append(p, tx.pending[1:]...)
	tx.begun = g.begun
	return nil
}

// leave ends tx's membership, keeping its statements (commit) or undoing
// them, and waits for the group's outcome: nil once the group has
// committed, or the error that lost it.
func (g *writeGroup) leave(tx *lazyTx, commit bool) error {
	ctx := context.Background()
	// A statement of tx failed and fn carried on: its own COMMIT would
	// have rolled back (pgx.ErrTxCommitRollback); so does its savepoint,
	// and the other members keep theirs.
	var own error
	if commit && tx.begun && tx.conn.PgConn().TxStatus() == 'E' && tx.doomed == nil {
		commit, own = false, pgx.ErrTxCommitRollback
	}
	switch {
	case tx.unsent(memberSavepoint):
		// No statement ran in it.
	case commit:
		tx.pending = append(tx.pending, queued{sql: "RELEASE SAVEPOINT member"})
	case tx.doomed == nil && g.doomed == nil:
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT member"); err != nil {
			g.doomed = err
		}
	}
	if tx.doomed != nil && g.doomed == nil {
		g.doomed = tx.doomed
	}
	g.pending = append(g.pending[:0], tx.pending...)
	g.begun = tx.begun
	tx.pending = nil
	tx.ended = true
	done := make(chan error, 1)
	g.members = append(g.members, done)
	g.settle()
	g.mu.Unlock()
	if err := <-done; err != nil {
		return err
	}
	return own
}

// settle commits the group (or rolls it back, when lost) once no Update
// waits to join it or it is full, and answers its members. mu is held.
func (g *writeGroup) settle() {
	if len(g.members) == 0 {
		return
	}
	if g.doomed == nil && g.joining.Load() > 0 && len(g.members) < groupMax {
		return
	}
	ctx := context.Background()
	err := g.doomed
	switch {
	case err != nil:
		if g.begun {
			// Its failure leaves the connection in a transaction,
			// which the pool then destroys.
			_, _ = g.pc.Conn().Exec(ctx, "ROLLBACK")
		}
	case g.begun:
		err = g.commit(ctx)
		if err == nil {
			g.commits.Add(1)
		}
	}
	g.pc.Release()
	g.pc, g.begun, g.doomed = nil, false, nil
	g.pending = g.pending[:0]
	for _, m := range g.members {
		m <- err
	}
	g.members = g.members[:0]
}

// commit sends the statements still pending (the last member's deferred
// writes) and COMMIT in one pipeline. A failed statement makes
// PostgreSQL skip the rest: the COMMIT cannot pass it.
func (g *writeGroup) commit(ctx context.Context) error {
	var b pgx.Batch
	for _, q := range g.pending {
		b.Queue(q.sql, q.args...)
	}
	b.Queue("COMMIT")
	br := g.pc.Conn().SendBatch(ctx, &b)
	for range g.pending {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			_, _ = g.pc.Conn().Exec(ctx, "ROLLBACK")
			return groupLoss(err)
		}
	}
	err := commitResult(br.Exec())
	return errors.Join(err, closeUnlessFailed(br, err))
}
