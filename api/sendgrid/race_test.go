package sendgrid

import (
	"context"
	"sync"
	"testing"
)

// TestConcurrentRequests runs every kind of request at once (under -race:
// the rate table, the reqinfo records and the handler share no unguarded
// state).
func TestConcurrentRequests(t *testing.T) {
	rg := newRig(func(c *Config) { c.RateLimit = 1 << 20 })
	batch, _ := rg.batches.CreateBatch(context.Background(), 1)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := rg.full
			if w%2 == 1 {
				tok = rg.keyWith(1)
			}
			for range 50 {
				rg.do("POST", "/v3/mail/send", tok, validMail)
				rg.do("POST", "/v3/user/scheduled_sends", tok, `{"batch_id":"`+batch.ID+`","status":"pause"}`)
				rg.do("DELETE", "/v3/user/scheduled_sends/"+batch.ID, tok, "")
				rg.do("GET", "/v3/api_keys", tok, "")
				rg.do("GET", "/v3/nowhere", "SG.bad.bad", "")
			}
		}()
	}
	wg.Wait()
	if n := len(rg.sends.calls); n != 8*50 {
		t.Fatalf("%d mail/send calls reached the service, want %d", n, 8*50)
	}
}
