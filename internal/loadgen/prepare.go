package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// PrepareBatch is the number of Sends created per Create request.
const PrepareBatch = 500

// Prepare creates n Sends through SOAP Create (PrepareBatch per request,
// a few requests at a time) and returns their IDs, sorted. The Sends are
// due 30 days from now, far outside any cancel cutoff, so that every
// cancel of the run can succeed. client may be nil.
func Prepare(ctx context.Context, client *http.Client, url string, creds Credentials, n int) ([]int64, error) {
	if n <= 0 {
		return nil, nil
	}
	sendDate := time.Now().Add(30 * 24 * time.Hour)
	var sizes []int
	for left := n; left > 0; left -= PrepareBatch {
		sizes = append(sizes, min(left, PrepareBatch))
	}
	ids, err := prepareParallel(ctx, client, sizes, func() func(*worker, int) ([]int64, error) {
		env := NewEnvelopeWriter(creds) // one per worker: it reuses its buffer
		return func(w *worker, size int) ([]int64, error) {
			return createBatch(ctx, w, env, url, size, sendDate)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("loadgen: prepare: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// prepareParallel runs the jobs on a few workers at a time, each worker
// with its own connection state and its own do (from newDo), and returns
// all that the jobs made, in the order they finished. The first error
// stops the run (the workers drain the jobs so that the feeder ends) and
// is the one returned; a cancelled ctx stops feeding and is returned.
// client may be nil.
func prepareParallel[J, T any](ctx context.Context, client *http.Client, jobs []J, newDo func() func(*worker, J) ([]T, error)) ([]T, error) {
	const parallel = 4
	if client == nil {
		client = NewClient(parallel, 60*time.Second)
		defer client.CloseIdleConnections()
	}
	next := make(chan J)
	go func() {
		defer close(next)
		for _, j := range jobs {
			select {
			case next <- j:
			case <-ctx.Done():
				return
			}
		}
	}()

	var (
		mu       sync.Mutex
		made     []T
		firstErr error
		wg       sync.WaitGroup
	)
	for range parallel {
		do := newDo()
		wg.Go(func() {
			w := &worker{r: &run{client: client}}
			for j := range next {
				got, err := do(w, j)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				made = append(made, got...)
				mu.Unlock()
				if err != nil {
					// Drain so the feeder can finish; the first error is
					// the one reported.
					for range next {
					}
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return made, ctx.Err()
}

// createBatch creates size Sends and returns their NewIDs.
func createBatch(ctx context.Context, w *worker, env *EnvelopeWriter, url string, size int, sendDate time.Time) ([]int64, error) {
	req, err := soapRequest(ctx, url, "Create", env.Create(size, sendDate))
	if err != nil {
		return nil, err
	}
	status, body, err := w.send(req)
	if err != nil {
		return nil, err
	}
	if p := Check(Cancel, status, body); p != nil {
		return nil, fmt.Errorf("Create of %d Sends: %w", size, p)
	}
	texts := allTexts(body, "NewID")
	if len(texts) != size {
		return nil, fmt.Errorf("Create of %d Sends answered %d NewIDs", size, len(texts))
	}
	ids := make([]int64, len(texts))
	for i, t := range texts {
		if ids[i], err = strconv.ParseInt(t, 10, 64); err != nil || ids[i] <= 0 {
			return nil, fmt.Errorf("Create answered NewID %q", t)
		}
	}
	return ids, nil
}
