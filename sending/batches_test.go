package sending_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/partnerd/partnerd/dispatch"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// batch creates a batch of the caller's account through the service.
func (e *env) batch() sending.Batch {
	e.t.Helper()
	b, err := e.svc.CreateBatch(e.t.Context(), e.acct)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// setHoldRaw sets b's hold in the store directly, for a fixture whose
// sends are inserted in the statuses that hold gives them.
func (e *env) setHoldRaw(b sending.Batch, h sending.Hold) {
	e.t.Helper()
	from := b.Hold
	b.Hold, b.HoldChangedAt = h, now
	if err := e.db.Update(e.t.Context(), func(tx store.Tx) error { return tx.UpdateBatchHold(e.t.Context(), b, from) }); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) batchOf(id string) sending.Batch {
	e.t.Helper()
	b, err := e.svc.Batch(e.t.Context(), e.acct, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// dispatcher is a dispatcher over e's store and clock, delivering to the
// outbox.
func (e *env) dispatcher() *dispatch.Dispatcher {
	return dispatch.New(dispatch.Config{Store: e.db, Clock: e.clk, Policy: e.svc.Policy})
}

func (e *env) outbox() int {
	e.t.Helper()
	got, err := e.db.Outbox(e.t.Context(), store.OutboxQuery{AccountID: e.acct})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(got)
}

type fixtureSend struct {
	status store.SendStatus
	in     time.Duration // SendDate - now
}

// op is one call of the batch API.
type op struct {
	hold    sending.Hold // to set; "" with release
	replace bool         // PATCH rather than POST
	release bool         // DELETE
}

func (o op) String() string {
	switch {
	case o.release:
		return "DELETE"
	case o.replace:
		return "PATCH " + string(o.hold)
	}
	return "POST " + string(o.hold)
}

// TestBatchHolds: each hold call on a batch in each state: the error, the
// hold left, each send's status after, and whether the dispatcher was
// woken. A refused call changes nothing.
func TestBatchHolds(t *testing.T) {
	const (
		sch  = store.StatusScheduled
		pau  = store.StatusPaused
		can  = store.StatusCanceled
		cmp  = store.StatusComplete
		snd  = store.StatusSending
		exp  = store.StatusExpired
		hour = time.Hour
	)
	pause, cancel := sending.HoldPause, sending.HoldCancel
	cases := []struct {
		name    string
		hold    sending.Hold // the batch's hold before
		sends   []fixtureSend
		discard bool // run the queue's discard of due canceled sends first
		op      op
		err     error
		want    sending.Hold
		after   []store.SendStatus
		due     bool
	}{
		{"pause an empty batch", "", nil, false, op{hold: pause}, nil, pause, nil, false},
		{"cancel an empty batch", "", nil, false, op{hold: cancel}, nil, cancel, nil, false},
		{"pause: scheduled sends paused, sent ones kept", "", []fixtureSend{{sch, hour}, {sch, 2 * hour}, {cmp, -hour}}, false,
			op{hold: pause}, nil, pause, []store.SendStatus{pau, pau, cmp}, false},
		{"cancel: scheduled sends canceled", "", []fixtureSend{{sch, hour}, {exp, -100 * hour}}, false,
			op{hold: cancel}, nil, cancel, []store.SendStatus{can, exp}, false},
		{"pause inside the cutoff refused", "", []fixtureSend{{sch, hour}, {sch, 5 * time.Minute}}, false,
			op{hold: pause}, sending.ErrCutoff, "", []store.SendStatus{sch, sch}, false},
		{"cancel of a due send refused", "", []fixtureSend{{sch, -time.Minute}}, false,
			op{hold: cancel}, sending.ErrCutoff, "", []store.SendStatus{sch}, false},
		{"cancel while a send is going out refused", "", []fixtureSend{{sch, hour}, {snd, -time.Minute}}, false,
			op{hold: cancel}, sending.ErrCutoff, "", []store.SendStatus{sch, snd}, false},
		{"POST on a held batch", pause, []fixtureSend{{pau, hour}}, false,
			op{hold: cancel}, sending.ErrHoldExists, pause, []store.SendStatus{pau}, false},
		{"PATCH without a hold", "", []fixtureSend{{sch, hour}}, false,
			op{hold: cancel, replace: true}, sending.ErrNoHold, "", []store.SendStatus{sch}, false},
		{"PATCH pause to cancel", pause, []fixtureSend{{pau, hour}, {pau, -hour}}, false,
			op{hold: cancel, replace: true}, nil, cancel, []store.SendStatus{can, can}, false},
		{"PATCH cancel to pause: a discarded send stays discarded", cancel, []fixtureSend{{can, hour}, {can, -hour}}, true,
			op{hold: pause, replace: true}, nil, pause, []store.SendStatus{pau, can}, false},
		{"PATCH to the same hold", pause, []fixtureSend{{pau, hour}}, false,
			op{hold: pause, replace: true}, nil, pause, []store.SendStatus{pau}, false},
		{"bad hold", "", nil, false, op{hold: "stop"}, sending.ErrBadHold, "", nil, false},
		{"DELETE a pause: ahead, due at once, expired", pause, []fixtureSend{{pau, hour}, {pau, -hour}, {pau, -73 * hour}}, false,
			op{release: true}, nil, "", []store.SendStatus{sch, sch, exp}, true},
		{"DELETE a pause, nothing due", pause, []fixtureSend{{pau, hour}}, false,
			op{release: true}, nil, "", []store.SendStatus{sch}, false},
		{"DELETE a cancel: ahead resumes, passed stays discarded", cancel, []fixtureSend{{can, hour}, {can, -hour}}, true,
			op{release: true}, nil, "", []store.SendStatus{sch, can}, false},
		{"DELETE without a hold", "", []fixtureSend{{sch, hour}}, false,
			op{release: true}, sending.ErrNoHold, "", []store.SendStatus{sch}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.batch()
			if c.hold != "" {
				e.setHoldRaw(b, c.hold)
			}
			var ids []int64
			for _, f := range c.sends {
				ids = append(ids, e.insert(store.Send{BatchID: b.ID, Status: f.status, SendDate: now.Add(f.in)}).ID)
			}
			if c.discard {
				if _, err := e.db.DiscardCanceledSends(t.Context(), now); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			if c.op.release {
				err = e.svc.ReleaseHold(t.Context(), e.acct, b.ID)
			} else {
				var got sending.Batch
				got, err = e.svc.SetHold(t.Context(), e.acct, b.ID, c.op.hold, c.op.replace)
				if err == nil && (got.ID != b.ID || got.Hold != c.want) {
					t.Errorf("%s answered %+v, want batch %s held %q", c.op, got, b.ID, c.want)
				}
			}
			if !errors.Is(err, c.err) || (err == nil) != (c.err == nil) {
				t.Fatalf("%s: err = %v, want %v", c.op, err, c.err)
			}
			if got := e.batchOf(b.ID); got.Hold != c.want {
				t.Errorf("hold after %s = %q, want %q", c.op, got.Hold, c.want)
			}
			for i, id := range ids {
				if got := e.send(id).Status; got != c.after[i] {
					t.Errorf("send %d (%s, %v) after %s: %s, want %s", i, c.sends[i].status, c.sends[i].in, c.op, got, c.after[i])
				}
			}
			if (e.dues > 0) != c.due {
				t.Errorf("OnDue raised %d times, want due %v", e.dues, c.due)
			}
		})
	}
}

// TestBatchUnknown: another account's batch, and an unknown one, are
// ErrBatchNotFound for every call.
func TestBatchUnknown(t *testing.T) {
	e := newEnv(t)
	theirs, err := e.svc.CreateBatch(t.Context(), e.other)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{theirs.ID, "HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi", ""} {
		calls := map[string]error{}
		_, calls["Batch"] = e.svc.Batch(t.Context(), e.acct, id)
		_, calls["SetHold"] = e.svc.SetHold(t.Context(), e.acct, id, sending.HoldPause, false)
		_, calls["SetHold replace"] = e.svc.SetHold(t.Context(), e.acct, id, sending.HoldCancel, true)
		calls["ReleaseHold"] = e.svc.ReleaseHold(t.Context(), e.acct, id)
		for name, err := range calls {
			if !errors.Is(err, sending.ErrBatchNotFound) || !sending.IsRule(err) {
				t.Errorf("%s(%q): %v, want ErrBatchNotFound", name, id, err)
			}
		}
	}
	if got, err := e.svc.Batch(t.Context(), e.other, theirs.ID); err != nil || got.ID != theirs.ID || got.AccountID != e.other || !got.Created.Equal(now) {
		t.Errorf("the owner's Batch = %+v, %v", got, err)
	}
}

// TestCreateIntoBatch: a send created into a batch starts under its hold;
// one created without a batch gets its own; an unknown batch fails only
// that send.
func TestCreateIntoBatch(t *testing.T) {
	e := newEnv(t)
	paused, canceled, open := e.batch(), e.batch(), e.batch()
	if _, err := e.svc.SetHold(t.Context(), e.acct, paused.ID, sending.HoldPause, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetHold(t.Context(), e.acct, canceled.ID, sending.HoldCancel, false); err != nil {
		t.Fatal(err)
	}
	theirs, err := e.svc.CreateBatch(t.Context(), e.other)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		batch  string
		date   time.Time
		status store.SendStatus
		err    error
	}{
		{"into a paused batch", paused.ID, now.Add(time.Hour), store.StatusPaused, nil},
		{"into a paused batch, send now", paused.ID, time.Time{}, store.StatusPaused, nil},
		{"into a canceled batch", canceled.ID, now.Add(time.Hour), store.StatusCanceled, nil},
		{"into an open batch", open.ID, now.Add(time.Hour), store.StatusScheduled, nil},
		{"a batch of its own", "", now.Add(time.Hour), store.StatusScheduled, nil},
		{"another account's batch", theirs.ID, now.Add(time.Hour), "", sending.ErrBatchNotFound},
		{"an unknown batch", "nope", now.Add(time.Hour), "", sending.ErrBatchNotFound},
	}
	var in []sending.NewSend
	for _, c := range cases {
		in = append(in, sending.NewSend{EmailID: 1, HasEmail: true, ListIDs: []int64{1}, SendDate: c.date, BatchID: c.batch, Origin: store.OriginREST})
	}
	outs, err := e.svc.Create(t.Context(), e.acct, in)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		o := outs[i]
		if !errors.Is(o.Err, c.err) || (o.Err == nil) != (c.err == nil) {
			t.Errorf("%s: err = %v, want %v", c.name, o.Err, c.err)
			continue
		}
		if c.err != nil {
			continue
		}
		got := e.send(o.Send.ID)
		if got.Status != c.status || o.Send.Status != c.status {
			t.Errorf("%s: status %s (answered %s), want %s", c.name, got.Status, o.Send.Status, c.status)
		}
		switch {
		case c.batch != "" && got.BatchID != c.batch:
			t.Errorf("%s: in batch %q, want %q", c.name, got.BatchID, c.batch)
		case c.batch == "" && (got.BatchID == "" || got.BatchID == paused.ID || got.BatchID == canceled.ID || got.BatchID == open.ID):
			t.Errorf("%s: in batch %q, want one of its own", c.name, got.BatchID)
		}
		if o.Send.BatchID != got.BatchID {
			t.Errorf("%s: answered batch %q, stored %q", c.name, o.Send.BatchID, got.BatchID)
		}
	}
	// Nothing created is due now: the send without a SendDate is paused.
	if e.dues != 0 {
		t.Errorf("OnDue raised %d times, want 0", e.dues)
	}
}

// TestHeldLimitCountsBatches: the limit counts batches, however many sends
// each holds; a single SOAP send is a batch of its own.
func TestHeldLimitCountsBatches(t *testing.T) {
	e := newEnv(t)
	e.svc.Policy.HeldLimit = 2
	big, next := e.batch(), e.batch()
	for range 3 {
		e.insert(store.Send{BatchID: big.ID, Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})
	}
	e.insert(store.Send{BatchID: next.ID, Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})
	single := e.insert(store.Send{Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})
	other := e.insert(store.Send{Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})

	steps := []struct {
		name string
		do   func() error
		err  error
	}{
		{"pause a batch of three: one held", func() error {
			_, err := e.svc.SetHold(t.Context(), e.acct, big.ID, sending.HoldPause, false)
			return err
		}, nil},
		{"SOAP pause of a single send: two held", func() error { return e.act(lifecycle.Pause, single.ID) }, nil},
		{"a third batch is over the limit", func() error {
			_, err := e.svc.SetHold(t.Context(), e.acct, next.ID, sending.HoldCancel, false)
			return err
		}, sending.ErrHeldLimit},
		{"so is a third SOAP send", func() error { return e.act(lifecycle.Cancel, other.ID) }, sending.ErrHeldLimit},
		{"changing a held batch's hold adds none", func() error {
			_, err := e.svc.SetHold(t.Context(), e.acct, big.ID, sending.HoldCancel, true)
			return err
		}, nil},
		{"SOAP cancel of the paused single send adds none", func() error { return e.act(lifecycle.Cancel, single.ID) }, nil},
		{"releasing the batch of three frees a slot", func() error { return e.svc.ReleaseHold(t.Context(), e.acct, big.ID) }, nil},
		{"which the next batch takes", func() error {
			_, err := e.svc.SetHold(t.Context(), e.acct, next.ID, sending.HoldPause, false)
			return err
		}, nil},
	}
	for _, s := range steps {
		if err := s.do(); !errors.Is(err, s.err) || (err == nil) != (s.err == nil) {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.err)
		}
	}
}

// act applies action to send id over the SOAP path and answers its
// outcome's error.
func (e *env) act(action lifecycle.Action, id int64) error {
	e.t.Helper()
	outs, err := e.svc.Act(e.t.Context(), e.acct, action, []sending.Key{{ID: id, HasID: true}})
	if err != nil {
		e.t.Fatal(err)
	}
	return outs[0].Err
}

// TestSOAPActionShowsOnItsBatch: a SOAP pause, cancel or resume of a send
// alone in its batch is that batch's hold over REST; a send sharing its
// batch leaves the batch's hold alone.
func TestSOAPActionShowsOnItsBatch(t *testing.T) {
	e := newEnv(t)
	single := e.insert(store.Send{Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})
	shared := e.batch()
	a := e.insert(store.Send{BatchID: shared.ID, Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})
	e.insert(store.Send{BatchID: shared.ID, Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})

	steps := []struct {
		action lifecycle.Action
		id     int64
		batch  string
		want   sending.Hold
	}{
		{lifecycle.Pause, single.ID, single.BatchID, sending.HoldPause},
		{lifecycle.Resume, single.ID, single.BatchID, sending.HoldNone},
		{lifecycle.Pause, single.ID, single.BatchID, sending.HoldPause},
		{lifecycle.Cancel, single.ID, single.BatchID, sending.HoldCancel},
		{lifecycle.Pause, a.ID, shared.ID, sending.HoldNone},
	}
	for i, s := range steps {
		if err := e.act(s.action, s.id); err != nil {
			t.Fatalf("step %d: %s send %d: %v", i, s.action, s.id, err)
		}
		if got := e.batchOf(s.batch).Hold; got != s.want {
			t.Errorf("step %d: after %s of send %d its batch is held %q, want %q", i, s.action, s.id, got, s.want)
		}
	}
	held, err := e.svc.HeldBatches(t.Context(), e.acct)
	if err != nil || len(held) != 1 || held[0].ID != single.BatchID || held[0].Hold != sending.HoldCancel {
		t.Errorf("HeldBatches = %+v, %v; want only %s, canceled", held, err, single.BatchID)
	}
	// And back: a DELETE over REST of the SOAP-canceled send's batch
	// resumes it, as its SendDate is ahead.
	if err := e.svc.ReleaseHold(t.Context(), e.acct, single.BatchID); err != nil {
		t.Fatal(err)
	}
	if got := e.send(single.ID).Status; got != store.StatusScheduled {
		t.Errorf("after DELETE the SOAP-canceled send is %s, want Scheduled", got)
	}
}

// TestBatchOverTime walks a manual clock with the dispatcher running at
// each step: a paused batch held past its time and expired after 72 h, a
// canceled batch discarded at its time and never sent, a paused batch
// resumed by DELETE after its time and sent at once.
func TestBatchOverTime(t *testing.T) {
	type step struct {
		advance time.Duration
		do      func(e *env, b sending.Batch) error
		want    store.SendStatus // every send of the batch
		outbox  int
	}
	hold := func(h sending.Hold) func(*env, sending.Batch) error {
		return func(e *env, b sending.Batch) error {
			_, err := e.svc.SetHold(e.t.Context(), e.acct, b.ID, h, false)
			return err
		}
	}
	release := func(e *env, b sending.Batch) error { return e.svc.ReleaseHold(e.t.Context(), e.acct, b.ID) }
	cases := []struct {
		name  string
		steps []step
	}{
		{"paused batch expires after 72 h", []step{
			{0, hold(sending.HoldPause), store.StatusPaused, 0},
			{2 * time.Hour, nil, store.StatusPaused, 0},            // held past its SendDate
			{70 * time.Hour, nil, store.StatusPaused, 0},           // 71 h past it
			{time.Hour + time.Second, nil, store.StatusExpired, 0}, // 72 h and a second past it
			{0, release, store.StatusExpired, 0},                   // a DELETE cannot bring it back
		}},
		{"canceled batch discarded at its time", []step{
			{0, hold(sending.HoldCancel), store.StatusCanceled, 0},
			{time.Hour, nil, store.StatusCanceled, 0},
			{0, release, store.StatusCanceled, 0}, // discarded: stays so
			{time.Hour, nil, store.StatusCanceled, 0},
		}},
		{"DELETE after its time sends at once", []step{
			{0, hold(sending.HoldPause), store.StatusPaused, 0},
			{3 * time.Hour, nil, store.StatusPaused, 0},
			{0, release, store.StatusComplete, 2},
		}},
		{"DELETE before its time sends at its time", []step{
			{0, hold(sending.HoldCancel), store.StatusCanceled, 0},
			{30 * time.Minute, release, store.StatusScheduled, 0},
			{30 * time.Minute, nil, store.StatusComplete, 2},
		}},
		{"a hold inside the cutoff is refused and the batch goes out", []step{
			{55 * time.Minute, func(e *env, b sending.Batch) error {
				_, err := e.svc.SetHold(e.t.Context(), e.acct, b.ID, sending.HoldCancel, false)
				if !errors.Is(err, sending.ErrCutoff) {
					return fmt.Errorf("cancel 5 minutes before: %v, want ErrCutoff", err)
				}
				return nil
			}, store.StatusScheduled, 0},
			{5 * time.Minute, nil, store.StatusComplete, 2},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.dispatcher()
			e.svc.OnDue = func() {
				if _, err := d.RunDue(t.Context()); err != nil {
					t.Error(err)
				}
			}
			b := e.batch()
			in := []sending.NewSend{
				{EmailID: 1, HasEmail: true, ListIDs: []int64{1}, SendDate: now.Add(time.Hour), BatchID: b.ID, Origin: store.OriginREST},
				{EmailID: 1, HasEmail: true, ListIDs: []int64{1}, SendDate: now.Add(time.Hour), BatchID: b.ID, Origin: store.OriginREST},
			}
			outs, err := e.svc.Create(t.Context(), e.acct, in)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range c.steps {
				e.clk.Advance(s.advance)
				if s.do != nil {
					if err := s.do(e, b); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				}
				if _, err := d.RunDue(t.Context()); err != nil {
					t.Fatal(err)
				}
				for _, o := range outs {
					if got := e.send(o.Send.ID).Status; got != s.want {
						t.Errorf("step %d (at +%v): send %d is %s, want %s", i, e.clk.Now().Sub(now), o.Send.ID, got, s.want)
					}
				}
				if got := e.outbox(); got != s.outbox {
					t.Errorf("step %d: outbox holds %d, want %d", i, got, s.outbox)
				}
			}
		})
	}
}
