package sending

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partnerd/partnerd/store"
)

// ErrCursorNotFound: no cursor of the account has the ID, or it expired.
var ErrCursorNotFound = errors.New("cursor not found")

// Query asks for one page of an account's sends.
type Query struct {
	Filter   store.Filter
	AfterID  int64 // the page starts after this send (a cursor's AfterID)
	PageSize int   // at most this many sends; must be positive
	// When more sends follow, a cursor is saved under CursorID (the
	// request's ID), valid for CursorTTL, holding State: the face's own
	// encoding of the query, read back through Cursor to continue. State
	// is called only then.
	CursorID  string
	CursorTTL time.Duration
	State     func() ([]byte, error)
}

// Page is one page of sends, ordered by ID.
type Page struct {
	Sends []store.Send
	More  bool // a cursor was saved: more sends follow
}

// Query reads one page of accountID's sends matching q. The page is read
// in a read-only transaction and the cursor, only when more sends follow,
// saved in a second one (a read must not queue behind the store's writer).
func (s *Service) Query(ctx context.Context, accountID int64, q Query) (Page, error) {
	if q.PageSize <= 0 {
		return Page{}, fmt.Errorf("sending: page size %d", q.PageSize)
	}
	var sends []store.Send
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		sends, err = tx.FindSends(ctx, accountID, store.SendQuery{Filter: q.Filter, AfterID: q.AfterID, Limit: q.PageSize + 1})
		return err
	})
	if err != nil {
		return Page{}, err
	}
	if len(sends) <= q.PageSize {
		return Page{Sends: sends}, nil
	}
	sends = sends[:q.PageSize]
	var state []byte
	if q.State != nil {
		if state, err = q.State(); err != nil {
			return Page{}, err
		}
	}
	c := store.Cursor{RequestID: q.CursorID, AccountID: accountID, Query: state,
		AfterID: sends[len(sends)-1].ID, Expires: s.Clock.Now().Add(q.CursorTTL)}
	if err := s.Store.Update(ctx, func(tx store.Tx) error { return tx.SaveCursor(ctx, c) }); err != nil {
		return Page{}, fmt.Errorf("save cursor: %w", err)
	}
	return Page{Sends: sends, More: true}, nil
}

// Cursor loads the cursor id of accountID to continue a Query from:
// ErrCursorNotFound when it is unknown, another account's, or expired.
func (s *Service) Cursor(ctx context.Context, accountID int64, id string) (store.Cursor, error) {
	var c store.Cursor
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.Cursor(ctx, accountID, id, s.Clock.Now())
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return c, ErrCursorNotFound
	}
	return c, err
}
