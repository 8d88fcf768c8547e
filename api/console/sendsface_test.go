package console_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// createSends creates n sends of account through the send service, as the
// face of origin o does.
func (e *env) createSends(account string, o store.Origin, n int) []int64 {
	e.t.Helper()
	svc := &sending.Service{Store: e.fix.Store, Clock: e.fix.Clock, Policy: e.fix.Policy}
	var in []sending.NewSend
	for range n {
		in = append(in, sending.NewSend{EmailID: 1, HasEmail: true, ListIDs: []int64{1}, SendDate: at("2026-01-15T15:00:00Z"), Origin: o})
	}
	outs, err := svc.Create(context.Background(), e.account(account).ID, in)
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []int64
	for _, out := range outs {
		if out.Err != nil {
			e.t.Fatal(out.Err)
		}
		ids = append(ids, out.Send.ID)
	}
	return ids
}

// rows are the send IDs a list page shows, in order.
func rows(body string) []int64 {
	var out []int64
	for _, m := range rowID.FindAllStringSubmatch(body, -1) {
		var id int64
		fmt.Sscan(m[1], &id)
		out = append(out, id)
	}
	return out
}

// TestSendListByFace: the face filter lists the sends one path created,
// within the session's account, pages with the filter kept, labels each
// row's face, and offers a campaign's or Single Send's own actions on its
// sends, returning to the list.
func TestSendListByFace(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	aliceID := e.account("alice").ID
	soap := e.createSends("alice", store.OriginSOAP, 3)
	rest := e.createSends("alice", store.OriginREST, 1)
	bobREST := e.createSends("bob", store.OriginREST, 1)
	camp := e.campaign("alice", 2, at("2026-01-15T14:00:00Z"))
	ss := e.singleSend("alice")
	if _, err := e.marketingOf().ScheduleSingleSend(ctx, aliceID, ss.ID, at("2026-01-15T16:00:00Z")); err != nil {
		t.Fatal(err)
	}
	alice := e.signedIn("alice", "alice-pw")

	t.Run("filter", func(t *testing.T) {
		cases := []struct {
			query string
			want  int // rows; -1: exactly want IDs
			ids   []int64
		}{
			{"face=rest", -1, rest},
			{"face=rest&account=bob", -1, rest}, // an account sees its own whatever the query says
			{"face=soap", -1, soap},
			{"face=campaign", 2, nil},
			{"face=singlesend", 1, nil},
			{"face=definition", 0, nil},
			{"face=soap&status=Paused", 0, nil},
		}
		for _, c := range cases {
			page := alice.get("/console/sends?" + c.query)
			got := rows(page.body)
			if page.status != 200 || (c.want < 0 && !slices.Equal(got, c.ids)) || (c.want >= 0 && len(got) != c.want) {
				t.Errorf("%s: HTTP %d, rows %v; want %d %v", c.query, page.status, got, c.want, c.ids)
			}
			if slices.Contains(got, bobREST[0]) {
				t.Errorf("%s: alice sees bob's send %d", c.query, bobREST[0])
			}
		}
		page := alice.get("/console/sends?face=rest")
		if !strings.Contains(page.body, `<option value="rest" selected>SendGrid mail/send</option>`) ||
			!strings.Contains(page.body, `<td class="face">SendGrid mail/send`) {
			t.Errorf("the face is not shown selected and in its column:\n%s", page.body)
		}
	})

	t.Run("bad face", func(t *testing.T) {
		for q, says := range map[string]string{"face=fax": "unknown face", "face=SOAP": "unknown face", "face=%00": "NUL character"} {
			if page := alice.get("/console/sends?" + q); page.status != http.StatusBadRequest || !strings.Contains(page.body, says) {
				t.Errorf("%s: HTTP %d\n%s", q, page.status, page.body)
			}
		}
	})

	t.Run("paging keeps the face", func(t *testing.T) {
		var seen []int64
		path := "/console/sends?face=soap&n=2"
		for range 3 {
			page := alice.get(path)
			seen = append(seen, rows(page.body)...)
			m := nextLink.FindStringSubmatch(page.body)
			if m == nil {
				break
			}
			if !strings.Contains(m[1], "face=soap") {
				t.Errorf("next page link %s drops the face", m[1])
			}
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		if !slices.Equal(seen, soap) {
			t.Errorf("paged %v, want %v", seen, soap)
		}
	})

	t.Run("operator", func(t *testing.T) {
		op := e.operator()
		got := rows(op.get("/console/sends?face=rest").body)
		if !slices.Equal(got, append(slices.Clone(rest), bobREST...)) {
			t.Errorf("operator's rest sends %v, want %v and %v", got, rest, bobREST)
		}
		if got := rows(op.get("/console/sends?face=rest&account=bob").body); !slices.Equal(got, bobREST) {
			t.Errorf("operator's rest sends of bob %v, want %v", got, bobREST)
		}
	})

	t.Run("owner actions", func(t *testing.T) {
		page := alice.get("/console/sends?face=campaign")
		unschedule := fmt.Sprintf(`action="/console/campaigns/%d/%d/unschedule"`, aliceID, camp.ID)
		// The list's own URL names the account and the face.
		here := "/console/sends?account=alice&amp;face=campaign"
		del := fmt.Sprintf(`href="/console/campaigns/%d/%d/delete?back=%%2fconsole%%2fsends%%3faccount%%3dalice%%26face%%3dcampaign"`, aliceID, camp.ID)
		if strings.Count(page.body, unschedule) != 2 || strings.Count(page.body, del) != 2 || strings.Contains(page.body, `data-action="cancel"`) ||
			!strings.Contains(page.body, `name="back" value="`+here+`"`) {
			t.Fatalf("a campaign's sends do not offer its unschedule and delete (and only those):\n%s", page.body)
		}
		ssPage := alice.get("/console/sends?face=singlesend")
		ssDel := fmt.Sprintf(`href="/console/singlesends/%d/%s/delete?back=%%2fconsole%%2fsends%%3faccount%%3dalice%%26face%%3dsinglesend"`, aliceID, ss.ID)
		if !strings.Contains(ssPage.body, fmt.Sprintf(`action="/console/singlesends/%d/%s/unschedule"`, aliceID, ss.ID)) ||
			!strings.Contains(ssPage.body, ssDel) {
			t.Fatalf("a Single Send's send does not offer its unschedule and delete:\n%s", ssPage.body)
		}
		ssConfirm := alice.get(fmt.Sprintf("/console/singlesends/%d/%s/delete?back=%s", aliceID, ss.ID, url.QueryEscape("/console/sends?face=singlesend")))
		if strings.Count(ssConfirm.body, `name="back" value="/console/sends?face=singlesend"`) != 3 || // duplicate, delete, unschedule
			!strings.Contains(ssConfirm.body, `<a href="/console/sends?face=singlesend">Keep it</a>`) {
			t.Errorf("the Single Send's delete confirmation forgets where to return:\n%s", ssConfirm.body)
		}
		if soapPage := alice.get("/console/sends?face=soap"); strings.Count(soapPage.body, `data-action="cancel"`) != len(soap) {
			t.Errorf("plain sends lost their cancel:\n%s", soapPage.body)
		}
		confirm := alice.get(fmt.Sprintf("/console/campaigns/%d/%d/delete?back=%s", aliceID, camp.ID, url.QueryEscape("/console/sends?face=campaign")))
		if !strings.Contains(confirm.body, `name="back" value="/console/sends?face=campaign"`) {
			t.Errorf("the delete confirmation forgets where to return:\n%s", confirm.body)
		}
		a := alice.postForm(fmt.Sprintf("/console/campaigns/%d/%d/unschedule", aliceID, camp.ID),
			url.Values{"csrf": {alice.csrf}, "back": {"/console/sends?face=campaign"}})
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/console/sends?face=campaign" {
			t.Fatalf("unschedule: HTTP %d to %q", a.status, a.header.Get("Location"))
		}
		if c, _ := e.marketingOf().Campaign(ctx, aliceID, camp.ID); c.Status != marketing.CampaignDraft {
			t.Errorf("after unschedule: %s", c.Status)
		}
		// Now Draft: no unschedule on its sends, delete still.
		page = alice.get("/console/sends?face=campaign")
		if strings.Contains(page.body, unschedule) || !strings.Contains(page.body, del) ||
			!regexp.MustCompile(`<span class="hint">Draft</span>`).MatchString(page.body) {
			t.Errorf("after unschedule the list offers:\n%s", page.body)
		}
		// A back outside the console is not followed.
		a = alice.postForm(fmt.Sprintf("/console/singlesends/%d/%s/unschedule", aliceID, ss.ID),
			url.Values{"csrf": {alice.csrf}, "back": {"https://evil.example/"}})
		if a.status != http.StatusSeeOther || strings.Contains(a.header.Get("Location"), "evil") {
			t.Errorf("unschedule with a foreign back: HTTP %d to %q", a.status, a.header.Get("Location"))
		}
		// Deleted from the list's row: back to the list, the Single Send gone.
		a = alice.postForm(fmt.Sprintf("/console/singlesends/%d/%s/delete", aliceID, ss.ID),
			url.Values{"csrf": {alice.csrf}, "back": {"/console/sends?face=singlesend"}})
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/console/sends?face=singlesend" {
			t.Fatalf("delete: HTTP %d to %q", a.status, a.header.Get("Location"))
		}
		if _, err := e.marketingOf().SingleSend(ctx, aliceID, ss.ID); !errors.Is(err, marketing.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
	})
}
