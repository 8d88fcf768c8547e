package console_test

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/api/console"
	"github.com/partnerd/partnerd/store"
)

// TestPagesAccessible renders every page template as the server serves it
// and checks what can be checked of accessibility without a browser: the
// document's language, one h1, a skip link to the main content, every
// form control labelled (a <label> around it or naming its id, or an
// aria-label), every button and link named by its text or an aria-label,
// tables with header cells (in a <thead>, or with a scope), unique ids.
// What needs a browser (focus order, colour contrast, the live region's
// announcements) is in browserflows_test.go.
func TestPagesAccessible(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.apply("user alice-ci ci-pw alice", "send alice id=100 senddate=+2h")
	aliceID := e.account("alice").ID
	c := e.campaign("alice", 1, at("2026-01-15T14:00:00Z"))
	ss := e.singleSend("alice")
	e.fix.Store.LogRequest(ctx, store.RequestLog{RequestID: "a11y-1", Face: "soap", Method: "POST", Path: "/Service.asmx", AccountID: aliceID,
		Username: "alice", Operation: "Perform", Status: "OK", HTTPStatus: 200, Request: `<a b="c">d</a>`, Response: `{"x":1}`, ReceivedAt: e.fix.Clock.Now(), Duration: time.Millisecond})
	us, _ := e.fix.Store.ListUsers(ctx, aliceID)
	var ciID int64
	for _, u := range us {
		if u.Username == "alice-ci" {
			ciID = u.ID
		}
	}
	alice, op := e.signedIn("alice", "alice-pw"), e.operator()
	pages := []struct {
		template string
		b        *browser
		path     string
		status   int
	}{
		{"signin", e.browser(), "/console/signin", 200},
		{"error", alice, "/console/nothing-here", 404},
		{"sends", alice, "/console/sends", 200},
		{"sends", op, "/console/sends", 200},
		{"confirm", alice, fmt.Sprintf("/console/sends/%d/100/cancel", aliceID), 200},
		{"exchanges", alice, "/console/exchanges", 200},
		{"exchanges", op, "/console/exchanges?account=nobody", 200},
		{"exchange", alice, "/console/exchanges/a11y-1", 200},
		{"actions", op, "/console/actions", 200},
		{"accounts", op, "/console/account", 200},
		{"account", alice, "/console/account", 200},
		{"account", op, "/console/account?account=alice", 200},
		{"flush", alice, fmt.Sprintf("/console/account/%d/flush", aliceID), 200},
		{"disable", alice, fmt.Sprintf("/console/account/%d/disable", aliceID), 200},
		{"chart", alice, "/console/chart", 200},
		{"clock", op, "/console/clock", 200},
		{"outbox", op, "/console/outbox", 200},
		{"campaigns", alice, "/console/campaigns", 200},
		{"campaigndelete", alice, fmt.Sprintf("/console/campaigns/%d/%d/delete", aliceID, c.ID), 200},
		{"singlesends", alice, "/console/singlesends", 200},
		{"singlesenddelete", alice, fmt.Sprintf("/console/singlesends/%d/%s/delete", aliceID, ss.ID), 200},
		{"userdelete", alice, fmt.Sprintf("/console/account/%d/users/%d/delete", aliceID, ciID), 200},
		{"pickaccount", op, "/console/singlesends", 200},
	}
	covered := map[string]bool{}
	for _, p := range pages {
		a := p.b.get(p.path)
		if a.status != p.status {
			t.Errorf("%s (%s): HTTP %d, want %d", p.path, p.template, a.status, p.status)
			continue
		}
		covered[p.template] = true
		for _, problem := range accessibilityProblems(a.body) {
			t.Errorf("%s (page %s): %s", p.path, p.template, problem)
		}
	}
	for _, name := range console.PageNames {
		if !covered[name] {
			t.Errorf("page %s is not checked: add a path that renders it", name)
		}
	}
}

// TestAccessibilityProblems: the checker finds what it looks for.
func TestAccessibilityProblems(t *testing.T) {
	good := `<!doctype html><html lang="en"><body><a class="skip" href="#main">Skip</a><main id="main"><h1>T</h1>
<label>Name <input name="n"></label><label for="x">X</label><input id="x" name="x"><input name="y" aria-label="Y"><input type="hidden" name="csrf">
<button type="submit">Go</button><button aria-label="Close">✕</button><a href="/">Home</a>
<table><thead><tr><th>A</th></tr></thead><tbody><tr><th scope="row">r</th><td>1</td></tr></tbody></table></main></body></html>`
	if p := accessibilityProblems(good); len(p) != 0 {
		t.Fatalf("a good page: %q", p)
	}
	for _, c := range []struct{ name, old, new, want string }{
		{"no lang", `<html lang="en">`, `<html>`, "no lang"},
		{"two h1", `<h1>T</h1>`, `<h1>T</h1><h1>U</h1>`, "2 h1"},
		{"no h1", `<h1>T</h1>`, ``, "0 h1"},
		{"no skip link", `<a class="skip" href="#main">Skip</a>`, ``, "skip link"},
		{"unlabelled input", `<input name="y" aria-label="Y">`, `<input name="y">`, `<input name="y">`},
		{"label for another id", `<label for="x">X</label>`, `<label for="z">X</label>`, `<input id="x"`},
		{"unlabelled select", `<input name="y" aria-label="Y">`, `<select name="s"><option>1</option></select>`, `<select`},
		{"empty button", `<button type="submit">Go</button>`, `<button type="submit"> </button>`, "button"},
		{"empty link", `<a href="/">Home</a>`, `<a href="/"></a>`, "link"},
		{"link without href", `<a href="/">Home</a>`, `<a>Home</a>`, "href"},
		{"header cell outside thead without scope", `<th scope="row">r</th>`, `<th>r</th>`, "scope"},
		{"table without header cells", `<thead><tr><th>A</th></tr></thead><tbody><tr><th scope="row">r</th>`, `<tbody><tr><td>r</td>`, "header"},
		{"empty header cell", `<th>A</th>`, `<th></th>`, "empty"},
		{"duplicate id", `<input id="x" name="x">`, `<input id="x" name="x"><span id="x"></span>`, "id"},
	} {
		bad := strings.Replace(good, c.old, c.new, 1)
		if p := accessibilityProblems(bad); !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, c.want) }) {
			t.Errorf("%s: problems %q, want one with %q", c.name, p, c.want)
		}
	}
}

