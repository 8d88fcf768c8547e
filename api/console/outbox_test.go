package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// TestOutbox: an account sees what went out of its own sends, the HTML
// body only inside a sandboxed frame, escaped.
func TestOutbox(t *testing.T) {
	e := newEnv(t)
	e.apply("send alice id=100 senddate=-1m")
	ctx := context.Background()
	now := e.fix.Clock.Now()
	claimed, err := e.fix.Store.ClaimDueSends(ctx, store.Claim{Now: now, Owner: "test", LeaseUntil: now.Add(time.Minute), Limit: 10})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	entry := store.OutboxEntry{SendID: 100, AccountID: e.account("alice").ID, Subject: "Spring sale", FromAddress: "shop@example.com",
		Recipients: []string{"a@x.example"}, NumberSent: 1, TextBody: "Hello in text", HTMLBody: `<script>alert(1)</script><b>Hello</b>`,
		Transport: "outbox", Attempt: 1, DeliveredAt: now}
	if n, err := e.fix.Store.CompleteSends(ctx, []store.OutboxEntry{entry}); err != nil || n != 1 {
		t.Fatalf("complete: %d %v", n, err)
	}
	a := e.signedIn("alice", "alice-pw").get("/console/outbox")
	for _, want := range []string{"Spring sale", "a@x.example", "Hello in text", `<iframe class="html" sandbox="" srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;Hello&lt;/b&gt;"`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("outbox lacks %q:\n%s", want, a.body)
		}
	}
	if strings.Contains(a.body, "<script>alert") {
		t.Error("the HTML body is in the page unescaped")
	}
	if b := e.signedIn("bob", "bob-pw").get("/console/outbox?account=alice"); strings.Contains(b.body, "Spring sale") {
		t.Error("bob sees alice's outbox")
	}
	if o := e.operator().get("/console/outbox?account=alice"); !strings.Contains(o.body, "Spring sale") {
		t.Error("the operator does not see alice's outbox")
	}
}
