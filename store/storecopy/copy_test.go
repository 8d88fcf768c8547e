// Package storecopy_test tests store.Copy (partnerd migrate) between the
// backends, on a store filled by a real partnerd (partnerdtest) through
// its faces and services: SQLite to SQLite always, SQLite to PostgreSQL
// and back when PARTNERD_TEST_STORE names a PostgreSQL server
// (scripts/pg-test.sh).
package storecopy_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/partnerdtest"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
	_ "github.com/partnerd/partnerd/store/postgres"
	_ "github.com/partnerd/partnerd/store/sqlite"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// filled starts a partnerd over SQLite and gives its store one row or
// more of every table, through the faces where a client would make them.
func filled(t *testing.T) *partnerdtest.Server {
	t.Helper()
	srv, err := partnerdtest.Start(partnerdtest.WithStart(t0), partnerdtest.WithSeed(13))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ctx := context.Background()
	st, acct := srv.Store, srv.Account.ID

	// SOAP: sends, one canceled, one paused; a definition.
	sendObj := func(k string, at time.Duration) string {
		return `<Objects xsi:type="Send"><CustomerKey>` + k + `</CustomerKey><Email><ID>42</ID></Email><List><ID>7</ID></List><SendDate>` +
			srv.Now().Add(at).Format(time.RFC3339) + `</SendDate><Subject>subject ` + k + `</Subject></Objects>`
	}
	soap(t, srv, "Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI">`+
		sendObj("due", 2*time.Hour)+sendObj("canceled", 2*time.Hour)+sendObj("paused", 2*time.Hour)+sendObj("later", 48*time.Hour)+`</CreateRequest>`)
	perform := func(action, key string) {
		soap(t, srv, "Perform", `<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>`+action+`</Action><Definitions>`+
			`<Definition xsi:type="Send"><CustomerKey>`+key+`</CustomerKey></Definition></Definitions></PerformRequestMsg>`)
	}
	perform("cancel", "canceled")
	perform("pause", "paused")
	soap(t, srv, "Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Objects xsi:type="EmailSendDefinition">`+
		`<CustomerKey>weekly</CustomerKey><Name>Weekly news</Name><SendDefinitionList><List><ID>5</ID><Subscribers><EmailAddress>ann@example.com</EmailAddress></Subscribers></List></SendDefinitionList>`+
		`<Email><ID>9</ID><Subject>This week</Subject><TextBody>Hello</TextBody></Email></Objects></CreateRequest>`)
	soap(t, srv, "Schedule", `<ScheduleRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>start</Action><Schedule><StartDateTime>`+
		srv.Now().Add(50*time.Hour).Format(time.RFC3339)+`</StartDateTime></Schedule><Interactions><Interaction xsi:type="EmailSendDefinition"><CustomerKey>weekly</CustomerKey></Interaction></Interactions></ScheduleRequestMsg>`)

	// SendGrid: a batch paused with its send, a canceled batch, a list, a
	// campaign scheduled to it.
	var batch, canceled struct {
		BatchID string `json:"batch_id"`
	}
	sendgrid(t, srv, "POST", "/v3/mail/batch", "", &batch)
	sendgrid(t, srv, "POST", "/v3/mail/batch", "", &canceled)
	sendgrid(t, srv, "POST", "/v3/mail/send", fmt.Sprintf(`{"personalizations":[{"to":[{"email":"x@example.com"}]}],"from":{"email":"a@example.com"},`+
		`"subject":"batched","content":[{"type":"text/plain","value":"hi"}],"send_at":%d,"batch_id":%q}`, srv.Now().Add(time.Hour).Unix(), batch.BatchID), nil)
	sendgrid(t, srv, "POST", "/v3/user/scheduled_sends", `{"batch_id":"`+batch.BatchID+`","status":"pause"}`, nil)
	sendgrid(t, srv, "POST", "/v3/user/scheduled_sends", `{"batch_id":"`+canceled.BatchID+`","status":"cancel"}`, nil)
	clk := clock.NewManual(srv.Now())
	send := &sending.Service{Store: st, Clock: clk, Policy: lifecycle.DefaultPolicy}
	mkt := &marketing.Service{Store: st, Clock: clk, Sends: send}
	list, err := mkt.CreateList(ctx, acct, "spring", []store.ListRecipient{{Address: "r1@example.com"}, {Address: "r2@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	var campaign struct {
		ID int64 `json:"id"`
	}
	sendgrid(t, srv, "POST", "/v3/campaigns", fmt.Sprintf(`{"title":"Spring","subject":"Hello","list_ids":[%d],"html_content":"<p>hi [unsubscribe]</p>","plain_content":"hi"}`, list.ID), &campaign)
	sendgrid(t, srv, "POST", fmt.Sprintf("/v3/campaigns/%d/schedules", campaign.ID), fmt.Sprintf(`{"send_at":%d}`, srv.Now().Add(30*time.Hour).Unix()), nil)
	sendgrid(t, srv, "POST", "/v3/marketing/singlesends", `{"name":"Empty"}`, nil)
	ss, err := mkt.CreateSingleSend(ctx, acct, marketing.SingleSendInput{SingleSendFields: store.SingleSendFields{Name: "News",
		SendTo: store.SendTo{ListIDs: []string{list.UUID}}, EmailConfig: store.EmailConfig{Subject: "Hi", HTMLContent: "<p>news</p>"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mkt.ScheduleSingleSend(ctx, acct, ss.ID, srv.Now().Add(30*time.Hour)); err != nil {
		t.Fatal(err)
	}
	sendgrid(t, srv, "POST", "/v3/campaigns", fmt.Sprintf(`{"title":"Draft","subject":"Later","list_ids":[%d],"html_content":"<p>x [unsubscribe]</p>","plain_content":"x"}`, list.ID), nil)

	// Credentials: keys live and revoked, a second user with a sealed
	// password, token clients live and revoked with tokens issued.
	keys := &auth.Keys{Store: st, Clock: clk}
	k, _, err := keys.Create(ctx, acct, "revoked", []string{"mail.send"})
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Revoke(ctx, acct, k.ID); err != nil {
		t.Fatal(err)
	}
	sealer, err := credential.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := credential.Hash("second-password")
	if err := st.CreateUser(ctx, &store.User{AccountID: acct, Username: "second", PasswordHash: hash, PasswordSealed: sealer.Seal("second-password")}); err != nil {
		t.Fatal(err)
	}
	// A user deleted: its ID is never given again, on the copy either.
	gone := store.User{AccountID: acct, Username: "deleted", PasswordHash: hash}
	if err := st.CreateUser(ctx, &gone); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteUser(ctx, acct, gone.ID); err != nil {
		t.Fatal(err)
	}
	tokens := &auth.Tokens{Store: st, Clock: clk}
	live, secret, err := tokens.CreateClient(ctx, acct, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	revoked, _, err := tokens.CreateClient(ctx, acct, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tokens.RevokeClient(ctx, acct, revoked.ID); err != nil {
		t.Fatal(err)
	}
	post(t, srv, "/v2/token", `{"grant_type":"client_credentials","client_id":"`+live.ID+`","client_secret":"`+secret+`"}`)

	// The operator's rows: an action, a console session, a cursor.
	if err := st.RecordOperatorAction(ctx, &store.OperatorAction{Action: "user-passwd", AccountID: acct, Actor: "operator", Credential: "second", At: srv.Now()}); err != nil {
		t.Fatal(err)
	}
	idHash := sha256.Sum256([]byte("session"))
	if err := st.(store.SessionStore).CreateSession(ctx, store.Session{IDHash: idHash[:], AccountID: acct, Actor: "partnerdtest", CSRF: "csrf", Created: srv.Now(), Expires: srv.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.SaveCursor(ctx, store.Cursor{RequestID: "cursor-1", AccountID: acct, Query: []byte{0, 1, 2}, AfterID: 3, Expires: srv.Now().Add(time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}

	// Due sends go out (outbox; Complete), the canceled one is
	// discarded; then more sends scheduled after.
	srv.Advance(3 * time.Hour)
	soap(t, srv, "Create", `<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI">`+sendObj("after", 2*time.Hour)+`</CreateRequest>`)
	if len(srv.Outbox()) == 0 {
		t.Fatal("nothing went out: the store has no outbox rows to copy")
	}
	return srv
}

func soap(t *testing.T, srv *partnerdtest.Server, op, body string) {
	t.Helper()
	env := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Header>` +
		`<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>` +
		`<wsse:Username>` + srv.Account.Username + `</wsse:Username><wsse:Password>` + srv.Account.Password + `</wsse:Password>` +
		`</wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`
	req, _ := http.NewRequest(http.MethodPost, srv.SOAPURL, strings.NewReader(env))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", op)
	b := do(t, req)
	if strings.Contains(b, "<StatusCode>Error</StatusCode>") || !strings.Contains(b, "<OverallStatus>OK</OverallStatus>") {
		t.Fatalf("%s did not succeed:\n%s", op, b)
	}
}

func sendgrid(t *testing.T, srv *partnerdtest.Server, method, path, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+srv.Account.APIKey)
	req.Header.Set("Content-Type", "application/json")
	b := do(t, req)
	if out != nil {
		if err := json.Unmarshal([]byte(b), out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
}

func post(t *testing.T, srv *partnerdtest.Server, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	do(t, req)
}

func do(t *testing.T, req *http.Request) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: HTTP %d\n%s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return string(b)
}

// dump is every row of every table of st (request log included) and each
// table's serial counter, by table.
func dump(t *testing.T, st store.Store) map[string][]store.Row {
	t.Helper()
	out := map[string][]store.Row{}
	err := st.(store.Exporter).Export(context.Background(), func(s store.Snapshot) error {
		for _, tb := range store.ExportTables {
			rows := []store.Row{}
			if err := s.Rows(context.Background(), tb, func(r store.Row) error { rows = append(rows, r); return nil }); err != nil {
				return err
			}
			out[tb.Name] = rows
			if tb.Serial != "" {
				hw, err := s.Serial(context.Background(), tb)
				if err != nil {
					return err
				}
				out["serial of "+tb.Name] = []store.Row{{hw}}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameRows compares two dumps table by table, row by row.
func sameRows(t *testing.T, what string, want, got map[string][]store.Row) {
	t.Helper()
	for name, w := range want {
		g := got[name]
		if len(g) != len(w) {
			t.Errorf("%s: %s: %d rows, want %d", what, name, len(g), len(w))
			continue
		}
		for i := range w {
			if !reflect.DeepEqual(w[i], g[i]) {
				t.Errorf("%s: %s row %d:\n got %#v\nwant %#v", what, name, i, g[i], w[i])
			}
		}
	}
}

// everyTableHasRows makes sure the filled store exercises every table:
// a table left empty would compare equal whatever the copy does.
func everyTableHasRows(t *testing.T, d map[string][]store.Row) {
	t.Helper()
	for _, tb := range store.ExportTables {
		if len(d[tb.Name]) == 0 {
			t.Errorf("the filled store has no %s rows", tb.Name)
		}
	}
	// Every path that creates sends made some: each origin is copied.
	col := slices.IndexFunc(store.ExportTables, func(tb store.ExportTable) bool { return tb.Name == "sends" })
	at := slices.IndexFunc(store.ExportTables[col].Columns, func(c store.Column) bool { return c.Name == "origin" })
	seen := map[string]bool{}
	for _, r := range d["sends"] {
		seen[fmt.Sprint(r[at])] = true
	}
	for _, o := range store.Origins {
		if !seen[string(o)] {
			t.Errorf("the filled store has no send of origin %q (seen %v)", o, seen)
		}
	}
}

func copyAll(t *testing.T, src, dst store.Store, o store.CopyOptions) []store.TableCount {
	t.Helper()
	counts, err := store.Copy(context.Background(), src.(store.Exporter), dst.(store.Importer), o)
	if err != nil {
		t.Fatalf("copy: %v (%+v)", err, counts)
	}
	return counts
}

func openSQLite(t *testing.T, name string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSQLiteToSQLite(t *testing.T) {
	srv := filled(t)
	want := dump(t, srv.Store)
	everyTableHasRows(t, want)
	users := want["users"]
	if hw := want["serial of users"][0][0].(int64); hw <= users[len(users)-1][0].(int64) {
		t.Fatalf("users' counter %d: the deleted user is not above the rows", hw)
	}
	dst := openSQLite(t, "copy.db")
	counts := copyAll(t, srv.Store, dst, store.CopyOptions{RequestLog: true})
	if len(counts) != len(store.ExportTables) {
		t.Errorf("%d tables counted, want %d", len(counts), len(store.ExportTables))
	}
	for _, c := range counts {
		if !c.Committed || c.Source != c.Copied || c.Copied != c.Target || c.Source != int64(len(want[c.Table])) {
			t.Errorf("counts %+v, want %d each", c, len(want[c.Table]))
		}
	}
	sameRows(t, "sqlite → sqlite", want, dump(t, dst))
	// Read back through the store's own methods too: the request log's
	// bodies are repacked by the target.
	wantLog, _ := srv.Store.RecentRequests(context.Background(), 1000)
	gotLog, _ := dst.RecentRequests(context.Background(), 1000)
	if !reflect.DeepEqual(wantLog, gotLog) || len(wantLog) == 0 {
		t.Errorf("request log read back differs: %d vs %d exchanges", len(gotLog), len(wantLog))
	}
}

func TestRequestLogOnlyWhenAsked(t *testing.T) {
	srv := filled(t)
	dst := openSQLite(t, "copy.db")
	for _, c := range copyAll(t, srv.Store, dst, store.CopyOptions{}) {
		if c.Table == "request_log" {
			t.Errorf("request log copied unasked: %+v", c)
		}
	}
	if got, _ := dst.RecentRequests(context.Background(), 10); len(got) != 0 {
		t.Errorf("target has %d logged exchanges, want none", len(got))
	}
}

// SQLite → PostgreSQL → SQLite: every row of every table equal, on
// PostgreSQL and at the end.
func TestRoundTripThroughPostgres(t *testing.T) {
	if testrig.Backend(t) != "postgres" {
		t.Skip("no PostgreSQL: set PARTNERD_TEST_STORE=postgres://… (scripts/pg-test.sh go test ./store/storecopy) to run the SQLite → PostgreSQL → SQLite round trip")
	}
	srv := filled(t)
	want := dump(t, srv.Store)
	everyTableHasRows(t, want)
	pg := testrig.OpenStore(t)
	copyAll(t, srv.Store, pg, store.CopyOptions{RequestLog: true})
	sameRows(t, "sqlite → postgres", want, dump(t, pg))
	back := openSQLite(t, "back.db")
	copyAll(t, pg, back, store.CopyOptions{RequestLog: true})
	sameRows(t, "sqlite → postgres → sqlite", want, dump(t, back))
	// New rows take IDs after the copied ones on PostgreSQL, and after
	// the deleted user's.
	a := store.Account{Username: "after-copy"}
	if err := pg.CreateAccount(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	if last := want["accounts"][len(want["accounts"])-1][0].(int64); a.ID <= last {
		t.Errorf("a new account on the copy got ID %d, not after the copied %d", a.ID, last)
	}
	u := store.User{AccountID: a.ID, Username: "after-copy"}
	if err := pg.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	if hw := want["serial of users"][0][0].(int64); u.ID <= hw {
		t.Errorf("a new user on the copy got ID %d, not after the deleted %d", u.ID, hw)
	}
}

func TestNonEmptyTargetRefusedUnlessForced(t *testing.T) {
	srv := filled(t)
	dst := testrig.OpenStore(t)
	copyAll(t, srv.Store, dst, store.CopyOptions{})
	before := dump(t, dst)
	_, err := store.Copy(context.Background(), srv.Store.(store.Exporter), dst.(store.Importer), store.CopyOptions{})
	if !errors.Is(err, store.ErrTargetNotEmpty) {
		t.Fatalf("copy into a filled store: %v, want ErrTargetNotEmpty", err)
	}
	sameRows(t, "after the refusal", before, dump(t, dst))
	copyAll(t, srv.Store, dst, store.CopyOptions{Force: true, RequestLog: true})
	sameRows(t, "forced", dump(t, srv.Store), dump(t, dst))
}

// failingExporter is src whose snapshot fails after n rows of table.
type failingExporter struct {
	store.Exporter
	table string
	n     int
}

var errInjected = errors.New("injected read failure")

func (f failingExporter) Export(ctx context.Context, fn func(store.Snapshot) error) error {
	return f.Exporter.Export(ctx, func(s store.Snapshot) error { return fn(failingSnapshot{s, f}) })
}

type failingSnapshot struct {
	store.Snapshot
	f failingExporter
}

func (s failingSnapshot) Rows(ctx context.Context, t store.ExportTable, fn func(store.Row) error) error {
	seen := 0
	return s.Snapshot.Rows(ctx, t, func(r store.Row) error {
		if t.Name == s.f.table && seen == s.f.n {
			return errInjected
		}
		seen++
		return fn(r)
	})
}

// A copy that fails half-way (here reading the outbox, after accounts,
// sends … were written; forced, so the target's own rows were deleted
// first) leaves the target as it was.
func TestFailureMidCopyLeavesTargetUnchanged(t *testing.T) {
	srv := filled(t)
	dst := testrig.OpenStore(t)
	a := store.Account{Username: "already-there", ClientID: 5}
	if err := dst.CreateAccount(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	before := dump(t, dst)
	src := failingExporter{Exporter: srv.Store.(store.Exporter), table: "outbox", n: 0}
	counts, err := store.Copy(context.Background(), src, dst.(store.Importer), store.CopyOptions{Force: true})
	if !errors.Is(err, errInjected) {
		t.Fatalf("copy: %v, want the injected failure", err)
	}
	for _, c := range counts {
		if c.Committed {
			t.Errorf("%s counted as committed after a failed copy", c.Table)
		}
	}
	sameRows(t, "after the failed copy", before, dump(t, dst))
	if got, err := dst.AccountByID(context.Background(), a.ID); err != nil || got.Username != "already-there" {
		t.Errorf("the target's own account after the failed copy: %+v, %v", got, err)
	}
}
