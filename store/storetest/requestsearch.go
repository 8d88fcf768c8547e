package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// testSearchRequests: SearchRequests finds any logged exchange by each of
// its filters, pages through the whole log in RecentRequests' order
// (ties in ReceivedAt and exchanges without a time included) and keeps an
// account to its own exchanges, its cursor included.
func testSearchRequests(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	type row struct {
		id      string
		account int64
		face    string
		op      string
		status  string
		dur     time.Duration
		at      time.Duration // from base; -1: no time
	}
	rows := []row{
		{"a-01", 1, "soap", "Perform", "OK", 5 * time.Millisecond, 0},
		{"a-02", 1, "soap", "Retrieve", "OK", 50 * time.Millisecond, time.Second},
		{"a-03", 1, "soap", "Perform", "Error", 500 * time.Millisecond, time.Second}, // a tie in time
		{"a-04", 1, "sendgrid", "POST /v3/mail/send", "202", time.Millisecond, time.Second},
		{"b-01", 2, "soap", "Perform", "OK", 2 * time.Second, 2 * time.Second},
		{"b-02", 2, "sendgrid", "GET /v3/user/scheduled_sends", "200", time.Millisecond, -time.Hour},
		{"x-01", 0, "soap", "", "Fault", time.Millisecond, 3 * time.Second}, // not authenticated
		{"a-05", 1, "soap", "PERFORM", "ok", 7 * time.Millisecond, -1},
		{"a-06", 1, "soap", "Perform", "OK", 7 * time.Millisecond, -1},
	}
	// Logged in another order than received, several to a batch.
	var batch []store.RequestLog
	for _, r := range rows {
		e := requestLog(time.Time{}, r.op)
		e.RequestID, e.AccountID, e.Face, e.Status, e.Duration = r.id, r.account, r.face, r.status, r.dur
		if r.at != -1 {
			e.ReceivedAt = at(r.at)
		}
		batch = append(batch, e)
	}
	if err := s.LogRequests(ctx, batch[:4]); err != nil {
		t.Fatalf("LogRequests: %v", err)
	}
	for _, e := range batch[4:] {
		if err := s.LogRequest(ctx, e); err != nil {
			t.Fatalf("LogRequest(%s): %v", e.RequestID, err)
		}
	}
	ids := func(es []store.RequestLog) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.RequestID)
		}
		return out
	}
	recent, err := s.RecentRequests(ctx, 100)
	if err != nil {
		t.Fatalf("RecentRequests: %v", err)
	}
	// all pages through q, limit rows a page, as the console does.
	all := func(q store.RequestQuery, limit int) []string {
		t.Helper()
		var out []string
		q.Limit = limit
		for range 100 {
			page, err := s.SearchRequests(ctx, q)
			if err != nil {
				t.Fatalf("SearchRequests(%+v): %v", q, err)
			}
			if len(page) > limit {
				t.Fatalf("SearchRequests(%+v): %d rows, limit %d", q, len(page), limit)
			}
			out = append(out, ids(page)...)
			if len(page) < limit {
				return out
			}
			q.After = page[len(page)-1].RequestID
		}
		t.Fatalf("SearchRequests(%+v) pages without end", q)
		return nil
	}
	for _, limit := range []int{1, 2, 3, 100} {
		if got := all(store.RequestQuery{}, limit); !slices.Equal(got, ids(recent)) {
			t.Errorf("every exchange, %d a page:\n got %v\nwant %v (RecentRequests)", limit, got, ids(recent))
		}
	}
	if got, err := s.SearchRequests(ctx, store.RequestQuery{Limit: 1}); err != nil || len(got) != 1 {
		t.Fatalf("SearchRequests(Limit 1) = %d rows, %v", len(got), err)
	} else {
		diffRequestLog(t, "SearchRequests' row", got[0], recent[0])
	}

	cases := []struct {
		name string
		q    store.RequestQuery
		want []string
	}{
		{"account 1", store.RequestQuery{AccountID: 1}, []string{"a-04", "a-03", "a-02", "a-01", "a-06", "a-05"}},
		{"account 2", store.RequestQuery{AccountID: 2}, []string{"b-01", "b-02"}},
		{"no such account", store.RequestQuery{AccountID: 99}, nil},
		{"operation, any case", store.RequestQuery{Operation: "perform"}, []string{"b-01", "a-03", "a-01", "a-06", "a-05"}},
		{"operation is whole", store.RequestQuery{Operation: "Perf"}, nil},
		{"status, any case", store.RequestQuery{Status: "OK", AccountID: 1}, []string{"a-02", "a-01", "a-06", "a-05"}},
		{"face", store.RequestQuery{Face: "sendgrid"}, []string{"a-04", "b-02"}},
		{"face is exact", store.RequestQuery{Face: "SOAP"}, nil},
		{"slow", store.RequestQuery{MinDuration: 50 * time.Millisecond}, []string{"b-01", "a-03", "a-02"}},
		{"between", store.RequestQuery{MinDuration: 5 * time.Millisecond, MaxDuration: 50 * time.Millisecond}, []string{"a-02", "a-01", "a-06", "a-05"}},
		{"RequestID prefix", store.RequestQuery{RequestIDPrefix: "b-"}, []string{"b-01", "b-02"}},
		{"whole RequestID", store.RequestQuery{RequestIDPrefix: "a-03"}, []string{"a-03"}},
		{"prefix of no RequestID", store.RequestQuery{RequestIDPrefix: "c"}, nil},
		{"filters together", store.RequestQuery{AccountID: 1, Face: "soap", Operation: "Perform", Status: "ok", MinDuration: 6 * time.Millisecond},
			[]string{"a-06", "a-05"}},
		{"after, within a tie", store.RequestQuery{AccountID: 1, After: "a-03"}, []string{"a-02", "a-01", "a-06", "a-05"}},
		{"after the last with a time", store.RequestQuery{After: "b-02"}, []string{"a-06", "a-05"}},
		{"after one without a time", store.RequestQuery{After: "a-06"}, []string{"a-05"}},
		{"after the very last", store.RequestQuery{After: "a-05"}, nil},
		{"after an unknown RequestID", store.RequestQuery{After: "nope"}, nil},
		// An account's cursor is one of its own exchanges: another's
		// names nothing, so nothing of the other's position shows.
		{"after another account's", store.RequestQuery{AccountID: 2, After: "a-04"}, nil},
	}
	for _, c := range cases {
		for _, limit := range []int{1, 100} {
			if got := all(c.q, limit); strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("%s (%d a page): got %v, want %v", c.name, limit, got, c.want)
			}
		}
	}
	if got, err := s.SearchRequests(ctx, store.RequestQuery{}); err != nil || len(got) != 0 {
		t.Errorf("SearchRequests(Limit 0) = %v, %v; want none", ids(got), err)
	}
}
