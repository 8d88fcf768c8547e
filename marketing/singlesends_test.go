package marketing_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/store"
)

// readySS is a Single Send that can be scheduled, to lists (UUIDs).
func readySS(lists ...string) marketing.SingleSendInput {
	return marketing.SingleSendInput{SingleSendFields: store.SingleSendFields{
		Name:        "News",
		SendTo:      store.SendTo{ListIDs: lists},
		EmailConfig: store.EmailConfig{Subject: "Hi", HTMLContent: "<p>news</p>"},
	}}
}

func (e *env) singleSend(in marketing.SingleSendInput) marketing.SingleSend {
	e.t.Helper()
	ss, err := e.svc.CreateSingleSend(e.t.Context(), e.acct, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return ss
}

// TestSingleSendErrors: every refusal of the Single Send calls.
func TestSingleSendErrors(t *testing.T) {
	later := now.Add(time.Hour)
	type setup func(e *env) string
	draft := func(f func(*marketing.SingleSendInput)) setup {
		return func(e *env) string {
			in := readySS(e.list("L", 3).UUID)
			if f != nil {
				f(&in)
			}
			return e.singleSend(in).ID
		}
	}
	scheduled := func(e *env) string {
		id := draft(nil)(e)
		if _, err := e.svc.ScheduleSingleSend(e.t.Context(), e.acct, id, later); err != nil {
			e.t.Fatal(err)
		}
		return id
	}
	triggered := func(e *env) string {
		id := scheduled(e)
		e.clk.Set(later)
		e.claim(1)
		return id
	}
	create := func(f func(*marketing.SingleSendInput)) func(e *env, id string) error {
		return func(e *env, _ string) error {
			in := readySS()
			f(&in)
			_, err := e.svc.CreateSingleSend(e.t.Context(), e.acct, in)
			return err
		}
	}
	schedule := func(at time.Time) func(e *env, id string) error {
		return func(e *env, id string) error {
			_, err := e.svc.ScheduleSingleSend(e.t.Context(), e.acct, id, at)
			return err
		}
	}
	none := func(*env) string { return "" }
	cases := []struct {
		name   string
		setup  setup
		call   func(e *env, id string) error
		err    error
		fields []string
	}{
		{"no name", none, create(func(in *marketing.SingleSendInput) { in.Name = "" }), marketing.ErrInvalid, []string{"name"}},
		{"name of 101", none, create(func(in *marketing.SingleSendInput) { in.Name = strings.Repeat("n", 101) }), marketing.ErrInvalid, []string{"name"}},
		{"11 categories", none, create(func(in *marketing.SingleSendInput) { in.Categories = make([]string, 11) }), marketing.ErrInvalid, []string{"categories"}},
		{"51 lists", none, create(func(in *marketing.SingleSendInput) { in.SendTo.ListIDs = make([]string, 51) }), marketing.ErrInvalid, []string{"send_to.list_ids"}},
		{"a list id not a UUID", none, create(func(in *marketing.SingleSendInput) { in.SendTo.ListIDs = []string{"7"} }), marketing.ErrInvalid, []string{"send_to.list_ids[0]"}},
		{"an unknown list", none, create(func(in *marketing.SingleSendInput) { in.SendTo.ListIDs = []string{uuid.NewString()} }), marketing.ErrInvalid, []string{"send_to.list_ids[0]"}},
		{"11 segments", none, create(func(in *marketing.SingleSendInput) { in.SendTo.SegmentIDs = make([]string, 11) }), marketing.ErrInvalid, []string{"send_to.segment_ids"}},
		{"a segment", none, create(func(in *marketing.SingleSendInput) { in.SendTo.SegmentIDs = []string{uuid.NewString()} }), marketing.ErrInvalid, []string{"send_to.segment_ids"}},
		{"get unknown", none, func(e *env, _ string) error {
			_, err := e.svc.SingleSend(e.t.Context(), e.acct, uuid.NewString())
			return err
		}, marketing.ErrNotFound, nil},
		{"get another account's", draft(nil), func(e *env, id string) error { _, err := e.svc.SingleSend(e.t.Context(), e.other, id); return err }, marketing.ErrNotFound, nil},
		{"bad page token", none, func(e *env, _ string) error { _, err := e.svc.SingleSends(e.t.Context(), e.acct, 0, "x"); return err }, marketing.ErrInvalid, []string{"page_token"}},
		{"page size 101", none, func(e *env, _ string) error { _, err := e.svc.SingleSends(e.t.Context(), e.acct, 101, ""); return err }, marketing.ErrInvalid, []string{"page_size"}},
		{"update a scheduled one", scheduled, func(e *env, id string) error {
			_, err := e.svc.UpdateSingleSend(e.t.Context(), e.acct, id, marketing.SingleSendPatch{Name: marketing.Some("x")})
			return err
		}, marketing.ErrSingleSendNotDraft, nil},
		{"schedule twice", scheduled, schedule(later), marketing.ErrSingleSendNotDraft, nil},
		{"schedule in the past", draft(nil), schedule(now.Add(-time.Minute)), marketing.ErrInvalid, []string{"send_at"}},
		{"schedule without subject or content", draft(func(in *marketing.SingleSendInput) { in.EmailConfig = store.EmailConfig{} }),
			schedule(later), marketing.ErrInvalid, []string{"email_config.subject", "email_config.html_content"}},
		{"schedule to nobody", draft(func(in *marketing.SingleSendInput) { in.SendTo = store.SendTo{} }), schedule(later), marketing.ErrInvalid, []string{"send_to.list_ids"}},
		{"unschedule a triggered one", triggered, func(e *env, id string) error {
			_, err := e.svc.UnscheduleSingleSend(e.t.Context(), e.acct, id)
			return err
		}, marketing.ErrTriggered, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			id := c.setup(e)
			before := e.allSends()
			err := c.call(e, id)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if got := fields(err); !slices.Equal(got, c.fields) {
				t.Errorf("fields %v, want %v", got, c.fields)
			}
			if after := e.allSends(); !slices.EqualFunc(before, after, func(a, b store.Send) bool { return a.Status == b.Status }) {
				t.Errorf("a refused call changed the sends")
			}
		})
	}
}

