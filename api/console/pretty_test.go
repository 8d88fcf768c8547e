package console

import "testing"

func TestPretty(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"json", `{"a":[1,2],"b":"x"}`, "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": \"x\"\n}"},
		{"xml keeps prefixes", `<s:E xmlns:s="u"><s:B a="1&amp;2"><X>t &lt; u's</X><Y/></s:B></s:E>`,
			"<s:E xmlns:s=\"u\">\n  <s:B a=\"1&amp;2\">\n    <X>t &lt; u's</X>\n    <Y />\n  </s:B>\n</s:E>"},
		{"mixed content", `<a>x<b>y</b></a>`, "<a>x\n  <b>y</b>\n</a>"},
		{"cut short: as stored", `<a><b>`, "<a><b>"},
		{"not a body", `hello`, "hello"},
		{"bad json: as stored", `{"a":`, `{"a":`},
		{"an end tag alone: as stored", `</A>`, `</A>`},
	}
	for _, c := range cases {
		if got := pretty(c.in); got != c.want {
			t.Errorf("%s: pretty(%q) =\n%s\nwant\n%s", c.name, c.in, got, c.want)
		}
	}
}
