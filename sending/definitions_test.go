package sending_test

import (
	"errors"
	"testing"
	"time"

	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// TestCreateDefinitionRules: a definition's defaults and refusals.
func TestCreateDefinitionRules(t *testing.T) {
	def := func(f func(*sending.NewDefinition)) sending.NewDefinition {
		d := sending.NewDefinition{EmailSendDefinition: store.EmailSendDefinition{Name: "welcome", EmailID: 1, ListIDs: []int64{1}}}
		if f != nil {
			f(&d)
		}
		return d
	}
	cases := []struct {
		name string
		in   sending.NewDefinition
		err  error
	}{
		{"valid", def(nil), nil},
		{"no Email", def(func(d *sending.NewDefinition) { d.EmailID = 0 }), sending.ErrEmailRequired},
		{"body instead of an Email", def(func(d *sending.NewDefinition) { d.EmailID, d.Content.TextBody = 0, "hi" }), nil},
		{"no List", def(func(d *sending.NewDefinition) { d.ListIDs = nil }), sending.ErrListRequired},
		{"ID given", def(func(d *sending.NewDefinition) { d.IDGiven = true }), sending.ErrIDGiven},
		{"control character in CustomerKey", def(func(d *sending.NewDefinition) { d.CustomerKey = "a\rb" }), sending.ErrBadKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			outs, err := e.svc.CreateDefinitions(t.Context(), e.acct, []sending.NewDefinition{c.in})
			if err != nil {
				t.Fatal(err)
			}
			o := outs[0]
			if !errors.Is(o.Err, c.err) || (c.err == nil) != (o.Err == nil) {
				t.Fatalf("err = %v, want %v", o.Err, c.err)
			}
			if o.Err == nil && (o.Definition.ID == 0 || o.Definition.CustomerKey != o.Definition.ObjectID || o.Definition.AccountID != e.acct) {
				t.Errorf("created %+v: want an ID, and the ObjectID as CustomerKey", o.Definition)
			}
		})
	}
}

// TestDefinitionLifecycle: create, a taken key, start (now, overridden
// sender), schedule (a later date), another account's definition, delete.
func TestDefinitionLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	mk := func(account int64, key string) store.EmailSendDefinition {
		t.Helper()
		outs, err := e.svc.CreateDefinitions(ctx, account, []sending.NewDefinition{{EmailSendDefinition: store.EmailSendDefinition{
			CustomerKey: key, Name: "welcome", EmailID: 7, ListIDs: []int64{3}, EmailSubject: "Hello", FromName: "Shop", FromAddress: "shop@example.com"}}})
		if err != nil || outs[0].Err != nil {
			t.Fatalf("CreateDefinitions: %v, %v", err, outs[0].Err)
		}
		return outs[0].Definition
	}
	d := mk(e.acct, "welcome")
	mk(e.other, "theirs")
	outs, err := e.svc.CreateDefinitions(ctx, e.acct, []sending.NewDefinition{{EmailSendDefinition: store.EmailSendDefinition{CustomerKey: "welcome", EmailID: 1, ListIDs: []int64{1}}}})
	var kt *sending.KeyTakenError
	if err != nil || !errors.As(outs[0].Err, &kt) || kt.Object != "EmailSendDefinition" || kt.Value != "welcome" {
		t.Fatalf("taken key: %v, %v", err, outs[0].Err)
	}

	later := now.Add(24 * time.Hour)
	started, err := e.svc.StartDefinitions(ctx, e.acct, []sending.Start{
		{Key: sending.Key{CustomerKey: "welcome"}, FromName: "Other"},
		{Key: sending.Key{ID: d.ID, HasID: true}, SendDate: later},
		{Key: sending.Key{CustomerKey: "theirs"}},
		{},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantErr := []error{nil, nil, sending.ErrDefinitionNotFound, sending.ErrDefinitionKeyMissing}
	for i, o := range started {
		if !errors.Is(o.Err, wantErr[i]) || (wantErr[i] == nil) != (o.Err == nil) {
			t.Errorf("start %d: err = %v, want %v", i, o.Err, wantErr[i])
		}
	}
	now0, sched := e.send(started[0].Send.ID), e.send(started[1].Send.ID)
	if !now0.SendDate.Equal(now) || now0.FromName != "Other" || now0.FromAddress != "shop@example.com" ||
		now0.EmailID != 7 || now0.Subject != "Hello" || now0.EmailName != "welcome" || now0.Status != store.StatusScheduled {
		t.Errorf("started now: %+v", now0)
	}
	for _, s := range []store.Send{now0, sched} {
		if s.Origin != store.OriginDefinition || s.OriginID != "" {
			t.Errorf("send %d started from a definition: origin %q %q", s.ID, s.Origin, s.OriginID)
		}
	}
	if !sched.SendDate.Equal(later) || sched.FromName != "Shop" {
		t.Errorf("scheduled: %+v", sched)
	}
	if e.dues != 1 {
		t.Errorf("OnDue raised %d times, want once (for the start due now)", e.dues)
	}

	deleted, err := e.svc.DeleteDefinitions(ctx, e.acct, []sending.Key{{ObjectID: d.ObjectID}, {CustomerKey: "welcome"}, {CustomerKey: "theirs"}, {}})
	if err != nil {
		t.Fatal(err)
	}
	wantErr = []error{nil, sending.ErrDefinitionNotFound, sending.ErrDefinitionNotFound, sending.ErrKeyMissing}
	for i, o := range deleted {
		if !errors.Is(o.Err, wantErr[i]) || (wantErr[i] == nil) != (o.Err == nil) {
			t.Errorf("delete %d: err = %v, want %v", i, o.Err, wantErr[i])
		}
	}
	if deleted[0].Definition.ID != d.ID {
		t.Errorf("deleted %+v, want definition %d", deleted[0].Definition, d.ID)
	}
	if s := e.send(started[1].Send.ID); s.Status != store.StatusScheduled {
		t.Errorf("a send started from a deleted definition is %s, want kept Scheduled", s.Status)
	}
}
