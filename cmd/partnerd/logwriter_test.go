package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the flusher and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogWriterFlushes(t *testing.T) {
	var out syncBuffer
	l := newLogWriter(&out)
	l.Write([]byte("first\n"))
	// Written out by the flusher without any further write.
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != "first\n" {
		if time.Now().After(deadline) {
			t.Fatalf("line not flushed within 5 s: %q", out.String())
		}
		time.Sleep(logFlushInterval / 4)
	}
	// A burst larger than the buffer arrives whole and in order.
	var want strings.Builder
	want.WriteString("first\n")
	for i := range 5000 {
		line := strings.Repeat("x", i%50) + "\n"
		want.WriteString(line)
		l.Write([]byte(line))
	}
	l.Write([]byte("last\n"))
	want.WriteString("last\n")
	l.Close()
	l.Close() // twice is harmless
	if out.String() != want.String() {
		t.Fatalf("after Close: %d bytes, want %d", len(out.String()), want.Len())
	}
}
