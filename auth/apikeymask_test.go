package auth

import (
	"strings"
	"testing"
)

func TestMaskKeyTokens(t *testing.T) {
	k := &Keys{}
	id, tok, _ := k.newToken()
	for _, tc := range []struct{ in, want string }{
		{"Bearer " + tok, "Bearer SG." + id + ".***"},
		{`{"api_key":"` + tok + `","api_key_id":"` + id + `"}`, `{"api_key":"SG.` + id + `.***","api_key_id":"` + id + `"}`},
		{"SG.short.x and SG.a-b_c.d-e_f", "SG.short.*** and SG.a-b_c.***"},
		{tok + tok, "SG." + id + ".***"},              // a second key glued on is masked with the first
		{"key " + tok + ".", "key SG." + id + ".***"}, // a full stop goes too: better than a secret's tail
		{"MSG.not.a.key", "MSG.not.a.key"},
		{"no key here", "no key here"},
		{"SG.", "SG."},
		{"SG.id.", "SG.id."},
	} {
		if got := MaskKeyTokens(tc.in); got != tc.want {
			t.Errorf("MaskKeyTokens(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if strings.Contains(MaskKeyTokens("x "+tok+" y"), tok[len(tok)-secretLen:]) {
		t.Error("the secret survived")
	}
}
