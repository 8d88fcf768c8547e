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
	_ = fmt.Sprint
	_ = http.StatusOK
}
