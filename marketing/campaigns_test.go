package marketing_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/store"
)

// fields lists the fields of a *ValidationError, or nil.
func fields(err error) []string {
	var v *marketing.ValidationError
	if !errors.As(err, &v) {
		return nil
	}
	var fs []string
	for _, p := range v.Problems {
		fs = append(fs, p.Field)
	}
	return fs
}

// TestCampaignErrors: every refusal of the campaign calls, through the
// service, with the documented wording where SendGrid has one.
func TestCampaignErrors(t *testing.T) {
	later := now.Add(time.Hour)
	// Each case sets up a campaign (its id) and makes one call.
	type setup func(e *env) int64
	draft := func(f func(*store.CampaignFields)) setup {
		return func(e *env) int64 {
			l := e.list("L", 3)
			c := ready(l.ID)
			if f != nil {
				f(&c)
			}
			return e.campaign(c).ID
		}
	}
	scheduledAt := func(at time.Time) setup {
		return func(e *env) int64 {
			id := draft(nil)(e)
			if _, err := e.svc.ScheduleCampaign(e.t.Context(), e.acct, id, at); err != nil {
				e.t.Fatal(err)
			}
			return id
		}
	}
	// then moves a scheduled campaign on: the clock to its time, and f.
	then := func(s setup, f func(e *env)) setup {
		return func(e *env) int64 {
			id := s(e)
			f(e)
			return id
		}
	}
	inProgress := then(scheduledAt(later), func(e *env) { e.clk.Set(later); e.claim(1) })
	sent := then(scheduledAt(later), func(e *env) { e.clk.Set(later); e.complete(e.claim(10)) })
	paused := then(scheduledAt(later), func(e *env) { e.act(lifecycle.Pause) })
	canceled := then(scheduledAt(later), func(e *env) { e.act(lifecycle.Cancel) })

	create := func(f store.CampaignFields) func(e *env, id int64) error {
		return func(e *env, _ int64) error { _, err := e.svc.CreateCampaign(e.t.Context(), e.acct, f); return err }
	}
	update := func(p marketing.CampaignPatch) func(e *env, id int64) error {
		return func(e *env, id int64) error { _, err := e.svc.UpdateCampaign(e.t.Context(), e.acct, id, p); return err }
	}
	schedule := func(at time.Time) func(e *env, id int64) error {
		return func(e *env, id int64) error {
			_, err := e.svc.ScheduleCampaign(e.t.Context(), e.acct, id, at)
			return err
		}
	}
	reschedule := func(at time.Time) func(e *env, id int64) error {
		return func(e *env, id int64) error {
			_, err := e.svc.RescheduleCampaign(e.t.Context(), e.acct, id, at)
			return err
		}
	}
	unschedule := func(e *env, id int64) error { return e.svc.UnscheduleCampaign(e.t.Context(), e.acct, id) }
	sendNow := func(e *env, id int64) error { _, err := e.svc.SendCampaignNow(e.t.Context(), e.acct, id); return err }
	none := func(*env) int64 { return 0 }

	cases := []struct {
		name   string
		setup  setup
		call   func(e *env, id int64) error
		err    error
		fields []string // of a ValidationError
	}{
		{"create without title", none, create(store.CampaignFields{Title: "  "}), marketing.ErrInvalid, []string{"title"}},
		{"create with a long title", none, create(store.CampaignFields{Title: strings.Repeat("é", 101)}), marketing.ErrInvalid, []string{"title"}},
		{"create with 11 categories", none, create(store.CampaignFields{Title: "t", Categories: make([]string, 11)}), marketing.ErrInvalid, []string{"categories"}},
		{"create with content over 1 MB", none, create(store.CampaignFields{Title: "t", HTMLContent: strings.Repeat("x", 1<<20+1)}), marketing.ErrInvalid, []string{"html_content"}},
		{"create to an unknown list", none, create(store.CampaignFields{Title: "t", ListIDs: []int64{99}}), marketing.ErrInvalid, []string{"list_ids"}},
		{"create to a segment", none, create(store.CampaignFields{Title: "t", SegmentIDs: []int64{1}}), marketing.ErrInvalid, []string{"segment_ids"}},
		{"every problem at once", none, create(store.CampaignFields{Categories: make([]string, 11), ListIDs: []int64{99}, SegmentIDs: []int64{1}}),
			marketing.ErrInvalid, []string{"title", "categories", "list_ids", "segment_ids"}},
		{"get unknown", none, func(e *env, _ int64) error { _, err := e.svc.Campaign(e.t.Context(), e.acct, 42); return err }, marketing.ErrNotFound, nil},
		{"get another account's", draft(nil), func(e *env, id int64) error { _, err := e.svc.Campaign(e.t.Context(), e.other, id); return err }, marketing.ErrNotFound, nil},
		{"delete another account's", draft(nil), func(e *env, id int64) error { return e.svc.DeleteCampaign(e.t.Context(), e.other, id) }, marketing.ErrNotFound, nil},
		{"list with a negative limit", none, func(e *env, _ int64) error { _, err := e.svc.Campaigns(e.t.Context(), e.acct, -1, 0); return err }, marketing.ErrInvalid, []string{"limit"}},
		{"update to a blank title", draft(nil), update(marketing.CampaignPatch{Title: marketing.Some("")}), marketing.ErrInvalid, []string{"title"}},
		{"update a scheduled one", scheduledAt(later), update(marketing.CampaignPatch{Subject: marketing.Some("x")}), marketing.ErrNotDraft, nil},
		{"schedule without subject", draft(func(f *store.CampaignFields) { f.Subject = "" }), schedule(later), marketing.ErrInvalid, []string{"subject"}},
		{"schedule without content", draft(func(f *store.CampaignFields) { f.HTMLContent, f.PlainContent = "", "" }), schedule(later), marketing.ErrInvalid, []string{"content"}},
		{"schedule without a list", draft(func(f *store.CampaignFields) { f.ListIDs = nil }), schedule(later), marketing.ErrInvalid, []string{"list_ids"}},
		{"schedule to an empty list", func(e *env) int64 { return e.campaign(ready(e.list("empty", 0).ID)).ID }, schedule(later), marketing.ErrInvalid, []string{"list_ids"}},
		{"schedule in the past", draft(nil), schedule(now.Add(-time.Second)), marketing.ErrPastSendAt, nil},
		{"schedule at now", draft(nil), schedule(now), marketing.ErrPastSendAt, nil},
		{"schedule after year 9999", draft(nil), schedule(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), marketing.ErrInvalid, []string{"send_at"}},
		{"schedule twice", scheduledAt(later), schedule(later), marketing.ErrAlreadyScheduled, nil},
		{"schedule a sent one", sent, schedule(later.Add(time.Hour)), marketing.ErrAlreadyScheduled, nil},
		{"send now a scheduled one", scheduledAt(later), sendNow, marketing.ErrSendNotDraft, nil},
		{"reschedule a draft", draft(nil), reschedule(later), marketing.ErrNotScheduled, nil},
		{"reschedule to the past", scheduledAt(later), reschedule(now.Add(-time.Minute)), marketing.ErrPastSendAt, nil},
		{"reschedule one in progress", inProgress, reschedule(later.Add(time.Hour)), marketing.ErrNotScheduled, nil},
		{"unschedule a draft", draft(nil), unschedule, marketing.ErrNotScheduled, nil},
		{"unschedule one in progress", inProgress, unschedule, marketing.ErrInProgress, nil},
		{"unschedule a sent one", sent, unschedule, marketing.ErrSent, nil},
		{"unschedule a paused one", paused, unschedule, marketing.ErrPaused, nil},
		{"unschedule a canceled one", canceled, unschedule, marketing.ErrCanceled, nil},
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
			if after := e.allSends(); !slices.EqualFunc(before, after, func(a, b store.Send) bool { return a.Status == b.Status && a.SendDate.Equal(b.SendDate) }) {
				t.Errorf("a refused call changed the sends:\n%v\n%v", before, after)
			}
		})
	}
	// The messages faces answer with, as SendGrid words them.
	for err, want := range map[error]string{
		marketing.ErrNotDraft:     "You may only update a campaign when it is in draft mode.",
		marketing.ErrPastSendAt:   "Please choose a future time for sending your campaign.",
		marketing.ErrInProgress:   "This campaign is already In Progress.",
		marketing.ErrNotScheduled: "You cannot update the send_at value of non-scheduled campaign.",
	} {
		if err.Error() != want {
			t.Errorf("%q, want %q", err, want)
		}
	}
}

