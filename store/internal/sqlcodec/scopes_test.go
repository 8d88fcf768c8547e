package sqlcodec

import (
	"slices"
	"testing"
)

// DecodeScopes answers from its memo with a copy: a caller changing the
// scopes it got cannot change another key's.
func TestDecodeScopesGivesCopies(t *testing.T) {
	first, err := DecodeScopes(`["mail.send","api_keys.read"]`)
	if err != nil {
		t.Fatal(err)
	}
	first[0] = "changed"
	again, err := DecodeScopes(`["mail.send","api_keys.read"]`)
	if err != nil || again[0] != "mail.send" || len(again) != 2 {
		t.Fatalf("DecodeScopes after a caller's change = %v, %v", again, err)
	}
	if _, err := DecodeScopes(`["mail.send"`); err == nil {
		t.Fatal("a cut array decoded")
	}
}

func TestScopesRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		scopes []string
		text   string
	}{
		{nil, `[]`},
		{[]string{}, `[]`},
		{[]string{"mail.send", "a<b"}, `["mail.send","a\u003cb"]`},
	} {
		text, err := EncodeScopes(tc.scopes)
		if err != nil || text != tc.text {
			t.Errorf("EncodeScopes(%q) = %s, %v; want %s", tc.scopes, text, err, tc.text)
			continue
		}
		back, err := DecodeScopes(text)
		if err != nil || back == nil || !slices.Equal(back, tc.scopes) {
			t.Errorf("DecodeScopes(%s) = %#v, %v; want %q, not nil", text, back, err, tc.scopes)
		}
	}
}
