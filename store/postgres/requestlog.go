package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
)

const requestLogColumns = `request_id, account_id, username, operation, status, http_status, detail,
	remote, request, response, received_at, duration_ns,
	request_size, response_size, request_note, response_note, face, method, path, credential_kind, credential,
	request_packed, response_packed`

func scanRequestLog(row pgx.Row) (store.RequestLog, error) {
	var e store.RequestLog
	var received *int64
	var duration int64
	var username, operation, status, detail, remote, request, response, reqNote, respNote, face, method, path, credKind, cred []byte
	var reqPacked, respPacked []byte
	err := row.Scan(&e.RequestID, &e.AccountID, &username, &operation, &status, &e.HTTPStatus, &detail,
		&remote, &request, &response, &received, &duration,
		&e.RequestSize, &e.ResponseSize, &reqNote, &respNote, &face, &method, &path, &credKind, &cred,
		&reqPacked, &respPacked)
	if err != nil {
		return e, err
	}
	e.Username, e.Operation, e.Status, e.Detail = string(username), string(operation), string(status), string(detail)
	e.Remote, e.Request, e.Response = string(remote), string(request), string(response)
	e.RequestNote, e.ResponseNote = string(reqNote), string(respNote)
	e.Face, e.Method, e.Path = string(face), string(method), string(path)
	e.CredentialKind, e.Credential = string(credKind), string(cred)
	e.ReceivedAt, e.Duration = goTime(received), time.Duration(duration)
	return e, sqlcodec.UnpackLogBodies(&e, reqPacked, respPacked)
}

// LogRequest stores one exchange. ErrExists if its RequestID is logged.
func (db *DB) LogRequest(ctx context.Context, e store.RequestLog) error {
	return db.LogRequests(ctx, []store.RequestLog{e})
}

// logRequestsSQL inserts the exchanges of one batch, one array per
// column, in their order (so IDs follow it): one statement, where a
// statement per exchange cost PostgreSQL a parse, a bind and an executor
// start for each (BenchmarkLogRequests).
const logRequestsSQL = `INSERT INTO request_log (` + requestLogColumns + `, stored_bytes)
SELECT request_id, account_id, username, operation, status, http_status, detail,
	remote, '', '', received_at, duration_ns,
	request_size, response_size, request_note, response_note, face, method, path, credential_kind, credential,
	request_packed, response_packed, stored_bytes
FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bigint[], $7::bytea[],
	$8::bytea[], $9::bigint[], $10::bigint[],
	$11::bigint[], $12::bigint[], $13::bytea[], $14::bytea[], $15::bytea[], $16::bytea[], $17::bytea[], $18::bytea[], $19::bytea[],
	$20::bytea[], $21::bytea[], $22::bigint[])
	AS r(request_id, account_id, username, operation, status, http_status, detail,
		remote, received_at, duration_ns,
		request_size, response_size, request_note, response_note, face, method, path, credential_kind, credential,
		request_packed, response_packed, stored_bytes)`

