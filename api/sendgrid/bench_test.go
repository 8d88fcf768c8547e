package sendgrid

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// The figures compare with SOAP Create and Perform cancel through the same
// fakes-free path only after the merge (the real-store benchmark); these
// measure the face alone: auth, rate, routing, decode, encode.

// BenchmarkMailSendScheduled is one POST /v3/mail/send of one
// personalization scheduled an hour ahead.
func BenchmarkMailSendScheduled(b *testing.B) {
	rg := newRig(func(c *Config) { c.RateLimit = 1 << 30 })
	rg.sends.keep = false
	body := fmt.Sprintf(`{"personalizations":[{"to":[{"email":"a@example.com","name":"A"}]}],"from":{"email":"f@example.com","name":"F"},"subject":"Scheduled","content":[{"type":"text/plain","value":"Hello"},{"type":"text/html","value":"<p>Hello</p>"}],"send_at":%d}`,
		t0.Add(3600e9).Unix())
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v3/mail/send", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+rg.full)
		rec := httptest.NewRecorder()
		rg.h.ServeHTTP(rec, req)
		if rec.Code != 202 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkHoldRelease is a pause (POST /v3/user/scheduled_sends) and its
// removal (DELETE) of one batch.
func BenchmarkHoldRelease(b *testing.B) {
	rg := newRig(func(c *Config) { c.RateLimit = 1 << 30 })
	batch, _ := rg.batches.CreateBatch(context.Background(), 1)
	pause := `{"batch_id":"` + batch.ID + `","status":"pause"}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v3/user/scheduled_sends", strings.NewReader(pause))
		req.Header.Set("Authorization", "Bearer "+rg.full)
		rec := httptest.NewRecorder()
		rg.h.ServeHTTP(rec, req)
		if rec.Code != 201 {
			b.Fatalf("pause: %d %s", rec.Code, rec.Body)
		}
		req = httptest.NewRequest("DELETE", "/v3/user/scheduled_sends/"+batch.ID, nil)
		req.Header.Set("Authorization", "Bearer "+rg.full)
		rec = httptest.NewRecorder()
		rg.h.ServeHTTP(rec, req)
		if rec.Code != 204 {
			b.Fatalf("release: %d %s", rec.Code, rec.Body)
		}
	}
}
