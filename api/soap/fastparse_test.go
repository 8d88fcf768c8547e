package soap

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// goldenRequests returns every request body of the golden exchanges.
func goldenRequests(t testing.TB) [][]byte {
	files, err := filepath.Glob("../../testdata/golden/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	var bodies [][]byte
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range strings.Split(string(raw), "\n=== ")[1:] {
			if _, body, ok := strings.Cut(part, "\n\n"); ok && strings.Contains(body, "Envelope") {
				bodies = append(bodies, []byte(body))
			}
		}
	}
	return bodies
}

// etreeRoot parses raw with etree as ReadEnvelope's fallback does,
// document-level checks (one root, nothing but markup after it) included.
func etreeRoot(raw []byte) (*etree.Element, error) {
	return readTree(raw)
}

// treeDiff describes the first difference between two trees, or "".
func treeDiff(a, b *etree.Element, path string) string {
	path += "/" + qualifiedName(a)
	if a.Space != b.Space || a.Tag != b.Tag {
		return fmt.Sprintf("%s: element %q:%q vs %q:%q", path, a.Space, a.Tag, b.Space, b.Tag)
	}
	if len(a.Attr) != len(b.Attr) {
		return fmt.Sprintf("%s: %d attributes vs %d", path, len(a.Attr), len(b.Attr))
	}
	for i := range a.Attr {
		x, y := a.Attr[i], b.Attr[i]
		if x.Space != y.Space || x.Key != y.Key || x.Value != y.Value {
			return fmt.Sprintf("%s: attribute %d %q:%q=%q vs %q:%q=%q", path, i, x.Space, x.Key, x.Value, y.Space, y.Key, y.Value)
		}
	}
	if len(a.Child) != len(b.Child) {
		return fmt.Sprintf("%s: %d children vs %d", path, len(a.Child), len(b.Child))
	}
	for i := range a.Child {
		switch x := a.Child[i].(type) {
		case *etree.Element:
			y, ok := b.Child[i].(*etree.Element)
			if !ok {
				return fmt.Sprintf("%s: child %d is an element vs %T", path, i, b.Child[i])
			}
			if d := treeDiff(x, y, path); d != "" {
				return d
			}
		case *etree.CharData:
			y, ok := b.Child[i].(*etree.CharData)
			if !ok {
				return fmt.Sprintf("%s: child %d is text vs %T", path, i, b.Child[i])
			}
			if x.Data != y.Data || x.IsWhitespace() != y.IsWhitespace() || x.IsCData() != y.IsCData() {
				return fmt.Sprintf("%s: text %d %q (ws %v) vs %q (ws %v)", path, i, x.Data, x.IsWhitespace(), y.Data, y.IsWhitespace())
			}
		default:
			return fmt.Sprintf("%s: child %d of type %T", path, i, x)
		}
	}
	// The root's index among the document's tokens (declaration, white
	// space) is the one thing nobody reads and the fast path skips.
	if a.Parent() == nil || b.Parent() == nil || (strings.Count(path, "/") > 1 && a.Index() != b.Index()) {
		return fmt.Sprintf("%s: parent or index differs", path)
	}
	return ""
}

// checkCommon fails t if parseCommon accepts raw and etree either refuses it
// or builds another tree.
func checkCommon(t *testing.T, raw []byte) (accepted bool) {
	t.Helper()
	fast := parseCommon(string(raw), MaxDepth)
	if fast == nil {
		return false
	}
	slow, err := etreeRoot(raw)
	if err != nil {
		t.Fatalf("parseCommon accepted what etree refuses (%v):\n%q", err, raw)
	}
	if d := treeDiff(fast, slow, ""); d != "" {
		t.Fatalf("parseCommon and etree differ: %s\ninput %q", d, raw)
	}
	return true
}

// TestParseCommonGolden checks the fast path against etree on every golden
// request, and that it is the path those requests take: a fast path that
// always fell back would pass the other tests and be useless.
func TestParseCommonGolden(t *testing.T) {
	accepted := 0
	bodies := goldenRequests(t)
	for _, raw := range bodies {
		if checkCommon(t, raw) {
			accepted++
		}
	}
	if accepted < len(bodies)*9/10 {
		t.Errorf("parseCommon took %d of %d golden requests, want at least 90%%", accepted, len(bodies))
	}
}

