package sqlite

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// The dictionary of a codec is part of the stored format: changing it would
// make every row written with it decode to garbage. A new dictionary is a new
// codec byte, with this one kept for reading.
func TestRequestLogDictionaryIsFrozen(t *testing.T) {
	const want = "c90e082da468d4b125d17f60512b7f4de41597363110b15c0aa11b68c95d2bb9"
	sum := sha256.Sum256(requestLogDict)
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("requestlog.dict (codec %d) changed: sha256 %s, want %s; add a codec instead", codecS2Dict1, got, want)
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

func TestPackBodyRoundTrip(t *testing.T) {
	seed := goldenEnvelope(t, "001_seed_cancel.txt")
	batch := strings.Repeat(`<Result><StatusCode>OK</StatusCode><StatusMessage>Send canceled</StatusMessage></Result>`, 2000)
	for _, tc := range []struct {
		name    string
		body    string
		maxSize int // the packed size must not exceed this (0: no bound)
	}{
		{"empty", "", 2},
		{"short", "x", 4},
		{"seed envelope", seed, len(seed) / 2},
		{"160 KB of repeats", batch, len(batch) / 20},
		{"invalid UTF-8 and NULs", "\xff\xfe\x00<a>\x00</a>\xc3", 0},
		{"dictionary itself", string(requestLogDict), len(requestLogDict) / 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			packed := packBody([]byte("prefix"), tc.body)
			if !strings.HasPrefix(string(packed), "prefix") {
				t.Fatalf("packBody did not append to dst")
			}
			packed = packed[len("prefix"):]
			if packed[0] != codecS2Dict1 {
				t.Errorf("codec byte %d, want %d", packed[0], codecS2Dict1)
			}
			if tc.maxSize > 0 && len(packed) > tc.maxSize {
				t.Errorf("packed %d bytes into %d, want at most %d", len(tc.body), len(packed), tc.maxSize)
			}
			got, err := unpackBody(packed)
			if err != nil {
				t.Fatalf("unpackBody: %v", err)
			}
			if got != tc.body {
				t.Fatalf("round trip changed the body:\n got %q\nwant %q", got, tc.body)
			}
		})
	}
}

func TestUnpackBodyRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stored []byte
	}{
		{"empty", nil},
		{"unknown codec", []byte{99, 1, 2, 3}},
		{"codec 0", []byte{0}},
		{"truncated block", packBody(nil, strings.Repeat("envelope ", 100))[:20]},
		{"length beyond data", []byte{codecS2Dict1, 0xff, 0xff, 0x03, 0}},
		{"claims 4 GB", []byte{codecS2Dict1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := unpackBody(tc.stored); err == nil {
				t.Fatalf("unpackBody(%x) = %q, want an error", tc.stored, got)
			}
		})
	}
	if _, err := unpackBody([]byte{7}); !errors.Is(err, errBadBody) {
		t.Errorf("unknown codec: %v, want errBadBody", err)
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

func FuzzPackBody(f *testing.F) {
	f.Add(goldenEnvelope(f, "001_seed_cancel.txt"))
	f.Add(goldenEnvelope(f, "020_security.golden"))
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		got, err := unpackBody(packBody(nil, body))
		if err != nil || got != body {
			t.Fatalf("round trip of %q: %q, %v", body, got, err)
		}
		// Whatever is stored, reading it never panics.
		unpackBody([]byte(body))
	})
}

func BenchmarkPackBody(b *testing.B) {
	body := goldenEnvelope(b, "001_seed_cancel.txt") + goldenEnvelope(b, "001_seed_cancel.golden")
	var dst []byte
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		dst = packBody(dst[:0], body)
	}
	b.ReportMetric(float64(len(dst)), "packed-bytes")
}
