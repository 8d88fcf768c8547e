package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store"
)

// hostile holds what a client can put in a logged or stored string to
// act on the terminal of whoever reads it: clear the screen, set the
// window title, ring the bell, a raw CSI (C1), a bidi override, a byte
// that is not UTF-8, and a line feed and tab to forge rows and columns.
const hostile = "\x1b[2J\x1b]0;owned\x07 \u009b31m \u202eevil \xff x\ny\tz"

// terminalBytes are the raw bytes none of the CLI's output may carry.
var terminalBytes = []string{"\x1b", "\x07", "\u009b", "\u202e", "\xff"}

// storable is hostile as the test's store can keep it: PostgreSQL's text
// holds only UTF-8 and refuses the \xff (no face lets such bytes through:
// XML refuses them, JSON decoding replaces them), SQLite keeps it.
func storable(t *testing.T) string {
	if testrig.Backend(t) == "postgres" {
		return strings.ReplaceAll(hostile, "\xff", "")
	}
	return hostile
}

func assertInert(t *testing.T, what, out string) {
	t.Helper()
	for _, b := range terminalBytes {
		if strings.Contains(out, b) {
			t.Errorf("%s prints %q raw:\n%q", what, b, out)
		}
	}
}

func TestRequestsEscapesClientBytes(t *testing.T) {
	db, path := testrig.OpenNamed(t)
	e := store.RequestLog{RequestID: "r-1", Username: "u" + hostile, Operation: "Perform" + hostile, Status: "Fault",
		HTTPStatus: 500, Detail: "bad" + hostile, Remote: "192.0.2.1:1" + hostile,
		Face: "sendgrid" + hostile, Method: "POST" + hostile, Path: "/v3/mail/send" + hostile,
		Request: "<a>\n\t" + hostile + "</a>", Response: "<r>" + hostile + "</r>", ReceivedAt: time.Now(),
		RequestSize: 4 << 20, RequestNote: "cut at 2048 of 4194304 bytes" + hostile}
	if err := db.LogRequest(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var out, errOut bytes.Buffer
	if err := runRequests(t.Context(), []string{"--db", path, "--id", "r-1"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	assertInert(t, "requests --id", out.String())
	for _, want := range []string{`\x1b[2J\x1b]0;owned\x07 \u009b31m \u202eevil \xff x`, "<a>\n\t", "[4194304 bytes; cut at 2048 of 4194304 bytes",
		`Detail:     bad\x1b[2J`, `Remote:     192.0.2.1:1\x1b`,
		`Face:       sendgrid\x1b`, `Request:    POST\x1b[2J`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("requests --id lacks %q:\n%s", want, out.String())
		}
	}
	// Only the envelopes keep their line feeds: every header field stays
	// on its line.
	if strings.Contains(out.String(), "Detail:     bad\x1b") || strings.Count(out.String(), "\ny\tz") != 2 {
		t.Errorf("a header field broke its line:\n%s", out.String())
	}

	out.Reset()
	if err := runRequests(t.Context(), []string{"--db", path}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	assertInert(t, "requests", out.String())
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Errorf("requests: %d lines for one exchange, want 2 (a row was forged):\n%s", n, out.String())
	}
}

func TestSendListEscapesKeys(t *testing.T) {
	db, path := testrig.OpenNamed(t)
	acct := store.Account{Username: "acme", ClientID: 1}
	if err := db.CreateAccount(t.Context(), &acct); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	keys := []struct{ objectID, customerKey string }{
		{"00000000-0000-4000-8000-000000000001", "k1\n999\tacme\tCanceled\t2030-01-01T00:00:00Z\t-\t1\t[2]\tforged"},
		{"00000000-0000-4000-8000-000000000002" + storable(t), `"quoted"`},
		{"-", "plain key"},
	}
	err := db.Update(t.Context(), func(tx store.Tx) error {
		for _, k := range keys {
			s := &store.Send{AccountID: acct.ID, ObjectID: k.objectID, CustomerKey: k.customerKey, EmailID: 1, ListIDs: []int64{2},
				SendDate: at, Status: store.StatusScheduled, CreatedDate: at, ModifiedDate: at}
			if err := tx.InsertSend(t.Context(), s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	var out, errOut bytes.Buffer
	if err := runSend(t.Context(), []string{"list", "--db", path}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	got := out.String()
	assertInert(t, "send list", got)
	if n := strings.Count(got, "\n"); n != 1+len(keys) {
		t.Errorf("send list: %d lines for %d sends, want %d (a row was forged):\n%s", n, len(keys), 1+len(keys), got)
	}
	if strings.Contains(got, "\tforged") || strings.Contains(got, "\nforged") {
		t.Errorf("a key forged a column:\n%s", got)
	}
	for _, want := range []string{`"k1\n999\tacme\tCanceled`, `"\"quoted\""`, `"-"`, "plain key", `\x1b[2j`} { // the store keeps ObjectIDs lower-cased
		if !strings.Contains(got, want) {
			t.Errorf("send list lacks %q:\n%s", want, got)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"268435456", 256 << 20, true}, {"256MiB", 256 << 20, true}, {"256 MB", 256 << 20, true},
		{"1GiB", 1 << 30, true}, {"64k", 64 << 10, true}, {"10B", 10, true},
		{"", 0, false}, {"-1", 0, false}, {"1.5GiB", 0, false}, {"12 parsecs", 0, false}, {"99999999999G", 0, false},
	} {
		got, err := parseByteSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}

// TestOutboxEscapesClientText: a Subject and recipients are a client's
// text too.
func TestOutboxEscapesClientText(t *testing.T) {
	db, path := testrig.OpenNamed(t)
	acct := store.Account{Username: "acme", ClientID: 1}
	if err := db.CreateAccount(t.Context(), &acct); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Minute)
	s := &store.Send{AccountID: acct.ID, ObjectID: "00000000-0000-4000-8000-000000000001", EmailID: 1, ListIDs: []int64{2},
		SendDate: at, Status: store.StatusScheduled, CreatedDate: at, ModifiedDate: at}
	if err := db.Update(t.Context(), func(tx store.Tx) error { return tx.InsertSend(t.Context(), s) }); err != nil {
		t.Fatal(err)
	}
	claimed, err := db.ClaimDueSends(t.Context(), store.Claim{Now: time.Now(), Owner: "t", LeaseUntil: time.Now().Add(time.Minute), Limit: 1})
	if err != nil || len(claimed) != 1 {
		t.Fatal(claimed, err)
	}
	e := store.OutboxEntry{SendID: s.ID, AccountID: acct.ID, ObjectID: s.ObjectID, Subject: "Hi" + storable(t),
		Recipients: []string{"a@example.com\n9\t9\tforged"}, NumberSent: 1, Transport: "outbox", Attempt: 1, DeliveredAt: time.Now()}
	if n, err := db.CompleteSends(t.Context(), []store.OutboxEntry{e}); err != nil || n != 1 {
		t.Fatal(n, err)
	}
	db.Close()

	var out, errOut bytes.Buffer
	if err := runOutbox(t.Context(), []string{"--db", path}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	assertInert(t, "outbox", out.String())
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Errorf("outbox: %d lines for one entry, want 2 (a row was forged):\n%s", n, out.String())
	}
}
