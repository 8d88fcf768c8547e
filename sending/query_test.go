package sending_test

import (
	"errors"
	"testing"
	"time"

	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// TestQueryPaging: pages of the account's sends only, a cursor saved (with
// the face's state) only when more follow, continued by its AfterID,
// unknown to another account and gone once expired.
func TestQueryPaging(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	for range 5 {
		e.insert(store.Send{Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})
	}
	e.insert(store.Send{AccountID: e.other, Status: store.StatusScheduled, SendDate: now.Add(time.Hour)})
	q := sending.Query{PageSize: 2, CursorID: "req-1", CursorTTL: time.Hour, State: func() ([]byte, error) { return []byte(`{"f":1}`), nil }}
	var got []int64
	for page := 0; ; page++ {
		p, err := e.svc.Query(ctx, e.acct, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Sends {
			if s.AccountID != e.acct {
				t.Fatalf("send %d of account %d in the page", s.ID, s.AccountID)
			}
			got = append(got, s.ID)
		}
		if !p.More {
			break
		}
		c, err := e.svc.Cursor(ctx, e.acct, q.CursorID)
		if err != nil || string(c.Query) != `{"f":1}` || c.AfterID != p.Sends[len(p.Sends)-1].ID {
			t.Fatalf("cursor after page %d: %+v, %v", page, c, err)
		}
		if _, err := e.svc.Cursor(ctx, e.other, q.CursorID); !errors.Is(err, sending.ErrCursorNotFound) {
			t.Errorf("another account's cursor: %v, want ErrCursorNotFound", err)
		}
		q.AfterID = c.AfterID
		q.CursorID = "req-" + string(rune('2'+page))
	}
	if len(got) != 5 {
		t.Errorf("pages held %v, want the account's 5 sends", got)
	}
	e.clk.Advance(2 * time.Hour)
	if _, err := e.svc.Cursor(ctx, e.acct, "req-1"); !errors.Is(err, sending.ErrCursorNotFound) {
		t.Errorf("expired cursor: %v, want ErrCursorNotFound", err)
	}
}
