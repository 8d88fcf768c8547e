package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// testOrigin: a send keeps the origin it was inserted with through every
// read and every change, and a filter on it pages by ID within one
// account.
func testOrigin(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	acct := newAccount(t, s, "acct")
	other := newAccount(t, s, "other")

	origins := append([]store.Origin{store.OriginUnknown}, store.Origins...)
	var in []store.Send
	for i, o := range origins {
		x := newSend(acct.ID, "o"+string(rune('a'+i)))
		x.Origin = o
		if o == store.OriginCampaign || o == store.OriginSingleSend {
			x.OriginID = "owner-" + string(o)
		}
		in = append(in, x)
	}
	sends := insert(t, s, in...)

	t.Run("read back", func(t *testing.T) {
		for i, want := range sends {
			got := mustGet(t, s, acct.ID, want.ID)
			if got.Origin != origins[i] || got.OriginID != want.OriginID {
				t.Errorf("send %d: origin %q %q, want %q %q", want.ID, got.Origin, got.OriginID, origins[i], want.OriginID)
			}
		}
		batch := mustBatchSends(t, s, acct.ID, sends[1].BatchID)
		if len(batch) != 1 || batch[0].Origin != sends[1].Origin {
			t.Errorf("SendsOfBatch: %+v, want the send of origin %q", batch, sends[1].Origin)
		}
	})

	t.Run("kept through a status change and a claim", func(t *testing.T) {
		c := sends[4] // campaign
		changed := c
		changed.Status, changed.StatusChangedAt, changed.ModifiedDate = store.StatusPaused, at(time.Minute), at(time.Minute)
		changed.Origin, changed.OriginID = store.OriginSOAP, "" // not a mutable field: ignored
		if err := s.Update(t.Context(), func(tx store.Tx) error {
			return tx.UpdateSendFrom(t.Context(), changed, store.StatusScheduled)
		}); err != nil {
			t.Fatalf("UpdateSendFrom: %v", err)
		}
		if got := mustGet(t, s, acct.ID, c.ID); got.Origin != store.OriginCampaign || got.OriginID != c.OriginID {
			t.Errorf("after an update: origin %q %q, want %q %q", got.Origin, got.OriginID, store.OriginCampaign, c.OriginID)
		}
		claimed := claim(t, s, at(2*time.Hour), "origin", 100)
		for _, cs := range claimed {
			i := slices.IndexFunc(sends, func(x store.Send) bool { return x.ID == cs.ID })
			if i < 0 {
				continue
			}
			if cs.Origin != origins[i] || cs.OriginID != sends[i].OriginID {
				t.Errorf("claimed send %d: origin %q %q, want %q %q", cs.ID, cs.Origin, cs.OriginID, origins[i], sends[i].OriginID)
			}
		}
		if len(claimed) == 0 {
			t.Error("nothing claimed: the claim's columns went untested")
		}
	})

	t.Run("filter", func(t *testing.T) {
		// More sends of one origin than a page, interleaved with others,
		// and another account's of the same origin.
		var more []store.Send
		for i := range 7 {
			x := newSend(acct.ID, "")
			x.Origin = store.OriginREST
			if i%2 == 1 {
				x.Origin = store.OriginSOAP
			}
			more = append(more, x)
		}
		decoy := newSend(other.ID, "")
		decoy.Origin = store.OriginREST
		more = append(more, decoy)
		more = insert(t, s, more...)
		var rest []int64
		for _, x := range append(sends, more...) {
			if x.Origin == store.OriginREST && x.AccountID == acct.ID {
				rest = append(rest, x.ID)
			}
		}
		byOrigin := func(o store.Origin) store.Filter { return cond(store.FieldOrigin, store.OpEquals, string(o)) }

		// Page through the REST sends three at a time.
		var paged []int64
		after := int64(0)
		for range 10 {
			got, err := find(t, s, acct.ID, store.SendQuery{Filter: byOrigin(store.OriginREST), AfterID: after, Limit: 3})
			if err != nil {
				t.Fatalf("FindSends: %v", err)
			}
			if len(got) == 0 {
				break
			}
			paged = append(paged, ids(got)...)
			after = got[len(got)-1].ID
		}
		if !slices.Equal(paged, rest) {
			t.Errorf("paged by origin rest: %v, want %v", paged, rest)
		}

		cases := []struct {
			name   string
			filter store.Filter
			want   []int64
		}{
			{"campaign", byOrigin(store.OriginCampaign), []int64{sends[4].ID}},
			{"unknown is the empty string", byOrigin(store.OriginUnknown), []int64{sends[0].ID}},
			{"unknown is unset", cond(store.FieldOrigin, store.OpIsNull), []int64{sends[0].ID}},
			{"in", cond(store.FieldOrigin, store.OpIn, string(store.OriginDefinition), string(store.OriginSingleSend)),
				[]int64{sends[2].ID, sends[5].ID}},
			{"with status", &store.And{Left: byOrigin(store.OriginCampaign), Right: cond(store.FieldStatus, store.OpEquals, string(store.StatusScheduled))}, nil},
		}
		for _, c := range cases {
			got, err := find(t, s, acct.ID, store.SendQuery{Filter: c.filter})
			if err != nil {
				t.Fatalf("%s: FindSends: %v", c.name, err)
			}
			if !slices.Equal(ids(got), c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Errorf("%s: %v, want %v", c.name, ids(got), c.want)
			}
		}
	})
}

func mustBatchSends(t *testing.T, s store.Store, accountID int64, batchID string) []store.Send {
	t.Helper()
	var got []store.Send
	if err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		got, err = tx.SendsOfBatch(t.Context(), accountID, batchID, 10)
		return err
	}); err != nil {
		t.Fatalf("SendsOfBatch: %v", err)
	}
	return got
}
