package sqlite

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
	"github.com/partnerd/partnerd/store/internal/sqlcodec"
)

// TestRequestLogSizeMigration opens a request log written before rows had
// sizes: the migration counts what the old rows take, so that the byte
// budget prunes them too, oldest first.
func TestRequestLogSizeMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	old := openAtVersion(t, path, 6) // before "request log sizes"
	// A row from before bodies were packed, and one packed.
	if _, err := old.Exec(`INSERT INTO request_log (request_id, request, response, received_at) VALUES ('text', ?, '', 1)`, strings.Repeat("t", 3000)); err != nil {
		t.Fatal(err)
	}
	packed := sqlcodec.PackBody(nil, strings.Repeat("<a>p</a>", 10))
	if _, err := old.Exec(`INSERT INTO request_log (request_id, request_packed, response_packed, received_at) VALUES ('packed', ?, ?, 2)`, packed, sqlcodec.PackBody(nil, "")); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db := openAt(t, path)
	var sizes []int64
	rows, err := db.read.Query(`SELECT stored_bytes FROM request_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n int64
		rows.Scan(&n)
		sizes = append(sizes, n)
	}
	rows.Close()
	if len(sizes) != 2 || sizes[0] < 3000 || sizes[1] < 96 || sizes[1] > 300 {
		t.Fatalf("stored_bytes after the migration = %v, want the text row's 3,000+ and the packed row's ~100", sizes)
	}
	if n, err := db.PruneRequestBytes(t.Context(), 1000); err != nil || n != 1 {
		t.Errorf("PruneRequestBytes(1000) = %d, %v; want the old text row removed", n, err)
	}
	e, err := db.RequestByID(t.Context(), "packed")
	if err != nil || e.Request != strings.Repeat("<a>p</a>", 10) || e.RequestSize != 0 || e.RequestNote != "" {
		t.Errorf("the packed row after the migration: %+v, %v", e, err)
	}
}

// TestPruneRequestBytesReadsNoBodies checks the pruner's query plan: it
// adds sizes up on the index, never the table, whose rows hold the bodies.
func TestPruneRequestBytesReadsNoBodies(t *testing.T) {
	db, _ := newDB(t)
	var plan strings.Builder
	rows, err := db.read.Query(`EXPLAIN QUERY PLAN SELECT id, stored_bytes FROM request_log INDEXED BY request_log_stored_bytes ORDER BY id DESC`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, parent, unused int
		var detail string
		rows.Scan(&id, &parent, &unused, &detail)
		plan.WriteString(detail + "\n")
	}
	rows.Close()
	if !strings.Contains(plan.String(), "COVERING INDEX request_log_stored_bytes") {
		t.Errorf("plan:\n%s", plan.String())
	}
}

// TestRequestLogFaceMigration: exchanges logged before faces were recorded
// were all SOAP POSTs to the endpoint, and read back as such; new ones keep
// the face, method and path they are given.
func TestRequestLogFaceMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	old := openAtVersion(t, path, 7) // before "request log faces"
	if _, err := old.Exec(`INSERT INTO request_log (request_id, request, response, received_at) VALUES ('old', '', '', 1)`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db := openAt(t, path)
	e, err := db.RequestByID(t.Context(), "old")
	if err != nil || e.Face != "soap" || e.Method != "POST" || e.Path != "/Service.asmx" {
		t.Fatalf("the old row after the migration: face %q method %q path %q, %v", e.Face, e.Method, e.Path, err)
	}
	for _, want := range []store.RequestLog{
		{RequestID: "admin", Face: "admin", Method: "POST", Path: "/admin/clock", ReceivedAt: time.Unix(2, 0)},
		{RequestID: "ops", Face: "ops", Method: "GET", Path: "/readyz", ReceivedAt: time.Unix(3, 0)},
	} {
		if err := db.LogRequest(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		got, err := db.RequestByID(t.Context(), want.RequestID)
		if err != nil || got.Face != want.Face || got.Method != want.Method || got.Path != want.Path {
			t.Errorf("%s read back as face %q method %q path %q, %v", want.RequestID, got.Face, got.Method, got.Path, err)
		}
	}
}

// TestRequestLogStoredPacked checks what reaches the file: packed bodies, no
// envelope text, and rows from before packing still read as they were.
func TestRequestLogStoredPacked(t *testing.T) {
	db, path := newDB(t)
	ctx := t.Context()
	req := goldenEnvelope(t, "001_seed_cancel.txt")
	resp := goldenEnvelope(t, "001_seed_cancel.golden")
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := db.LogRequests(ctx, []store.RequestLog{
		{RequestID: "new-1", Operation: "Perform", Status: "OK", Request: req, Response: resp, ReceivedAt: now},
		{RequestID: "new-2", Operation: "Perform", Status: "Fault", Request: "", Response: "<f/>", ReceivedAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	// A row as partnerd wrote it before migration 4: text columns only.
	raw, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO request_log (request_id, operation, status, request, response, received_at)
VALUES ('old-1', 'Perform', 'OK', '<old request/>', '<old response/>', ?)`, now.UnixMicro()); err != nil {
		t.Fatal(err)
	}

	var textLen, packedLen int
	if err := raw.QueryRow(`SELECT length(request) + length(response), length(request_packed) + length(response_packed)
FROM request_log WHERE request_id = 'new-1'`).Scan(&textLen, &packedLen); err != nil {
		t.Fatal(err)
	}
	if textLen != 0 {
		t.Errorf("new row keeps %d bytes of envelope text", textLen)
	}
	if raw := len(req) + len(resp); packedLen == 0 || packedLen > raw/3 {
		t.Errorf("new row packs %d bytes of envelopes into %d, want under a third", raw, packedLen)
	}

	for _, want := range []store.RequestLog{
		{RequestID: "new-1", Request: req, Response: resp},
		{RequestID: "new-2", Request: "", Response: "<f/>"},
		{RequestID: "old-1", Request: "<old request/>", Response: "<old response/>"},
	} {
		got, err := db.RequestByID(ctx, want.RequestID)
		if err != nil {
			t.Fatalf("RequestByID(%s): %v", want.RequestID, err)
		}
		if got.Request != want.Request || got.Response != want.Response {
			t.Errorf("RequestByID(%s) = %q / %q, want %q / %q", want.RequestID, got.Request, got.Response, want.Request, want.Response)
		}
	}
	recent, err := db.RecentRequests(ctx, 3)
	if err != nil || len(recent) != 3 {
		t.Fatalf("RecentRequests = %d entries, %v", len(recent), err)
	}
	if recent[0].RequestID != "old-1" || recent[2].Request != req {
		t.Errorf("RecentRequests order or bodies wrong: %s, %s", recent[0].RequestID, recent[2].RequestID)
	}

	// A damaged body is an error naming the exchange, not a garbled text.
	if _, err := raw.Exec(`UPDATE request_log SET response_packed = x'63' WHERE request_id = 'new-2'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RequestByID(ctx, "new-2"); err == nil || !strings.Contains(err.Error(), "new-2") {
		t.Errorf("RequestByID of a damaged row: %v, want an error naming it", err)
	}
}

func goldenEnvelope(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
