package postgres

import "sync"

// batchQueue hands queued items to a flush function in batches, one batch
// in flight at a time: the items that queue while one is out form the
// next, so a lone item waits for its own flush only, and under load the
// batches grow instead of the flushes multiplying. The nonces' group
// commit (nonces.go) and the one shots' shared pipelines (shots.go) run
// on it.
type batchQueue[T any] struct {
	mu      sync.Mutex
	queue   []T
	running bool
}

// add queues item; when no flush is running it starts one, on a goroutine
// of its own, which flushes batches of at most max items until the queue
// is empty.
func (q *batchQueue[T]) add(item T, max int, flush func([]T)) {
	q.mu.Lock()
	q.queue = append(q.queue, item)
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		go q.run(max, flush)
	}
}

func (q *batchQueue[T]) run(max int, flush func([]T)) {
	for {
		q.mu.Lock()
		n := min(len(q.queue), max)
		if n == 0 {
			q.running = false
			q.queue = nil // let a burst's backing array go
			q.mu.Unlock()
			return
		}
		batch := q.queue[:n:n]
		q.queue = q.queue[n:]
		q.mu.Unlock()
		flush(batch)
	}
}
