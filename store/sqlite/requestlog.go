package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
)

const requestLogColumns = `request_id, account_id, username, operation, status, http_status, detail,
	remote, request, response, received_at, duration_ns, request_packed, response_packed,
	request_size, response_size, request_note, response_note, face, method, path, credential_kind, credential`

func scanRequestLog(row scanner) (store.RequestLog, error) {
	var e store.RequestLog
	var received sql.NullInt64
	var duration int64
	var reqPacked, respPacked []byte
	err := row.Scan(&e.RequestID, &e.AccountID, &e.Username, &e.Operation, &e.Status, &e.HTTPStatus, &e.Detail,
		&e.Remote, &e.Request, &e.Response, &received, &duration, &reqPacked, &respPacked,
		&e.RequestSize, &e.ResponseSize, &e.RequestNote, &e.ResponseNote, &e.Face, &e.Method, &e.Path, &e.CredentialKind, &e.Credential)
	if err != nil {
		return e, err
	}
	e.ReceivedAt, e.Duration = goTime(received), time.Duration(duration)
	return e, sqlcodec.UnpackLogBodies(&e, reqPacked, respPacked)
}

// LogRequest stores one exchange for the inspector. ErrExists if its
// RequestID is already logged.
func (db *DB) LogRequest(ctx context.Context, e store.RequestLog) error {
	return db.LogRequests(ctx, []store.RequestLog{e})
}

// requestLogWidth is the values of one row of requestLogInserter.
const requestLogWidth = 22

var requestLogInserter = newRowInserter(`INSERT INTO request_log (`+requestLogColumns+`, stored_bytes)`,
	`(?, ?, ?, ?, ?, ?, ?, ?, '', '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, requestLogWidth)

// LogRequests stores es in one transaction, with one cached statement: the
// server's background log writer hands over everything queued at once.
func (db *DB) LogRequests(ctx context.Context, es []store.RequestLog) error {
	if len(es) == 0 {
		return nil
	}
	// Packed here, by the caller, so that the committer (which every
	// write waits for) spends no time compressing.
	packed := sqlcodec.PackLogs(es)
	args := make([]any, 0, requestLogWidth*len(es))
	for i, e := range es {
		p := packed[i]
		args = append(args, e.RequestID, e.AccountID, e.Username, e.Operation, e.Status, e.HTTPStatus, e.Detail,
			e.Remote, dbTime(e.ReceivedAt), int64(e.Duration), p.Request, p.Response,
			e.RequestSize, e.ResponseSize, e.RequestNote, e.ResponseNote, e.Face, e.Method, e.Path, e.CredentialKind, e.Credential, p.Stored)
	}
	var stored int64
	for i := 0; i < len(args); i += requestLogWidth {
		stored += args[i+requestLogWidth-1].(int64)
	}
	err := db.update(ctx, func(tx *sql.Tx) error {
		err := requestLogInserter.insert(ctx, tx, args)
		if isUniqueViolation(err) {
			return fmt.Errorf("request %s or another of the batch: %w", es[0].RequestID, store.ErrExists)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: log requests: %w", err)
	}
	// Counted once committed, so that a scan that starts after this
	// sees the rows: counted before, a row committed after a scan's
	// snapshot but counted before it began would be counted by neither.
	db.logSize.inserted.Add(stored)
	return nil
}

// RecentRequests returns the n most recently received exchanges, newest
// first; ties in ReceivedAt go to the one logged last.
func (db *DB) RecentRequests(ctx context.Context, n int) ([]store.RequestLog, error) {
	if n <= 0 {
		return nil, nil
	}
	es, err := queryAll(ctx, db.read, scanRequestLog, `
SELECT `+requestLogColumns+` FROM request_log ORDER BY received_at DESC, id DESC LIMIT ?`, n)
	if err != nil {
		return nil, fmt.Errorf("sqlite: recent requests: %w", err)
	}
	return es, nil
}

// RequestsByCredential returns the n most recently received exchanges made
// with credential name (of kind, or of any kind when kind is ""), newest
// first. Unindexed: an operator's search, over a log the retention bounds.
func (db *DB) RequestsByCredential(ctx context.Context, kind, name string, n int) ([]store.RequestLog, error) {
	if n <= 0 || name == "" {
		return nil, nil
	}
	es, err := queryAll(ctx, db.read, scanRequestLog, `
SELECT `+requestLogColumns+` FROM request_log WHERE credential = ? AND (? = '' OR credential_kind = ?)
ORDER BY received_at DESC, id DESC LIMIT ?`, name, kind, kind, n)
	if err != nil {
		return nil, fmt.Errorf("sqlite: requests by credential: %w", err)
	}
	return es, nil
}

// CountRequestsByCredential counts account's exchanges received at or after
// since, per credential, on the received_at index.
func (db *DB) CountRequestsByCredential(ctx context.Context, accountID int64, since time.Time) ([]store.CredentialCount, error) {
	cs, err := queryAll(ctx, db.read, func(row scanner) (store.CredentialCount, error) {
		var c store.CredentialCount
		err := row.Scan(&c.Kind, &c.Name, &c.Count)
		return c, err
	}, `
SELECT credential_kind, credential, count(*) FROM request_log INDEXED BY request_log_received_at
WHERE received_at >= ? AND account_id = ?
GROUP BY credential_kind, credential ORDER BY credential_kind, credential`, dbTime(since), accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: count requests by credential: %w", err)
	}
	return cs, nil
}

// RequestByID returns the exchange logged under requestID.
func (db *DB) RequestByID(ctx context.Context, requestID string) (store.RequestLog, error) {
	e, err := scanRequestLog(db.read.QueryRowContext(ctx,
		`SELECT `+requestLogColumns+` FROM request_log WHERE request_id = ?`, requestID))
	if err != nil {
		return store.RequestLog{}, fmt.Errorf("sqlite: request %s: %w", requestID, notFoundIfNoRow(err))
	}
	return e, nil
}

// pruneChunk bounds the rows one prune transaction deletes, so that the
// committer is never held for long by a large backlog: a 100-Definition
// exchange logs ~85 KB, so 500 of them are ~40 MB of pages to free.
const pruneChunk = 500

// PruneRequests forgets exchanges received before before (unless it is
// zero) and all but the keep most recently logged (unless keep is 0), a
// chunk per transaction.
func (db *DB) PruneRequests(ctx context.Context, before time.Time, keep int) (int64, error) {
	if keep < 0 {
		return 0, fmt.Errorf("sqlite: prune requests: negative keep %d", keep)
	}
	var total int64
	chunk := func(query string, args ...any) (int64, error) {
		n, err := db.execCount(ctx, query, args...)
		total += n
		return n, err
	}
	if !before.IsZero() {
		for {
			n, err := chunk(`DELETE FROM request_log WHERE id IN (
SELECT id FROM request_log WHERE received_at < ? LIMIT ?)`, before.UnixMicro(), pruneChunk)
			if err != nil {
				return total, fmt.Errorf("sqlite: prune requests: %w", err)
			}
			if n < pruneChunk {
				break
			}
		}
	}
	if keep > 0 {
		// The newest row to forget: the keep+1-th from the end, in the
		// order rows were logged.
		var last sql.NullInt64
		err := db.read.QueryRowContext(ctx, `SELECT id FROM request_log ORDER BY id DESC LIMIT 1 OFFSET ?`, keep).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return total, fmt.Errorf("sqlite: prune requests: %w", err)
		}
		if last.Valid {
			n, err := db.forgetRequestsThrough(ctx, last.Int64)
			total += n
			if err != nil {
				return total, fmt.Errorf("sqlite: prune requests: %w", err)
			}
		}
	}
	return total, nil
}

// forgetRequestsThrough deletes the exchanges logged up to and including
// row last, a chunk per transaction.
func (db *DB) forgetRequestsThrough(ctx context.Context, last int64) (int64, error) {
	var total int64
	for {
		var n int64
		err := db.update(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM request_log WHERE id IN (
SELECT id FROM request_log WHERE id <= ? ORDER BY id LIMIT ?)`, last, pruneChunk)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		total += n
		if err != nil || n < pruneChunk {
			return total, err
		}
	}
}