var (
	htmlTag  = regexp.MustCompile(`(?s)<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>"']|"[^"]*"|'[^']*')*)>`)
	htmlAttr = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9:-]*)(?:="([^"]*)"|='([^']*)')?`)
	comments = regexp.MustCompile(`(?s)<!--.*?-->|<pre[ >].*?</pre>|<script.*?</script>`)
)

type tag struct {
	close bool
	name  string
	attrs map[string]string
	raw   string
	start int // where the tag begins in the page
	end   int // where it ends
}

func tagsOf(page string) []tag {
	var tags []tag
	for _, m := range htmlTag.FindAllStringSubmatchIndex(page, -1) {
		t := tag{close: m[3] > m[2], name: strings.ToLower(page[m[4]:m[5]]), attrs: map[string]string{}, raw: page[m[0]:m[1]], start: m[0], end: m[1]}
		for _, a := range htmlAttr.FindAllStringSubmatch(page[m[6]:m[7]], -1) {
			t.attrs[strings.ToLower(a[1])] = html.UnescapeString(a[2] + a[3])
		}
		tags = append(tags, t)
	}
	return tags
}

// textBetween is the text of page between two indexes, tags removed.
func textBetween(page string, from, to int) string {
	return strings.TrimSpace(html.UnescapeString(htmlTag.ReplaceAllString(page[from:to], "")))
}

// accessibilityProblems lists what page breaks of the rules
// TestPagesAccessible names.
func accessibilityProblems(page string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	// Bodies shown as text and comments hold no markup of the page.
	page = comments.ReplaceAllStringFunc(page, func(s string) string { return strings.Repeat(" ", len(s)) })
	tags := tagsOf(page)
	labelFor, ids := map[string]bool{}, map[string]int{}
	h1, skip := 0, false
	for _, t := range tags {
		if t.close {
			continue
		}
		if id, ok := t.attrs["id"]; ok {
			ids[id]++
		}
		switch t.name {
		case "html":
			if t.attrs["lang"] == "" {
				bad("<html> has no lang attribute")
			}
		case "h1":
			h1++
		case "label":
			if f := t.attrs["for"]; f != "" {
				labelFor[f] = true
			}
		}
	}
	if h1 != 1 {
		bad("%d h1 elements, want 1", h1)
	}
	for id, n := range ids {
		if n > 1 {
			bad("id %q is used %d times", id, n)
		}
	}
	// closing finds the end tag matching tags[i] (no nesting of the same
	// element is expected in these pages, but it is counted anyway).
	closing := func(i int) int {
		depth := 0
		for j := i + 1; j < len(tags); j++ {
			if tags[j].name != tags[i].name {
				continue
			}
			if !tags[j].close {
				depth++
			} else if depth == 0 {
				return j
			} else {
				depth--
			}
		}
		return -1
	}
	inLabel, inThead := 0, 0
	var tables []bool // per open table: has it header cells?
	firstFocusable := true
	for i, t := range tags {
		switch {
		case t.name == "label":
			inLabel += map[bool]int{false: 1, true: -1}[t.close]
		case t.name == "thead":
			inThead += map[bool]int{false: 1, true: -1}[t.close]
		case t.name == "table" && !t.close:
			tables = append(tables, false)
		case t.name == "table" && t.close:
			if len(tables) > 0 {
				if !tables[len(tables)-1] {
					bad("a table has no header cells")
				}
				tables = tables[:len(tables)-1]
			}
		case t.close:
		case t.name == "th":
			if len(tables) > 0 {
				tables[len(tables)-1] = true
			}
			if inThead == 0 && t.attrs["scope"] == "" {
				bad("%s outside a <thead> has no scope", t.raw)
			}
			if j := closing(i); j < 0 || textBetween(page, t.end, tags[j].start) == "" && t.attrs["aria-label"] == "" {
				bad("%s: an empty header cell", t.raw)
			}
		case t.name == "input" || t.name == "select" || t.name == "textarea":
			if typ := t.attrs["type"]; typ == "hidden" || typ == "submit" || typ == "button" {
				continue
			}
			if inLabel == 0 && t.attrs["aria-label"] == "" && t.attrs["aria-labelledby"] == "" && !labelFor[t.attrs["id"]] {
				bad("%s has no label", t.raw)
			}
		case t.name == "button":
			j := closing(i)
			if j < 0 || textBetween(page, t.end, tags[j].start) == "" && t.attrs["aria-label"] == "" {
				bad("%s: a button with no text or aria-label", t.raw)
			}
		case t.name == "a":
			if _, ok := t.attrs["href"]; !ok {
				bad("%s: a link without href (a button, if it acts)", t.raw)
			}
			j := closing(i)
			if j < 0 || textBetween(page, t.end, tags[j].start) == "" && t.attrs["aria-label"] == "" {
				bad("%s: a link with no text or aria-label", t.raw)
			}
			if firstFocusable {
				skip = t.attrs["href"] == "#main" && ids["main"] == 1
			}
			firstFocusable = false
		}
	}
	if !skip {
		bad("the first link is not a skip link to #main")
	}
	return problems
}