func TestParseCommon(t *testing.T) {
	const env = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">%s</s:Envelope>`
	cases := []struct {
		name   string
		in     string
		common bool // whether the fast path must take it
	}{
		{"plain", fmt.Sprintf(env, `<s:Body><a x="1" y='2'>t</a></s:Body>`), true},
		{"declaration", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + fmt.Sprintf(env, `<s:Body/>`), true},
		{"declaration, single quotes", `<?xml version='1.0'?>` + fmt.Sprintf(env, `<s:Body/>`), true},
		{"whitespace around", "\n  " + fmt.Sprintf(env, "\n\t<s:Body >\n</s:Body >\n") + "\n", true},
		{"entities", fmt.Sprintf(env, `<s:Body><a v="&lt;&amp;&quot;&apos;&gt;">x &amp; y &lt; z &gt;</a></s:Body>`), true},
		{"non-ASCII text", fmt.Sprintf(env, `<s:Body><a v="é">ünïcode ✓ 𝄞</a></s:Body>`), true},
		{"empty root", `<s:Envelope xmlns:s="u"/>`, true},
		{"space around =", fmt.Sprintf(env, `<s:Body><a x = "1"/></s:Body>`), true},
		{"names with - . _ digits", fmt.Sprintf(env, `<s:Body><a-b.c_d1 e-f.g_h2="v"/></s:Body>`), true},
		// Left to etree:
		{"character reference", fmt.Sprintf(env, `<s:Body><a>&#65;</a></s:Body>`), false},
		{"unknown entity", fmt.Sprintf(env, `<s:Body><a>&nbsp;</a></s:Body>`), false},
		{"comment", fmt.Sprintf(env, `<!-- c --><s:Body/>`), false},
		{"CDATA", fmt.Sprintf(env, `<s:Body><a><![CDATA[x]]></a></s:Body>`), false},
		{"processing instruction", fmt.Sprintf(env, `<?pi x?><s:Body/>`), false},
		{"carriage return", fmt.Sprintf(env, "<s:Body>\r\n</s:Body>"), false},
		{"carriage return in attribute", fmt.Sprintf(env, "<s:Body a=\"\r\"/>"), false},
		{"duplicate attribute", fmt.Sprintf(env, `<s:Body a="1" a="2"/>`), false},
		{"mismatched end tag", fmt.Sprintf(env, `<s:Body></s:Bdy>`), false},
		{"unclosed", `<s:Envelope xmlns:s="u"><s:Body>`, false},
		{"two roots", `<a/><b/>`, false},
		{"second root after a closed one", `<a></a><b></b>`, false},
		{"text after root", `<a/>x`, false},
		{"text after a closed root", `<a></a>x`, false},
		{"comment after root", `<a></a><!-- c -->`, false},
		{"UTF-8 BOM", "\xef\xbb\xbf<a/>", false},
		{"text before root", `x<a/>`, false},
		{"< in attribute", `<a x="<"/>`, false},
		{"unquoted attribute", `<a x=1/>`, false},
		{"attribute without space", `<a x="1"y="2"/>`, false},
		{"two colons", `<a:b:c/>`, false},
		{"leading colon", `<:a/>`, false},
		{"control character", "<a>\x01</a>", false},
		{"U+FFFE", "<a>\uFFFE</a>", false},
		{"ISO-8859-1 declaration", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, false},
		{"version 1.1", `<?xml version="1.1"?><a/>`, false},
		{"non-ASCII name", `<é/>`, false},
		{"DOCTYPE", `<!DOCTYPE a><a/>`, false},
		{"]]> in text", `<a>]]></a>`, false},
		{"empty", ``, false},
		{"too deep", strings.Repeat("<a>", MaxDepth+1) + strings.Repeat("</a>", MaxDepth+1), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := checkCommon(t, []byte(c.in)); got != c.common {
				t.Errorf("parseCommon took it: %v, want %v", got, c.common)
			}
		})
	}
	// Exactly MaxDepth levels are still the fast path's.
	deep := strings.Repeat("<a>", MaxDepth) + strings.Repeat("</a>", MaxDepth)
	if !checkCommon(t, []byte(deep)) {
		t.Errorf("parseCommon refused %d levels", MaxDepth)
	}
}

// FuzzParseCommon checks the fast path's contract: whatever it accepts,
// etree accepts and reads into the same tree.
func FuzzParseCommon(f *testing.F) {
	for _, raw := range goldenRequests(f) {
		f.Add(raw)
	}
	f.Add([]byte(`<a x="&lt;" y='&amp;'>t&gt;<b/></a>`))
	// Shapes of issue 10: trailing content, second roots and Bodies.
	f.Add([]byte(`<a></a><b></b>`))
	f.Add([]byte("<a></a>\n x"))
	f.Add([]byte("<a/>\n<!-- c --><?pi?>\r\n"))
	f.Add([]byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><a/></s:Body><s:Body><b/></s:Body></s:Envelope>`))
	f.Add([]byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><x:T xmlns:x="urn:t" s:mustUnderstand="1"/></s:Header><s:Body><a/></s:Body></s:Envelope>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkCommon(t, raw)
		if parseCommon(string(raw), MaxDepth) != nil && !bytes.Contains(raw, []byte("<")) {
			t.Fatalf("accepted input without an element: %q", raw)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	raw := goldenRequests(b)[0]
	b.Run("common", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if parseCommon(string(raw), MaxDepth) == nil {
				b.Fatal("fell back")
			}
		}
	})
	b.Run("etree", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := etreeRoot(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
