package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logFlushInterval bounds how long a log line waits in logWriter's buffer.
const logFlushInterval = 100 * time.Millisecond

// logWriter buffers the server's log lines and writes them out at least
// every logFlushInterval, when its buffer fills, and on Close. The server
// logs a line per SOAP request; unbuffered, that was a write system call per
// request, ~3 % of a cancel's CPU. Lines keep their order; what a crash can
// lose is the last tenth of a second of lines, whose exchanges the request
// log holds in full.
type logWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go l.flushLoop()
	return l
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Buffered() > 0 {
		l.buf.Flush()
	}
}

func (l *logWriter) flushLoop() {
	defer close(l.done)
	t := time.NewTicker(logFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.flush()
		case <-l.stop:
			l.flush()
			return
		}
	}
}

// Close writes out what is buffered and stops the flusher; later writes
// stay buffered until the process ends, so call it last.
func (l *logWriter) Close() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
}
