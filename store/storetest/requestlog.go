package storetest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerd/partnerd/store"
)

func requestLog(received time.Time, op string) store.RequestLog {
	id := uuid.NewString()
	return store.RequestLog{
		RequestID: id,
		AccountID: 1,
		Username:  "alice",
		// A credential other than the account's name, so that a store
		// that filled one from the other would show.
		CredentialKind: "user",
		Credential:     "alice-ci",
		Operation:      op,
		Status:         "OK",
		HTTPStatus:     200,
		Detail:         "",
		Remote:         "192.0.2.1:54321",
		Request:        `<s:Envelope><s:Body><PerformRequestMsg/></s:Body></s:Envelope>`,
		Response:       `<s:Envelope><s:Body><PerformResponseMsg><RequestID>` + id + `</RequestID></PerformResponseMsg></s:Body></s:Envelope>`,
		ReceivedAt:     received,
		Duration:       1234567 * time.Nanosecond,
	}
}

func diffRequestLog(t *testing.T, what string, got, want store.RequestLog) {
	t.Helper()
	if !sameTime(got.ReceivedAt, want.ReceivedAt) {
		t.Errorf("%s: ReceivedAt = %v, want %v", what, got.ReceivedAt, want.ReceivedAt)
	}
	got.ReceivedAt, want.ReceivedAt = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testRequestLog(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	// Logged out of order, as a slow request finishing after a fast one
	// would be: "newest" means most recently received.
	first := requestLog(at(0), "Retrieve")
	second := requestLog(at(time.Second+time.Millisecond), "Perform")
	third := requestLog(at(2*time.Second), "Create")
	fault := store.RequestLog{
		RequestID:  uuid.NewString(),
		Operation:  "Perform",
		Status:     "Fault",
		HTTPStatus: 500,
		Detail:     "bad password for unknown user",
		Remote:     "[2001:db8::1]:443",
		// Large and not ASCII: the inspector must show exactly what came.
		Request:      strings.Repeat("<x>héllo ✓ \x01</x>", 20000),
		Response:     "<soap:Fault/>",
		ReceivedAt:   at(-time.Minute),
		Duration:     3 * time.Second,
		RequestSize:  4 << 20,
		ResponseSize: 13,
		RequestNote:  "cut at 2048 bytes: not authenticated",
		ResponseNote: "a note",
	}
	for _, e := range []store.RequestLog{third, first, fault, second} {
		if err := s.LogRequest(t.Context(), e); err != nil {
			t.Fatalf("LogRequest(%s): %v", e.Operation, err)
		}
	}

	cases := []struct {
		n    int
		want []store.RequestLog
	}{
		{0, nil},
		{1, []store.RequestLog{third}},
		{3, []store.RequestLog{third, second, first}},
		{100, []store.RequestLog{third, second, first, fault}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("Recent%d", c.n), func(t *testing.T) {
			got, err := s.RecentRequests(t.Context(), c.n)
			if err != nil {
				t.Fatalf("RecentRequests: %v", err)
			}
			gotIDs := make([]string, 0, len(got))
			for _, g := range got {
				gotIDs = append(gotIDs, g.Operation)
			}
			wantIDs := make([]string, 0, len(c.want))
			for _, w := range c.want {
				wantIDs = append(wantIDs, w.Operation)
			}
			if !slices.Equal(gotIDs, wantIDs) {
				t.Fatalf("RecentRequests(%d) = %v, want %v", c.n, gotIDs, wantIDs)
			}
			for i := range got {
				diffRequestLog(t, "RecentRequests", got[i], c.want[i])
			}
		})
	}

	t.Run("ByID", func(t *testing.T) {
		for _, want := range []store.RequestLog{first, fault} {
			got, err := s.RequestByID(t.Context(), want.RequestID)
			if err != nil {
				t.Fatalf("RequestByID: %v", err)
			}
			diffRequestLog(t, "RequestByID", got, want)
		}
		_, err := s.RequestByID(t.Context(), uuid.NewString())
		wantErr(t, "RequestByID(unknown)", err, store.ErrNotFound)
	})
}

// testRequestLogBatch checks LogRequests: a batch is stored whole, and a
// batch holding an already-logged RequestID is refused whole.
func testRequestLogBatch(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	batch := []store.RequestLog{requestLog(at, "Perform"), requestLog(at.Add(time.Second), "Create"), requestLog(at.Add(2*time.Second), "Retrieve")}
	if err := s.LogRequests(t.Context(), batch); err != nil {
		t.Fatalf("LogRequests: %v", err)
	}
	if err := s.LogRequests(t.Context(), nil); err != nil {
		t.Fatalf("LogRequests(nil): %v", err)
	}
	for _, e := range batch {
		got, err := s.RequestByID(t.Context(), e.RequestID)
		if err != nil {
			t.Fatalf("RequestByID(%s): %v", e.RequestID, err)
		}
		diffRequestLog(t, e.Operation, got, e)
	}
	fresh := requestLog(at.Add(3*time.Second), "Perform")
	err := s.LogRequests(t.Context(), []store.RequestLog{fresh, batch[1]})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("a batch with a logged RequestID: err = %v, want ErrExists", err)
	}
	if _, err := s.RequestByID(t.Context(), fresh.RequestID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused batch left %s behind (err %v)", fresh.RequestID, err)
	}
}

