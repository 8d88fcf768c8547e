package store

import "testing"

// TestNewBatchID: 32 characters of [A-Za-z0-9], every call a new one.
func TestNewBatchID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewBatchID()
		if len(id) != BatchIDLength {
			t.Fatalf("NewBatchID() = %q: %d characters, want %d", id, len(id), BatchIDLength)
		}
		for _, c := range id {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				t.Fatalf("NewBatchID() = %q holds %q", id, c)
			}
		}
		if seen[id] {
			t.Fatalf("NewBatchID() gave %q twice", id)
		}
		seen[id] = true
	}
}