// TestScheduleSplitsIntoSends: a 250-recipient list is sent as 3 sends of
// 100, 100 and 50, all due at send_at with the campaign's content; the
// status follows them: Scheduled, In Progress, Sent.
func TestScheduleSplitsIntoSends(t *testing.T) {
	e := newEnv(t)
	l := e.list("big", 250)
	c := e.campaign(ready(l.ID))
	at := now.Add(time.Hour)
	sch, err := e.svc.ScheduleCampaign(t.Context(), e.acct, c.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	if sch.Status != marketing.CampaignScheduled || !sch.SendAt.Equal(at) || sch.ID != c.ID {
		t.Errorf("schedule answered %+v", sch)
	}
	sends := e.allSends()
	if len(sends) != 3 {
		t.Fatalf("%d sends, want 3", len(sends))
	}
	var sizes []int
	seen := map[string]bool{}
	for _, s := range sends {
		if s.Status != store.StatusScheduled || !s.SendDate.Equal(at) || s.Subject != "Hello" || s.EmailName != "Spring" {
			t.Errorf("send %+v", s)
		}
		if s.Origin != store.OriginCampaign || s.OriginID != strconv.FormatInt(c.ID, 10) {
			t.Errorf("send %d: origin %q %q, want campaign %d", s.ID, s.Origin, s.OriginID, c.ID)
		}
		var content store.SendContent
		if err := e.db.View(t.Context(), func(tx store.Tx) error {
			content, err = tx.SendContent(t.Context(), e.acct, s.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if content.Subject != "Hello" || content.HTMLBody != "<p>hi</p>" || content.TextBody != "hi" {
			t.Errorf("content %+v", content)
		}
		for _, r := range content.Recipients {
			if seen[r.Address] {
				t.Errorf("%s in two sends", r.Address)
			}
			seen[r.Address] = true
		}
		sizes = append(sizes, len(content.Recipients))
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) || len(seen) != 250 {
		t.Errorf("chunks %v (%d addresses), want [100 100 50] of 250", sizes, len(seen))
	}
	status := func() marketing.CampaignStatus {
		got, err := e.svc.Campaign(t.Context(), e.acct, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}
	if st := status(); st != marketing.CampaignScheduled {
		t.Errorf("before its time: %s", st)
	}
	e.clk.Set(at)
	first := e.claim(1)
	if st := status(); st != marketing.CampaignInProgress {
		t.Errorf("one claimed: %s", st)
	}
	e.complete(first)
	if st := status(); st != marketing.CampaignInProgress {
		t.Errorf("one sent, two due: %s", st)
	}
	e.complete(e.claim(10))
	if st := status(); st != marketing.CampaignSent {
		t.Errorf("all sent: %s", st)
	}
	sch, err = e.svc.CampaignScheduleOf(t.Context(), e.acct, c.ID)
	if err != nil || !sch.SendAt.Equal(at) || sch.Status != marketing.CampaignSent {
		t.Errorf("GET schedules = %+v, %v", sch, err)
	}
}

// TestChunkSizeAndDedup: ChunkSize is configurable, and an address in two
// of the campaign's lists is sent once.
func TestChunkSizeAndDedup(t *testing.T) {
	e := newEnv(t)
	e.svc.ChunkSize = 2
	a := e.list("a", 3)
	b, err := e.svc.CreateList(t.Context(), e.acct, "b", []store.ListRecipient{{Address: "R0@example.com"}, {Address: "new@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	c := e.campaign(ready(a.ID, b.ID))
	if _, err := e.svc.SendCampaignNow(t.Context(), e.acct, c.ID); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, cs := range e.claim(10) {
		if len(cs.Content.Recipients) > 2 {
			t.Errorf("a send of %d recipients, want at most 2", len(cs.Content.Recipients))
		}
		total += len(cs.Content.Recipients)
	}
	if total != 4 {
		t.Errorf("%d recipients sent to, want 4 (r0 once)", total)
	}
}

// TestDeleteInProgressHalts: deleting a campaign one of whose sends is
// being delivered halts it: the others are canceled, never claimed, and
// hold no slot of the held limit; the claimed one may finish; the
// campaign is gone.
func TestDeleteInProgressHalts(t *testing.T) {
	e := newEnv(t)
	c := e.campaign(ready(e.list("big", 250).ID))
	at := now.Add(time.Hour)
	if _, err := e.svc.ScheduleCampaign(t.Context(), e.acct, c.ID, at); err != nil {
		t.Fatal(err)
	}
	e.clk.Set(at)
	claimed := e.claim(1)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d", len(claimed))
	}
	if err := e.svc.DeleteCampaign(t.Context(), e.acct, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Campaign(t.Context(), e.acct, c.ID); !errors.Is(err, marketing.ErrNotFound) {
		t.Errorf("GET after delete: %v, want ErrNotFound", err)
	}
	for _, s := range e.allSends() {
		want := store.StatusCanceled
		if s.ID == claimed[0].ID {
			want = store.StatusSending
		}
		if s.Status != want {
			t.Errorf("send %d is %s, want %s", s.ID, s.Status, want)
		}
	}
	e.complete(claimed) // the chunk in flight finishes
	e.clk.Advance(time.Hour)
	if again := e.claim(10); len(again) != 0 {
		t.Errorf("claimed %d sends of a deleted campaign", len(again))
	}
	err := e.db.View(t.Context(), func(tx store.Tx) error {
		n, err := tx.CountHeldSends(t.Context(), e.acct, e.clk.Now())
		if n != 0 {
			t.Errorf("%d held sends after a halt, want 0", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteCampaign(t.Context(), e.acct, c.ID); !errors.Is(err, marketing.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

// TestDeleteScheduled: a campaign deleted before its time sends nothing,
// cutoff or not (the halt is not a cancel of the rules).
func TestDeleteScheduled(t *testing.T) {
	e := newEnv(t)
	c := e.campaign(ready(e.list("L", 5).ID))
	at := now.Add(time.Minute) // inside the 10-minute cutoff
	if _, err := e.svc.ScheduleCampaign(t.Context(), e.acct, c.ID, at); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteCampaign(t.Context(), e.acct, c.ID); err != nil {
		t.Fatal(err)
	}
	e.clk.Set(at)
	if got := e.claim(10); len(got) != 0 {
		t.Errorf("claimed %d", len(got))
	}
}

// TestUnscheduleAndReschedule: unschedule returns the campaign to Draft
// with its sends canceled; it can be edited and scheduled again (new
// sends); a reschedule moves every send.
func TestUnscheduleAndReschedule(t *testing.T) {
	e := newEnv(t)
	c := e.campaign(ready(e.list("L", 150).ID))
	at := now.Add(time.Hour)
	if _, err := e.svc.ScheduleCampaign(t.Context(), e.acct, c.ID, at); err != nil {
		t.Fatal(err)
	}
	later := at.Add(time.Hour)
	sch, err := e.svc.RescheduleCampaign(t.Context(), e.acct, c.ID, later)
	if err != nil || !sch.SendAt.Equal(later) || sch.Status != marketing.CampaignScheduled {
		t.Fatalf("reschedule = %+v, %v", sch, err)
	}
	for _, s := range e.allSends() {
		if !s.SendDate.Equal(later) {
			t.Errorf("send %d due %s, want %s", s.ID, s.SendDate, later)
		}
	}
	if err := e.svc.UnscheduleCampaign(t.Context(), e.acct, c.ID); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Campaign(t.Context(), e.acct, c.ID)
	if err != nil || got.Status != marketing.CampaignDraft || !got.SendAt.IsZero() {
		t.Fatalf("after unschedule: %+v, %v", got, err)
	}
	for _, s := range e.allSends() {
		if s.Status != store.StatusCanceled {
			t.Errorf("send %d is %s after unschedule", s.ID, s.Status)
		}
	}
	if _, err := e.svc.UpdateCampaign(t.Context(), e.acct, c.ID, marketing.CampaignPatch{Subject: marketing.Some("Again")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ScheduleCampaign(t.Context(), e.acct, c.ID, at); err != nil {
		t.Fatal(err)
	}
	e.clk.Set(at)
	claimed := e.claim(10)
	if len(claimed) != 2 {
		t.Fatalf("claimed %d, want the 2 new sends", len(claimed))
	}
	for _, cs := range claimed {
		if cs.Subject != "Again" {
			t.Errorf("claimed %q", cs.Subject)
		}
	}
}

// TestCampaignCRUD: create answers Draft with its fields; update patches
// only what is sent (a null too); list is newest first, with limit and
// offset.
func TestCampaignCRUD(t *testing.T) {
	e := newEnv(t)
	sender := int64(7)
	c := e.campaign(store.CampaignFields{Title: "one", SenderID: &sender, Categories: []string{"a"}})
	if c.Status != marketing.CampaignDraft || c.ID == 0 || !c.Created.Equal(now) || c.Title != "one" {
		t.Errorf("created %+v", c)
	}
	up, err := e.svc.UpdateCampaign(t.Context(), e.acct, c.ID, marketing.CampaignPatch{SenderID: marketing.Some[*int64](nil), Subject: marketing.Some("s")})
	if err != nil || up.SenderID != nil || up.Subject != "s" || up.Title != "one" || !slices.Equal(up.Categories, []string{"a"}) {
		t.Errorf("updated %+v, %v", up, err)
	}
	for _, title := range []string{"two", "three"} {
		e.campaign(store.CampaignFields{Title: title})
	}
	titles := func(limit, offset int) []string {
		cs, err := e.svc.Campaigns(t.Context(), e.acct, limit, offset)
		if err != nil {
			t.Fatal(err)
		}
		var ts []string
		for _, c := range cs {
			ts = append(ts, c.Title)
		}
		return ts
	}
	if got := titles(0, 0); !slices.Equal(got, []string{"three", "two", "one"}) {
		t.Errorf("list %v", got)
	}
	if got := titles(1, 1); !slices.Equal(got, []string{"two"}) {
		t.Errorf("limit 1 offset 1: %v", got)
	}
	if cs, _ := e.svc.Campaigns(t.Context(), e.other, 0, 0); len(cs) != 0 {
		t.Errorf("other account sees %d campaigns", len(cs))
	}
}

// TestDeleteRacesClaims: a delete racing a dispatcher that claims the
// campaign's sends one at a time. Whichever wins each send, the outcome is
// consistent: every send ends either claimed (and delivered) or canceled,
// never both, and once the delete has returned nothing more is claimed.
func TestDeleteRacesClaims(t *testing.T) {
	e := newEnv(t)
	e.svc.ChunkSize = 10
	c := e.campaign(ready(e.list("big", 250).ID))
	at := now.Add(time.Hour)
	if _, err := e.svc.ScheduleCampaign(t.Context(), e.acct, c.ID, at); err != nil {
		t.Fatal(err)
	}
	e.clk.Set(at)
	claimedIDs := map[int64]bool{}
	stop := make(chan struct{})
	done := make(chan error)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			got, err := e.db.ClaimDueSends(t.Context(), store.Claim{Now: at, Owner: "racer", LeaseUntil: at.Add(time.Hour), Limit: 1})
			if err != nil {
				done <- err
				return
			}
			for _, cs := range got {
				claimedIDs[cs.ID] = true
			}
		}
	}()
	e.claim(1) // at least one is claimed before the delete
	if err := e.svc.DeleteCampaign(t.Context(), e.acct, c.ID); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := e.claim(100); len(got) != 0 {
		t.Errorf("claimed %d after the delete returned", len(got))
	}
	sends := e.allSends()
	if len(sends) != 25 {
		t.Fatalf("%d sends, want 25", len(sends))
	}
	for _, s := range sends {
		switch s.Status {
		case store.StatusSending:
		case store.StatusCanceled:
			if claimedIDs[s.ID] {
				t.Errorf("send %d was claimed and canceled", s.ID)
			}
		default:
			t.Errorf("send %d is %s", s.ID, s.Status)
		}
	}
}
