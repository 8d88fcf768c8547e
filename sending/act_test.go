package sending_test

import (
	"errors"
	"testing"
	"time"

	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// TestActByStatus applies every action to a send in every status.
func TestActByStatus(t *testing.T) {
	future := now.Add(time.Hour)
	cases := []struct {
		status store.SendStatus
		date   time.Time
		action lifecycle.Action
		want   store.SendStatus // the status after, when err is nil
		err    error
		due    bool // OnDue raised
	}{
		{store.StatusScheduled, future, lifecycle.Cancel, store.StatusCanceled, nil, false},
		{store.StatusScheduled, future, lifecycle.Pause, store.StatusPaused, nil, false},
		{store.StatusScheduled, future, lifecycle.Resume, store.StatusScheduled, nil, false},
		{store.StatusScheduled, time.Time{}, lifecycle.Cancel, store.StatusCanceled, nil, false},
		{store.StatusPaused, future, lifecycle.Cancel, store.StatusCanceled, nil, false},
		{store.StatusPaused, future, lifecycle.Pause, store.StatusPaused, nil, false},
		{store.StatusPaused, future, lifecycle.Resume, store.StatusScheduled, nil, false},
		{store.StatusPaused, now.Add(-time.Hour), lifecycle.Resume, store.StatusScheduled, nil, true},
		{store.StatusPaused, now.Add(-73 * time.Hour), lifecycle.Resume, "", sending.ErrStatus, false},
		{store.StatusCanceled, future, lifecycle.Cancel, store.StatusCanceled, nil, false},
		{store.StatusCanceled, future, lifecycle.Pause, "", sending.ErrStatus, false},
		{store.StatusCanceled, future, lifecycle.Resume, "", sending.ErrStatus, false},
		{store.StatusSending, future, lifecycle.Cancel, "", sending.ErrStatus, false},
		{store.StatusSending, future, lifecycle.Pause, "", sending.ErrStatus, false},
		{store.StatusComplete, future, lifecycle.Cancel, "", sending.ErrStatus, false},
		{store.StatusComplete, future, lifecycle.Resume, "", sending.ErrStatus, false},
		{store.StatusExpired, future, lifecycle.Resume, "", sending.ErrStatus, false},
		{store.StatusError, future, lifecycle.Pause, "", sending.ErrStatus, false},
	}
	for _, c := range cases {
		t.Run(string(c.status)+"/"+string(c.action)+"/"+c.date.Sub(now).String(), func(t *testing.T) {
			e := newEnv(t)
			s := e.insert(store.Send{Status: c.status, SendDate: c.date})
			outs, err := e.svc.Act(t.Context(), e.acct, c.action, []sending.Key{{ID: s.ID, HasID: true}})
			if err != nil {
				t.Fatal(err)
			}
			o := outs[0]
			if !o.Found || o.Send.ID != s.ID {
				t.Fatalf("outcome %+v, want send %d", o, s.ID)
			}
			if !errors.Is(o.Err, c.err) || (c.err == nil) != (o.Err == nil) {
				t.Fatalf("err = %v, want %v", o.Err, c.err)
			}
			got := e.send(s.ID).Status
			want := c.want
			if c.err != nil {
				want = c.status
			}
			if got != want || (c.err == nil && o.Send.Status != want) {
				t.Errorf("status = %s (outcome %s), want %s", got, o.Send.Status, want)
			}
			if (e.dues > 0) != c.due {
				t.Errorf("OnDue raised %d times, want due=%v", e.dues, c.due)
			}
		})
	}
}

// TestActCutoff: cancel and pause are refused from CancelCutoff before the
// SendDate on; a paused send is canceled at any time.
func TestActCutoff(t *testing.T) {
	cutoff := lifecycle.DefaultPolicy.CancelCutoff
	cases := []struct {
		name   string
		status store.SendStatus
		until  time.Duration // SendDate - now
		action lifecycle.Action
		err    error
	}{
		{"just outside", store.StatusScheduled, cutoff + time.Millisecond, lifecycle.Cancel, nil},
		{"at the cutoff", store.StatusScheduled, cutoff, lifecycle.Cancel, sending.ErrCutoff},
		{"inside", store.StatusScheduled, time.Minute, lifecycle.Cancel, sending.ErrCutoff},
		{"past", store.StatusScheduled, -time.Minute, lifecycle.Cancel, sending.ErrCutoff},
		{"pause at the cutoff", store.StatusScheduled, cutoff, lifecycle.Pause, sending.ErrCutoff},
		{"pause just outside", store.StatusScheduled, cutoff + time.Millisecond, lifecycle.Pause, nil},
		{"paused, inside", store.StatusPaused, time.Minute, lifecycle.Cancel, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			s := e.insert(store.Send{Status: c.status, SendDate: now.Add(c.until)})
			outs, err := e.svc.Act(t.Context(), e.acct, c.action, []sending.Key{{ID: s.ID, HasID: true}})
			if err != nil {
				t.Fatal(err)
			}
			if got := outs[0].Err; !errors.Is(got, c.err) || (c.err == nil) != (got == nil) {
				t.Errorf("err = %v, want %v", got, c.err)
			}
		})
	}
}

