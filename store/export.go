package store

import (
	"context"
	"errors"
	"fmt"
)

// ---- Moving a store between backends (partnerd migrate) ----
//
// Both backends keep one schema, table for table and column for column
// (store/sqlite and store/postgres migrations). A store that can be read
// whole implements Exporter, one that can be filled whole Importer; Copy
// moves every table from one to the other, so the order of the tables,
// what is copied and how the counts are checked are written once, here.
// Rows travel as typed values: each backend reads and writes its own
// storage forms (SQLite's 0/1 flags and packed request bodies,
// PostgreSQL's BOOLEAN and BYTEA columns).

// ColumnKind is the portable type of a column's values in a Row.
type ColumnKind uint8

const (
	KindInt   ColumnKind = iota // int64 (times are microseconds since the Unix epoch)
	KindText                    // string, any bytes
	KindBytes                   // []byte
	KindBool                    // bool
)

// A Column of an exported table. Every column may be nil (SQL NULL) in a
// Row where the schema allows it.
type Column struct {
	Name string
	Kind ColumnKind
}

// ExportTable is one table as it moves between stores.
type ExportTable struct {
	Name    string
	Columns []Column
	// Serial names the column whose values are never reused (SQLite's
	// AUTOINCREMENT, PostgreSQL's identity): the target's counter is set
	// past the source's, deleted IDs included. "" when there is none.
	Serial string
	// RequestLog marks the request log, copied only when asked.
	RequestLog bool
}

// ColumnIndex is the position of t's column name; a name t does not have
// is a programming error.
func (t ExportTable) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	panic("store: no column " + name + " in " + t.Name)
}

// Row is one row's values, in its table's Columns order: nil, int64,
// string, []byte or bool as the column's Kind says.
type Row []any

func cols(kind ColumnKind, names ...string) []Column {
	out := make([]Column, len(names))
	for i, n := range names {
		out[i] = Column{n, kind}
	}
	return out
}

