package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerd/partnerd/internal/loadgen"
	"github.com/partnerd/partnerd/internal/testrig"
)

// The two-instance test: two "partnerd serve" processes on one PostgreSQL
// schema, the system clock, a cancel load and due sends spread over both,
// one killed with SIGKILL in the middle of dispatch. It reads the database
// directly to check what the store promises whoever serves.

const (
	multiUser = "multi"
	multiPW   = "multi-pw-1"
	multiPW2  = "multi-pw-2"
)

var (
	newIDsRE     = regexp.MustCompile(`<NewID>(\d+)</NewID>`)
	requestIDRE  = regexp.MustCompile(`<RequestID>([^<]+)</RequestID>`)
	overallRE    = regexp.MustCompile(`<OverallStatus>([^<]+)</OverallStatus>`)
	retrievedIDs = regexp.MustCompile(`<ID>(\d+)</ID>`)
)

// soapPost posts one envelope and returns the status and body; err is
// set only when no answer came.
func soapPost(client *http.Client, base, action string, body []byte) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/Service.asmx", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", action)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// plainEnvelope is an envelope with a UsernameToken without nonce.
func plainEnvelope(user, pw, body string) []byte {
	return []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>` +
		user + `</wsse:Username><wsse:Password>` + pw + `</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`)
}

// tokenEnvelope is plainEnvelope with a fresh Nonce and Created: an
// instance checks a user it has let in before with such a token in the
// statement that records the nonce, without reading the user first.
func tokenEnvelope(user, pw, body string) []byte {
	var nonce [16]byte
	for i := range nonce {
		nonce[i] = byte(rand.IntN(256))
	}
	return []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>` +
		user + `</wsse:Username><wsse:Password>` + pw + `</wsse:Password><wsse:Nonce>` + base64.StdEncoding.EncodeToString(nonce[:]) +
		`</wsse:Nonce><wsu:Created xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">` +
		time.Now().UTC().Format(time.RFC3339) + `</wsu:Created></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`)
}

