package sqlite

import (
	"fmt"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// TestLogRequestsChunks logs batches around the multi-row INSERT's chunk
// size: every exchange is stored once, in order, whatever the batch size.
func TestLogRequestsChunks(t *testing.T) {
	db, _ := newDB(t)
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	total := 0
	for _, n := range []int{1, insertChunk - 1, insertChunk, insertChunk + 1, 2*insertChunk + 5} {
		batch := make([]store.RequestLog, n)
		for i := range batch {
			total++
			batch[i] = store.RequestLog{RequestID: fmt.Sprintf("r-%d-%d", n, i), Operation: "Perform", Status: "OK",
				Request: fmt.Sprintf("<req n=%d i=%d/>", n, i), Response: "<resp/>", ReceivedAt: at.Add(time.Duration(total) * time.Millisecond)}
		}
		if err := db.LogRequests(t.Context(), batch); err != nil {
			t.Fatalf("LogRequests(%d): %v", n, err)
		}
		for i, want := range batch {
			got, err := db.RequestByID(t.Context(), want.RequestID)
			if err != nil || got.Request != want.Request {
				t.Fatalf("batch of %d, entry %d: %q, %v", n, i, got.Request, err)
			}
		}
	}
	recent, err := db.RecentRequests(t.Context(), total+10)
	if err != nil || len(recent) != total {
		t.Fatalf("RecentRequests = %d entries, %v; want %d", len(recent), err, total)
	}
}

// TestFlushNoncesChunks records more nonces than one INSERT carries and
// finds every one of them durable after a reopen.
func TestFlushNoncesChunks(t *testing.T) {
	db, path := newDB(t)
	exp := time.Now().Add(time.Hour)
	const n = 3*insertChunk + 7
	for i := range n {
		if err := db.UseNonce(t.Context(), "u", fmt.Sprint("n", i), exp, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	again := openAt(t, path)
	for i := range n {
		if err := again.UseNonce(t.Context(), "u", fmt.Sprint("n", i), exp, time.Now()); err == nil {
			t.Fatalf("nonce %d forgotten across a clean close", i)
		}
	}
}