func join(parts ...[]Column) []Column {
	var out []Column
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ExportTables is every table a store moves, in dependency order (a table
// after those its rows refer to), as of schema version 15. Left out, as
// ephemeral: the WS-Security nonces, whose replay window is minutes (and
// which PostgreSQL keeps as digests that SQLite cannot take back); and
// schema_migrations, which each store keeps for itself (both ends are
// opened, and so migrated, by the same partnerd). The request log's
// stored_bytes is left out too: each store computes it from what it keeps
// (SQLite counts its packed bodies).
var ExportTables = []ExportTable{
	{Name: "accounts", Serial: "id", Columns: join(cols(KindInt, "id"), cols(KindText, "username"), cols(KindInt, "client_id"),
		cols(KindText, "password_hash"), cols(KindBytes, "password_sealed"), cols(KindBool, "disabled"), cols(KindInt, "created_at", "updated_at"))},
	{Name: "users", Serial: "id", Columns: join(cols(KindInt, "id", "account_id"), cols(KindText, "username", "password_hash"),
		cols(KindBytes, "password_sealed"), cols(KindBool, "disabled"), cols(KindInt, "created_at", "updated_at"))},
	{Name: "sends", Serial: "id", Columns: join(cols(KindInt, "id", "account_id"), cols(KindText, "object_id", "customer_key"),
		cols(KindInt, "email_id"), cols(KindText, "email_name", "subject", "from_name", "from_address", "list_ids"),
		cols(KindInt, "send_date"), cols(KindText, "status"), cols(KindInt, "sent_date", "number_sent", "status_changed_at", "created_date", "modified_date"),
		cols(KindText, "claim_owner"), cols(KindInt, "lease_until", "dispatch_attempts", "discarded_at", "key_dup"), cols(KindText, "batch_id"),
		cols(KindText, "origin", "origin_id"))},
	{Name: "send_contents", Columns: join(cols(KindInt, "send_id"), cols(KindText, "content"))},
	{Name: "batches", Serial: "id", Columns: join(cols(KindInt, "id", "account_id"), cols(KindText, "batch_id"), cols(KindInt, "created"),
		cols(KindText, "hold"), cols(KindInt, "hold_changed_at"), cols(KindBool, "used"))},
	{Name: "api_keys", Columns: join(cols(KindText, "id"), cols(KindInt, "account_id"), cols(KindText, "name", "scopes"),
		cols(KindBytes, "secret_hash"), cols(KindInt, "created_at", "revoked_at"))},
	{Name: "token_clients", Columns: join(cols(KindText, "id"), cols(KindInt, "account_id", "mid"), cols(KindText, "scopes"),
		cols(KindBytes, "secret_hash"), cols(KindInt, "created_at", "revoked_at"))},
	{Name: "issued_tokens", Columns: join(cols(KindBytes, "hash"), cols(KindText, "kind", "client_id"), cols(KindInt, "account_id"),
		cols(KindText, "scopes"), cols(KindInt, "created_at", "expires_at"))},
	{Name: "email_send_definitions", Serial: "id", Columns: join(cols(KindInt, "id", "account_id"),
		cols(KindText, "object_id", "customer_key", "name", "description"), cols(KindInt, "email_id"),
		cols(KindText, "email_subject", "from_name", "from_address", "list_ids", "send_classification", "content"),
		cols(KindInt, "created_date", "modified_date"))},
	{Name: "marketing_lists", Serial: "id", Columns: join(cols(KindInt, "id", "account_id"), cols(KindText, "uuid", "name"),
		cols(KindInt, "created", "recipient_count"), cols(KindText, "recipients"))},
	{Name: "campaigns", Serial: "id", Columns: join(cols(KindInt, "id", "account_id"), cols(KindText, "state"), cols(KindInt, "send_at"),
		cols(KindText, "schedule_token"), cols(KindInt, "version", "created", "updated"), cols(KindText, "fields"))},
	{Name: "single_sends", Serial: "seq", Columns: join(cols(KindInt, "seq"), cols(KindText, "id"), cols(KindInt, "account_id"),
		cols(KindText, "state"), cols(KindInt, "send_at"), cols(KindText, "schedule_token"), cols(KindInt, "version", "created", "updated"),
		cols(KindText, "fields"))},
	{Name: "outbox", Serial: "id", Columns: join(cols(KindInt, "id", "send_id", "account_id"),
		cols(KindText, "object_id", "subject", "from_name", "from_address", "recipients", "html_body", "text_body"),
		cols(KindInt, "number_sent"), cols(KindText, "transport", "message_id"), cols(KindInt, "attempt", "delivered_at"))},
	{Name: "operator_actions", Serial: "id", Columns: join(cols(KindInt, "id"), cols(KindText, "action"), cols(KindInt, "account_id"),
		cols(KindText, "actor", "detail"), cols(KindInt, "count", "at"), cols(KindText, "credential"))},
	// Retrieve continuations: small, and a client may be paging when the
	// store moves; expired ones are pruned by the server as usual.
	{Name: "cursors", Columns: join(cols(KindText, "request_id"), cols(KindInt, "account_id"), cols(KindBytes, "query"),
		cols(KindInt, "after_id", "expires"))},
	// Console sessions are keyed by a hash of the cookie and carry their
	// password stamp, so they are as valid on the target as on the source.
	{Name: "console_sessions", Columns: join(cols(KindBytes, "id_hash"), cols(KindInt, "account_id"),
		cols(KindText, "actor", "csrf", "password_stamp"), cols(KindInt, "created", "expires"))},
	{Name: "request_log", Serial: "id", RequestLog: true, Columns: join(cols(KindInt, "id"), cols(KindText, "request_id"),
		cols(KindInt, "account_id"), cols(KindText, "username", "operation", "status"), cols(KindInt, "http_status"),
		cols(KindText, "detail", "remote", "request", "response"), cols(KindInt, "received_at", "duration_ns", "request_size", "response_size"),
		cols(KindText, "request_note", "response_note", "face", "method", "path", "credential_kind", "credential"))},
}

// Snapshot is one consistent, read-only view of a whole store.
type Snapshot interface {
	// Count is the number of rows of table t.
	Count(ctx context.Context, t ExportTable) (int64, error)
	// Rows calls fn with each row of t, in primary key order. fn may keep
	// the Row.
	Rows(ctx context.Context, t ExportTable, fn func(Row) error) error
	// Serial is the highest value t's Serial column was ever given, as
	// far as the store knows (at least the largest present; 0 for an
	// empty table never written): deleted rows' IDs are not to be reused.
	Serial(ctx context.Context, t ExportTable) (int64, error)
}

// Exporter is a store that can be read whole.
type Exporter interface {
	// Export runs fn on one snapshot of the whole store (SQLite: one
	// read transaction; PostgreSQL: REPEATABLE READ, read only).
	Export(ctx context.Context, fn func(Snapshot) error) error
}

// Loader writes rows inside an Importer's transaction.
type Loader interface {
	// Count is the number of rows of t as the transaction sees it.
	Count(ctx context.Context, t ExportTable) (int64, error)
	// Clear deletes every row of every table of ExportTables.
	Clear(ctx context.Context) error
	// Insert adds row to t as it is, its IDs included. A Loader may
	// buffer rows; Count and the commit see them all.
	Insert(ctx context.Context, t ExportTable, row Row) error
	// SetSerial makes t's Serial column go on after the larger of hw and
	// the highest value in the table.
	SetSerial(ctx context.Context, t ExportTable, hw int64) error
}

// Importer is a store that can be filled whole.
type Importer interface {
	// Import runs fn in one transaction, committed (durably) only when fn
	// returns nil: on any error the store is left as it was.
	Import(ctx context.Context, fn func(Loader) error) error
	// ImportedCount counts t's rows, after Import, outside of it.
	ImportedCount(ctx context.Context, t ExportTable) (int64, error)
}

// CopyOptions says what Copy copies.
type CopyOptions struct {
	RequestLog bool // copy the request log too
	Force      bool // replace a target that has rows, rather than refuse it
}

// TableCount is one table's counts in a copy.
type TableCount struct {
	Table  string
	Source int64 // rows in the source's snapshot
	Copied int64 // rows written
	Target int64 // rows in the target after the commit
	// Committed says the copy was committed and Target counted.
	Committed bool
}

// ErrTargetNotEmpty is returned by Copy for a target with rows, without
// CopyOptions.Force.
var ErrTargetNotEmpty = errors.New("the target store is not empty")

// ErrCountMismatch is returned by Copy when a table's counts differ.
var ErrCountMismatch = errors.New("row counts differ")

// Copy copies every table of ExportTables (the request log only if
// o.RequestLog) from one snapshot of src into dst in one transaction of
// dst, keeping every ID, and sets dst's serial counters past src's. It
// refuses (ErrTargetNotEmpty) a dst with rows in any table unless o.Force,
// which deletes them first in the same transaction. It returns the counts,
// and ErrCountMismatch (with the counts) when for some table the source's
// count, the rows copied and the target's count after the commit are not
// all equal; a mismatch before the commit rolls the copy back.
func Copy(ctx context.Context, src Exporter, dst Importer, o CopyOptions) ([]TableCount, error) {
	var tables []ExportTable
	for _, t := range ExportTables {
		if !t.RequestLog || o.RequestLog {
			tables = append(tables, t)
		}
	}
	counts := make([]TableCount, len(tables))
	serials := make([]int64, len(tables))
	err := dst.Import(ctx, func(l Loader) error {
		var nonEmpty []string
		for _, t := range ExportTables {
			n, err := l.Count(ctx, t)
			if err != nil {
				return err
			}
			if n > 0 {
				nonEmpty = append(nonEmpty, fmt.Sprintf("%s: %d", t.Name, n))
			}
		}
		if len(nonEmpty) > 0 {
			if !o.Force {
				return fmt.Errorf("%w (%v)", ErrTargetNotEmpty, nonEmpty)
			}
			if err := l.Clear(ctx); err != nil {
				return err
			}
		}
		return src.Export(ctx, func(s Snapshot) error {
			for i, t := range tables {
				c := &counts[i]
				c.Table = t.Name
				var err error
				if c.Source, err = s.Count(ctx, t); err != nil {
					return fmt.Errorf("count %s: %w", t.Name, err)
				}
				err = s.Rows(ctx, t, func(r Row) error {
					if len(r) != len(t.Columns) {
						return fmt.Errorf("%s: a row of %d values for %d columns", t.Name, len(r), len(t.Columns))
					}
					c.Copied++
					return l.Insert(ctx, t, r)
				})
				if err != nil {
					return fmt.Errorf("copy %s: %w", t.Name, err)
				}
				if t.Serial != "" {
					if serials[i], err = s.Serial(ctx, t); err != nil {
						return fmt.Errorf("%s: %w", t.Name, err)
					}
				}
				inTx, err := l.Count(ctx, t)
				if err != nil {
					return fmt.Errorf("count %s: %w", t.Name, err)
				}
				if c.Source != c.Copied || c.Copied != inTx {
					return fmt.Errorf("%w: %s: %d in the source, %d copied, %d in the target", ErrCountMismatch, t.Name, c.Source, c.Copied, inTx)
				}
			}
			// Last, once every row is in: PostgreSQL's sequences are not
			// rolled back, so a copy that fails before here leaves them
			// as they were too.
			for i, t := range tables {
				if t.Serial == "" {
					continue
				}
				if err := l.SetSerial(ctx, t, serials[i]); err != nil {
					return fmt.Errorf("%s: %w", t.Name, err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return counts, err
	}
	var bad []string
	for i, t := range tables {
		c := &counts[i]
		n, err := dst.ImportedCount(ctx, t)
		if err != nil {
			return counts, fmt.Errorf("count %s after the copy: %w", t.Name, err)
		}
		c.Target, c.Committed = n, true
		if c.Source != c.Copied || c.Copied != c.Target {
			bad = append(bad, t.Name)
		}
	}
	if len(bad) > 0 {
		return counts, fmt.Errorf("%w after the commit: %v", ErrCountMismatch, bad)
	}
	return counts, nil
}

// RequestLogOfRow is the store.RequestLog a request log row of t holds
// (its text fields; what RequestLogSize counts), for a backend computing
// the row's stored_bytes as it imports it.
func RequestLogOfRow(t ExportTable, r Row) RequestLog {
	var e RequestLog
	fields := map[string]*string{"request_id": &e.RequestID, "face": &e.Face, "method": &e.Method, "path": &e.Path,
		"username": &e.Username, "credential_kind": &e.CredentialKind, "credential": &e.Credential,
		"operation": &e.Operation, "status": &e.Status, "detail": &e.Detail, "remote": &e.Remote,
		"request": &e.Request, "response": &e.Response, "request_note": &e.RequestNote, "response_note": &e.ResponseNote}
	for i, c := range t.Columns {
		if f, ok := fields[c.Name]; ok && i < len(r) {
			*f, _ = r[i].(string)
		}
	}
	return e
}
