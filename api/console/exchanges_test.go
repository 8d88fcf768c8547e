package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

var spanTags = regexp.MustCompile(`<span class="hl-[a-z]+">|</span>`)

// preText is the text content of page's <pre id="id">: the highlighting
// spans removed, the entities resolved.
func preText(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<pre class="body" id="` + id + `">(.*?)</pre>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no <pre id=%q> in\n%s", id, page)
	}
	return html.UnescapeString(spanTags.ReplaceAllString(m[1], ""))
}

// TestExchangeBodiesStayText: bodies holding markup (a script element, an
// attribute breaking out of its quotes, JSON strings holding tags) render
// as text — highlighted, but no element of theirs reaches the page.
func TestExchangeBodiesStayText(t *testing.T) {
	e := newEnv(t)
	alice := e.account("alice").ID
	cases := []struct{ id, request, response string }{
		{"x-script", `<s:Envelope xmlns:s="u"><s:Body><script>alert(1)</script></s:Body></s:Envelope>`, `<r a="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"/>`},
		{"x-attr", `<a b='"><img src=x onerror=alert(1)>'>t</a>`, `"><img src=x onerror=alert(1)>`},
		{"x-json", `{"html":"</pre><script>alert(1)</script>","n":1}`, `["\"><img onerror=alert(1)>"]`},
		{"x-cut", `<a><script>alert(1)`, `</pre><script>alert(1)</script>`},
	}
	for _, c := range cases {
		if err := e.fix.Store.LogRequest(context.Background(), store.RequestLog{RequestID: c.id, Face: "soap", Method: "POST", Path: "/Service.asmx",
			AccountID: alice, Username: "alice", Operation: "Perform", Status: "OK", HTTPStatus: 200,
			Request: c.request, Response: c.response, ReceivedAt: e.fix.Clock.Now(), Duration: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	b := e.signedIn("alice", "alice-pw")
	for _, c := range cases {
		a := b.get("/console/exchanges/" + c.id)
		if a.status != 200 {
			t.Fatalf("%s: HTTP %d", c.id, a.status)
		}
		checkCSP(t, c.id, a)
		for _, bad := range []string{"<script>alert", "<img", "onerror=alert(1)>\"", "</pre><script"} {
			if strings.Contains(a.body, bad) {
				t.Errorf("%s: the page holds %q unescaped:\n%s", c.id, bad, a.body)
			}
		}
		if n := strings.Count(a.body, "<pre "); n != 3 {
			t.Errorf("%s: %d <pre> elements, want 3 (request, response, curl)", c.id, n)
		}
		for _, pre := range []string{"request", "response"} {
			got := preText(t, a.body, pre)
			if strip := strings.Join(strings.Fields(got), ""); !strings.Contains(strip, "alert(1)") {
				t.Errorf("%s: the %s's text lost its content: %q", c.id, pre, got)
			}
		}
	}
}

// TestExchangeHighlighted: the page marks up element names, attributes and
// values of XML, keys, strings and numbers of JSON.
func TestExchangeHighlighted(t *testing.T) {
	e := newEnv(t)
	e.fix.Store.LogRequest(context.Background(), store.RequestLog{RequestID: "hl-1", Face: "sendgrid", Method: "POST", Path: "/v3/mail/send",
		AccountID: e.account("alice").ID, Username: "alice", Operation: "POST /v3/mail/send", Status: "202", HTTPStatus: 202,
		Request: `{"send_at":1768478400,"subject":"Hi"}`, Response: `<r a="1">x</r>`, ReceivedAt: e.fix.Clock.Now()})
	a := e.signedIn("alice", "alice-pw").get("/console/exchanges/hl-1")
	for _, want := range []string{`<span class="hl-key">&#34;send_at&#34;</span>`, `<span class="hl-num">1768478400</span>`,
		`<span class="hl-str">&#34;Hi&#34;</span>`, `<span class="hl-tag">r</span>`, `<span class="hl-attr">a</span>`, `<span class="hl-val">&#34;1&#34;</span>`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if got := preText(t, a.body, "request"); got != "{\n  \"send_at\": 1768478400,\n  \"subject\": \"Hi\"\n}" {
		t.Errorf("request as text: %q", got)
	}
}

var exchangeRow = regexp.MustCompile(`<a href="/console/exchanges/([^"]+)">`)

// TestExchangeSearch: the filters reach the whole log (an exchange older
// than the newest 2,000 is found), pages follow one another without gaps
// or repeats, and an account finds only its own exchanges.
func TestExchangeSearch(t *testing.T) {
	e := newEnv(t)
	aliceID, bobID := e.account("alice").ID, e.account("bob").ID
	start := e.fix.Clock.Now().Add(-time.Hour)
	var es []store.RequestLog
	for i := range 2300 {
		acct, user := aliceID, "alice"
		if i%2 == 1 {
			acct, user = bobID, "bob"
		}
		op, dur := "Retrieve", time.Millisecond
		if i == 0 {
			op, dur = "Describe", 900*time.Millisecond // alice's oldest
		}
		es = append(es, store.RequestLog{RequestID: fmt.Sprintf("r-%05d", i), Face: "soap", Method: "POST", Path: "/Service.asmx",
			AccountID: acct, Username: user, Operation: op, Status: "OK", HTTPStatus: 200, ReceivedAt: start.Add(time.Duration(i) * time.Second), Duration: dur})
	}
	if err := e.fix.Store.LogRequests(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	alice, bob, op := e.signedIn("alice", "alice-pw"), e.signedIn("bob", "bob-pw"), e.operator()
	listed := func(a answer) []string {
		var ids []string
		for _, m := range exchangeRow.FindAllStringSubmatch(a.body, -1) {
			ids = append(ids, m[1])
		}
		return ids
	}
	for _, c := range []struct {
		b     *browser
		query string
		want  []string
	}{
		{alice, "operation=describe", []string{"r-00000"}},
		{alice, "slower=500", []string{"r-00000"}},
		{alice, "slower=0.5&operation=Describe&outcome=ok&face=soap", []string{"r-00000"}},
		{bob, "operation=describe", nil},
		{bob, "operation=describe&account=alice", nil}, // an account's filter is its own
		{bob, "slower=500", nil},
		{op, "operation=describe", []string{"r-00000"}},
		{op, "operation=describe&account=bob", nil},
		{op, "id=r-0000", []string{"r-00009", "r-00008", "r-00007", "r-00006", "r-00005", "r-00004", "r-00003", "r-00002", "r-00001", "r-00000"}},
		{alice, "id=r-0000", []string{"r-00008", "r-00006", "r-00004", "r-00002", "r-00000"}},
		{bob, "id=r-00000", nil},      // alice's, whole: not opened, not listed
		{alice, "after=r-00001", nil}, // bob's as a cursor: nothing
	} {
		a := c.b.get("/console/exchanges?" + c.query)
		if a.status != 200 {
			t.Errorf("?%s: HTTP %d\n%s", c.query, a.status, a.body)
			continue
		}
		if got := listed(a); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("?%s: listed %v, want %v", c.query, got, c.want)
		}
	}
	if a := alice.get("/console/exchanges?id=r-00002"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/console/exchanges/r-00002" {
		t.Errorf("alice opens her exchange by RequestID: HTTP %d %s", a.status, a.header.Get("Location"))
	}

	// alice pages through all her 1,150 exchanges, newest first.
	var got []string
	next := "/console/exchanges"
	for pages := 0; next != ""; pages++ {
		if pages > 20 {
			t.Fatalf("too many pages")
		}
		a := alice.get(next)
		got = append(got, listed(a)...)
		next = ""
		if m := nextLink.FindStringSubmatch(a.body); m != nil {
			next = html.UnescapeString(m[1])
		}
	}
	if len(got) != 1150 || got[0] != "r-02298" || got[len(got)-1] != "r-00000" {
		t.Fatalf("alice's pages: %d exchanges, from %v to %v", len(got), got[:1], got[len(got)-1:])
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] || id[len(id)-1]%2 == 1 {
			t.Fatalf("alice's pages list %s twice or bob's", id)
		}
		seen[id] = true
	}

	// Bad input: a clear error, nothing else.
	for _, c := range []struct {
		query string
		want  int
	}{
		{"slower=fast", http.StatusBadRequest},
		{"slower=-1", http.StatusBadRequest},
		{"slower=NaN", http.StatusBadRequest},
		{"operation=" + strings.Repeat("x", 201), http.StatusBadRequest},
		{"id=%ff%fe", http.StatusBadRequest},
	} {
		if a := alice.get("/console/exchanges?" + c.query); a.status != c.want || !strings.Contains(a.body, `role="alert"`) {
			t.Errorf("?%.40s: HTTP %d, want %d with an error", c.query, a.status, c.want)
		}
	}
	if a := op.get("/console/exchanges?account=nobody"); a.status != 200 || !strings.Contains(a.body, "No account is named nobody.") {
		t.Errorf("the operator names an unknown account: HTTP %d", a.status)
	}
	if a := alice.do("POST", "/console/exchanges", nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /console/exchanges: HTTP %d", a.status)
	}
}
