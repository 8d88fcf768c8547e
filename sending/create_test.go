package sending_test

import (
	"errors"
	"testing"
	"time"

	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// TestCreateRules: Create's defaults and refusals, through the service.
func TestCreateRules(t *testing.T) {
	const oid = "6a0d2f80-2222-4000-8000-00000000c0de"
	valid := func(f func(*sending.NewSend)) sending.NewSend {
		n := sending.NewSend{EmailID: 1, HasEmail: true, ListIDs: []int64{1}, SendDate: now.Add(time.Hour), Origin: store.OriginSOAP}
		if f != nil {
			f(&n)
		}
		return n
	}
	cases := []struct {
		name  string
		in    sending.NewSend
		err   error
		check func(t *testing.T, s store.Send)
		due   bool
	}{
		{"defaults", valid(nil), nil, func(t *testing.T, s store.Send) {
			if s.Status != store.StatusScheduled || s.ObjectID == "" || !s.CreatedDate.Equal(now) || !s.SendDate.Equal(now.Add(time.Hour)) ||
				s.Origin != store.OriginSOAP || s.OriginID != "" {
				t.Errorf("created %+v", s)
			}
		}, false},
		{"no SendDate goes out at once", valid(func(n *sending.NewSend) { n.SendDate = time.Time{} }), nil, func(t *testing.T, s store.Send) {
			if !s.SendDate.Equal(now) {
				t.Errorf("SendDate %s, want now", s.SendDate)
			}
		}, true},
		{"a campaign's send names it", valid(func(n *sending.NewSend) { n.Origin, n.OriginID = store.OriginCampaign, "12" }), nil, func(t *testing.T, s store.Send) {
			if s.Origin != store.OriginCampaign || s.OriginID != "12" {
				t.Errorf("origin %q %q, want campaign 12", s.Origin, s.OriginID)
			}
		}, false},
		{"past SendDate is due", valid(func(n *sending.NewSend) { n.SendDate = now.Add(-time.Hour) }), nil, nil, true},
		{"a GUID ObjectID is kept, canonical", valid(func(n *sending.NewSend) { n.Key.ObjectID = "{6A0D2F80-2222-4000-8000-00000000C0DE}" }), nil, func(t *testing.T, s store.Send) {
			if s.ObjectID != oid {
				t.Errorf("ObjectID %s, want %s", s.ObjectID, oid)
			}
		}, false},
		{"a non-GUID ObjectID is replaced", valid(func(n *sending.NewSend) { n.Key.ObjectID = "mine" }), nil, func(t *testing.T, s store.Send) {
			if s.ObjectID == "mine" || s.ObjectID == "" {
				t.Errorf("ObjectID %q, want a new GUID", s.ObjectID)
			}
		}, false},
		{"body instead of an Email", valid(func(n *sending.NewSend) { n.HasEmail, n.Content.HTMLBody = false, "<p>hi</p>" }), nil, nil, false},
		{"recipients instead of a List", valid(func(n *sending.NewSend) {
			n.ListIDs, n.Content.Recipients = nil, []store.Recipient{{Address: "a@example.com"}}
		}), nil, nil, false},
		{"no Email", valid(func(n *sending.NewSend) { n.HasEmail = false }), sending.ErrEmailRequired, nil, false},
		{"no List", valid(func(n *sending.NewSend) { n.ListIDs = nil }), sending.ErrListRequired, nil, false},
		{"ID given", valid(func(n *sending.NewSend) { n.Key.ID, n.Key.HasID = 5, true }), sending.ErrIDGiven, nil, false},
		{"control character in CustomerKey", valid(func(n *sending.NewSend) { n.Key.CustomerKey = "a\nb" }), sending.ErrBadKey, nil, false},
		{"bidi override in ObjectID", valid(func(n *sending.NewSend) { n.Key.ObjectID = "a\u202eb" }), sending.ErrBadKey, nil, false},
		{"date past 9999", valid(func(n *sending.NewSend) { n.SendDate = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), sending.ErrBadDate, nil, false},
		{"bad key told before a missing Email", valid(func(n *sending.NewSend) { n.Key.CustomerKey, n.HasEmail = "\x1b", false }), sending.ErrBadKey, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			outs, err := e.svc.Create(t.Context(), e.acct, []sending.NewSend{c.in})
			if err != nil {
				t.Fatal(err)
			}
			o := outs[0]
			if !errors.Is(o.Err, c.err) || (c.err == nil) != (o.Err == nil) {
				t.Fatalf("err = %v, want %v", o.Err, c.err)
			}
			if o.Err == nil {
				stored := e.send(o.Send.ID)
				if stored.ObjectID != o.Send.ObjectID || stored.AccountID != e.acct {
					t.Errorf("stored %+v, answered %+v", stored, o.Send)
				}
				if c.check != nil {
					c.check(t, stored)
				}
			}
			if (e.dues > 0) != c.due {
				t.Errorf("OnDue raised %d times, want due=%v", e.dues, c.due)
			}
		})
	}
}

// TestCreateKeyTaken: a key already used in the account is refused with the
// key named; the same key in another account is not taken; the other
// NewSends of the call are still created.
func TestCreateKeyTaken(t *testing.T) {
	const oid = "6a0d2f80-2222-4000-8000-00000000aaaa"
	e := newEnv(t)
	e.insert(store.Send{CustomerKey: "spring", ObjectID: oid, Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})
	e.insert(store.Send{AccountID: e.other, CustomerKey: "theirs", Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})
	n := func(k sending.Key) sending.NewSend {
		return sending.NewSend{Key: k, EmailID: 1, HasEmail: true, ListIDs: []int64{1}, Origin: store.OriginSOAP}
	}
	outs, err := e.svc.Create(t.Context(), e.acct, []sending.NewSend{
		n(sending.Key{CustomerKey: "spring"}),
		n(sending.Key{ObjectID: oid}),
		n(sending.Key{CustomerKey: "theirs"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []*sending.KeyTakenError{{Object: "Send", Field: "CustomerKey", Value: "spring"}, {Object: "Send", Field: "ObjectID", Value: oid}, nil}
	for i, o := range outs {
		var kt *sending.KeyTakenError
		if want[i] == nil {
			if o.Err != nil {
				t.Errorf("%d: %v, want created", i, o.Err)
			}
			continue
		}
		if !errors.As(o.Err, &kt) || *kt != *want[i] || !errors.Is(o.Err, sending.ErrKeyTaken) {
			t.Errorf("%d: err = %v, want %+v", i, o.Err, want[i])
		}
	}
}

// TestCreateOriginRequired: a call with a NewSend whose origin is unknown,
// or whose OriginID does not fit it, is a caller's mistake: it fails whole
// and stores nothing.
func TestCreateOriginRequired(t *testing.T) {
	good := sending.NewSend{EmailID: 1, HasEmail: true, ListIDs: []int64{1}, SendDate: now.Add(time.Hour), Origin: store.OriginREST}
	cases := []struct {
		name   string
		origin store.Origin
		id     string
	}{
		{"none", store.OriginUnknown, ""},
		{"not an origin", "fax", ""},
		{"campaign without its ID", store.OriginCampaign, ""},
		{"Single Send without its ID", store.OriginSingleSend, ""},
		{"an ID for a SOAP send", store.OriginSOAP, "7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			bad := good
			bad.Origin, bad.OriginID = c.origin, c.id
			if outs, err := e.svc.Create(t.Context(), e.acct, []sending.NewSend{good, bad}); err == nil {
				t.Fatalf("Create = %+v, want an error", outs)
			}
			var n int
			if err := e.db.View(t.Context(), func(tx store.Tx) error {
				sends, err := tx.FindSends(t.Context(), e.acct, store.SendQuery{})
				n = len(sends)
				return err
			}); err != nil || n != 0 {
				t.Errorf("%d sends stored (%v), want none", n, err)
			}
		})
	}
}
