package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// The dispatcher's queue: claims, completion into the outbox, discards,
// expiry, flush and operator actions.

func claim(t *testing.T, s store.Store, now time.Time, owner string, limit int) []store.ClaimedSend {
	t.Helper()
	got, err := s.ClaimDueSends(t.Context(), store.Claim{Now: now, Owner: owner, LeaseUntil: now.Add(time.Minute), Limit: limit})
	if err != nil {
		t.Fatalf("ClaimDueSends: %v", err)
	}
	return got
}

func claimedIDs(cs []store.ClaimedSend) []int64 {
	out := make([]int64, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func entryFor(c store.ClaimedSend, at time.Time) store.OutboxEntry {
	return store.OutboxEntry{SendID: c.ID, ObjectID: c.ObjectID, Subject: c.Subject, FromName: c.FromName,
		FromAddress: c.FromAddress, Recipients: []string{"a@example.com"}, NumberSent: 1, Transport: "outbox",
		MessageID: fmt.Sprintf("<send-%d@test>", c.ID), Attempt: c.Attempt, DeliveredAt: at}
}

// sendAt is a send of account due at d from base, in status st.
func sendAt(accountID int64, key string, d time.Duration, st store.SendStatus) store.Send {
	s := newSend(accountID, key)
	s.SendDate = at(d)
	s.Status = st
	return s
}

func testQueue(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("ClaimsOnlyDueScheduled", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "acct")
		sends := insert(t, s,
			sendAt(a.ID, "late", -time.Minute, store.StatusScheduled),
			sendAt(a.ID, "exact", 0, store.StatusScheduled),
			sendAt(a.ID, "future", time.Microsecond, store.StatusScheduled),
			sendAt(a.ID, "paused", -time.Hour, store.StatusPaused),
			sendAt(a.ID, "canceled", -time.Hour, store.StatusCanceled),
			sendAt(a.ID, "complete", -time.Hour, store.StatusComplete),
			sendAt(a.ID, "earliest", -time.Hour, store.StatusScheduled),
		)
		got := claim(t, s, base, "d1", 100)
		want := []int64{sends[6].ID, sends[0].ID, sends[1].ID} // by SendDate
		if !slices.Equal(claimedIDs(got), want) {
			t.Fatalf("claimed %v, want %v (due Scheduled only, earliest first)", claimedIDs(got), want)
		}
		for _, c := range got {
			if c.Status != store.StatusSending || c.Attempt != 1 {
				t.Errorf("claimed send %d: status %s attempt %d, want Sending attempt 1", c.ID, c.Status, c.Attempt)
			}
			if st := mustGet(t, s, a.ID, c.ID).Status; st != store.StatusSending {
				t.Errorf("send %d stored as %s after claim, want Sending", c.ID, st)
			}
		}
		if again := claim(t, s, base, "d2", 100); len(again) != 0 {
			t.Errorf("a second dispatcher claimed %v while the lease holds", claimedIDs(again))
		}
	})

	t.Run("Limit", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "acct")
		var all []store.Send
		for i := range 5 {
			all = append(all, sendAt(a.ID, fmt.Sprint("k", i), -time.Duration(5-i)*time.Minute, store.StatusScheduled))
		}
		sends := insert(t, s, all...)
		first := claim(t, s, base, "d", 2)
		second := claim(t, s, base, "d", 10)
		if !slices.Equal(claimedIDs(first), ids(sends[:2])) || !slices.Equal(claimedIDs(second), ids(sends[2:])) {
			t.Errorf("claims %v then %v, want %v then %v", claimedIDs(first), claimedIDs(second), ids(sends[:2]), ids(sends[2:]))
		}
		if _, err := s.ClaimDueSends(t.Context(), store.Claim{Now: base, Limit: 0}); err == nil {
			t.Error("ClaimDueSends with limit 0 succeeded, want an error")
		}
	})

	t.Run("ExpiredLeaseIsReclaimed", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "acct")
		sent := insert(t, s, sendAt(a.ID, "k", -time.Minute, store.StatusScheduled))[0]
		first, err := s.ClaimDueSends(t.Context(), store.Claim{Now: base, Owner: "dead", LeaseUntil: at(time.Minute), Limit: 10})
		if err != nil || len(first) != 1 {
			t.Fatalf("first claim: %v, %v", claimedIDs(first), err)
		}
		if got := claim(t, s, at(time.Minute), "d2", 10); len(got) != 0 {
			t.Errorf("claimed %v at the lease's last instant", claimedIDs(got))
		}
		got := claim(t, s, at(time.Minute+time.Microsecond), "d2", 10)
		if len(got) != 1 || got[0].ID != sent.ID || got[0].Attempt != 2 || got[0].Status != store.StatusSending {
			t.Fatalf("after the lease: claimed %+v, want send %d on attempt 2", got, sent.ID)
		}
	})

	t.Run("ContentComesWithClaim", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "acct")
		sends := insert(t, s, sendAt(a.ID, "with", -time.Minute, store.StatusScheduled), sendAt(a.ID, "without", -time.Minute, store.StatusScheduled))
		c := store.SendContent{Subject: "Hi", HTMLBody: "<p>Hi</p>", TextBody: "Hi",
			Recipients: []store.Recipient{{Address: "x@example.com", SubscriberKey: "x", ListID: 11}, {Address: "y@example.com"}}}
		if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.SetSendContent(t.Context(), a.ID, sends[0].ID, c) }); err != nil {
			t.Fatal(err)
		}
		got := claim(t, s, base, "d", 10)
		if len(got) != 2 {
			t.Fatalf("claimed %d, want 2", len(got))
		}
		for _, g := range got {
			want := store.SendContent{}
			if g.ID == sends[0].ID {
				want = c
			}
			if !sameContent(g.Content, want) {
				t.Errorf("send %d content %+v, want %+v", g.ID, g.Content, want)
			}
		}
	})

	t.Run("CompleteIsExactlyOnce", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "acct")
		sends := insert(t, s, sendAt(a.ID, "a", -time.Minute, store.StatusScheduled), sendAt(a.ID, "b", -time.Minute, store.StatusScheduled),
			sendAt(a.ID, "never-claimed", -time.Minute, store.StatusPaused))
		got := claim(t, s, base, "d", 10)
		delivered := at(time.Second)
		entries := []store.OutboxEntry{entryFor(got[0], delivered), entryFor(got[1], delivered)}
		entries[1].NumberSent = 7
		n, err := s.CompleteSends(t.Context(), entries)
		if err != nil || n != 2 {
			t.Fatalf("CompleteSends = %d, %v; want 2", n, err)
		}
		for _, e := range entries {
			if e.ID == 0 || e.AccountID != a.ID {
				t.Errorf("entry for send %d: ID %d account %d, want both set", e.SendID, e.ID, e.AccountID)
			}
		}
		done := mustGet(t, s, a.ID, sends[1].ID)
		if done.Status != store.StatusComplete || !sameTime(done.SentDate, delivered) || done.NumberSent != 7 {
			t.Errorf("completed send: status %s sent %v number %d", done.Status, done.SentDate, done.NumberSent)
		}
		// A second completion (a dispatcher that lost its lease) and a
		// send never claimed are both skipped.
		again := []store.OutboxEntry{entryFor(got[0], at(time.Hour)), {SendID: sends[2].ID, DeliveredAt: delivered}}
		n, err = s.CompleteSends(t.Context(), again)
		if err != nil || n != 0 || again[0].ID != 0 || again[1].ID != 0 {
			t.Errorf("completing again = %d, %v (IDs %d, %d); want 0 and nothing stored", n, err, again[0].ID, again[1].ID)
		}
		if st := mustGet(t, s, a.ID, sends[2].ID).Status; st != store.StatusPaused {
			t.Errorf("completing an unclaimed send changed it to %s", st)
		}
		out, err := s.Outbox(t.Context(), store.OutboxQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 2 || out[0].SendID != sends[1].ID || out[1].SendID != sends[0].ID {
			t.Fatalf("outbox %+v, want sends %d and %d, newest first", out, sends[1].ID, sends[0].ID)
		}
		e := out[1]
		want := entries[0]
		if e.ID != want.ID || e.AccountID != a.ID || e.ObjectID != want.ObjectID || e.Subject != want.Subject ||
			e.FromName != want.FromName || e.FromAddress != want.FromAddress || !slices.Equal(e.Recipients, want.Recipients) ||
			e.NumberSent != 1 || e.Transport != "outbox" || e.MessageID != want.MessageID || e.Attempt != 1 ||
			!sameTime(e.DeliveredAt, delivered) {
			t.Errorf("outbox entry\n got %+v\nwant %+v", e, want)
		}
		if got := claim(t, s, at(time.Hour), "d", 10); len(got) != 0 {
			t.Errorf("completed sends claimed again: %v", claimedIDs(got))
		}
	})

	t.Run("OutboxQuery", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "a"), newAccount(t, s, "b")
		insert(t, s, sendAt(a.ID, "a1", -3*time.Minute, store.StatusScheduled), sendAt(b.ID, "b1", -2*time.Minute, store.StatusScheduled),
			sendAt(a.ID, "a2", -time.Minute, store.StatusScheduled))
		got := claim(t, s, base, "d", 10)
		var entries []store.OutboxEntry
		for _, c := range got {
			entries = append(entries, entryFor(c, base))
		}
		if _, err := s.CompleteSends(t.Context(), entries); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			q    store.OutboxQuery
			want []int64 // send IDs
		}{
			{store.OutboxQuery{}, []int64{got[2].ID, got[1].ID, got[0].ID}},
			{store.OutboxQuery{Last: 1}, []int64{got[2].ID}},
			{store.OutboxQuery{AccountID: a.ID}, []int64{got[2].ID, got[0].ID}},
			{store.OutboxQuery{AccountID: b.ID, Last: 5}, []int64{got[1].ID}},
		}
		for _, c := range cases {
			out, err := s.Outbox(t.Context(), c.q)
			if err != nil {
				t.Fatal(err)
			}
			var sendIDs []int64
			for _, e := range out {
				sendIDs = append(sendIDs, e.SendID)
			}
			if !slices.Equal(sendIDs, c.want) {
				t.Errorf("Outbox(%+v) = sends %v, want %v", c.q, sendIDs, c.want)
			}
		}
	})

	t.Run("FailSend", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "acct")
		sends := insert(t, s, sendAt(a.ID, "k", -time.Minute, store.StatusScheduled), sendAt(a.ID, "s", -time.Minute, store.StatusScheduled))
		claim(t, s, base, "d", 1)
		if err := s.FailSend(t.Context(), sends[0].ID, at(time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, a.ID, sends[0].ID); got.Status != store.StatusError || !sameTime(got.StatusChangedAt, at(time.Second)) {
			t.Errorf("failed send: %s at %v", got.Status, got.StatusChangedAt)
		}
		wantErr(t, "FailSend of a Scheduled send", s.FailSend(t.Context(), sends[1].ID, base), store.ErrNotFound)
	})

	t.Run("DiscardCanceled", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "acct")
		sends := insert(t, s,
			sendAt(a.ID, "due", -time.Minute, store.StatusCanceled),
			sendAt(a.ID, "exact", 0, store.StatusCanceled),
			sendAt(a.ID, "future", time.Minute, store.StatusCanceled),
			sendAt(a.ID, "scheduled", -time.Minute, store.StatusScheduled))
		n, err := s.DiscardCanceledSends(t.Context(), base)
		if err != nil || n != 2 {
			t.Fatalf("DiscardCanceledSends = %d, %v; want 2", n, err)
		}
		if n, _ := s.DiscardCanceledSends(t.Context(), base); n != 0 {
			t.Errorf("discarding again marked %d, want 0", n)
		}
		for _, sd := range sends[:3] {
			if st := mustGet(t, s, a.ID, sd.ID).Status; st != store.StatusCanceled {
				t.Errorf("send %s is %s after discard, want Canceled", sd.CustomerKey, st)
			}
		}
		held := countHeld(t, s, a.ID, at(-time.Hour))
		if held != 1 {
			t.Errorf("held after discard = %d, want 1 (only the future one; discarded sends are out of the queue)", held)
		}
		if got := claim(t, s, at(time.Hour), "d", 10); !slices.Equal(claimedIDs(got), []int64{sends[3].ID}) {
			t.Errorf("claimed %v, want only the Scheduled send", claimedIDs(got))
		}
	})

	t.Run("ExpirePaused", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "acct")
		sends := insert(t, s,
			sendAt(a.ID, "old", -73*time.Hour, store.StatusPaused),
			sendAt(a.ID, "edge", -72*time.Hour, store.StatusPaused),
			sendAt(a.ID, "young", -time.Hour, store.StatusPaused),
			sendAt(a.ID, "sched", -100*time.Hour, store.StatusScheduled))
		n, err := s.ExpirePausedSends(t.Context(), at(-72*time.Hour), base)
		if err != nil || n != 1 {
			t.Fatalf("ExpirePausedSends = %d, %v; want 1", n, err)
		}
		want := []store.SendStatus{store.StatusExpired, store.StatusPaused, store.StatusPaused, store.StatusScheduled}
		for i, sd := range sends {
			got := mustGet(t, s, a.ID, sd.ID)
			if got.Status != want[i] {
				t.Errorf("send %s is %s, want %s", sd.CustomerKey, got.Status, want[i])
			}
			if i == 0 && !sameTime(got.StatusChangedAt, base) {
				t.Errorf("expired send StatusChangedAt %v, want %v", got.StatusChangedAt, base)
			}
		}
	})

	t.Run("NextDueSend", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "acct")
		if _, ok, err := s.NextDueSend(t.Context()); err != nil || ok {
			t.Fatalf("empty store: ok=%v err=%v", ok, err)
		}
		insert(t, s, sendAt(a.ID, "p", -time.Hour, store.StatusPaused), sendAt(a.ID, "s2", 2*time.Hour, store.StatusScheduled),
			sendAt(a.ID, "s1", time.Hour, store.StatusScheduled))
		next, ok, err := s.NextDueSend(t.Context())
		if err != nil || !ok || !sameTime(next, at(time.Hour)) {
			t.Errorf("NextDueSend = %v %v %v, want %v", next, ok, err, at(time.Hour))
		}
	})

	t.Run("Flush", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "a"), newAccount(t, s, "b")
		sends := insert(t, s,
			sendAt(a.ID, "s", time.Hour, store.StatusScheduled),
			sendAt(a.ID, "p", time.Hour, store.StatusPaused),
			sendAt(a.ID, "due", -time.Hour, store.StatusScheduled),
			sendAt(a.ID, "done", -time.Hour, store.StatusComplete),
			sendAt(a.ID, "c", time.Hour, store.StatusCanceled),
			sendAt(b.ID, "other", time.Hour, store.StatusScheduled))
		act := store.OperatorAction{AccountID: a.ID, Actor: "ops", Detail: "runaway", At: base}
		if err := s.FlushAccount(t.Context(), &act); err != nil {
			t.Fatal(err)
		}
		if act.Count != 3 || act.ID == 0 || act.Action != "flush" {
			t.Errorf("flush: %+v, want count 3 with an ID", act)
		}
		want := []store.SendStatus{store.StatusCanceled, store.StatusCanceled, store.StatusCanceled, store.StatusComplete, store.StatusCanceled, store.StatusScheduled}
		for i, sd := range sends {
			if got := mustGet(t, s, sd.AccountID, sd.ID).Status; got != want[i] {
				t.Errorf("send %s is %s after flush, want %s", sd.CustomerKey, got, want[i])
			}
		}
		if held := countHeld(t, s, a.ID, base); held != 1 {
			t.Errorf("held after flush = %d, want 1 (the send canceled before; flushed ones are discarded)", held)
		}
		if got := claim(t, s, at(2*time.Hour), "d", 10); !slices.Equal(claimedIDs(got), []int64{sends[5].ID}) {
			t.Errorf("claimed %v after flush, want only the other account's send", claimedIDs(got))
		}
		again := store.OperatorAction{AccountID: a.ID, At: at(time.Second)}
		if err := s.FlushAccount(t.Context(), &again); err != nil || again.Count != 0 {
			t.Errorf("second flush: count %d, %v; want 0", again.Count, err)
		}
		missing := store.OperatorAction{AccountID: 999999, At: base}
		wantErr(t, "flush of an unknown account", s.FlushAccount(t.Context(), &missing), store.ErrNotFound)

		acts, err := s.OperatorActions(t.Context(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(acts) != 2 || acts[0].ID != again.ID || acts[1].ID != act.ID {
			t.Fatalf("operator actions %+v, want the two flushes newest first", acts)
		}
		got := acts[1]
		if got.Action != "flush" || got.AccountID != a.ID || got.Actor != "ops" || got.Detail != "runaway" || got.Count != 3 || !sameTime(got.At, base) {
			t.Errorf("operator action %+v, want %+v", got, act)
		}
		if one, _ := s.OperatorActions(t.Context(), 1); len(one) != 1 {
			t.Errorf("OperatorActions(1) returned %d", len(one))
		}
	})

	t.Run("ConcurrentClaimsAreExclusive", func(t *testing.T) {
		// Several dispatchers claiming and completing at once: every send
		// is claimed by one and recorded once.
		s := open(t)
		a := newAccount(t, s, "acct")
		const n, workers = 300, 6
		var all []store.Send
		for i := range n {
			all = append(all, sendAt(a.ID, fmt.Sprint("k", i), -time.Duration(i)*time.Millisecond, store.StatusScheduled))
		}
		insert(t, s, all...)
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := s.ClaimDueSends(t.Context(), store.Claim{Now: base, Owner: fmt.Sprint("w", w), LeaseUntil: at(time.Hour), Limit: 7})
					if err != nil {
						errs <- err
						return
					}
					if len(got) == 0 {
						return
					}
					var entries []store.OutboxEntry
					mu.Lock()
					for _, c := range got {
						seen[c.ID]++
						entries = append(entries, entryFor(c, base))
					}
					mu.Unlock()
					if _, err := s.CompleteSends(t.Context(), entries); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(seen) != n {
			t.Errorf("%d sends claimed, want %d", len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("send %d claimed %d times", id, c)
			}
		}
		out, err := s.Outbox(t.Context(), store.OutboxQuery{})
		if err != nil || len(out) != n {
			t.Errorf("outbox holds %d entries (%v), want %d", len(out), err, n)
		}
	})
}

