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
	const parallel = 4
	if client == nil {
		client = NewClient(parallel, 60*time.Second)
		defer client.CloseIdleConnections()
	}
	sendDate := time.Now().Add(30 * 24 * time.Hour)

	batches := make(chan int)
	go func() {
		defer close(batches)
		for left := n; left > 0; left -= PrepareBatch {
			select {
			case batches <- min(left, PrepareBatch):
			case <-ctx.Done():
				return
			}
		}
	}()

	var (
		mu       sync.Mutex
		ids      = make([]int64, 0, n)
		firstErr error
		wg       sync.WaitGroup
	)
	for range parallel {
		env := NewEnvelopeWriter(creds)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{r: &run{client: client}}
			for size := range batches {
				got, err := createBatch(ctx, w, env, url, size, sendDate)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				ids = append(ids, got...)
				mu.Unlock()
				if err != nil {
					// Drain so the feeder can finish; the first error is
					// the one reported.
					for range batches {
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("loadgen: prepare: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("loadgen: prepare: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
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
