package sqlite

import (
	"time"

	"github.com/partnerd/partnerd/store"
	"path/filepath"
	"strings"
	"testing"
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
	packed := packBody(nil, strings.Repeat("<a>p</a>", 10))
	if _, err := old.Exec(`INSERT INTO request_log (request_id, request_packed, response_packed, received_at) VALUES ('packed', ?, ?, 2)`, packed, packBody(nil, "")); err != nil {
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