func countHeld(t *testing.T, s store.Store, accountID int64, now time.Time) int {
	t.Helper()
	n, err := viewRead(t, s, func(tx store.Tx) (int, error) { return tx.CountHeldSends(t.Context(), accountID, now) })
	if err != nil {
		t.Fatalf("CountHeldSends: %v", err)
	}
	return n
}

func sameContent(a, b store.SendContent) bool {
	return a.Subject == b.Subject && a.HTMLBody == b.HTMLBody && a.TextBody == b.TextBody && slices.Equal(a.Recipients, b.Recipients)
}

func testSendContent(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	a, b := newAccount(t, s, "a"), newAccount(t, s, "b")
	sent := insert(t, s, newSend(a.ID, "k"))[0]
	c := store.SendContent{Subject: "S", TextBody: "T", Recipients: []store.Recipient{{Address: "r@example.com", ListID: 11}}}
	get := func(accountID int64) (store.SendContent, error) {
		got, err := viewRead(t, s, func(tx store.Tx) (store.SendContent, error) { return tx.SendContent(t.Context(), accountID, sent.ID) })
		return got, err
	}
	set := func(accountID int64, c store.SendContent) error {
		return s.Update(t.Context(), func(tx store.Tx) error { return tx.SetSendContent(t.Context(), accountID, sent.ID, c) })
	}
	if got, err := get(a.ID); err != nil || !got.IsZero() {
		t.Errorf("content of a send stored without one: %+v, %v", got, err)
	}
	if err := set(a.ID, c); err != nil {
		t.Fatal(err)
	}
	if got, err := get(a.ID); err != nil || !sameContent(got, c) {
		t.Errorf("content = %+v, %v; want %+v", got, err, c)
	}
	c2 := store.SendContent{HTMLBody: "<b>new</b>"}
	if err := set(a.ID, c2); err != nil {
		t.Fatal(err)
	}
	if got, _ := get(a.ID); !sameContent(got, c2) {
		t.Errorf("replaced content = %+v, want %+v", got, c2)
	}
	_, err := get(b.ID)
	wantErr(t, "content of another account's send", err, store.ErrNotFound)
	wantErr(t, "setting content of another account's send", set(b.ID, c), store.ErrNotFound)
}

