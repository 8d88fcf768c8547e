package console

import (
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestHighlight(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"xml element, attribute, value, text, entity",
			`<s:B a="1&amp;2">t &lt; u</s:B>`,
			`<span class="hl-p">&lt;</span><span class="hl-tag">s:B</span> <span class="hl-attr">a</span><span class="hl-p">=</span>` +
				`<span class="hl-val">&#34;1&amp;amp;2&#34;</span><span class="hl-p">&gt;</span>t <span class="hl-ent">&amp;lt;</span> u` +
				`<span class="hl-p">&lt;/</span><span class="hl-tag">s:B</span><span class="hl-p">&gt;</span>`},
		{"empty element", `<Y />`, `<span class="hl-p">&lt;</span><span class="hl-tag">Y</span> <span class="hl-p">/&gt;</span>`},
		{"comment and declaration", `<?xml version="1.0"?><!-- c -->`, `<span class="hl-com">&lt;?xml version=&#34;1.0&#34;?&gt;&lt;!-- c --&gt;</span>`},
		{"json", `{"a": [1, -2.5e3, "x", true, null]}`,
			`<span class="hl-p">{</span><span class="hl-key">&#34;a&#34;</span><span class="hl-p">:</span> <span class="hl-p">[</span>` +
				`<span class="hl-num">1</span><span class="hl-p">,</span> <span class="hl-num">-2.5e3</span><span class="hl-p">,</span> ` +
				`<span class="hl-str">&#34;x&#34;</span><span class="hl-p">,</span> <span class="hl-lit">true</span><span class="hl-p">,</span> ` +
				`<span class="hl-lit">null</span><span class="hl-p">]}</span>`},
		{"json string with an escaped quote", `["a\"b"]`, `<span class="hl-p">[</span><span class="hl-str">&#34;a\&#34;b&#34;</span><span class="hl-p">]</span>`},
		{"plain text", `a <b> & "c"`, `a &lt;b&gt; &amp; &#34;c&#34;`},
		{"xml cut short", `<a b="x`, `<span class="hl-p">&lt;</span><span class="hl-tag">a</span> <span class="hl-attr">b</span><span class="hl-p">=</span><span class="hl-val">&#34;x</span>`},
	}
	for _, c := range cases {
		got := string(highlight(c.in))
		if got != c.want {
			t.Errorf("%s: highlight(%q) =\n%s\nwant\n%s", c.name, c.in, got, c.want)
		}
		checkHighlighted(t, c.in, got)
	}
}

// spanTag is the only markup highlight may add.
var (
	spanTag   = regexp.MustCompile(`<span class="hl-[a-z]+">|</span>`)
	emptySpan = regexp.MustCompile(`<span class="hl-[a-z]+"></span>`)
)

// checkHighlighted checks that out is in's text with only highlight's
// spans added: no other tag, every span closed, and its text content
// (tags removed, entities resolved) in itself.
func checkHighlighted(t *testing.T, in, out string) {
	t.Helper()
	bare := spanTag.ReplaceAllString(out, "")
	if strings.ContainsAny(bare, `<>"'`) {
		t.Fatalf("highlight(%q) leaves markup or an unescaped quote: %q", in, out)
	}
	if o, c := strings.Count(out, "<span "), strings.Count(out, "</span>"); o != c {
		t.Fatalf("highlight(%q): %d spans opened, %d closed", in, o, c)
	}
	if emptySpan.MatchString(out) {
		t.Fatalf("highlight(%q) has an empty span", in)
	}
	if got := html.UnescapeString(bare); got != in {
		t.Fatalf("highlight(%q): text content %q", in, got)
	}
}

// FuzzHighlight: any body, taken as XML, JSON or plain text, never panics
// and comes out as its own text with only highlight's spans added.
func FuzzHighlight(f *testing.F) {
	for _, s := range []string{`<a x="1">t</a>`, `{"a":[1,"b",true]}`, `<a b='<'`, `["\"`, "\x00<\xff>", `<!--`, `&amp`, `</>`} {
		f.Add(s)
	}
	cases, _ := filepath.Glob("../../testdata/golden/*.txt")
	for _, p := range cases {
		if b, err := os.ReadFile(p); err == nil {
			if i := strings.Index(string(b), "\n\n"); i >= 0 {
				f.Add(string(b[i+2:]))
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkHighlighted(t, s, string(highlight(s)))
		checkHighlighted(t, pretty(s), string(highlight(pretty(s))))
		// Each lexer on its own, whatever the body's first byte says.
		for _, lex := range []func(*highlighter, string){lexXML, lexJSON} {
			var h highlighter
			lex(&h, s)
			checkHighlighted(t, s, string(h.html()))
		}
	})
}
