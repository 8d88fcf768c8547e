package server

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/golden"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/store"
)

// TestAccountIsolation has account A (alice) try every operation on account
// B's (bob's) sends, by every key, and checks that A finds nothing, changes
// nothing, and learns nothing.
//
// "Learns nothing" is tested by running the same requests in two worlds
// that differ only in whether B's sends exist: in the second, B's rows are
// deleted after being inserted (IDs are AUTOINCREMENT, so the ID sequence
// is the same in both). A's answers must be byte-identical across the two
// worlds once GUIDs — RequestIDs, fresh ObjectIDs — are numbered in order
// of appearance: an answer about B's send is then provably the answer
// about a send that does not exist.
//
// The store is the one PARTNERD_TEST_STORE picks, but the second world
// deletes B's sends through SQLite's own SQL (the store has no way to
// delete a send): on another backend only the first world's checks run.
func TestAccountIsolation(t *testing.T) {
	credential.DefaultIterations = 1000
	withB := runIsolationWorld(t, true)
	if testrig.Backend(t) == "sqlite" {
		withoutB := runIsolationWorld(t, false)
		if len(withB.answers) != len(withoutB.answers) {
			t.Fatalf("%d answers vs %d", len(withB.answers), len(withoutB.answers))
		}
		for i := range withB.answers {
			a, b := withB.answers[i], withoutB.answers[i]
			if a.text != b.text {
				t.Errorf("%s: A's answer differs when B's sends exist:\n%s", a.name, golden.LineDiff(b.text, a.text))
			}
		}
	} else {
		t.Log("the world without B's sends needs SQLite: answers compared with those about absent sends only there")
	}
	// And the answers are the ones expected of sends that do not exist,
	// not, say, the same fault twice.
	for _, a := range withB.answers {
		if !strings.HasPrefix(a.text, "HTTP 200") || strings.Contains(a.text, "soap:Fault") {
			t.Errorf("%s: not a plain answer:\n%.500s", a.name, a.text)
		}
		if strings.Contains(a.text, "b subject") || strings.Contains(a.text, "<ID>777</ID>") {
			t.Errorf("%s: shows B's data:\n%s", a.name, a.text)
		}
		switch {
		case strings.HasPrefix(a.name, "Perform") && strings.HasSuffix(a.name, "mixed"):
			// Two of B's sends, each answered 7091 in Result and Task.
			if strings.Count(a.text, "<ErrorCode>7091</ErrorCode>") != 4 || !strings.Contains(a.text, "<CustomerKey>a-1</CustomerKey>") {
				t.Errorf("%s: want A's own send found and B's two not:\n%s", a.name, a.text)
			}
		case strings.HasPrefix(a.name, "Perform"):
			if !strings.Contains(a.text, "<ErrorCode>7091</ErrorCode>") {
				t.Errorf("%s: want 7091 not found:\n%s", a.name, a.text)
			}
		case strings.HasPrefix(a.name, "Create"):
			if strings.Count(a.text, "<StatusCode>OK</StatusCode>") != 2 {
				t.Errorf("%s: want both created:\n%s", a.name, a.text)
			}
		}
	}
	if !reflect.DeepEqual(withB.bBefore, withB.bAfter) {
		t.Errorf("B's sends changed:\nbefore %+v\nafter  %+v", withB.bBefore, withB.bAfter)
	}
	if len(withB.bBefore) != 6 {
		t.Fatalf("B has %d sends in the first world, want 6", len(withB.bBefore))
	}
	t.Logf("%d requests of A against B's sends: identical to answers about sends that do not exist; B's 6 rows unchanged", len(withB.answers))
}

type isolationAnswer struct{ name, text string }

type isolationWorld struct {
	answers         []isolationAnswer
	bBefore, bAfter []store.Send
}

const (
	bObjectSched    = "bbbbbbbb-0000-4000-8000-000000000001"
	bObjectPaused   = "bbbbbbbb-0000-4000-8000-000000000002"
	bObjectCanceled = "bbbbbbbb-0000-4000-8000-000000000003"
	bObjectComplete = "bbbbbbbb-0000-4000-8000-000000000004"
)