func testEmailSendDefinitions(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	a, b := newAccount(t, s, "a"), newAccount(t, s, "b")
	d := store.EmailSendDefinition{AccountID: a.ID, ObjectID: "0b7a5c4e-0000-4000-8000-000000000001", CustomerKey: "esd-1",
		Name: "Weekly", Description: "d", EmailID: 42, EmailSubject: "Sub", FromName: "F", FromAddress: "f@example.com",
		ListIDs: []int64{7, 8}, SendClassification: "Default Commercial",
		Content:     store.SendContent{TextBody: "hello", Recipients: []store.Recipient{{Address: "r@example.com"}}},
		CreatedDate: base, ModifiedDate: base}
	err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertEmailSendDefinition(t.Context(), &d) })
	if err != nil || d.ID == 0 {
		t.Fatalf("InsertEmailSendDefinition: ID %d, %v", d.ID, err)
	}
	dup := d
	dup.ID = 0
	err = s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertEmailSendDefinition(t.Context(), &dup) })
	wantErr(t, "duplicate CustomerKey", err, store.ErrExists)
	other := dup
	other.AccountID = b.ID
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertEmailSendDefinition(t.Context(), &other) }); err != nil {
		t.Errorf("the same CustomerKey in another account: %v", err)
	}

	for _, key := range []store.SendKey{{ID: d.ID}, {ObjectID: d.ObjectID}, {CustomerKey: "esd-1"}} {
		got, err := viewRead(t, s, func(tx store.Tx) (store.EmailSendDefinition, error) {
			return tx.EmailSendDefinitionByKey(t.Context(), a.ID, key)
		})
		if err != nil {
			t.Fatalf("by %+v: %v", key, err)
		}
		if got.ID != d.ID || got.Name != d.Name || got.Description != d.Description || got.EmailID != 42 ||
			got.EmailSubject != "Sub" || got.FromName != "F" || got.FromAddress != d.FromAddress ||
			!slices.Equal(got.ListIDs, d.ListIDs) || got.SendClassification != d.SendClassification ||
			!sameContent(got.Content, d.Content) || !sameTime(got.CreatedDate, base) || !sameTime(got.ModifiedDate, base) {
			t.Errorf("by %+v:\n got %+v\nwant %+v", key, got, d)
		}
	}
	err = s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.EmailSendDefinitionByKey(t.Context(), b.ID, store.SendKey{ID: d.ID})
		return err
	})
	wantErr(t, "another account's definition", err, store.ErrNotFound)

	if list, err := viewRead(t, s, func(tx store.Tx) ([]store.EmailSendDefinition, error) {
		return tx.FindEmailSendDefinitions(t.Context(), a.ID, nil)
	}); err != nil || len(list) != 1 || list[0].ID != d.ID {
		t.Errorf("FindEmailSendDefinitions = %v, %v", list, err)
	}
	err = s.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteEmailSendDefinition(t.Context(), b.ID, d.ID) })
	wantErr(t, "deleting another account's definition", err, store.ErrNotFound)
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteEmailSendDefinition(t.Context(), a.ID, d.ID) }); err != nil {
		t.Fatal(err)
	}
	err = s.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteEmailSendDefinition(t.Context(), a.ID, d.ID) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
}
