package dispatch_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/partnerd/partnerd/api/partnerapi"
	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/dispatch"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/server"
	"github.com/partnerd/partnerd/store"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fastDir is a directory for a test database: in memory (/dev/shm) when the
// machine has it, since the race test commits thousands of times and
// fsync on a disk would dominate; the store's behaviour is the same.
func fastDir(t testing.TB) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "partnerd-dispatch-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

func openDB(t testing.TB) store.Store {
	t.Helper()
	return testrig.OpenStore(t, testrig.InDir(fastDir(t)))
}

// env is one walk through time: a store, a manual clock followed by a
// dispatcher, and the SOAP server.
type env struct {
	t      *testing.T
	db     store.Store
	clock  *clock.Manual
	sealer *credential.Sealer
	h      http.Handler
	acct   store.Account
}

func newEnv(t *testing.T, policy lifecycle.Policy) *env {
	credential.DefaultIterations = 1000
	db := openDB(t)
	sealer, err := credential.NewSealer(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, clock: clock.NewManual(t0), sealer: sealer}
	hash, _ := credential.Hash("pw-1")
	e.acct = store.Account{Username: "acme", ClientID: 7001, PasswordHash: hash, PasswordSealed: sealer.Seal("pw-1")}
	if err := db.CreateAccount(t.Context(), &e.acct); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.h = server.New(server.Config{Store: db, Clock: e.clock, Sealer: sealer, Policy: policy, Logger: logger, Version: "test"})
	dispatch.New(dispatch.Config{Store: db, Clock: e.clock, Policy: policy, Logger: logger}).Follow(context.Background(), e.clock)
	return e
}