// TestSingleSendSchedule: a send_at given at create only pre-fills;
// schedule makes the sends (scheduled), unschedule cancels them and
// answers {send_at, draft}; scheduled again, its status turns triggered
// once its time has come and a send is claimed.
func TestSingleSendSchedule(t *testing.T) {
	e := newEnv(t)
	in := readySS(e.list("L", 120).UUID)
	prefill := now.Add(3 * time.Hour)
	in.SendAt = prefill
	ss := e.singleSend(in)
	if ss.Status != marketing.SingleSendDraft || !ss.SendAt.Equal(prefill) {
		t.Fatalf("created %+v", ss)
	}
	if n := len(e.allSends()); n != 0 {
		t.Fatalf("a pre-filled send_at made %d sends", n)
	}
	at := now.Add(time.Hour)
	sch, err := e.svc.ScheduleSingleSend(t.Context(), e.acct, strings.ToUpper(ss.ID), at)
	if err != nil || sch.Status != marketing.SingleSendScheduled || !sch.SendAt.Equal(at) {
		t.Fatalf("schedule = %+v, %v", sch, err)
	}
	if n := len(e.allSends()); n != 2 {
		t.Fatalf("%d sends, want 2 (100 + 20)", n)
	}
	for _, s := range e.allSends() {
		// Told in upper case, the ID is kept as the Single Send's own.
		if s.Origin != store.OriginSingleSend || s.OriginID != ss.ID {
			t.Errorf("send %d: origin %q %q, want singlesend %s", s.ID, s.Origin, s.OriginID, ss.ID)
		}
	}
	un, err := e.svc.UnscheduleSingleSend(t.Context(), e.acct, ss.ID)
	if err != nil || un.Status != marketing.SingleSendDraft || !un.SendAt.Equal(at) {
		t.Fatalf("unschedule = %+v, %v", un, err)
	}
	for _, s := range e.allSends() {
		if s.Status != store.StatusCanceled {
			t.Errorf("send %d is %s after unschedule", s.ID, s.Status)
		}
	}
	if again, err := e.svc.UnscheduleSingleSend(t.Context(), e.acct, ss.ID); err != nil || again.Status != marketing.SingleSendDraft {
		t.Errorf("unschedule of a draft = %+v, %v", again, err)
	}
	// "now" (zero time): due at once.
	if sch, err = e.svc.ScheduleSingleSend(t.Context(), e.acct, ss.ID, time.Time{}); err != nil || !sch.SendAt.Equal(now) {
		t.Fatalf("schedule now = %+v, %v", sch, err)
	}
	status := func() marketing.SingleSendStatus {
		got, err := e.svc.SingleSend(t.Context(), e.acct, strings.ToUpper(ss.ID)) // any spelling of the UUID
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}
	if st := status(); st != marketing.SingleSendScheduled {
		t.Errorf("before a claim: %s", st)
	}
	if got := e.claim(10); len(got) != 2 {
		t.Fatalf("claimed %d, want the 2 new sends", len(got))
	}
	if st := status(); st != marketing.SingleSendTriggered {
		t.Errorf("claimed: %s", st)
	}
	if err := e.svc.DeleteSingleSend(t.Context(), e.acct, ss.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SingleSend(t.Context(), e.acct, ss.ID); !errors.Is(err, marketing.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

// TestSingleSendAllAndDelete: send_to.all sends to every list of the
// account, each address once; deleting a scheduled one leaves nothing due.
func TestSingleSendAllAndDelete(t *testing.T) {
	e := newEnv(t)
	e.list("a", 3)
	e.list("b", 5) // r0…r2 again
	in := readySS()
	in.SendTo.All = true
	ss := e.singleSend(in)
	at := now.Add(time.Hour)
	if _, err := e.svc.ScheduleSingleSend(t.Context(), e.acct, ss.ID, at); err != nil {
		t.Fatal(err)
	}
	e.clk.Set(at)
	claimed := e.claim(10)
	if len(claimed) != 1 || len(claimed[0].Content.Recipients) != 5 {
		t.Fatalf("claimed %d sends", len(claimed))
	}
	e.complete(claimed)

	other := e.singleSend(in)
	if _, err := e.svc.ScheduleSingleSend(t.Context(), e.acct, other.ID, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteSingleSend(t.Context(), e.acct, other.ID); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(2 * time.Hour)
	if got := e.claim(10); len(got) != 0 {
		t.Errorf("claimed %d of a deleted Single Send", len(got))
	}
}

// TestSingleSendPaging: pages in creation order; the last has no token.
func TestSingleSendPaging(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"a", "b", "c"} {
		e.singleSend(marketing.SingleSendInput{SingleSendFields: store.SingleSendFields{Name: n}})
	}
	var names []string
	token := ""
	for pages := 0; ; pages++ {
		page, err := e.svc.SingleSends(t.Context(), e.acct, 2, token)
		if err != nil {
			t.Fatal(err)
		}
		for _, ss := range page.Result {
			names = append(names, ss.Name)
		}
		if token = page.NextToken; token == "" {
			break
		}
		if pages > 3 {
			t.Fatal("no last page")
		}
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("pages gave %v", names)
	}
	up, err := e.svc.UpdateSingleSend(t.Context(), e.acct, mustFirst(t, e).ID, marketing.SingleSendPatch{Categories: marketing.Some([]string{"x"})})
	if err != nil || up.Name != "a" || !slices.Equal(up.Categories, []string{"x"}) {
		t.Errorf("update = %+v, %v", up, err)
	}
}

func mustFirst(t *testing.T, e *env) marketing.SingleSend {
	page, err := e.svc.SingleSends(t.Context(), e.acct, 1, "")
	if err != nil || len(page.Result) != 1 {
		t.Fatal(err)
	}
	return page.Result[0]
}

// TestCreateList: names are unique per account and 1–100 characters;
// addresses must be bare and are kept once.
func TestCreateList(t *testing.T) {
	e := newEnv(t)
	l, err := e.svc.CreateList(t.Context(), e.acct, " L ", []store.ListRecipient{{Address: "a@x.org"}, {Address: "A@x.org"}, {Address: "b@x.org", Name: "B"}})
	if err != nil || l.Name != "L" || l.ID == 0 || uuid.Validate(l.UUID) != nil || l.RecipientCount != 2 {
		t.Fatalf("created %+v, %v", l, err)
	}
	got, err := e.svc.List(t.Context(), e.acct, store.ListKey{UUID: l.UUID})
	if err != nil || len(got.Recipients) != 2 || got.Recipients[1] != (store.ListRecipient{Address: "b@x.org", Name: "B"}) {
		t.Errorf("read %+v, %v", got, err)
	}
	if _, err := e.svc.CreateList(t.Context(), e.acct, "L", nil); !errors.Is(err, marketing.ErrListExists) {
		t.Errorf("duplicate name: %v", err)
	}
	if _, err := e.svc.CreateList(t.Context(), e.other, "L", nil); err != nil {
		t.Errorf("same name in another account: %v", err)
	}
	for _, c := range []struct {
		name   string
		addrs  []string
		fields []string
	}{
		{"", nil, []string{"name"}},
		{strings.Repeat("n", 101), nil, []string{"name"}},
		{"ok", []string{"Bob <b@x.org>"}, []string{"recipients[0]"}},
		{"ok", []string{"a@x.org", "not an address"}, []string{"recipients[1]"}},
	} {
		var rs []store.ListRecipient
		for _, a := range c.addrs {
			rs = append(rs, store.ListRecipient{Address: a})
		}
		_, err := e.svc.CreateList(t.Context(), e.acct, c.name, rs)
		if !errors.Is(err, marketing.ErrInvalid) || !slices.Equal(fields(err), c.fields) {
			t.Errorf("%q %v: %v, want fields %v", c.name, c.addrs, err, c.fields)
		}
	}
	if _, err := e.svc.List(t.Context(), e.other, store.ListKey{ID: l.ID}); !errors.Is(err, marketing.ErrNotFound) {
		t.Errorf("another account's list: %v", err)
	}
}
