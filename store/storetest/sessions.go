package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

func sessionHash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// testSessions checks store.SessionStore, for stores that implement it.
func testSessions(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	ss, ok := s.(store.SessionStore)
	if !ok {
		t.Skip("the store keeps no console sessions (store.SessionStore)")
	}
	ctx := t.Context()
	alice := store.Session{IDHash: sessionHash("a1"), AccountID: 7, Actor: "alice", CSRF: "c1", PasswordStamp: "p1",
		Created: base, Expires: at(time.Hour)}
	alice2 := store.Session{IDHash: sessionHash("a2"), AccountID: 7, Actor: "alice", CSRF: "c2", Created: base, Expires: at(time.Hour)}
	op := store.Session{IDHash: sessionHash("op"), AccountID: 0, Actor: "operator", CSRF: "c3", Created: base, Expires: at(time.Minute)}
	for _, x := range []store.Session{alice, alice2, op} {
		if err := ss.CreateSession(ctx, x); err != nil {
			t.Fatalf("CreateSession %s: %v", x.CSRF, err)
		}
	}
	if err := ss.CreateSession(ctx, alice); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateSession of a taken ID: %v, want ErrExists", err)
	}
	got, err := ss.SessionByHash(ctx, alice.IDHash, at(time.Second))
	if err != nil {
		t.Fatalf("SessionByHash: %v", err)
	}
	if !bytes.Equal(got.IDHash, alice.IDHash) || got.AccountID != 7 || got.Actor != "alice" || got.CSRF != "c1" ||
		got.PasswordStamp != "p1" || !sameTime(got.Created, base) || !sameTime(got.Expires, at(time.Hour)) {
		t.Errorf("SessionByHash = %+v, want %+v", got, alice)
	}
	if _, err := ss.SessionByHash(ctx, sessionHash("nope"), at(time.Second)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown session: %v, want ErrNotFound", err)
	}
	// Expired at its Expires, not a microsecond later.
	if _, err := ss.SessionByHash(ctx, op.IDHash, at(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired session: %v, want ErrNotFound", err)
	}
	if _, err := ss.SessionByHash(ctx, op.IDHash, at(time.Minute-time.Microsecond)); err != nil {
		t.Errorf("session just before its expiry: %v", err)
	}
	// Deleting one session leaves the account's other.
	if err := ss.DeleteSession(ctx, alice.IDHash); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if err := ss.DeleteSession(ctx, alice.IDHash); err != nil {
		t.Errorf("DeleteSession again: %v, want nil", err)
	}
	if _, err := ss.SessionByHash(ctx, alice.IDHash, at(time.Second)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted session: %v, want ErrNotFound", err)
	}
	if _, err := ss.SessionByHash(ctx, alice2.IDHash, at(time.Second)); err != nil {
		t.Errorf("the account's other session: %v", err)
	}
	// Ending an account's sessions leaves the operator's.
	if n, err := ss.DeleteAccountSessions(ctx, 7); err != nil || n != 1 {
		t.Errorf("DeleteAccountSessions = %d, %v; want 1", n, err)
	}
	if _, err := ss.SessionByHash(ctx, alice2.IDHash, at(time.Second)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session of an ended account: %v, want ErrNotFound", err)
	}
	if _, err := ss.SessionByHash(ctx, op.IDHash, at(time.Second)); err != nil {
		t.Errorf("operator session after another account's were ended: %v", err)
	}
}

// testRecordOperatorAction checks Store.RecordOperatorAction: recorded
// actions are listed by OperatorActions.
func testRecordOperatorAction(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	r := s
	ctx := t.Context()
	a := store.OperatorAction{Action: "cancel", AccountID: 3, Actor: "console:alice", Detail: "send 12", Count: 1, At: base}
	if err := r.RecordOperatorAction(ctx, &a); err != nil || a.ID == 0 {
		t.Fatalf("RecordOperatorAction: id %d, %v", a.ID, err)
	}
	b := store.OperatorAction{Action: "pause", AccountID: 4, Actor: "console:operator", Detail: "batch x", At: at(time.Second)}
	if err := r.RecordOperatorAction(ctx, &b); err != nil {
		t.Fatalf("RecordOperatorAction: %v", err)
	}
	if err := r.RecordOperatorAction(ctx, &store.OperatorAction{}); err == nil {
		t.Error("RecordOperatorAction without an action: no error")
	}
	got, err := s.OperatorActions(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != b.ID || got[1].ID != a.ID {
		t.Fatalf("OperatorActions = %+v, want b then a", got)
	}
	g := got[1]
	if g.Action != "cancel" || g.AccountID != 3 || g.Actor != "console:alice" || g.Detail != "send 12" || g.Count != 1 || !sameTime(g.At, base) {
		t.Errorf("recorded %+v, want %+v", g, a)
	}
}
