package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// One shots of concurrent Updates share a round trip and a transaction.
// A one shot (oneshot.go) is a read-only transaction of one query; read
// on one snapshot together, several are as serializable as each alone
// (reads do not conflict with reads), and one pipeline of BEGIN, their
// queries and COMMIT costs each of them a share of one socket write and
// one wake-up on either side instead of one each. The queries queued
// while a pipeline is out go in the next, so a lone one waits for
// nothing but its own. Each query's rows are read into memory for its
// caller, who scans them as it would a connection's.
type shotBatcher struct {
	pool    *pgxpool.Pool
	predict oneShots // which first queries go as one shots (oneshot.go)
	q       batchQueue[*shot]

	// pipelines and queries count what send sent (for tests).
	pipelines, queries atomic.Int64

	// scanMu guards typeMap, which callers share to scan their rows
	// (a pgtype.Map caches its scan plans, unguarded).
	scanMu  sync.Mutex
	typeMap *pgtype.Map
}

// shot is one Update's one-shot query and, once done is closed, its rows
// or error.
type shot struct {
	sql  string
	args []any
	done chan struct{}
	rows *bufferedRows
	err  error
	// lost says that the query did not run for a reason of the batch's
	// own (another query failed before it): the Update runs again
	// without a one shot.
	lost bool
}

// maxShotBatch bounds one pipeline's queries.
const maxShotBatch = 64

// shotTimeout bounds one pipeline: it runs for many requests, under none
// of their contexts.
const shotTimeout = 30 * time.Second

// query queues a one-shot query and waits for its batch.
func (b *shotBatcher) query(ctx context.Context, sql string, args []any) *shot {
	s := &shot{sql: sql, args: args, done: make(chan struct{})}
	b.q.add(s, maxShotBatch, b.send)
	select {
	case <-s.done:
	case <-ctx.Done():
		return &shot{err: ctx.Err()}
	}
	return s
}

// send runs batch's queries in one SERIALIZABLE transaction, one pipeline,
// and answers each.
func (b *shotBatcher) send(batch []*shot) {
	ctx, cancel := context.WithTimeout(context.Background(), shotTimeout)
	defer cancel()
	defer func() {
		for _, s := range batch {
			close(s.done)
		}
	}()
	fail := func(err error) {
		for _, s := range batch {
			if s.err == nil && s.rows == nil {
				s.err, s.lost = err, true
			}
		}
	}
	pc, err := b.pool.Acquire(ctx)
	if err != nil {
		fail(err)
		return
	}
	defer pc.Release() // one left in a transaction is destroyed
	var pb pgx.Batch
	pb.Queue("BEGIN ISOLATION LEVEL SERIALIZABLE")
	for _, s := range batch {
		pb.Queue(s.sql, s.args...)
	}
	pb.Queue("COMMIT")
	b.pipelines.Add(1)
	b.queries.Add(int64(len(batch)))
	br := pc.Conn().SendBatch(ctx, &pb)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		fail(err)
		return
	}
	var failed error
	for _, s := range batch {
		if failed != nil {
			// PostgreSQL skipped it: another's failure, not its own.
			s.err, s.lost = failed, true
			continue
		}
		s.rows, s.err = b.read(br)
		if s.err != nil {
			failed = s.err
		}
	}
	if failed != nil {
		// No COMMIT ran: what the others read before the failure was
		// never checked by one.
		for _, s := range batch {
			if s.rows != nil {
				s.rows, s.err, s.lost = nil, failed, true
			}
		}
		return
	}
	commitErr := commitResult(br.Exec())
	for _, s := range batch {
		s.rows.commitErr = commitErr
	}
}

// read reads the next query's rows into memory.
func (b *shotBatcher) read(br pgx.BatchResults) (*bufferedRows, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	r := &bufferedRows{b: b, fields: append([]pgconn.FieldDescription(nil), rows.FieldDescriptions()...)}
	for rows.Next() {
		raw := rows.RawValues()
		row := make([][]byte, len(raw))
		for i, v := range raw {
			if v != nil {
				row[i] = append(make([]byte, 0, len(v)), v...)
			}
		}
		r.rows = append(r.rows, row)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	r.tag = rows.CommandTag()
	return r, nil
}

// bufferedRows are a one shot's rows, read already. After the last row
// (or Close), Err is the outcome of the COMMIT that followed them.
type bufferedRows struct {
	b         *shotBatcher
	fields    []pgconn.FieldDescription
	rows      [][][]byte
	tag       pgconn.CommandTag
	next      int // the row Next moves to
	closed    bool
	commitErr error
}

var _ pgx.Rows = (*bufferedRows)(nil)

func (r *bufferedRows) Close() { r.closed = true }

func (r *bufferedRows) Err() error {
	if r.closed {
		return r.commitErr
	}
	return nil
}

func (r *bufferedRows) CommandTag() pgconn.CommandTag                { return r.tag }
func (r *bufferedRows) FieldDescriptions() []pgconn.FieldDescription { return r.fields }
func (r *bufferedRows) Conn() *pgx.Conn                              { return nil }

// TypeMap is a map of the caller's own: the one Scan uses is shared,
// under a lock.
func (r *bufferedRows) TypeMap() *pgtype.Map { return pgtype.NewMap() }

func (r *bufferedRows) Next() bool {
	if r.closed {
		return false
	}
	if r.next < len(r.rows) {
		r.next++
		return true
	}
	r.Close()
	return false
}

func (r *bufferedRows) current() ([][]byte, error) {
	if r.next == 0 || r.closed && r.next > len(r.rows) {
		return nil, fmt.Errorf("postgres: no current row")
	}
	return r.rows[r.next-1], nil
}

func (r *bufferedRows) Scan(dest ...any) error {
	row, err := r.current()
	if err != nil {
		return err
	}
	r.b.scanMu.Lock()
	defer r.b.scanMu.Unlock()
	return pgx.ScanRow(r.b.types(), r.fields, row, dest...)
}

func (r *bufferedRows) Values() ([]any, error) {
	row, err := r.current()
	if err != nil {
		return nil, err
	}
	r.b.scanMu.Lock()
	defer r.b.scanMu.Unlock()
	m := r.b.types()
	values := make([]any, len(row))
	for i, fd := range r.fields {
		if row[i] == nil {
			continue
		}
		t, ok := m.TypeForOID(fd.DataTypeOID)
		if !ok {
			values[i] = append([]byte(nil), row[i]...)
			continue
		}
		if values[i], err = t.Codec.DecodeValue(m, fd.DataTypeOID, fd.Format, row[i]); err != nil {
			return nil, err
		}
	}
	return values, nil
}

func (r *bufferedRows) RawValues() [][]byte {
	row, _ := r.current()
	return row
}

// types is the map the batcher's callers scan with; scanMu is held.
func (b *shotBatcher) types() *pgtype.Map {
	if b.typeMap == nil {
		b.typeMap = pgtype.NewMap()
	}
	return b.typeMap
}
