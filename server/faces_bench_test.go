package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/loadgen"
)

// BenchmarkFaces puts the SendGrid v3 face beside the SOAP one over the same
// whole server and store (benchHandler): a scheduled send made by SOAP
// Create and by POST /v3/mail/send (one personalization), and holds made by
// Perform (cancel; pause and resume of a send) and by a batch's pause and
// DELETE over /v3/user/scheduled_sends. Each runs 32 goroutines per core, as
// BenchmarkServerCancel's "parallel"; the JSON face should not be the slower.
func BenchmarkFaces(b *testing.B) {
	h, db, account := benchServer(b)
	_, key, err := (&auth.Keys{Store: db, Clock: clock.System{}}).Create(context.Background(), account, "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	creds := loadgen.Credentials{Username: "bench", Password: "bench-pw"}
	serve := func(b *testing.B, r *http.Request, want int) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			b.Errorf("%s %s: HTTP %d, want %d: %.300s", r.Method, r.URL.Path, w.Code, want, w.Body)
		}
		return w
	}
	soap := func(action string, body []byte) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/Service.asmx", bytes.NewReader(body))
		r.Header.Set("Content-Type", "text/xml; charset=utf-8")
		r.Header.Set("SOAPAction", `"`+action+`"`)
		return r
	}
	rest := func(method, path string, body []byte) *http.Request {
		r := httptest.NewRequest(method, path, bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+key)
		if body != nil {
			r.Header.Set("Content-Type", "application/json")
		}
		return r
	}
	// parallel runs fn with 32 goroutines per core; each goroutine's
	// state is made by its first call (setup may be nil).
	// Besides the wall time per op it reports the process's CPU time per
	// op (cpu-ns/op): on a shared machine, other processes stretch the
	// wall time of one run against the next, much less the CPU it takes.
	parallel := func(b *testing.B, fn func(b *testing.B, n int64, state *string)) {
		var next atomic.Int64
		b.SetParallelism(32)
		b.ReportAllocs()
		before := processCPU(b)
		b.RunParallel(func(pb *testing.PB) {
			var state string
			for pb.Next() {
				fn(b, next.Add(1), &state)
			}
		})
		b.ReportMetric(float64(processCPU(b)-before)/float64(b.N), "cpu-ns/op")
	}

	b.Run("soap-create", func(b *testing.B) {
		// With an inline Email and one Subscriber: what mail/send's one
		// personalization carries.
		parallel(b, func(b *testing.B, n int64, _ *string) {
			env := loadgen.NewEnvelopeWriter(creds)
			serve(b, soap("Create", env.CreateMail(n, time.Now().Add(time.Hour))), http.StatusOK)
		})
	})
	b.Run("sendgrid-mail-send", func(b *testing.B) {
		parallel(b, func(b *testing.B, n int64, _ *string) {
			body := fmt.Appendf(nil, `{"personalizations":[{"to":[{"email":"r%d@example.com"}]}],"from":{"email":"bench@example.com"},`+
				`"subject":"bench","content":[{"type":"text/plain","value":"bench"}],"send_at":%d}`, n, time.Now().Add(time.Hour).Unix())
			serve(b, rest(http.MethodPost, "/v3/mail/send", body), http.StatusAccepted)
		})
	})
	b.Run("soap-cancel", func(b *testing.B) {
		parallel(b, func(b *testing.B, n int64, _ *string) {
			env := loadgen.NewEnvelopeWriter(creds)
			serve(b, soap("Perform", env.Cancel([]int64{n%benchSends + 1})), http.StatusOK)
		})
	})
	b.Run("soap-pause-resume", func(b *testing.B) {
		// Each goroutine pauses and resumes a Send of its own: two
		// requests an iteration, each changing the send, as the REST pair
		// below does (soap-cancel's repeats of a cancel write nothing).
		var sends atomic.Int64
		parallel(b, func(b *testing.B, _ int64, own *string) {
			if *own == "" {
				*own = fmt.Sprint(sends.Add(1))
			}
			var id int64
			fmt.Sscan(*own, &id)
			env := loadgen.NewEnvelopeWriter(creds)
			serve(b, soap("Perform", env.Perform("pause", []int64{id})), http.StatusOK)
			serve(b, soap("Perform", env.Perform("resume", []int64{id})), http.StatusOK)
		})
	})
	b.Run("sendgrid-pause-delete", func(b *testing.B) {
		// Each goroutine makes a batch holding one scheduled send on its
		// first iteration; every iteration then pauses it and takes the
		// pause off again: two requests, as sg-hold makes them.
		parallel(b, func(b *testing.B, n int64, batch *string) {
			if *batch == "" {
				w := serve(b, rest(http.MethodPost, "/v3/mail/batch", nil), http.StatusCreated)
				var out struct {
					BatchID string `json:"batch_id"`
				}
				json.Unmarshal(w.Body.Bytes(), &out)
				*batch = out.BatchID
				serve(b, rest(http.MethodPost, "/v3/mail/send", fmt.Appendf(nil, `{"personalizations":[{"to":[{"email":"h%d@example.com"}]}],`+
					`"from":{"email":"bench@example.com"},"subject":"bench","content":[{"type":"text/plain","value":"b"}],"send_at":%d,"batch_id":%q}`,
					n, time.Now().Add(time.Hour).Unix(), *batch)), http.StatusAccepted)
			}
			serve(b, rest(http.MethodPost, "/v3/user/scheduled_sends", fmt.Appendf(nil, `{"batch_id":%q,"status":"pause"}`, *batch)), http.StatusCreated)
			serve(b, rest(http.MethodDelete, "/v3/user/scheduled_sends/"+*batch, nil), http.StatusNoContent)
		})
	})
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