func overall(body string) string {
	if m := overallRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// pgCount runs a count query on the observer connection.
func pgCount(t *testing.T, conn *pgx.Conn, q string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("drives two real servers and a SIGKILL; skipped with -short")
	}
	if testrig.Backend(t) != "postgres" {
		t.Skipf("two instances share a PostgreSQL database: %s names none (postgres://…); run it with scripts/pg-test.sh go test -run TestTwoInstances ./cmd/partnerd", testrig.Env)
	}
	name := testrig.Name(t)
	ctx := context.Background()
	// Every process (servers and CLI) seals with one key, as a team's
	// would: the database is no file for a key to sit beside.
	t.Setenv("PARTNERD_SECRET_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32)))
	partnerd(t, name, "account", "add", "--username", multiUser, "--password", multiPW)
	partnerd(t, name, "account", "add", "--username", "guessed", "--password", "guessed-pw")
	obs, err := pgx.Connect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close(ctx)

	lease := 2 * time.Second
	args := []string{"--demo-account=false", "--held-limit", "0", "--cancel-cutoff", "0", "--max-inflight", "0", "--login-failures", "3",
		"--dispatch-batch", "20", "--dispatch-lease", lease.String(), "--dispatch-test-delay", "3ms"}
	a, b := startServer(t, name, args...), startServer(t, name, args...)
	servers := []*runningServer{a, b}
	client := &http.Client{Timeout: 30 * time.Second}
	creds := loadgen.Credentials{Username: multiUser, Password: multiPW}
	env := loadgen.NewEnvelopeWriter(creds)

	create := func(srv *runningServer, n int, when time.Time) []int64 {
		t.Helper()
		code, body, err := soapPost(client, srv.base, "Create", env.Create(n, when))
		if err != nil || code != 200 {
			t.Fatalf("Create on %s: %v %d %.300s", srv.base, err, code, body)
		}
		var ids []int64
		for _, m := range newIDsRE.FindAllStringSubmatch(body, -1) {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			ids = append(ids, id)
		}
		if len(ids) != n {
			t.Fatalf("Create of %d on %s: %d IDs", n, srv.base, len(ids))
		}
		return ids
	}

	// Sends for tomorrow, over both: more than a Retrieve page, the cancel
	// load's targets among them.
	tomorrow := time.Now().Add(24 * time.Hour)
	var far []int64
	for i := range 6 {
		far = append(far, create(servers[i%2], 500, tomorrow)...)
	}

	// A nonce used on one is refused on the other.
	used := bytes.Clone(env.Retrieve(far[0]))
	if code, body, err := soapPost(client, a.base, "Retrieve", used); err != nil || code != 200 || overall(body) != "OK" {
		t.Fatalf("first use of a nonce on A: %v %d %.300s", err, code, body)
	}
	if code, body, err := soapPost(client, b.base, "Retrieve", used); err != nil || code == 200 {
		t.Errorf("the same nonce on B: %v %d %.300s, want a fault", err, code, body)
	}

	// A Retrieve started on A continues on B.
	code, body, err := soapPost(client, a.base, "Retrieve", env.RetrieveAll())
	if err != nil || code != 200 || overall(body) != "MoreDataAvailable" {
		t.Fatalf("Retrieve of %d sends on A: %v %d %q", len(far), err, code, overall(body))
	}
	firstPage := len(retrievedIDs.FindAllString(body, -1))
	reqID := requestIDRE.FindStringSubmatch(body)[1]
	code, body, err = soapPost(client, b.base, "Retrieve", plainEnvelope(multiUser, multiPW,
		`<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><RetrieveRequest><ContinueRequest>`+reqID+`</ContinueRequest></RetrieveRequest></RetrieveRequestMsg>`))
	if err != nil || code != 200 || overall(body) != "OK" {
		t.Fatalf("ContinueRequest %s on B: %v %d %.300s", reqID, err, code, body)
	}
	if got := firstPage + len(retrievedIDs.FindAllString(body, -1)); got != len(far) {
		t.Errorf("Retrieve over A then B: %d sends, want %d", got, len(far))
	}

	// Login failures on A count on B: the pair is refused there, even
	// with the right password, once A's failures reach it.
	for range 3 {
		if code, _, err := soapPost(client, a.base, "Retrieve", plainEnvelope("guessed", "wrong", `<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><RetrieveRequest><ObjectType>Send</ObjectType><Properties>ID</Properties></RetrieveRequest></RetrieveRequestMsg>`)); err != nil || code == 200 {
			t.Fatalf("wrong password on A: %v %d", err, code)
		}
	}
	throttled := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		code, _, err := soapPost(client, b.base, "Retrieve", plainEnvelope("guessed", "guessed-pw", `<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><RetrieveRequest><ObjectType>Send</ObjectType><Properties>ID</Properties></RetrieveRequest></RetrieveRequestMsg>`))
		if err != nil {
			t.Fatal(err)
		}
		if code != 200 {
			throttled = true
			break
		}
	}
	if !throttled {
		t.Error("B never refused the source A saw 3 failed logins from")
	}

	// Due sends, over both, a few seconds ahead; a quarter of them will
	// be canceled as they fall due.
	dueAt := time.Now().Add(4 * time.Second).Truncate(time.Second).Add(time.Second)
	var due []int64
	for i := range 4 {
		due = append(due, create(servers[i%2], 250, dueAt)...)
	}
	var dueTargets []int64
	for i, id := range due {
		if i%4 == 0 {
			dueTargets = append(dueTargets, id)
		}
	}

	// The cancel load: workers over both servers; a request cut off by
	// the kill is sent again to the other (cancel is idempotent).
	var (
		mu       sync.Mutex
		answered = map[int64]string{} // OverallStatus of the answered cancel
		alive    = []bool{true, true}
	)
	cancelLoad := func(ids []int64, workers int) *sync.WaitGroup {
		queue := make(chan int64, len(ids))
		for _, i := range rand.Perm(len(ids)) {
			queue <- ids[i]
		}
		close(queue)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				env := loadgen.NewEnvelopeWriter(creds)
				n := w
				for id := range queue {
					for {
						n++
						mu.Lock()
						srv := servers[n%2]
						if !alive[n%2] {
							srv = servers[(n+1)%2]
						}
						mu.Unlock()
						code, body, err := soapPost(client, srv.base, "Perform", env.Cancel([]int64{id}))
						if err != nil {
							continue // cut off: the other server
						}
						st := overall(body)
						if code != 200 {
							st = fmt.Sprintf("HTTP %d", code)
						}
						mu.Lock()
						answered[id] = st
						mu.Unlock()
						break
					}
				}
			}()
		}
		return &wg
	}
	farLoad := cancelLoad(far[:1000], 4)
	// Started just before they fall due, the due sends' cancels race
	// their claims: some win (Canceled, never delivered), the rest are
	// refused (already sending, then delivered).
	time.Sleep(time.Until(dueAt.Add(-300 * time.Millisecond)))
	dueLoad := cancelLoad(dueTargets, 2)

	// Kill A while both hold claims: its claims must be taken over once
	// their lease ends.
	var killedAt time.Time
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		owners := pgCount(t, obs, `SELECT count(DISTINCT claim_owner) FROM sends WHERE status = 'Sending'`)
		done := pgCount(t, obs, `SELECT count(*) FROM outbox`)
		if owners == 2 && done > len(due)/5 || time.Now().After(deadline) {
			break
		}
	}
	mu.Lock()
	alive[0] = false
	mu.Unlock()
	a.cmd.Process.Kill() // SIGKILL: no shutdown, no last commit
	<-a.done
	killedAt = time.Now()
	orphans := map[int64]string{}
	rows, _ := obs.Query(ctx, `SELECT id, claim_owner FROM sends WHERE status = 'Sending'`)
	for rows.Next() {
		var id int64
		var owner string
		rows.Scan(&id, &owner)
		orphans[id] = owner
	}
	rows.Close()
	// B's owner is the one that claims after the kill (a claim whose
	// lease ends past killedAt + lease): A is dead.
	var bOwner string
	for deadline := time.Now().Add(30 * time.Second); bOwner == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		obs.QueryRow(ctx, `SELECT coalesce(max(claim_owner), '') FROM sends WHERE status = 'Sending' AND lease_until > $1`,
			killedAt.Add(lease).UnixMicro()).Scan(&bOwner)
		if pgCount(t, obs, `SELECT count(*) FROM sends WHERE status IN ('Scheduled', 'Sending') AND id = ANY($1)`, due) == 0 {
			break
		}
	}
	t.Logf("at the kill: %d sends Sending; B claims as %q", len(orphans), bOwner)
	for id, owner := range orphans {
		if owner == bOwner || bOwner == "" {
			delete(orphans, id)
		}
	}

	farLoad.Wait()
	dueLoad.Wait()
	for deadline := time.Now().Add(90 * time.Second); pgCount(t, obs, `SELECT count(*) FROM sends WHERE status IN ('Scheduled', 'Sending') AND id = ANY($1)`, due) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("due sends still pending 90s after the kill")
		}
	}
	// Both idle: nothing Sending at all (PostgreSQL's PRAGMA check).
	if n := pgCount(t, obs, `SELECT count(*) FROM sends WHERE status = 'Sending'`); n != 0 {
		t.Errorf("%d sends Sending once both are idle", n)
	}

	// Every cancel answered OK holds; every due send not canceled was
	// delivered exactly once, and no canceled one at all.
	status := map[int64]string{}
	outbox := map[int64]int{}
	attempts := map[int64]int{}
	rows, _ = obs.Query(ctx, `SELECT id, status FROM sends`)
	for rows.Next() {
		var id int64
		var s string
		rows.Scan(&id, &s)
		status[id] = s
	}
	rows.Close()
	rows, _ = obs.Query(ctx, `SELECT send_id, attempt FROM outbox`)
	for rows.Next() {
		var id int64
		var attempt int
		rows.Scan(&id, &attempt)
		outbox[id]++
		attempts[id] = attempt
	}
	rows.Close()
	okCanceled, refusedDue, lost := 0, 0, 0
	for id, st := range answered {
		if st == "OK" {
			okCanceled++
			if status[id] != "Canceled" || outbox[id] != 0 {
				lost++
				t.Errorf("send %d: cancel answered OK, now %s with %d outbox rows", id, status[id], outbox[id])
			}
		}
	}
	for _, id := range far[:1000] {
		if answered[id] != "OK" {
			t.Errorf("cancel of scheduled send %d answered %q", id, answered[id])
		}
	}
	for _, id := range due {
		if answered[id] == "OK" {
			continue
		}
		if answered[id] != "" {
			refusedDue++
		}
		if status[id] != "Complete" || outbox[id] != 1 {
			t.Errorf("due send %d: %s with %d outbox rows, want Complete with 1", id, status[id], outbox[id])
		}
	}
	for id := range orphans {
		if attempts[id] < 2 {
			t.Errorf("send %d, claimed by the killed instance, delivered at attempt %d (not taken over)", id, attempts[id])
		}
	}
	t.Logf("%d due sends over two instances, A killed holding %d claims (taken over by B after the %v lease); %d scheduled sends canceled; %d due sends canceled as they fell due, %d cancels refused (already sending); %d outbox rows, one per delivered send",
		len(due), len(orphans), lease, len(far[:1000]), okCanceled-1000, refusedDue, len(outbox))
	if len(orphans) == 0 {
		t.Log("A held no claims of its own at the kill, or B was not seen claiming after it: takeover not observed this run")
	}

	// A password rotated through the CLI is refused by every instance on
	// the next request, however recently it was verified there.
	c := startServer(t, name, args...)
	retrieve := `<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><RetrieveRequest><ObjectType>Send</ObjectType><Properties>ID</Properties><Filter xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>equals</SimpleOperator><Value>1</Value></Filter></RetrieveRequest></RetrieveRequestMsg>`
	// Each kind of token: without a nonce the user is read on every
	// request; with one, twice, so that the instance knows the user and
	// checks it in the nonce's statement.
	envelopes := map[string]func(user, pw, body string) []byte{"no nonce": plainEnvelope, "nonce": tokenEnvelope}
	for _, srv := range []*runningServer{b, c} {
		for kind, envelope := range envelopes {
			for range 2 {
				if code, body, err := soapPost(client, srv.base, "Retrieve", envelope(multiUser, multiPW, retrieve)); err != nil || code != 200 {
					t.Fatalf("old password before rotation on %s (%s): %v %d %.200s", srv.base, kind, err, code, body)
				}
			}
		}
	}
	partnerd(t, name, "account", "passwd", "--username", multiUser, "--password", multiPW2)
	// One old-password attempt per instance: --login-failures 3, shared by
	// the instances, would refuse the new password after a third.
	oldKind := map[*runningServer]string{b: "nonce", c: "no nonce"}
	for _, srv := range []*runningServer{b, c} {
		kind := oldKind[srv]
		if code, _, err := soapPost(client, srv.base, "Retrieve", envelopes[kind](multiUser, multiPW, retrieve)); err != nil || code == 200 {
			t.Errorf("old password after rotation on %s (%s): %v %d, want refused", srv.base, kind, err, code)
		}
		for kind, envelope := range envelopes {
			for range 2 {
				if code, body, err := soapPost(client, srv.base, "Retrieve", envelope(multiUser, multiPW2, retrieve)); err != nil || code != 200 {
					t.Errorf("new password on %s (%s): %v %d %.200s", srv.base, kind, err, code, body)
				}
			}
		}
	}
	// So is an account disabled through the CLI.
	partnerd(t, name, "account", "disable", "--username", multiUser)
	for _, srv := range []*runningServer{b, c} {
		for kind, envelope := range envelopes {
			if code, _, err := soapPost(client, srv.base, "Retrieve", envelope(multiUser, multiPW2, retrieve)); err != nil || code == 200 {
				t.Errorf("disabled account on %s (%s): %v %d, want refused", srv.base, kind, err, code)
			}
		}
	}
	b.stop(t)
	c.stop(t)
}
