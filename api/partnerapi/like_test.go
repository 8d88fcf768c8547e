package partnerapi

import (
	"strings"
	"testing"
)

func TestLikeMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"", "", true},
		{"", "a", false},
		{"%", "", true},
		{"%", "anything", true},
		{"a%", "abc", true},
		{"a%", "bac", false},
		{"%c", "abc", true},
		{"%b%", "abc", true},
		{"a_c", "abc", true},
		{"a_c", "ac", false},
		{"_", "é", true}, // one character, not one byte, as in SQLite
		{"a%b%c", "axxbyyc", true},
		{"a%b%c", "axxcyyb", false},
		{"%%a", "ba", true},
		{"spring%sale", "spring-summer-sale", true},
		// A pattern that makes a backtracking matcher try every way of
		// splitting the text among its %s (exponential): it must still
		// answer at once.
		{strings.Repeat("%a", 30) + "%b", strings.Repeat("a", 200), false},
		{strings.Repeat("%a", 30) + "%b", strings.Repeat("a", 200) + "b", true},
	}
	for _, c := range cases {
		if got := likeMatch(c.p, c.s); got != c.want {
			t.Errorf("likeMatch(%.40q, %.40q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}
