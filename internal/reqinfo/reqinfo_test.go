package reqinfo

import (
	"context"
	"sync"
	"testing"
)

func TestNilInfoIsANoOp(t *testing.T) {
	in := From(context.Background())
	if in != nil {
		t.Fatalf("From without With = %v, want nil", in)
	}
	// A face called outside the server must not crash.
	in.SetOperation("x")
	in.SetOutcome("OK")
	in.SetPrincipal(1, "u")
	in.SetDetail("d")
	in.MarkThrottled()
	in.MarkLogged()
	in.SetMask(nil)
	if got := in.Snapshot(); got.Operation != "" || got.Throttled {
		t.Fatalf("nil Snapshot = %+v", got)
	}
}

func TestSnapshotCarriesWhatFacesSet(t *testing.T) {
	in := &Info{ID: "r1", Face: "sendgrid"}
	ctx := With(context.Background(), in)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); From(ctx).SetOperation("mail.send") }()
	}
	wg.Wait()
	From(ctx).SetOutcome("202")
	From(ctx).SetPrincipal(7, "demo")
	From(ctx).MarkThrottled()
	From(ctx).MarkLogged()
	s := in.Snapshot()
	want := Snapshot{ID: "r1", Face: "sendgrid", Operation: "mail.send", Outcome: "202", AccountID: 7, Username: "demo", Throttled: true, Logged: true}
	if s.Mask != nil || s.ID != want.ID || s.Face != want.Face || s.Operation != want.Operation || s.Outcome != want.Outcome ||
		s.AccountID != want.AccountID || s.Username != want.Username || !s.Throttled || !s.Logged {
		t.Fatalf("Snapshot = %+v, want %+v", s, want)
	}
}
