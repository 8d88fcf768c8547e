package console

import (
	"html/template"
	"strings"
	"time"
)

// pageNames are the pages under assets/pages, each rendered inside
// assets/pages/layout.html.
var pageNames = []string{"signin", "error", "sends", "confirm", "exchanges", "exchange", "actions",
	"accounts", "account", "flush", "disable", "chart", "clock", "outbox",
	"campaigns", "campaigndelete", "singlesends", "singlesenddelete", "userdelete", "pickaccount"}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"lower": strings.ToLower,
	"list":  func(s ...string) []string { return s },
	"has": func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	},
	"ms": func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() },
}

// parsePages parses every page with the layout. The templates are
// embedded, so a parse error is a build mistake: it panics at start (and
// in every test).
func parsePages() map[string]*template.Template {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(assets, "assets/pages/layout.html", "assets/pages/"+name+".html"))
	}
	return pages
}
