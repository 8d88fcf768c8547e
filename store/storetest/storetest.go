// Package storetest is the conformance suite for store.Store: the contract
// documented in package store, written once as tests, which every
// implementation (store/sqlite, later store/postgres) runs unchanged.
//
// An implementation's test calls Run with a function that opens a store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { … })
//	}
package storetest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerd/partnerd/store"
)

// Run runs the conformance suite against the stores open returns.
//
// open is called from within each subtest. Its first call with a given t
// must return a new, empty store; a later call with the same t must open
// the same database again (the durability tests Close a store and re-open
// it). open registers any clean-up with t.Cleanup and must tolerate the
// suite having closed the store already.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name string
		run  func(*testing.T, func(*testing.T) store.Store)
	}{
		{"Accounts", testAccounts},
		{"Users", testUsers},
		{"CredentialIsolation", testCredentialIsolation},
		{"RequestsByCredential", testRequestsByCredential},
		{"CredentialActions", testCredentialActions},
		{"Sends", testSends},
		{"Isolation", testIsolation},
		{"Filter", testFilter},
		{"Paging", testPaging},
		{"Origin", testOrigin},
		{"CountHeldSends", testCountHeldSends},
		{"Nonces", testNonces},
		{"RequestLog", testRequestLog},
		{"RequestLogBatch", testRequestLogBatch},
		{"SearchRequests", testSearchRequests},
		{"PruneRequests", testPruneRequests},
		{"Cursors", testCursors},
		{"Transactions", testTransactions},
		{"Durability", testDurability},
		{"Concurrency", testConcurrency},
		{"Races", testRaces},
		{"Queue", testQueue},
		{"SendContent", testSendContent},
		{"EmailSendDefinitions", testEmailSendDefinitions},
		{"DefinitionFilter", testDefinitionFilter},
		{"Batches", testBatches},
		{"APIKeys", testAPIKeys},
		{"Marketing", testMarketing},
		{"TokenClients", testTokenClients},
		{"Sessions", testSessions},
		{"OperatorActions", testRecordOperatorAction},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, open)
		})
	}
}

// base is the suite's "now". It has a millisecond part so that a store
// that drops sub-second precision fails.
var base = time.Date(2030, time.June, 1, 12, 0, 0, 123_000_000, time.UTC)

// at is base moved by d.
func at(d time.Duration) time.Time { return base.Add(d) }

func newAccount(t *testing.T, s store.Store, username string) store.Account {
	t.Helper()
	a := store.Account{
		Username:     username,
		ClientID:     7_000_000 + int64(len(username)),
		PasswordHash: "hash-of-" + username,
		CreatedAt:    base,
		UpdatedAt:    base,
	}
	if err := s.CreateAccount(t.Context(), &a); err != nil {
		t.Fatalf("CreateAccount(%q): %v", username, err)
	}
	return a
}

// newSend is a send of account with every field set to something that
// would show if it were stored in the wrong column.
func newSend(accountID int64, customerKey string) store.Send {
	return store.Send{
		AccountID:       accountID,
		ObjectID:        uuid.NewString(),
		CustomerKey:     customerKey,
		EmailID:         4242,
		EmailName:       "Email " + customerKey,
		Subject:         "Subject of " + customerKey,
		FromName:        "From Name",
		FromAddress:     "from@example.com",
		ListIDs:         []int64{11, 12, 13},
		SendDate:        at(time.Hour),
		Status:          store.StatusScheduled,
		NumberSent:      0,
		StatusChangedAt: at(-time.Hour),
		CreatedDate:     at(-2 * time.Hour),
		ModifiedDate:    at(-time.Hour),
	}
}

// insert stores sends in one Update and returns them with their IDs set.
func insert(t *testing.T, s store.Store, sends ...store.Send) []store.Send {
	t.Helper()
	err := s.Update(t.Context(), func(tx store.Tx) error {
		for i := range sends {
			if err := tx.InsertSend(t.Context(), &sends[i]); err != nil {
				return fmt.Errorf("send %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("InsertSend: %v", err)
	}
	return sends
}

// get reads one send by ID in a View.
func get(t *testing.T, s store.Store, accountID, id int64) (store.Send, error) {
	t.Helper()
	var got store.Send
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		got, err = tx.SendByKey(t.Context(), accountID, store.SendKey{ID: id})
		return err
	})
	return got, err
}

func mustGet(t *testing.T, s store.Store, accountID, id int64) store.Send {
	t.Helper()
	got, err := get(t, s, accountID, id)
	if err != nil {
		t.Fatalf("SendByKey(%d, ID %d): %v", accountID, id, err)
	}
	return got
}

func find(t *testing.T, s store.Store, accountID int64, q store.SendQuery) ([]store.Send, error) {
	t.Helper()
	var got []store.Send
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		got, err = tx.FindSends(t.Context(), accountID, q)
		return err
	})
	return got, err
}

func ids(sends []store.Send) []int64 {
	out := make([]int64, 0, len(sends))
	for _, s := range sends {
		out = append(out, s.ID)
	}
	return out
}

// sameTime is true when got is the instant want, returned in UTC, so that
// envelopes built from stored times are the same whatever the host's zone.
func sameTime(got, want time.Time) bool {
	return got.Equal(want) && got.Location() == time.UTC
}

// diffSend lists the fields in which got differs from want.
func diffSend(got, want store.Send) string {
	var d []string
	field := func(name string, equal bool, g, w any) {
		if !equal {
			d = append(d, fmt.Sprintf("%s: got %v, want %v", name, g, w))
		}
	}
	field("ID", got.ID == want.ID, got.ID, want.ID)
	field("AccountID", got.AccountID == want.AccountID, got.AccountID, want.AccountID)
	field("ObjectID", got.ObjectID == want.ObjectID, got.ObjectID, want.ObjectID)
	field("CustomerKey", got.CustomerKey == want.CustomerKey, got.CustomerKey, want.CustomerKey)
	field("EmailID", got.EmailID == want.EmailID, got.EmailID, want.EmailID)
	field("EmailName", got.EmailName == want.EmailName, got.EmailName, want.EmailName)
	field("Subject", got.Subject == want.Subject, got.Subject, want.Subject)
	field("FromName", got.FromName == want.FromName, got.FromName, want.FromName)
	field("FromAddress", got.FromAddress == want.FromAddress, got.FromAddress, want.FromAddress)
	field("ListIDs", slices.Equal(got.ListIDs, want.ListIDs), got.ListIDs, want.ListIDs)
	field("SendDate", sameTime(got.SendDate, want.SendDate), got.SendDate, want.SendDate)
	field("Status", got.Status == want.Status, got.Status, want.Status)
	field("SentDate", sameTime(got.SentDate, want.SentDate), got.SentDate, want.SentDate)
	field("NumberSent", got.NumberSent == want.NumberSent, got.NumberSent, want.NumberSent)
	field("StatusChangedAt", sameTime(got.StatusChangedAt, want.StatusChangedAt), got.StatusChangedAt, want.StatusChangedAt)
	field("CreatedDate", sameTime(got.CreatedDate, want.CreatedDate), got.CreatedDate, want.CreatedDate)
	field("ModifiedDate", sameTime(got.ModifiedDate, want.ModifiedDate), got.ModifiedDate, want.ModifiedDate)
	return strings.Join(d, "; ")
}

// fitsXSDInt is true for an ID a client can hold in an xsd:int.
func fitsXSDInt(id int64) bool { return id > 0 && id <= math.MaxInt32 }

// wantErr fails t unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}
