package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/server"
	"github.com/partnerd/partnerd/store"
)

// eventStream is an open GET /console/events read event by event.
type eventStream struct {
	t    *testing.T
	resp *http.Response
	sc   *bufio.Scanner
}

func (b *browser) events(query string) (*eventStream, *http.Response) {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", b.e.srv.URL+"/console/events?"+query, nil)
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	b.e.t.Cleanup(func() { resp.Body.Close() })
	return &eventStream{t: b.e.t, resp: resp, sc: bufio.NewScanner(resp.Body)}, resp
}

// next reads the next event (skipping comments and retry), its name and
// data; it fails the test when the stream ends first.
func (s *eventStream) next() (string, string) {
	s.t.Helper()
	name, data := "", ""
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if name != "" {
				return name, data
			}
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		}
	}
	s.t.Fatalf("the event stream ended: %v", s.sc.Err())
	return "", ""
}

func (s *eventStream) send() map[string]any {
	s.t.Helper()
	name, data := s.next()
	var v map[string]any
	if name != "send" || json.Unmarshal([]byte(data), &v) != nil {
		s.t.Fatalf("event %q %s, want a send", name, data)
	}
	return v
}

// TestEvents: the stream answers the followed sends' statuses, then each
// change — a cancel from another session, a send the dispatcher completes
// — and outlives the server's WriteTimeout; a session's streams are
// bounded; a rotated password ends the stream.
func TestEvents(t *testing.T) {
	e := newEnv(t)
	// A listener of its own with a short WriteTimeout: the stream must
	// renew its deadline, or this one cuts it.
	srv := httptest.NewUnstartedServer(e.h)
	srv.Config.WriteTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	e.srv = srv
	e.apply("send alice id=100 senddate=+2h", "send alice id=101 senddate=+3h")
	id := e.account("alice").ID
	alice := e.signedIn("alice", "alice-pw")
	es, resp := alice.events(fmt.Sprintf("s=%d.100,%d.101", id, id))
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("events: HTTP %d %v", resp.StatusCode, resp.Header)
	}
	first := map[float64]string{}
	for range 2 {
		v := es.send()
		first[v["id"].(float64)] = v["status"].(string)
	}
	if first[100] != "Scheduled" || first[101] != "Scheduled" {
		t.Fatalf("first events %v", first)
	}
	time.Sleep(500 * time.Millisecond) // past the WriteTimeout

	other := e.signedIn("alice", "alice-pw")
	if a, _ := other.act(fmt.Sprintf("/console/sends/%d/100/cancel", id)); a.status != 200 {
		t.Fatalf("cancel: HTTP %d", a.status)
	}
	if v := es.send(); v["id"].(float64) != 100 || v["status"] != "Canceled" {
		t.Errorf("after the cancel: %v", v)
	}
	// The dispatcher (or another server) completes 101.
	ctx := context.Background()
	err := e.fix.Store.Update(ctx, func(tx store.Tx) error {
		s, err := tx.SendByKey(ctx, id, store.SendKey{ID: 101})
		if err != nil {
			return err
		}
		s.Status, s.SentDate = store.StatusComplete, e.fix.Clock.Now()
		return tx.UpdateSendFrom(ctx, s, store.StatusScheduled)
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := es.send(); v["id"].(float64) != 101 || v["status"] != "Complete" || len(v["actions"].([]any)) != 0 {
		t.Errorf("after completion: %v", v)
	}

	// Four streams per session: the fifth is refused.
	for range 3 {
		if _, r := alice.events(fmt.Sprintf("s=%d.100", id)); r.StatusCode != 200 {
			t.Fatalf("stream: HTTP %d", r.StatusCode)
		}
	}
	if _, r := alice.events(fmt.Sprintf("s=%d.100", id)); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a fifth stream: HTTP %d, want 429", r.StatusCode)
	}
	if _, r := other.events(fmt.Sprintf("s=%d.100", id)); r.StatusCode != 200 {
		t.Errorf("another session's stream: HTTP %d", r.StatusCode)
	}

	// The password rotated elsewhere: the stream says so and ends.
	u, _, _ := e.fix.Store.UserByUsername(ctx, "alice")
	u.PasswordHash = "changed"
	if err := e.fix.Store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if name, _ := es.next(); name != "end" {
		t.Errorf("after the rotation: event %q, want end", name)
	}
}

// TestEventsBadInput: another account's send is unknown, bad lists are
// 400, no session is 401; none starts a stream.
func TestEventsBadInput(t *testing.T) {
	e := newEnv(t)
	e.apply("send bob id=200 senddate=+2h")
	alice := e.signedIn("alice", "alice-pw")
	aliceID, bobID := e.account("alice").ID, e.account("bob").ID
	for q, want := range map[string]int{
		fmt.Sprintf("s=%d.200", bobID):               http.StatusNotFound,
		fmt.Sprintf("s=%d.1,%d.200", aliceID, bobID): http.StatusNotFound,
		"":      http.StatusBadRequest,
		"s=1":   http.StatusBadRequest,
		"s=x.1": http.StatusBadRequest,
		"s=" + strings.Repeat(fmt.Sprintf("%d.1,", aliceID), 501) + "1.1": http.StatusBadRequest,
	} {
		a := alice.get("/console/events?"+q, "Accept", "application/json")
		if a.status != want || strings.HasPrefix(a.header.Get("Content-Type"), "text/event-stream") {
			t.Errorf("events?%.40s: HTTP %d %s, want %d", q, a.status, a.header.Get("Content-Type"), want)
		}
	}
	if a := e.browser().get("/console/events?s=1.1", "Accept", "application/json"); a.status != http.StatusUnauthorized {
		t.Errorf("without a session: HTTP %d", a.status)
	}
	if a := alice.do("POST", "/console/events?s=1.1", nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: HTTP %d", a.status)
	}
}

// TestEventsEndOnShutdown: EndStreams (what server.App registers with
// RegisterOnShutdown) ends an open stream and refuses new ones, so that a
// graceful shutdown does not wait out its grace for an open tab.
func TestEventsEndOnShutdown(t *testing.T) {
	e := newEnv(t)
	e.apply("send alice id=100 senddate=+2h")
	id := e.account("alice").ID
	alice := e.signedIn("alice", "alice-pw")
	es, _ := alice.events(fmt.Sprintf("s=%d.100", id))
	es.send()
	e.h.(*server.Server).EndStreams()
	if name, data := es.next(); name != "end" || !strings.Contains(data, "shutting down") {
		t.Errorf("after EndStreams: %q %s", name, data)
	}
	if _, r := alice.events(fmt.Sprintf("s=%d.100", id)); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a stream after EndStreams: HTTP %d", r.StatusCode)
	}
}