// PruneRequestBytes forgets the oldest exchanges until the rest take at
// most maxBytes as stored. It adds up stored_bytes newest first on the
// (id, stored_bytes) index, so it reads no bodies, and stops at the first
// exchange over the budget: the cost is one index entry per exchange kept.
func (db *DB) PruneRequestBytes(ctx context.Context, maxBytes int64) (int64, error) {
	if maxBytes <= 0 {
		return 0, fmt.Errorf("sqlite: prune requests: byte budget %d is not positive", maxBytes)
	}
	if db.logSize.within(maxBytes) {
		return 0, nil
	}
	inserted := db.logSize.inserted.Load()
	last, kept, err := db.lastOverBudget(ctx, maxBytes)
	if err != nil {
		return 0, err
	}
	// What the scan counted is the log now, but for rows inserted while
	// it ran, which stay counted (perhaps twice: an upper bound is safe).
	db.logSize.scanned(kept, inserted)
	if last < 0 {
		return 0, nil
	}
	n, err := db.forgetRequestsThrough(ctx, last)
	if err != nil {
		return n, fmt.Errorf("sqlite: prune requests: %w", err)
	}
	return n, nil
}

// lastOverBudget returns the newest row that does not fit in maxBytes
// with every row newer than it (or -1), and what the rows newer than it
// take.
func (db *DB) lastOverBudget(ctx context.Context, maxBytes int64) (last, kept int64, err error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT id, stored_bytes FROM request_log INDEXED BY request_log_stored_bytes ORDER BY id DESC`)
	if err != nil {
		return -1, 0, fmt.Errorf("sqlite: prune requests: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, size int64
		if err := rows.Scan(&id, &size); err != nil {
			return -1, 0, fmt.Errorf("sqlite: prune requests: %w", err)
		}
		if kept+size > maxBytes {
			return id, kept, nil
		}
		kept += size
	}
	if err := rows.Err(); err != nil {
		return -1, 0, fmt.Errorf("sqlite: prune requests: %w", err)
	}
	return -1, kept, nil
}

// requestLogSize bounds what the request log takes from above, so that
// PruneRequestBytes, called every minute and by the server's log writer
// every sixteenth of the budget, only scans the log when it may be over
// the budget: a log of 100,000 small exchanges, far within it, would
// otherwise be scanned whole every time (~100 ms on the log writer).
// Deleting rows (any prune) only makes the bound looser; rows written by
// another process sharing the file are not counted until the next scan.
type requestLogSize struct {
	inserted atomic.Int64 // bytes logged since the last scan began

	mu    sync.Mutex
	known bool  // a scan has run
	kept  int64 // what the rows it kept take
}

// within reports whether the log is known to take at most maxBytes.
func (s *requestLogSize) within(maxBytes int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.known && s.kept+s.inserted.Load() <= maxBytes
}

// scanned records a scan that began when inserted bytes had been logged
// and found that the rows it keeps take kept.
func (s *requestLogSize) scanned(kept, inserted int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.known, s.kept = true, kept
	s.inserted.Add(-inserted)
}

// SearchRequests returns the exchanges q selects, newest first, in pages
// keyed by (received_at, id): the order of RecentRequests, which the
// received_at index keeps (an index entry carries the rowid), so a page
// deep in the log starts with a seek, not a scan of the pages before it.
// An account's search walks that index too, skipping other accounts' rows:
// the log has no index by account.
func (db *DB) SearchRequests(ctx context.Context, q store.RequestQuery) ([]store.RequestLog, error) {
	if q.Limit <= 0 {
		return nil, nil
	}
	var (
		where []string
		args  []any
	)
	if q.AccountID > 0 {
		where, args = append(where, "account_id = ?"), append(args, q.AccountID)
	}
	if q.RequestIDPrefix != "" {
		// A range on the UNIQUE index: U+10FFFF is the greatest character,
		// so every RequestID beginning with the prefix sorts below it.
		where = append(where, "request_id >= ? AND request_id < ?")
		args = append(args, q.RequestIDPrefix, q.RequestIDPrefix+"\U0010FFFF")
	}
	if q.Face != "" {
		where, args = append(where, "face = ?"), append(args, q.Face)
	}
	if q.Operation != "" {
		where, args = append(where, "operation = ? COLLATE NOCASE"), append(args, q.Operation)
	}
	if q.Status != "" {
		where, args = append(where, "status = ? COLLATE NOCASE"), append(args, q.Status)
	}
	if q.MinDuration > 0 {
		where, args = append(where, "duration_ns >= ?"), append(args, int64(q.MinDuration))
	}
	if q.MaxDuration > 0 {
		where, args = append(where, "duration_ns <= ?"), append(args, int64(q.MaxDuration))
	}
	// parts are the conditions that place a row after the cursor, each
	// run in turn until the page is full: the rows with a time, then those
	// without (NULL sorts first in SQLite, so last newest first). Apart,
	// each is a range the index can seek to.
	type part struct {
		cond string
		args []any
	}
	parts := []part{{"", nil}}
	if q.After != "" {
		var received sql.NullInt64
		var id int64
		err := db.read.QueryRowContext(ctx, `SELECT received_at, id FROM request_log WHERE request_id = ? AND (? = 0 OR account_id = ?)`,
			q.After, q.AccountID, q.AccountID).Scan(&received, &id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: search requests: %w", err)
		}
		parts = []part{{"received_at IS NULL AND id < ?", []any{id}}}
		if received.Valid {
			parts = []part{{"received_at <= ? AND (received_at < ? OR id < ?)", []any{received.Int64, received.Int64, id}},
				{"received_at IS NULL", nil}}
		}
	}
	var es []store.RequestLog
	for _, p := range parts {
		w, a := where, args
		if p.cond != "" {
			w, a = append(slices.Clip(w), p.cond), append(slices.Clip(a), p.args...)
		}
		query := `SELECT ` + requestLogColumns + ` FROM request_log`
		if len(w) > 0 {
			query += " WHERE " + strings.Join(w, " AND ")
		}
		page, err := queryAll(ctx, db.read, scanRequestLog, query+` ORDER BY received_at DESC, id DESC LIMIT ?`, append(a, q.Limit-len(es))...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: search requests: %w", err)
		}
		if es = append(es, page...); len(es) >= q.Limit {
			break
		}
	}
	return es, nil
}
