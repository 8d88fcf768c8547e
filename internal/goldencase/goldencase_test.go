package goldencase

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRecord(t *testing.T) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Add("Location", "/v3/x/1")
	h.Set("X-Other", "not recorded")
	tests := []struct {
		name string
		x    Exchange
		body string
		want string
	}{
		{"raw keeps the body", Exchange{Kind: KindRaw, Record: nil}, `{"a":1}`, "HTTP 201\nContent-Type: application/json\n\n{\"a\":1}\n"},
		{"json indents and records the named headers", Exchange{Kind: KindJSON, Record: []string{"Location"}}, `{"a":1}`,
			"HTTP 201\nContent-Type: application/json\nLocation: /v3/x/1\n\n{\n  \"a\": 1\n}\n"},
		{"json keeps a body that is not JSON", Exchange{Kind: KindJSON}, "oops", "HTTP 201\nContent-Type: application/json\n\noops\n"},
	}
	for _, tc := range tests {
		if got := Record(tc.x, 201, h, []byte(tc.body)); got != tc.want {
			t.Errorf("%s:\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}
}

func TestWhen(t *testing.T) {
	now := Start
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"+2h", now.Add(2 * time.Hour), false},
		{"-5m", now.Add(-5 * time.Minute), false},
		{"2011-03-24T15:23:47+01:00", time.Date(2011, 3, 24, 14, 23, 47, 0, time.UTC), false},
		{"+soon", time.Time{}, true},
		{"yesterday", time.Time{}, true},
	}
	for _, tc := range tests {
		got, err := When(tc.in, now)
		if (err != nil) != tc.err || !got.Equal(tc.want) {
			t.Errorf("When(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// FuzzParseCase: any text is a case or an error, and a case's requests
// have a method and a path.
func FuzzParseCase(f *testing.F) {
	f.Add("clock 2011-03-24T15:23:47Z\n=== POST /Service.asmx advance=1h\nSOAPAction: x\n\n<a/>")
	f.Add("=== GET /v3/x kind=json headers=Location\n\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCase(text)
		if err != nil {
			return
		}
		for _, x := range c.Exchanges {
			if x.Method == "" || x.Path == "" || strings.ContainsAny(x.Method+x.Path, " \n") {
				t.Errorf("request %q %q", x.Method, x.Path)
			}
		}
	})
}