func testPruneRequests(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	// Ten exchanges a minute apart, logged oldest first.
	var logged []store.RequestLog
	for i := range 10 {
		e := requestLog(base.Add(time.Duration(i)*time.Minute), "Perform")
		if err := s.LogRequest(t.Context(), e); err != nil {
			t.Fatalf("LogRequest: %v", err)
		}
		logged = append(logged, e)
	}
	remaining := func() []string {
		t.Helper()
		es, err := s.RecentRequests(t.Context(), 100)
		if err != nil {
			t.Fatalf("RecentRequests: %v", err)
		}
		var ids []string
		for i := len(es) - 1; i >= 0; i-- {
			ids = append(ids, es[i].RequestID)
		}
		return ids
	}
	want := func(name string, from int) {
		t.Helper()
		var ids []string
		for _, e := range logged[from:] {
			ids = append(ids, e.RequestID)
		}
		if got := remaining(); strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Errorf("%s: %d exchanges remain, want the newest %d", name, len(got), len(ids))
		}
	}

	steps := []struct {
		name   string
		before time.Time
		keep   int
		n      int64
		from   int // the oldest that remains
	}{
		{"nothing to do", time.Time{}, 0, 0, 0},
		{"keep more than there are", time.Time{}, 50, 0, 0},
		{"older than 3 minutes in", base.Add(3 * time.Minute), 0, 3, 3},
		{"same again", base.Add(3 * time.Minute), 0, 0, 3},
		{"keep 5", time.Time{}, 5, 2, 5},
		{"both: the age removes more", base.Add(7 * time.Minute), 4, 2, 7},
		{"both: the count removes more", base.Add(7 * time.Minute), 1, 2, 9},
	}
	// Prune runs at now and keeps what is younger than MaxAge: the steps'
	// "before" is now - MaxAge.
	now := base.Add(time.Hour)
	for _, st := range steps {
		r := store.Retention{MaxEntries: st.keep}
		if !st.before.IsZero() {
			r.MaxAge = now.Sub(st.before)
		}
		p, err := s.Prune(t.Context(), now, r)
		if err != nil || p.Requests != st.n {
			t.Errorf("%s: Prune(%+v) removed %d exchanges, %v; want %d", st.name, r, p.Requests, err, st.n)
		}
		want(st.name, st.from)
	}
	for _, bad := range []store.Retention{{MaxEntries: -1}, {MaxAge: -time.Minute}, {MaxBytes: -1}} {
		if _, err := s.Prune(t.Context(), now, bad); err == nil {
			t.Errorf("Prune(%+v): want an error", bad)
		}
	}
	t.Run("Bytes", func(t *testing.T) { testPruneRequestBytes(t, open) })
	// A pruned exchange is gone from RequestByID too.
	wantErr(t, "RequestByID of a pruned exchange", func() error { _, err := s.RequestByID(t.Context(), logged[0].RequestID); return err }(), store.ErrNotFound)
}

// testPruneRequestBytes checks the log's bound in bytes: the newest
// exchanges that fit are kept, whatever their count.
func testPruneRequestBytes(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	if n, err := s.PruneRequestBytes(t.Context(), 1<<20); err != nil || n != 0 {
		t.Errorf("PruneRequestBytes of an empty log = %d, %v", n, err)
	}
	for _, bad := range []int64{0, -1} {
		if _, err := s.PruneRequestBytes(t.Context(), bad); err == nil {
			t.Errorf("PruneRequestBytes(%d): want an error", bad)
		}
	}
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	// Bodies of random letters: a store that compresses them saves at
	// most a quarter (6 bits of 8 are random).
	body := func() string {
		b := make([]byte, 10_000)
		rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)[:10_000]
	}
	var logged []string
	for i := range 10 {
		e := requestLog(base.Add(time.Duration(i)*time.Second), "Perform")
		e.Request = body()
		if err := s.LogRequest(t.Context(), e); err != nil {
			t.Fatalf("LogRequest: %v", err)
		}
		logged = append(logged, e.RequestID)
	}
	// Each exchange takes 7,500–10,500 bytes: 3 or 4 fit in 35,000.
	n, err := s.PruneRequestBytes(t.Context(), 35_000)
	if err != nil || n < 6 || n > 7 {
		t.Fatalf("PruneRequestBytes(35000) = %d, %v; want 6 or 7 of 10 removed", n, err)
	}
	es, err := s.RecentRequests(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range es {
		if want := logged[len(logged)-1-i]; e.RequestID != want {
			t.Errorf("kept #%d is %s, want %s: the newest are kept", i, e.RequestID, want)
		}
	}
	if n, err := s.PruneRequestBytes(t.Context(), 35_000); err != nil || n != 0 {
		t.Errorf("PruneRequestBytes again = %d, %v; want 0", n, err)
	}
	if n, err := s.PruneRequestBytes(t.Context(), 1); err != nil || n != int64(len(es)) {
		t.Errorf("PruneRequestBytes(1) = %d, %v; want all %d removed", n, err, len(es))
	}
}