// TestActHeldLimit: the account's held sends (paused, or canceled and
// still queued) are capped; another account's do not count, and an action
// that adds nothing to the count is not refused.
func TestActHeldLimit(t *testing.T) {
	future := now.Add(time.Hour)
	cases := []struct {
		name   string
		held   []store.SendStatus // the account's sends already held
		other  int                // the other account's held sends
		status store.SendStatus
		action lifecycle.Action
		err    error
	}{
		{"below", []store.SendStatus{store.StatusPaused}, 0, store.StatusScheduled, lifecycle.Pause, nil},
		{"at the limit, pause", []store.SendStatus{store.StatusPaused, store.StatusCanceled}, 0, store.StatusScheduled, lifecycle.Pause, sending.ErrHeldLimit},
		{"at the limit, cancel", []store.SendStatus{store.StatusPaused, store.StatusPaused}, 0, store.StatusScheduled, lifecycle.Cancel, sending.ErrHeldLimit},
		{"at the limit, cancel of a paused one", []store.SendStatus{store.StatusPaused, store.StatusPaused}, 0, store.StatusPaused, lifecycle.Cancel, nil},
		{"at the limit, resume", []store.SendStatus{store.StatusPaused, store.StatusPaused}, 0, store.StatusPaused, lifecycle.Resume, nil},
		{"other account's do not count", nil, 5, store.StatusScheduled, lifecycle.Pause, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.svc.Policy.HeldLimit = 2
			for _, st := range c.held {
				e.insert(store.Send{Status: st, SendDate: future})
			}
			for range c.other {
				e.insert(store.Send{AccountID: e.other, Status: store.StatusPaused, SendDate: future})
			}
			s := e.insert(store.Send{Status: c.status, SendDate: future})
			outs, err := e.svc.Act(t.Context(), e.acct, c.action, []sending.Key{{ID: s.ID, HasID: true}})
			if err != nil {
				t.Fatal(err)
			}
			if got := outs[0].Err; !errors.Is(got, c.err) || (c.err == nil) != (got == nil) {
				t.Errorf("err = %v, want %v", got, c.err)
			}
		})
	}
}