func runIsolationWorld(t *testing.T, keepB bool) isolationWorld {
	ctx := context.Background()
	db, name := testrig.OpenNamed(t, testrig.File("iso.db"))
	path := strings.TrimPrefix(name, "sqlite:") // for deleteAccountSends, on SQLite
	sealer, err := credential.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC))
	now := clk.Now()
	accounts := map[string]store.Account{}
	for i, user := range []string{"alice", "bob"} {
		hash, err := credential.Hash(user + "-pw")
		if err != nil {
			t.Fatal(err)
		}
		a := store.Account{Username: user, ClientID: int64(1001 + i), PasswordHash: hash, PasswordSealed: sealer.Seal(user + "-pw")}
		if err := db.CreateAccount(ctx, &a); err != nil {
			t.Fatal(err)
		}
		accounts[user] = a
	}
	alice, bob := accounts["alice"], accounts["bob"]

	send := func(acct store.Account, objectID, key string, status store.SendStatus, email int64, subject string, sent time.Time) *store.Send {
		return &store.Send{AccountID: acct.ID, ObjectID: objectID, CustomerKey: key, EmailID: email, EmailName: subject + " email",
			Subject: subject, ListIDs: []int64{200}, SendDate: now.Add(3 * time.Hour), Status: status, SentDate: sent,
			CreatedDate: now.Add(-time.Hour), ModifiedDate: now.Add(-time.Hour), StatusChangedAt: now.Add(-time.Hour)}
	}
	err = db.Update(ctx, func(tx store.Tx) error {
		for _, s := range []*store.Send{
			send(alice, "aaaaaaaa-0000-4000-8000-000000000001", "a-1", store.StatusScheduled, 100, "a subject", time.Time{}),
			send(alice, "aaaaaaaa-0000-4000-8000-000000000002", "a-2", store.StatusPaused, 100, "a subject", time.Time{}),
			send(bob, bObjectSched, "b-sched", store.StatusScheduled, 777, "b subject", time.Time{}),
			send(bob, bObjectPaused, "b-paused", store.StatusPaused, 777, "b subject", time.Time{}),
			send(bob, bObjectCanceled, "b-canceled", store.StatusCanceled, 777, "b subject", time.Time{}),
			send(bob, bObjectComplete, "b-complete", store.StatusComplete, 777, "b subject", now.Add(-30*time.Minute)),
			send(bob, "bbbbbbbb-0000-4000-8000-000000000005", "b-5", store.StatusScheduled, 777, "b subject", time.Time{}),
			send(bob, "bbbbbbbb-0000-4000-8000-000000000006", "b-6", store.StatusScheduled, 777, "b subject", time.Time{}),
		} {
			if err := tx.InsertSend(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !keepB {
		deleteAccountSends(t, path, bob.ID)
	}
	bSends := func() []store.Send {
		var out []store.Send
		if err := db.View(ctx, func(tx store.Tx) error {
			var err error
			out, err = tx.FindSends(ctx, bob.ID, store.SendQuery{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}

	h := New(Config{Store: db, Clock: clk, Sealer: sealer, Policy: lifecycle.DefaultPolicy, Version: "test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	call := func(user, body string) string {
		req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", strings.NewReader(textEnvelope(user, user+"-pw", body)))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return fmt.Sprintf("HTTP %d\n%s", rec.Code, rec.Body.String())
	}

	// B starts a paged Retrieve; A will try to continue it.
	bRetrieve := call("bob", `<RetrieveRequestMsg xmlns="`+nsPartner+`"><RetrieveRequest><Options><BatchSize>2</BatchSize></Options><ObjectType>Send</ObjectType><Properties>ID</Properties></RetrieveRequest></RetrieveRequestMsg>`)
	bRequestID := regexp.MustCompile(`<RequestID>([^<]*)</RequestID>`).FindStringSubmatch(bRetrieve)[1]
	if keepB && !strings.Contains(bRetrieve, "MoreDataAvailable") {
		t.Fatalf("B's Retrieve did not page:\n%s", bRetrieve)
	}

	w := isolationWorld{bBefore: bSends()}
	ask := func(name, body string) {
		// GUIDs are numbered per response, so that a fresh RequestID or
		// ObjectID compares equal across runs while a GUID that appears
		// twice still must appear twice.
		w.answers = append(w.answers, isolationAnswer{name, golden.NewNormalizer().Normalize(call("alice", body))})
	}

	// Perform, every action, by every key of each of B's sends. B's IDs
	// are 3..8 (A's are 1 and 2).
	bKeys := []struct{ id, objectID, customerKey string }{
		{"3", bObjectSched, "b-sched"}, {"4", bObjectPaused, "b-paused"},
		{"5", bObjectCanceled, "b-canceled"}, {"6", bObjectComplete, "b-complete"},
	}
	for _, action := range []string{"cancel", "pause", "resume"} {
		for _, k := range bKeys {
			for _, def := range []string{"<ID>" + k.id + "</ID>", "<ObjectID>" + k.objectID + "</ObjectID>", "<CustomerKey>" + k.customerKey + "</CustomerKey>"} {
				ask("Perform "+action+" "+def, `<PerformRequestMsg xmlns="`+nsPartner+`"><Action>`+action+`</Action><Definitions><Definition xsi:type="Send">`+def+`</Definition></Definitions></PerformRequestMsg>`)
			}
		}
		// Mixed with one of A's own: Has Errors, and A's own send is
		// still acted on.
		ask("Perform "+action+" mixed", `<PerformRequestMsg xmlns="`+nsPartner+`"><Action>`+action+`</Action><Definitions><Definition xsi:type="Send"><ID>1</ID></Definition><Definition xsi:type="Send"><ID>3</ID></Definition><Definition xsi:type="Send"><CustomerKey>b-paused</CustomerKey></Definition></Definitions></PerformRequestMsg>`)
	}

	// Retrieve with every filter field, each chosen to match B's sends.
	props := ""
	for _, p := range []string{"ID", "ObjectID", "CustomerKey", "Client.ID", "Email.ID", "EmailName", "Subject", "SendDate", "SentDate", "CreatedDate", "ModifiedDate", "Status", "NumberSent"} {
		props += "<Properties>" + p + "</Properties>"
	}
	simple := func(prop, op string, values ...string) string {
		f := `<Filter xsi:type="SimpleFilterPart"><Property>` + prop + `</Property><SimpleOperator>` + op + `</SimpleOperator>`
		for _, v := range values {
			f += "<Value>" + v + "</Value>"
		}
		return f + "</Filter>"
	}
	past, future := now.Add(-48*time.Hour).Format(time.RFC3339), now.Add(48*time.Hour).Format(time.RFC3339)
	filters := map[string]string{
		"none":               "",
		"ID equals":          simple("ID", "equals", "3"),
		"ID IN":              simple("ID", "IN", "3", "4", "5", "6", "7", "8"),
		"ID greaterThan":     simple("ID", "greaterThan", "2"),
		"ObjectID equals":    simple("ObjectID", "equals", bObjectSched),
		"ObjectID like":      simple("ObjectID", "like", "bbbbbbbb%"),
		"CustomerKey equals": simple("CustomerKey", "equals", "b-sched"),
		"CustomerKey like":   simple("CustomerKey", "like", "b-%"),
		"Status Scheduled":   simple("Status", "equals", "Scheduled"),
		"Status Paused":      simple("Status", "equals", "Paused"),
		"Status Canceled":    simple("Status", "equals", "Canceled"),
		"Status Complete":    simple("Status", "equals", "Complete"),
		"SendDate between":   simple("SendDate", "between", past, future),
		"SentDate greater":   simple("SentDate", "greaterThan", past),
		"SentDate isNotNull": simple("SentDate", "isNotNull"),
		"CreatedDate":        simple("CreatedDate", "greaterThan", past),
		"ModifiedDate":       simple("ModifiedDate", "lessThan", future),
		"Email.ID equals":    simple("Email.ID", "equals", "777"),
		"EmailName like":     simple("EmailName", "like", "b%"),
		"Subject equals":     simple("Subject", "equals", "b subject"),
		"Subject notEquals":  simple("Subject", "notEquals", "a subject"),
		"complex OR": `<Filter xsi:type="ComplexFilterPart"><LeftOperand xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>equals</SimpleOperator><Value>1</Value></LeftOperand><LogicalOperator>OR</LogicalOperator>` +
			`<RightOperand xsi:type="SimpleFilterPart"><Property>CustomerKey</Property><SimpleOperator>equals</SimpleOperator><Value>b-sched</Value></RightOperand></Filter>`,
	}
	for _, name := range slices.Sorted(maps.Keys(filters)) {
		ask("Retrieve "+name, `<RetrieveRequestMsg xmlns="`+nsPartner+`"><RetrieveRequest><ObjectType>Send</ObjectType>`+props+filters[name]+`</RetrieveRequest></RetrieveRequestMsg>`)
	}

	// ContinueRequest of B's RequestID (in the second world B's Retrieve
	// left no cursor: the ID is one that never paged).
	ask("ContinueRequest", `<RetrieveRequestMsg xmlns="`+nsPartner+`"><RetrieveRequest><ContinueRequest>`+bRequestID+`</ContinueRequest></RetrieveRequest></RetrieveRequestMsg>`)

	// Create with B's CustomerKeys: CustomerKeys are per account, so A's
	// Creates succeed exactly as with a key nobody uses.
	ask("Create with B's CustomerKey", `<CreateRequest xmlns="`+nsPartner+`"><Objects xsi:type="Send"><CustomerKey>b-sched</CustomerKey><Email><ID>1</ID></Email><List><ID>2</ID></List><SendDate>`+future+`</SendDate></Objects>`+
		`<Objects xsi:type="Send"><CustomerKey>b-paused</CustomerKey><Email><ID>1</ID></Email><List><ID>2</ID></List><SendDate>`+future+`</SendDate></Objects></CreateRequest>`)
	ask("Retrieve after Create", `<RetrieveRequestMsg xmlns="`+nsPartner+`"><RetrieveRequest><ObjectType>Send</ObjectType>`+props+simple("CustomerKey", "like", "b-%")+`</RetrieveRequest></RetrieveRequestMsg>`)

	w.bAfter = bSends()
	return w
}

// deleteAccountSends removes an account's sends, and any row that refers
// to them, through a connection of its own.
func deleteAccountSends(t *testing.T, path string, accountID int64) {
	conn, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(`SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'send_id'`)
	if err != nil {
		t.Fatal(err)
	}
	var children []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		children = append(children, name)
	}
	rows.Close()
	for _, c := range children {
		if _, err := conn.Exec(`DELETE FROM "`+c+`" WHERE send_id IN (SELECT id FROM sends WHERE account_id = ?)`, accountID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(`DELETE FROM sends WHERE account_id = ?`, accountID); err != nil {
		t.Fatal(err)
	}
}