// LogRequests stores es in one transaction, all in one statement. The
// bodies are packed as SQLite packs them (a few hundred bytes for a
// cancel's exchange, where PostgreSQL's own compression left 1.6 KB), and
// stored_bytes counts them packed; the other text fields are kept as
// bytes, exactly as given (see the schema).
func (db *DB) LogRequests(ctx context.Context, es []store.RequestLog) error {
	if len(es) == 0 {
		return nil
	}
	packed := sqlcodec.PackLogs(es)
	// One array per column, an element per exchange.
	bytes := func(field func(e *store.RequestLog, p sqlcodec.PackedLog) []byte) [][]byte {
		col := make([][]byte, len(es))
		for i := range es {
			col[i] = field(&es[i], packed[i])
		}
		return col
	}
	ints := func(field func(e *store.RequestLog, p sqlcodec.PackedLog) int64) []int64 {
		col := make([]int64, len(es))
		for i := range es {
			col[i] = field(&es[i], packed[i])
		}
		return col
	}
	type row = store.RequestLog
	type pl = sqlcodec.PackedLog
	ids := make([]string, len(es))
	received := make([]*int64, len(es))
	for i, e := range es {
		ids[i] = e.RequestID
		if !e.ReceivedAt.IsZero() {
			us := e.ReceivedAt.UnixMicro()
			received[i] = &us
		}
	}
	args := []any{ids,
		ints(func(e *row, _ pl) int64 { return e.AccountID }),
		bytes(func(e *row, _ pl) []byte { return []byte(e.Username) }),
		bytes(func(e *row, _ pl) []byte { return []byte(e.Operation) }),
		bytes(func(e *row, _ pl) []byte { return []byte(e.Status) }),
		ints(func(e *row, _ pl) int64 { return int64(e.HTTPStatus) }),
		bytes(func(e *row, _ pl) []byte { return []byte(e.Detail) }),
		bytes(func(e *row, _ pl) []byte { return []byte(e.Remote) }),
		received,
		ints(func(e *row, _ pl) int64 { return int64(e.Duration) }),
		ints(func(e *row, _ pl) int64 { return e.RequestSize }),
		ints(func(e *row, _ pl) int64 { return e.ResponseSize }),
		bytes(func(e *row, _ pl) []byte { return []byte(e.RequestNote) }),
		bytes(func(e *row, _ pl) []byte { return []byte(e.ResponseNote) }),
		bytes(func(e *row, _ pl) []byte { return []byte(e.Face) }),
		bytes(func(e *row, _ pl) []byte { return []byte(e.Method) }),
		bytes(func(e *row, _ pl) []byte { return []byte(e.Path) }),
		bytes(func(e *row, _ pl) []byte { return []byte(e.CredentialKind) }),
		bytes(func(e *row, _ pl) []byte { return []byte(e.Credential) }),
		bytes(func(_ *row, p pl) []byte { return p.Request }),
		bytes(func(_ *row, p pl) []byte { return p.Response }),
		ints(func(_ *row, p pl) int64 { return p.Stored }),
	}
	err := db.update(ctx, pgx.ReadCommitted, func(t *txn) error {
		_, err := t.exec(ctx, logRequestsSQL, args...)
		if isUniqueViolation(err) {
			return fmt.Errorf("request %s or another of the batch: %w", es[0].RequestID, store.ErrExists)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: log requests: %w", err)
	}
	return nil
}

// RecentRequests returns the n most recently received exchanges, newest
// first; ties in ReceivedAt go to the one logged last.
func (db *DB) RecentRequests(ctx context.Context, n int) ([]store.RequestLog, error) {
	if n <= 0 {
		return nil, nil
	}
	es, err := queryAll(ctx, db.pool, scanRequestLog, `
SELECT `+requestLogColumns+` FROM request_log ORDER BY received_at DESC NULLS LAST, id DESC LIMIT $1`, n)
	if err != nil {
		return nil, fmt.Errorf("postgres: recent requests: %w", err)
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
	es, err := queryAll(ctx, db.pool, scanRequestLog, `
SELECT `+requestLogColumns+` FROM request_log WHERE credential = $1 AND ($2 = ''::bytea OR credential_kind = $2)
ORDER BY received_at DESC NULLS LAST, id DESC LIMIT $3`, []byte(name), []byte(kind), n)
	if err != nil {
		return nil, fmt.Errorf("postgres: requests by credential: %w", err)
	}
	return es, nil
}

// CountRequestsByCredential counts account's exchanges received at or after
// since, per credential (on the received_at index).
func (db *DB) CountRequestsByCredential(ctx context.Context, accountID int64, since time.Time) ([]store.CredentialCount, error) {
	cs, err := queryAll(ctx, db.pool, func(row pgx.Row) (store.CredentialCount, error) {
		var c store.CredentialCount
		var kind, name []byte
		err := row.Scan(&kind, &name, &c.Count)
		c.Kind, c.Name = string(kind), string(name)
		return c, err
	}, `
SELECT credential_kind, credential, count(*) FROM request_log
WHERE received_at >= $1 AND account_id = $2
GROUP BY credential_kind, credential ORDER BY credential_kind, credential`, dbTime(since), accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: count requests by credential: %w", err)
	}
	return cs, nil
}

// RequestByID returns the exchange logged under requestID.
func (db *DB) RequestByID(ctx context.Context, requestID string) (store.RequestLog, error) {
	e, err := scanRequestLog(db.pool.QueryRow(ctx,
		`SELECT `+requestLogColumns+` FROM request_log WHERE request_id = $1`, requestID))
	if err != nil {
		return store.RequestLog{}, fmt.Errorf("postgres: request %s: %w", requestID, notFoundIfNoRow(err))
	}
	return e, nil
}

// pruneChunk bounds the rows one prune transaction deletes.
const pruneChunk = 500

// PruneRequests forgets exchanges received before before (unless it is
// zero) and all but the keep most recently logged (unless keep is 0).
func (db *DB) PruneRequests(ctx context.Context, before time.Time, keep int) (int64, error) {
	if keep < 0 {
		return 0, fmt.Errorf("postgres: prune requests: negative keep %d", keep)
	}
	var total int64
	if !before.IsZero() {
		for {
			n, err := db.execCount(ctx, `DELETE FROM request_log WHERE id IN (
SELECT id FROM request_log WHERE received_at < $1 LIMIT $2)`, before.UnixMicro(), pruneChunk)
			total += n
			if err != nil {
				return total, fmt.Errorf("postgres: prune requests: %w", err)
			}
			if n < pruneChunk {
				break
			}
		}
	}
	if keep > 0 {
		var last int64
		err := db.pool.QueryRow(ctx, `SELECT id FROM request_log ORDER BY id DESC LIMIT 1 OFFSET $1`, keep).Scan(&last)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return total, fmt.Errorf("postgres: prune requests: %w", err)
		}
		if err == nil {
			n, err := db.forgetRequestsThrough(ctx, last)
			total += n
			if err != nil {
				return total, fmt.Errorf("postgres: prune requests: %w", err)
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
		n, err := db.execCount(ctx, `DELETE FROM request_log WHERE id IN (
SELECT id FROM request_log WHERE id <= $1 ORDER BY id LIMIT $2)`, last, pruneChunk)
		total += n
		if err != nil || n < pruneChunk {
			return total, err
		}
	}
}

// logSize is what this process knows of the request log's size: every
// instance's rows, counted on the (id, stored_bytes) index. PruneRequestBytes
// runs every few thousand exchanges, and a running total over the whole log
// on each run read every row: this one counts only the rows logged since
// the last count, and reads the whole log only when the total says it
// might not fit. Rows another instance pruned stay counted, which only
// brings the recount sooner; a row that commits after a count with an
// ID below that count's newest is missed until the next recount, which a
// log near its budget gets often (the budget's slack, a batch or two).
type logSize struct {
	mu      sync.Mutex
	through int64 // the newest ID counted
	total   int64 // the bytes of the rows counted
}

// PruneRequestBytes forgets the oldest exchanges until the rest take at
// most maxBytes as stored: the newest row whose running total (newest
// first) passes the budget, and every row before it, go.
func (db *DB) PruneRequestBytes(ctx context.Context, maxBytes int64) (int64, error) {
	if maxBytes <= 0 {
		return 0, fmt.Errorf("postgres: prune requests: byte budget %d is not positive", maxBytes)
	}
	ls := &db.logSize
	ls.mu.Lock()
	defer ls.mu.Unlock()
	var added, newest int64
	err := db.pool.QueryRow(ctx, `SELECT coalesce(sum(stored_bytes), 0)::bigint, coalesce(max(id), $1) FROM request_log WHERE id > $1`,
		ls.through).Scan(&added, &newest)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune requests: %w", err)
	}
	ls.total, ls.through = ls.total+added, newest
	if ls.total <= maxBytes {
		return 0, nil
	}
	// Perhaps over: count the whole log.
	if err := db.pool.QueryRow(ctx, `SELECT coalesce(sum(stored_bytes), 0)::bigint, coalesce(max(id), 0) FROM request_log`).
		Scan(&ls.total, &ls.through); err != nil {
		return 0, fmt.Errorf("postgres: prune requests: %w", err)
	}
	if ls.total <= maxBytes {
		return 0, nil
	}
	var last, kept int64
	err = db.pool.QueryRow(ctx, `
SELECT id, kept - stored_bytes FROM (SELECT id, stored_bytes, sum(stored_bytes) OVER (ORDER BY id DESC) AS kept FROM request_log) r
WHERE kept > $1 ORDER BY id DESC LIMIT 1`, maxBytes).Scan(&last, &kept)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: prune requests: %w", err)
	}
	// What stays: the rows after last, as the scan saw them (rows logged
	// since the recount are in it, and will be counted again: an upper
	// bound is safe).
	ls.total = kept
	n, err := db.forgetRequestsThrough(ctx, last)
	if err != nil {
		return n, fmt.Errorf("postgres: prune requests: %w", err)
	}
	return n, nil
}

// SearchRequests returns the exchanges q selects, newest first, in pages
// keyed by (received_at, id), the order of RecentRequests: a page deep in
// the log starts with a seek on the received_at index, not a scan of the
// pages before it. An account's search walks that index too, skipping
// other accounts' rows: the log has no index by account.
func (db *DB) SearchRequests(ctx context.Context, q store.RequestQuery) ([]store.RequestLog, error) {
	if q.Limit <= 0 {
		return nil, nil
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.AccountID > 0 {
		where = append(where, "account_id = "+arg(q.AccountID))
	}
	if q.RequestIDPrefix != "" {
		// A range on the UNIQUE index (COLLATE "C", so byte order):
		// U+10FFFF is the greatest character, so every RequestID beginning
		// with the prefix sorts below it.
		where = append(where, "request_id >= "+arg(q.RequestIDPrefix)+" AND request_id < "+arg(q.RequestIDPrefix+"\U0010FFFF"))
	}
	if q.Face != "" {
		where = append(where, "face = "+arg([]byte(q.Face)))
	}
	// The columns are bytes: escaped to text (non-ASCII bytes as octal
	// escapes), only ASCII letters are folded, as SQLite's NOCASE does.
	if q.Operation != "" {
		where = append(where, "lower(encode(operation, 'escape')) = lower(encode("+arg([]byte(q.Operation))+"::bytea, 'escape'))")
	}
	if q.Status != "" {
		where = append(where, "lower(encode(status, 'escape')) = lower(encode("+arg([]byte(q.Status))+"::bytea, 'escape'))")
	}
	if q.MinDuration > 0 {
		where = append(where, "duration_ns >= "+arg(int64(q.MinDuration)))
	}
	if q.MaxDuration > 0 {
		where = append(where, "duration_ns <= "+arg(int64(q.MaxDuration)))
	}
	// parts are the conditions that place a row after the cursor, each run
	// in turn until the page is full: the rows with a time, then those
	// without (last, newest first). Apart, each is read in the index's own
	// order (received_at DESC puts NULLs first, which neither part has).
	type part struct {
		cond string // $_ for each of args, numbered after the query's
		args []any
	}
	parts := []part{{"received_at IS NOT NULL", nil}, {"received_at IS NULL", nil}}
	if q.After != "" {
		var received *int64
		var id int64
		err := db.pool.QueryRow(ctx, `SELECT received_at, id FROM request_log WHERE request_id = $1 AND ($2 = 0 OR account_id = $2)`,
			q.After, q.AccountID).Scan(&received, &id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: search requests: %w", err)
		}
		parts = []part{{"received_at IS NULL AND id < $_", []any{id}}}
		if received != nil {
			parts = []part{{"received_at <= $_ AND (received_at < $_ OR id < $_)", []any{*received, *received, id}},
				{"received_at IS NULL", nil}}
		}
	}
	var es []store.RequestLog
	for _, p := range parts {
		cond, n := p.cond, len(args)
		for range p.args {
			n++
			cond = strings.Replace(cond, "$_", "$"+strconv.Itoa(n), 1)
		}
		query := `SELECT ` + requestLogColumns + ` FROM request_log WHERE ` + strings.Join(append(slices.Clip(where), cond), " AND ") +
			` ORDER BY received_at DESC, id DESC LIMIT ` + strconv.Itoa(q.Limit-len(es))
		page, err := queryAll(ctx, db.pool, scanRequestLog, query, append(slices.Clip(args), p.args...)...)
		if err != nil {
			return nil, fmt.Errorf("postgres: search requests: %w", err)
		}
		if es = append(es, page...); len(es) >= q.Limit {
			break
		}
	}
	return es, nil
}