// TestActKeys: the key kinds, an unknown key, another account's send
// (answered as unknown), legacy duplicates of an ObjectID (all of them
// reached), batches (prefetched) naming a send twice.
func TestActKeys(t *testing.T) {
	future := now.Add(time.Hour)
	const oid = "6a0d2f80-2222-4000-8000-00000000beef"
	e := newEnv(t)
	byCK := e.insert(store.Send{CustomerKey: "spring", Status: store.StatusScheduled, SendDate: future})
	byOID := e.insert(store.Send{ObjectID: oid, Status: store.StatusScheduled, SendDate: future})
	foreign := e.insert(store.Send{AccountID: e.other, CustomerKey: "theirs", Status: store.StatusScheduled, SendDate: future})
	plain := e.insert(store.Send{Status: store.StatusScheduled, SendDate: future})
	plain2 := e.insert(store.Send{Status: store.StatusScheduled, SendDate: future})

	cases := []struct {
		name string
		keys []sending.Key
		errs []error
		ids  []int64 // the outcome's send, 0 when not found
	}{
		{"by ID", []sending.Key{{ID: plain.ID, HasID: true}}, []error{nil}, []int64{plain.ID}},
		{"by ObjectID in upper case", []sending.Key{{ObjectID: "6A0D2F80-2222-4000-8000-00000000BEEF"}}, []error{nil}, []int64{byOID.ID}},
		{"by CustomerKey", []sending.Key{{CustomerKey: "spring"}}, []error{nil}, []int64{byCK.ID}},
		{"ID wins over the other keys", []sending.Key{{ID: plain2.ID, HasID: true, CustomerKey: "spring"}}, []error{nil}, []int64{plain2.ID}},
		{"empty key", []sending.Key{{}}, []error{sending.ErrKeyMissing}, []int64{0}},
		{"unknown ID", []sending.Key{{ID: 99999, HasID: true}}, []error{sending.ErrNotFound}, []int64{0}},
		{"another account's by ID", []sending.Key{{ID: foreign.ID, HasID: true}}, []error{sending.ErrNotFound}, []int64{0}},
		{"another account's by CustomerKey", []sending.Key{{CustomerKey: "theirs"}}, []error{sending.ErrNotFound}, []int64{0}},
		{"batch, prefetched, one twice, one foreign", []sending.Key{{ID: plain.ID, HasID: true}, {ID: foreign.ID, HasID: true}, {ID: plain.ID, HasID: true}},
			[]error{nil, sending.ErrNotFound, nil}, []int64{plain.ID, 0, plain.ID}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			outs, err := e.svc.Act(t.Context(), e.acct, lifecycle.Cancel, c.keys)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != len(c.keys) {
				t.Fatalf("%d outcomes for %d keys", len(outs), len(c.keys))
			}
			for i, o := range outs {
				if !errors.Is(o.Err, c.errs[i]) || (c.errs[i] == nil) != (o.Err == nil) {
					t.Errorf("key %d: err = %v, want %v", i, o.Err, c.errs[i])
				}
				if c.ids[i] == 0 && o.Found || c.ids[i] != 0 && o.Send.ID != c.ids[i] {
					t.Errorf("key %d: outcome send %d (found %v), want %d", i, o.Send.ID, o.Found, c.ids[i])
				}
			}
		})
	}
	if s := e.sendOf(e.other, foreign.ID); s.Status != store.StatusScheduled {
		t.Errorf("another account's send is %s after cancels by its keys", s.Status)
	}
}

// TestActLegacyDuplicates: a store written before ObjectIDs were unique
// holds two sends with one ObjectID; an action by it reaches both, and is
// OK only if both end in the requested state.
func TestActLegacyDuplicates(t *testing.T) {
	const oid = "6a0d2f80-2222-4000-8000-00000000d0d0"
	cases := []struct {
		name     string
		second   store.SendStatus
		err      error
		statuses [2]store.SendStatus
	}{
		{"both cancelable", store.StatusScheduled, nil, [2]store.SendStatus{store.StatusCanceled, store.StatusCanceled}},
		{"one already sent", store.StatusComplete, sending.ErrStatus, [2]store.SendStatus{store.StatusCanceled, store.StatusComplete}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.insert(store.Send{ObjectID: oid, Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})
			b := store.Send{ID: e.legacyCopy(a.ID, c.second)}
			outs, err := e.svc.Act(t.Context(), e.acct, lifecycle.Cancel, []sending.Key{{ObjectID: oid}})
			if err != nil {
				t.Fatal(err)
			}
			if got := outs[0].Err; !errors.Is(got, c.err) || (c.err == nil) != (got == nil) {
				t.Errorf("err = %v, want %v", got, c.err)
			}
			if c.err != nil && outs[0].Send.ID != b.ID {
				t.Errorf("outcome names send %d, want the one refused (%d)", outs[0].Send.ID, b.ID)
			}
			for i, id := range []int64{a.ID, b.ID} {
				if got := e.send(id).Status; got != c.statuses[i] {
					t.Errorf("send %d is %s, want %s", id, got, c.statuses[i])
				}
			}
		})
	}
}

func TestActUnsupportedAction(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.Act(t.Context(), e.acct, "start", []sending.Key{{ID: 1, HasID: true}}); !errors.Is(err, sending.ErrAction) {
		t.Fatalf("err = %v, want ErrAction", err)
	}
}
