package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestChart: sends per hour over the next 72 hours, each class counted in
// its hour, another account's left out, the cutoff drawn.
func TestChart(t *testing.T) {
	e := newEnv(t)
	e.apply("send alice senddate=+2h", "send alice senddate=+2h30m", "send alice senddate=+3h status=Paused",
		"send alice senddate=+5h status=Canceled", "send alice senddate=+80h", "send alice senddate=-1h status=Complete",
		"send bob senddate=+2h")
	alice := e.signedIn("alice", "alice-pw")
	a := alice.get("/console/chart")
	if a.status != 200 {
		t.Fatalf("HTTP %d", a.status)
	}
	for _, want := range []string{
		"<title>2026-01-15 14:00:00Z: 2 scheduled, 0 paused, 0 canceled</title>",
		"<title>2026-01-15 15:00:00Z: 0 scheduled, 1 paused, 0 canceled</title>",
		"<title>2026-01-15 17:00:00Z: 0 scheduled, 0 paused, 1 canceled</title>",
		"<title>2026-01-18 11:00:00Z: 0 scheduled, 0 paused, 0 canceled</title>",
		`<line x1="42" y1="0" x2="42" y2="200" stroke="#c62828"`, // the 10-minute cutoff: 1/6 of an hour's 12 units
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if n := strings.Count(a.body, "<g><title>"); n != 72 {
		t.Errorf("%d hours, want 72", n)
	}
	op := e.operator()
	if a := op.get("/console/chart"); !strings.Contains(a.body, "<title>2026-01-15 14:00:00Z: 3 scheduled") {
		t.Errorf("the operator's chart does not count every account")
	}
}

// TestClock: the operator moves a manual clock; an account may not; bad
// moves are refused and leave it.
func TestClock(t *testing.T) {
	e := newEnv(t)
	op := e.operator()
	alice := e.signedIn("alice", "alice-pw")
	start := e.fix.Clock.Now()
	if a := op.get("/console/clock"); !strings.Contains(a.body, "2026-01-15 12:00:00Z") || !strings.Contains(a.body, `name="advance"`) {
		t.Fatalf("clock page:\n%s", a.body)
	}
	for _, c := range []struct {
		b    *browser
		form url.Values
		want int
	}{
		{alice, url.Values{"advance": {"1h"}}, http.StatusForbidden},
		{op, url.Values{"advance": {"soon"}}, http.StatusBadRequest},
		{op, url.Values{"set": {"tomorrow"}}, http.StatusBadRequest},
		{op, url.Values{"advance": {"1h"}, "set": {"2026-01-15T12:00"}}, http.StatusBadRequest},
		{op, url.Values{}, http.StatusBadRequest},
	} {
		c.form.Set("csrf", c.b.csrf)
		if a := c.b.postForm("/console/clock", c.form); a.status != c.want {
			t.Errorf("%v: HTTP %d, want %d", c.form, a.status, c.want)
		}
	}
	if !e.fix.Clock.Now().Equal(start) {
		t.Fatalf("refused moves moved the clock to %s", e.fix.Clock.Now())
	}
	if a := op.postForm("/console/clock", url.Values{"csrf": {op.csrf}, "advance": {"90m"}}); a.status != http.StatusSeeOther {
		t.Fatalf("advance: HTTP %d %s", a.status, a.body)
	}
	if got := e.fix.Clock.Now(); !got.Equal(start.Add(90 * time.Minute)) {
		t.Errorf("clock at %s", got)
	}
	if a := op.postForm("/console/clock", url.Values{"csrf": {op.csrf}, "set": {"2026-02-01T08:30"}}); a.status != http.StatusSeeOther {
		t.Fatalf("set: HTTP %d", a.status)
	}
	if got := e.fix.Clock.Now(); !got.Equal(time.Date(2026, 2, 1, 8, 30, 0, 0, time.UTC)) {
		t.Errorf("clock at %s", got)
	}
	acts, _ := e.fix.Store.OperatorActions(context.Background(), 0)
	if len(acts) != 2 || acts[0].Action != "clock" || acts[0].Actor != "console:operator" {
		t.Errorf("operator actions %+v", acts)
	}
}
