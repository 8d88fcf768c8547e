package partnerapi_test

import (
	"database/sql"
	"strings"
	"sync"
	"testing"

	"github.com/partnerd/partnerd/api/partnerapi"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store"
)

const guid = "6a0d2f80-2222-4000-8000-00000000beef"

// TestCreateRetriedWithSameKey is issue 10's first defect: a Create retried
// after a timeout made a second send with the same key, and a cancel by
// that key stopped only one of them while answering OK. The retry must be
// refused (ErrorCode 1, as the real service refuses a key already used in
// the account), so that the cancel reaches everything the key names.
func TestCreateRetriedWithSameKey(t *testing.T) {
	cases := []struct {
		name         string
		first, retry string // the keys of the two Creates
		cancel       string // the cancel's key
		filter       store.Filter
	}{
		{"ObjectID", "<ObjectID>" + guid + "</ObjectID>", "<ObjectID>" + guid + "</ObjectID>", "<ObjectID>" + guid + "</ObjectID>",
			&store.Cond{Field: store.FieldObjectID, Op: store.OpEquals, Values: []any{guid}}},
		{"ObjectID in upper case", "<ObjectID>" + guid + "</ObjectID>", "<ObjectID>" + strings.ToUpper(guid) + "</ObjectID>", "<ObjectID>" + strings.ToUpper(guid) + "</ObjectID>",
			&store.Cond{Field: store.FieldObjectID, Op: store.OpEquals, Values: []any{guid}}},
		{"ObjectID in braces", "<ObjectID>{" + guid + "}</ObjectID>", "<ObjectID>" + guid + "</ObjectID>", "<ObjectID>" + guid + "</ObjectID>",
			&store.Cond{Field: store.FieldObjectID, Op: store.OpEquals, Values: []any{guid}}},
		{"CustomerKey", "<CustomerKey>spring-sale</CustomerKey>", "<CustomerKey>spring-sale</CustomerKey>", "<CustomerKey>spring-sale</CustomerKey>",
			&store.Cond{Field: store.FieldCustomerKey, Op: store.OpEquals, Values: []any{"spring-sale"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t)
			date := "<SendDate>2026-06-02T12:00:00Z</SendDate>"
			if r := one(t, e.mustCall("Create", createSend(c.first, date))); r.status != "OK" {
				t.Fatalf("first Create: %+v", r)
			}
			r := one(t, e.mustCall("Create", createSend(c.retry, date)))
			if r.status != "Error" || r.code != partnerapi.CodeNameExists {
				t.Errorf("retried Create = %+v, want Error with ErrorCode %d", r, partnerapi.CodeNameExists)
			}
			if r := one(t, e.mustCall("Perform", performSend("cancel", c.cancel))); r.status != "OK" {
				t.Fatalf("cancel by key: %+v", r)
			}
			sends := e.sendsWith(c.filter)
			if len(sends) == 0 {
				t.Fatal("no send with the key")
			}
			for _, s := range sends {
				if s.Status != store.StatusCanceled {
					t.Errorf("send %d with the key is %s after the cancel answered OK", s.ID, s.Status)
				}
			}
		})
	}

	t.Run("twice in one request", func(t *testing.T) {
		e := newTestEnv(t)
		obj := `<Objects xsi:type="Send"><ObjectID>` + guid + `</ObjectID><Email><ID>1</ID></Email><List><ID>1</ID></List></Objects>`
		rs := results(e.mustCall("Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI">`+obj+obj+`</CreateRequest>`))
		if len(rs) != 2 || rs[0].status != "OK" || rs[1].status != "Error" || rs[1].code != partnerapi.CodeNameExists {
			t.Errorf("results %+v, want OK then Error %d", rs, partnerapi.CodeNameExists)
		}
	})
}

// TestCreateSameKeyRacing: Creates of one key racing each other (a client
// retrying while its first attempt is still in flight) must not both
// succeed, and the loser gets ErrorCode 1, not a Server fault.
func TestCreateSameKeyRacing(t *testing.T) {
	for _, key := range []string{"<ObjectID>" + guid + "</ObjectID>", "<CustomerKey>racing</CustomerKey>"} {
		e := newTestEnv(t)
		const n = 6
		var wg sync.WaitGroup
		rs := make([]result, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				root, err := e.call("Create", createSend(key, "<SendDate>2026-06-02T12:00:00Z</SendDate>"))
				if errs[i] = err; err == nil {
					rs[i] = one(t, root)
				}
			})
		}
		wg.Wait()
		ok := 0
		for i := range n {
			notServerFault(t, "racing Create", errs[i])
			switch {
			case rs[i].status == "OK":
				ok++
			case rs[i].code != partnerapi.CodeNameExists:
				t.Errorf("racing Create: %+v", rs[i])
			}
		}
		if ok != 1 {
			t.Errorf("%s: %d racing Creates succeeded, want 1", key, ok)
		}
	}
}

// TestPerformByKeyReachesLegacyDuplicates: a store written before keys were
// unique may hold several sends with one ObjectID. An action by that key
// acts on every one of them, and answers OK only if every one ends in the
// requested state.
func TestPerformByKeyReachesLegacyDuplicates(t *testing.T) {
	cases := []struct {
		name       string
		copyStatus store.SendStatus // the legacy copy's status
		action     string
		wantStatus string
		wantCode   int
		want       []store.SendStatus // the original's, then the copy's status after
	}{
		{"cancel, both scheduled", store.StatusScheduled, "cancel", "OK", 0, []store.SendStatus{store.StatusCanceled, store.StatusCanceled}},
		{"pause, both scheduled", store.StatusScheduled, "pause", "OK", 0, []store.SendStatus{store.StatusPaused, store.StatusPaused}},
		{"cancel, copy already sending", store.StatusSending, "cancel", "Error", partnerapi.CodeSendStatusNotActionable, []store.SendStatus{store.StatusCanceled, store.StatusSending}},
		{"cancel, copy complete", store.StatusComplete, "cancel", "Error", partnerapi.CodeSendStatusNotActionable, []store.SendStatus{store.StatusCanceled, store.StatusComplete}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t)
			created := one(t, e.mustCall("Create", createSend("<ObjectID>"+guid+"</ObjectID>", "<SendDate>2026-06-02T12:00:00Z</SendDate>")))
			if created.status != "OK" {
				t.Fatalf("Create: %+v", created)
			}
			// The copy a retried Create left before the fix: the row as
			// the migration numbers it.
			if testrig.Backend(t) != "sqlite" {
				t.Skip("writes a legacy row into the SQLite file")
			}
			raw, err := sql.Open("sqlite3", "file:"+e.path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(`INSERT INTO sends (account_id, object_id, email_id, list_ids, send_date, status, key_dup)
				SELECT account_id, object_id, email_id, list_ids, send_date, ?, 1 FROM sends WHERE id = ?`, c.copyStatus, created.newID); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			copies := e.sendsWith(&store.Cond{Field: store.FieldObjectID, Op: store.OpEquals, Values: []any{guid}})
			if len(copies) != 2 {
				t.Fatalf("%d sends with the ObjectID, want 2", len(copies))
			}

			r := one(t, e.mustCall("Perform", performSend(c.action, "<ObjectID>"+guid+"</ObjectID>")))
			if r.status != c.wantStatus || r.code != c.wantCode {
				t.Errorf("%s by ObjectID = %+v, want %s with ErrorCode %d", c.action, r, c.wantStatus, c.wantCode)
			}
			for i, s := range copies {
				if got := e.send(s.ID).Status; got != c.want[i] {
					t.Errorf("send %d is %s, want %s", s.ID, got, c.want[i])
				}
			}
		})
	}
}

// TestCreateKeyControlCharacters: a key holding a line feed forged a row in
// `partnerd send list`; keys with control characters are refused.
func TestCreateKeyControlCharacters(t *testing.T) {
	for _, key := range []string{
		"<CustomerKey>" + xmlEscape("a\nb") + "</CustomerKey>",
		"<CustomerKey>" + xmlEscape("a\rb") + "</CustomerKey>",
		"<CustomerKey>" + xmlEscape("a\tb") + "</CustomerKey>",
		"<CustomerKey>" + xmlEscape("a\u0085b") + "</CustomerKey>",
		"<CustomerKey>" + xmlEscape("a\u009b31mb") + "</CustomerKey>",
		"<CustomerKey>a\u2028b</CustomerKey>",
		"<CustomerKey>a\u202eb</CustomerKey>",
		"<ObjectID>" + xmlEscape(guid[:8]+"\n"+guid[9:]) + "</ObjectID>",
	} {
		e := newTestEnv(t)
		root, err := e.call("Create", createSend(key, ""))
		notServerFault(t, key, err)
		if err != nil {
			continue
		}
		if r := one(t, root); r.status != "Error" || r.code != partnerapi.CodeInvalidKey {
			t.Errorf("Create with %q = %+v, want Error with ErrorCode %d", key, r, partnerapi.CodeInvalidKey)
		}
		if n := len(e.sendsWith(nil)); n != 0 {
			t.Errorf("Create with %q stored %d sends", key, n)
		}
	}
	// An ordinary key with spaces and non-ASCII letters is kept.
	e := newTestEnv(t)
	if r := one(t, e.mustCall("Create", createSend("<CustomerKey>Früh lings-Sale 2026</CustomerKey>", ""))); r.status != "OK" {
		t.Errorf("Create with a plain key: %+v", r)
	}
}