// schedule stores n sends due at d from t0 and returns their IDs.
func (e *env) schedule(n int, d time.Duration) []int64 {
	e.t.Helper()
	var ids []int64
	err := e.db.Update(e.t.Context(), func(tx store.Tx) error {
		for i := 0; i < n; i++ {
			s := &store.Send{AccountID: e.acct.ID, ObjectID: fmt.Sprintf("00000000-0000-4000-8000-%012d", time.Now().UnixNano()%1e12+int64(i)),
				EmailID: 1, ListIDs: []int64{2}, SendDate: t0.Add(d), Status: store.StatusScheduled,
				CreatedDate: t0, ModifiedDate: t0, StatusChangedAt: t0}
			if err := tx.InsertSend(e.t.Context(), s); err != nil {
				return err
			}
			c := store.SendContent{Subject: "Hello", TextBody: "Hi", Recipients: []store.Recipient{{Address: "a@example.com"}, {Address: "b@example.com"}}}
			if err := tx.SetSendContent(e.t.Context(), e.acct.ID, s.ID, c); err != nil {
				return err
			}
			ids = append(ids, s.ID)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return ids
}

var (
	statusRE = regexp.MustCompile(`<Result><StatusCode>(\w+)</StatusCode>`)
	codeRE   = regexp.MustCompile(`<OrdinalID>0</OrdinalID><ErrorCode>(\d+)</ErrorCode>`)
)

// perform posts a Perform of action on send id with password pw and
// returns "OK", the ErrorCode, or "fault".
func (e *env) perform(action string, id int64, pw string) string {
	e.t.Helper()
	body := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>acme</wsse:Username><wsse:Password>` + pw + `</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body><PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>` + action + `</Action><Definitions><Definition xsi:type="Send"><ID>` + fmt.Sprint(id) + `</ID></Definition></Definitions></PerformRequestMsg></soap:Body></soap:Envelope>`
	req := httptest.NewRequest("POST", "/Service.asmx", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", "Perform")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return answer(rec.Body.String())
}

func answer(resp string) string {
	m := statusRE.FindStringSubmatch(resp)
	if m == nil {
		return "fault"
	}
	if m[1] == "OK" {
		return "OK"
	}
	if c := codeRE.FindStringSubmatch(resp); c != nil {
		return c[1]
	}
	return "Error"
}

func (e *env) send(id int64) store.Send {
	e.t.Helper()
	var s store.Send
	err := e.db.View(e.t.Context(), func(tx store.Tx) error {
		var err error
		s, err = tx.SendByKey(e.t.Context(), e.acct.ID, store.SendKey{ID: id})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) outbox() map[int64]store.OutboxEntry {
	e.t.Helper()
	out, err := e.db.Outbox(e.t.Context(), store.OutboxQuery{})
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[int64]store.OutboxEntry{}
	for _, o := range out {
		if _, dup := m[o.SendID]; dup {
			e.t.Fatalf("send %d is in the outbox twice", o.SendID)
		}
		m[o.SendID] = o
	}
	return m
}

func (e *env) rotatePassword(pw string) {
	e.t.Helper()
	hash, _ := credential.Hash(pw)
	e.acct.PasswordHash, e.acct.PasswordSealed = hash, e.sealer.Seal(pw)
	if err := e.db.UpdateAccount(e.t.Context(), e.acct); err != nil {
		e.t.Fatal(err)
	}
}

// step is one thing that happens on a walk.
type step struct {
	advance time.Duration // move the clock (0 with do == "" still runs a pass)
	do      string        // "cancel", "pause", "resume" (send index 0), "flush", "passwd"
	send    int           // which scheduled send the action is on
	pw      string        // password for the action; default pw-1
	want    string        // the action's answer: OK, an ErrorCode, or fault
}

func TestLifecyclePaths(t *testing.T) {
	const hour = time.Hour
	cases := []struct {
		name       string
		policy     lifecycle.Policy
		sends      int
		at         time.Duration // the sends' SendDate from t0
		steps      []step
		wantStatus []store.SendStatus
		wantSent   []bool // in the outbox
	}{
		{name: "schedule then complete", sends: 1, at: hour,
			steps:      []step{{advance: 59 * time.Minute}, {advance: time.Minute}},
			wantStatus: []store.SendStatus{store.StatusComplete}, wantSent: []bool{true}},
		{name: "cancel is discarded at its time and stays Canceled", sends: 2, at: hour,
			steps:      []step{{do: "cancel", send: 0, want: "OK"}, {do: "cancel", send: 0, want: "OK"}, {advance: 2 * hour}},
			wantStatus: []store.SendStatus{store.StatusCanceled, store.StatusComplete}, wantSent: []bool{false, true}},
		{name: "cancel inside the cutoff is refused and the send goes out", sends: 1, at: hour,
			steps: []step{{advance: 50*time.Minute + time.Second}, {do: "cancel", want: "7092"}, {do: "pause", want: "7092"},
				{advance: 10 * time.Minute}, {do: "cancel", want: "7093"}},
			wantStatus: []store.SendStatus{store.StatusComplete}, wantSent: []bool{true}},
		{name: "cancel just outside the cutoff", sends: 1, at: hour,
			steps:      []step{{advance: 50*time.Minute - time.Microsecond}, {do: "cancel", want: "OK"}, {advance: hour}},
			wantStatus: []store.SendStatus{store.StatusCanceled}, wantSent: []bool{false}},
		{name: "pause, past its time, resume, sent", sends: 1, at: hour,
			steps: []step{{do: "pause", want: "OK"}, {advance: 3 * hour}, {do: "resume", want: "OK"},
				{advance: 0}}, // the move that runs what the resume made due
			wantStatus: []store.SendStatus{store.StatusComplete}, wantSent: []bool{true}},
		{name: "paused 72 hours past its time expires", sends: 2, at: hour,
			steps: []step{{do: "pause", send: 0, want: "OK"}, {do: "pause", send: 1, want: "OK"},
				{advance: hour + 72*hour}, {do: "resume", send: 1, want: "OK"}, {advance: time.Second},
				{do: "resume", send: 0, want: "7093"}},
			wantStatus: []store.SendStatus{store.StatusExpired, store.StatusComplete}, wantSent: []bool{false, true}},
		{name: "held limit reached", policy: lifecycle.Policy{CancelCutoff: 10 * time.Minute, HeldLimit: 2, PauseExpiry: 72 * hour},
			sends: 3, at: hour,
			steps: []step{{do: "pause", send: 0, want: "OK"}, {do: "cancel", send: 1, want: "OK"},
				{do: "cancel", send: 2, want: "7094"}, {do: "pause", send: 2, want: "7094"},
				// Once the canceled one is discarded at its time it no
				// longer counts, but by then send 2 is due too.
				{advance: 2 * hour}},
			wantStatus: []store.SendStatus{store.StatusPaused, store.StatusCanceled, store.StatusComplete},
			wantSent:   []bool{false, false, true}},
		{name: "flush discards everything pending", sends: 3, at: hour,
			steps:      []step{{do: "pause", send: 1, want: "OK"}, {do: "flush"}, {advance: 2 * hour}, {do: "resume", send: 1, want: "7093"}},
			wantStatus: []store.SendStatus{store.StatusCanceled, store.StatusCanceled, store.StatusCanceled}, wantSent: []bool{false, false, false}},
		{name: "password rotation mid-stream", sends: 3, at: hour,
			steps: []step{{do: "cancel", send: 0, want: "OK"}, {do: "passwd", pw: "pw-2"},
				{do: "cancel", send: 1, want: "fault"}, // the old password stops working at once
				{do: "cancel", send: 2, pw: "pw-2", want: "OK"},
				{advance: 2 * hour}},
			wantStatus: []store.SendStatus{store.StatusCanceled, store.StatusComplete, store.StatusCanceled},
			wantSent:   []bool{false, true, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			policy := c.policy
			if policy == (lifecycle.Policy{}) {
				policy = lifecycle.DefaultPolicy
			}
			e := newEnv(t, policy)
			ids := e.schedule(c.sends, c.at)
			for i, s := range c.steps {
				switch s.do {
				case "":
					e.clock.Advance(s.advance)
				case "flush":
					act := store.OperatorAction{AccountID: e.acct.ID, Actor: "test", At: e.clock.Now()}
					if err := e.db.FlushAccount(t.Context(), &act); err != nil {
						t.Fatal(err)
					}
				case "passwd":
					e.rotatePassword(s.pw)
				default:
					pw := s.pw
					if pw == "" {
						pw = "pw-1"
					}
					if got := e.perform(s.do, ids[s.send], pw); got != s.want {
						t.Fatalf("step %d: %s send %d at %s answered %s, want %s", i, s.do, s.send, e.clock.Now().Sub(t0), got, s.want)
					}
				}
			}
			out := e.outbox()
			for i, id := range ids {
				got := e.send(id)
				if got.Status != c.wantStatus[i] {
					t.Errorf("send %d: %s, want %s", i, got.Status, c.wantStatus[i])
				}
				o, sent := out[id]
				if sent != c.wantSent[i] {
					t.Errorf("send %d in the outbox: %v, want %v", i, sent, c.wantSent[i])
				}
				if sent {
					if !got.SentDate.Equal(o.DeliveredAt) || got.NumberSent != 2 || o.NumberSent != 2 || o.Subject != "Hello" {
						t.Errorf("send %d: SentDate %v NumberSent %d; outbox %+v", i, got.SentDate, got.NumberSent, o)
					}
					if got.SentDate.Before(got.SendDate) {
						t.Errorf("send %d went out at %v, before its SendDate %v", i, got.SentDate, got.SendDate)
					}
				}
			}
		})
	}
}

// lagClock reads another clock late by lag: Perform running on a machine
// whose clock is behind the dispatcher's (several partnerd processes
// sharing one database), so that the cutoff alone cannot separate a cancel
// from the dispatch and the store's transactions must.
type lagClock struct {
	c   clock.Clock
	lag time.Duration
}

func (l lagClock) Now() time.Time { return l.c.Now().Add(-l.lag) }

// TestCancelAtDispatchInstant races cancels against the dispatch of the
// same sends, at the instant they fall due, many times over. Every send
// must end either Canceled (and never in the outbox) when its cancel
// answered OK, or Complete (in the outbox exactly once) when it did not.
func TestCancelAtDispatchInstant(t *testing.T) {
	iterations := 1500 // per mode: 3,000 races, 9,000 sends in all
	if testing.Short() {
		iterations = 300
	}
	const perIteration = 3
	for _, mode := range []struct {
		name string
		lag  time.Duration
	}{{"same clock", 0}, {"perform clock behind", time.Millisecond}} {
		t.Run(mode.name, func(t *testing.T) {
			db := openDB(t)
			acct := store.Account{Username: "racer", ClientID: 1}
			if err := db.CreateAccount(t.Context(), &acct); err != nil {
				t.Fatal(err)
			}
			m := clock.NewManual(t0)
			// Cutoff 0: a cancel is allowed up to the SendDate itself, the
			// tightest race there is.
			policy := lifecycle.Policy{CancelCutoff: 0, PauseExpiry: 72 * time.Hour}
			svc := &partnerapi.Service{Store: db, Clock: lagClock{m, mode.lag}, Policy: policy}
			d := dispatch.New(dispatch.Config{Store: db, Clock: m, Policy: policy})
			d.Follow(t.Context(), m)

			answers := map[int64]string{}
			var ids []int64
			start := time.Now()
			for it := 0; it < iterations; it++ {
				due := t0.Add(time.Duration(it+1) * time.Second)
				batch := make([]int64, perIteration)
				err := db.Update(t.Context(), func(tx store.Tx) error {
					for i := range batch {
						s := &store.Send{AccountID: acct.ID, ObjectID: fmt.Sprintf("00000000-0000-4000-8000-%06d%06d", it, i),
							SendDate: due, Status: store.StatusScheduled, CreatedDate: t0, ModifiedDate: t0}
						if err := tx.InsertSend(t.Context(), s); err != nil {
							return err
						}
						batch[i] = s.ID
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				// Just before the instant, then the race: the move to the
				// instant (which dispatches) against a cancel of each send.
				m.Set(due.Add(-mode.lag/2 - time.Microsecond))
				var wg sync.WaitGroup
				var mu sync.Mutex
				wg.Add(1 + len(batch))
				go func() { defer wg.Done(); m.Set(due) }()
				for _, id := range batch {
					go func() {
						defer wg.Done()
						a := cancel(t, svc, acct, id)
						mu.Lock()
						answers[id] = a
						mu.Unlock()
					}()
				}
				wg.Wait()
				ids = append(ids, batch...)
			}
			m.Advance(time.Hour) // discard what is left canceled
			elapsed := time.Since(start)

			out, err := db.Outbox(t.Context(), store.OutboxQuery{})
			if err != nil {
				t.Fatal(err)
			}
			inOutbox := map[int64]int{}
			for _, o := range out {
				inOutbox[o.SendID]++
			}
			var canceled, completed int
			tally := map[string]int{}
			for _, id := range ids {
				var s store.Send
				if err := db.View(t.Context(), func(tx store.Tx) error {
					var err error
					s, err = tx.SendByKey(t.Context(), acct.ID, store.SendKey{ID: id})
					return err
				}); err != nil {
					t.Fatal(err)
				}
				a := answers[id]
				tally[a]++
				switch {
				case a == "OK" && s.Status == store.StatusCanceled && inOutbox[id] == 0:
					canceled++
				case a != "OK" && s.Status == store.StatusComplete && inOutbox[id] == 1:
					completed++
				default:
					t.Errorf("send %d: cancel answered %s, status %s, in the outbox %d times", id, a, s.Status, inOutbox[id])
				}
			}
			t.Logf("%d iterations, %d sends in %v: %d canceled (cancel OK), %d complete (cancel refused); answers %v",
				iterations, len(ids), elapsed.Round(time.Millisecond), canceled, completed, tally)
			if canceled == 0 || completed == 0 {
				t.Errorf("the race never went one way (%d canceled, %d complete): the test is not racing", canceled, completed)
			}
		})
	}
}

// cancel performs a cancel of send id through partnerapi.Service and returns
// "OK" or the ErrorCode.
func cancel(t *testing.T, svc *partnerapi.Service, acct store.Account, id int64) string {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Action>cancel</Action><Definitions><Definition xsi:type="Send"><ID>` + fmt.Sprint(id) + `</ID></Definition></Definitions></PerformRequestMsg>`); err != nil {
		t.Error(err)
		return ""
	}
	resp, err := svc.Perform(context.Background(), &soap.Request{RequestID: "r", Operation: "Perform", Body: doc.Root(),
		Principal: soap.Principal{AccountID: acct.ID, Username: acct.Username, ClientID: acct.ClientID}})
	if err != nil {
		t.Error(err)
		return ""
	}
	return answer(string(resp.Body))
}
