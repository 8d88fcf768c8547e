package sending_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// env is a Service over a real SQLite store in a temporary file, with a
// manual clock, and two accounts: acct (the caller) and other.
type env struct {
	t     *testing.T
	path  string
	db    store.Store
	clk   *clock.Manual
	svc   *sending.Service
	acct  int64
	other int64
	dues  int // how often OnDue was raised
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, name := testrig.OpenNamed(t, testrig.File("sending.db"))
	path := strings.TrimPrefix(name, "sqlite:") // for legacyCopy, which writes SQLite rows directly
	e := &env{t: t, path: path, db: db, clk: clock.NewManual(now)}
	for _, a := range []struct {
		name string
		id   *int64
	}{{"acct", &e.acct}, {"other", &e.other}} {
		acct := store.Account{Username: a.name, ClientID: 1001}
		if err := db.CreateAccount(t.Context(), &acct); err != nil {
			t.Fatal(err)
		}
		*a.id = acct.ID
	}
	e.svc = &sending.Service{Store: db, Clock: e.clk, Policy: lifecycle.DefaultPolicy, OnDue: func() { e.dues++ }}
	return e
}

// insert stores s for account (acct when zero) and returns it with its ID.
func (e *env) insert(s store.Send) store.Send {
	e.t.Helper()
	if s.AccountID == 0 {
		s.AccountID = e.acct
	}
	if s.EmailID == 0 {
		s.EmailID = 1
	}
	s.CreatedDate, s.ModifiedDate = now, now
	err := e.db.Update(e.t.Context(), func(tx store.Tx) error { return tx.InsertSend(e.t.Context(), &s) })
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) send(id int64) store.Send {
	e.t.Helper()
	return e.sendOf(e.acct, id)
}

// sendOf reads send id of account.
func (e *env) sendOf(account, id int64) store.Send {
	e.t.Helper()
	var s store.Send
	err := e.db.View(e.t.Context(), func(tx store.Tx) error {
		var err error
		s, err = tx.SendByKey(e.t.Context(), account, store.SendKey{ID: id})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// legacyCopy inserts a copy of send id in status, with its ObjectID, as a
// store written before ObjectIDs were unique holds it (the row as the
// migration numbers it), and returns the copy's ID.
func (e *env) legacyCopy(id int64, status store.SendStatus) int64 {
	e.t.Helper()
	if testrig.Backend(e.t) != "sqlite" {
		e.t.Skip("writes a legacy row into the SQLite file")
	}
	raw, err := sql.Open("sqlite3", "file:"+e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer raw.Close()
	res, err := raw.Exec(`INSERT INTO sends (account_id, object_id, email_id, list_ids, send_date, status, key_dup)
		SELECT account_id, object_id, email_id, list_ids, send_date, ?, 1 FROM sends WHERE id = ?`, status, id)
	if err != nil {
		e.t.Fatal(err)
	}
	n, err := res.LastInsertId()
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}
