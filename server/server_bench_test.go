package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/loadgen"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/server"
	"github.com/partnerd/partnerd/store"
)

const benchSends = 10_000

// benchHandler is the whole server as serve builds it (server.NewApp: the
// asynchronous request log, the dispatcher polling beside it) over a SQLite
// file holding one account and benchSends Scheduled Sends (IDs
// 1..benchSends), with the held limit off as bench/compare runs it.
func benchHandler(b *testing.B) http.Handler {
	h, _, _ := benchServer(b)
	return h
}

// benchServer is benchHandler with its store and account, for benchmarks
// that need more of the account than its password (an API key).
func benchServer(b *testing.B) (http.Handler, store.Store, int64) {
	b.Helper()
	dir := b.TempDir()
	db := testrig.OpenStore(b, testrig.InDir(dir))
	sealer, err := credential.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		b.Fatal(err)
	}
	hash, err := credential.Hash("bench-pw")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	acct := store.Account{Username: "bench", ClientID: 1001, PasswordHash: hash, PasswordSealed: sealer.Seal("bench-pw")}
	if err := db.CreateAccount(ctx, &acct); err != nil {
		b.Fatal(err)
	}
	due := time.Now().Add(30 * 24 * time.Hour).UTC()
	err = db.Update(ctx, func(tx store.Tx) error {
		for range benchSends {
			s := store.Send{AccountID: acct.ID, EmailID: 1, ListIDs: []int64{1}, SendDate: due,
				Status: store.StatusScheduled, CreatedDate: due, ModifiedDate: due}
			if err := tx.InsertSend(ctx, &s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	app, err := server.NewApp(server.AppConfig{Config: server.Config{
		Store: db, Clock: clock.System{}, Sealer: sealer, Version: "bench",
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Policy:          lifecycle.Policy{CancelCutoff: 10 * time.Minute, PauseExpiry: 72 * time.Hour},
		AsyncRequestLog: true,
		SendGridRate:    1 << 30, // the key's rate limit is not what is measured
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(app.Close)
	return app.Handler(), db, acct.ID
}

// BenchmarkServerCancel is one Perform cancel request through the whole
// handler — parse, security check with its nonce, the Perform transaction,
// the response, the request log — over a real SQLite file, each request a
// fresh envelope as from a real client. "serial" is one client at a time
// (the latency floor: three durable commits in a row); "parallel" has 32
// goroutines per core in flight, like bench/compare's 64 connections on
// two cores, and shows how far concurrency is turned into throughput.
func BenchmarkServerCancel(b *testing.B) {
	h := benchHandler(b)
	var next atomic.Int64
	do := func(b *testing.B, envs *loadgen.EnvelopeWriter, batch []int64) {
		for j := range batch {
			batch[j] = next.Add(1)%benchSends + 1
		}
		r := httptest.NewRequest(http.MethodPost, "/Service.asmx", bytes.NewReader(envs.Cancel(batch)))
		r.Header.Set("Content-Type", "text/xml; charset=utf-8")
		r.Header.Set("SOAPAction", `"Perform"`)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte("<OverallStatus>OK</OverallStatus>")) {
			b.Errorf("HTTP %d: %.300s", w.Code, w.Body)
		}
	}
	creds := loadgen.Credentials{Username: "bench", Password: "bench-pw"}
	b.Run("serial", func(b *testing.B) {
		envs := loadgen.NewEnvelopeWriter(creds)
		batch := make([]int64, 1)
		b.ReportAllocs()
		for b.Loop() {
			do(b, envs, batch)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(32)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			envs := loadgen.NewEnvelopeWriter(creds)
			batch := make([]int64, 1)
			for pb.Next() {
				do(b, envs, batch)
			}
		})
	})
	b.Run("batch100-parallel", func(b *testing.B) {
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			envs := loadgen.NewEnvelopeWriter(creds)
			batch := make([]int64, 100)
			for pb.Next() {
				do(b, envs, batch)
			}
		})
		b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "defs/s")
	})
}
