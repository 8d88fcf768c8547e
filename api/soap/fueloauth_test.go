package soap

import (
	"errors"
	"testing"

	"github.com/beevik/etree"

	"github.com/partnerd/partnerd/auth"
)

func TestFindToken(t *testing.T) {
	const star = `<wsse:Security xmlns:wsse="` + NSWSSE + `"><wsse:UsernameToken><wsse:Username>*</wsse:Username><wsse:Password>*</wsse:Password></wsse:UsernameToken></wsse:Security>`
	for _, tc := range []struct {
		name, header, token string
		found, bad          bool
	}{
		{"default namespace", `<fueloauth xmlns="http://exacttarget.com">T1</fueloauth>`, "T1", true, false},
		{"prefixed, token on its own line", `<h:fueloauth xmlns="http://exacttarget.com" xmlns:h="http://exacttarget.com">
		T2
	</h:fueloauth>`, "T2", true, false},
		{"no namespace (FuelSDK-Java)", `<fueloauth>T3</fueloauth>`, "T3", true, false},
		{"nested (FuelSDK-Ruby)", `<fueloauth xmlns="http://exacttarget.com"><fueloauth>T4</fueloauth></fueloauth>`, "T4", true, false},
		{"oAuth, child unqualified", `<oAuth xmlns="http://exacttarget.com"><oAuthToken xmlns="">T5</oAuthToken></oAuth>` + star, "T5", true, false},
		{"oAuth, child qualified", `<et:oAuth xmlns:et="http://exacttarget.com"><et:oAuthToken>T6</et:oAuthToken></et:oAuth>` + star, "T6", true, false},
		{"password only", star, "", false, false},
		{"another namespace", `<x:fueloauth xmlns:x="urn:other">T7</x:fueloauth>`, "", false, false},
		{"empty", `<fueloauth xmlns="http://exacttarget.com">  </fueloauth>`, "", true, true},
		{"two tokens", `<fueloauth>T8</fueloauth><fueloauth>T9</fueloauth>`, "", true, true},
		{"fueloauth and oAuth", `<fueloauth>T8</fueloauth><oAuth xmlns="http://exacttarget.com"><oAuthToken>T9</oAuthToken></oAuth>`, "", true, true},
		{"oAuth without oAuthToken", `<oAuth xmlns="http://exacttarget.com"/>` + star, "", true, true},
		{"element content", `<fueloauth><b>T10</b></fueloauth>`, "", true, true},
	} {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(`<Header xmlns="http://schemas.xmlsoap.org/soap/envelope/">` + tc.header + `</Header>`); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// The header's own default namespace must not leak into the
		// unqualified token elements' test: re-root without it.
		hdr := doc.Root()
		hdr.RemoveAttr("xmlns")
		token, found, err := FindToken(hdr)
		if token != tc.token || found != tc.found || (err != nil) != tc.bad {
			t.Errorf("%s: FindToken = %q, %v, %v; want %q, %v, error %v", tc.name, token, found, err, tc.token, tc.found, tc.bad)
		}
		if err != nil && !errors.Is(err, auth.ErrLoginFailed) {
			t.Errorf("%s: %v is no login failure", tc.name, err)
		}
	}
}

func TestTokenFault(t *testing.T) {
	if f := TokenFault(auth.ErrTokenExpired); f.Kind != Security || f.String != "Token Expired" {
		t.Errorf("expired: %+v", f)
	}
	if f := TokenFault(auth.ErrDisabled); f.Kind != Security || f.String != "Login Failed" {
		t.Errorf("disabled: %+v", f)
	}
	if f := TokenFault(errors.New("disk on fire")); f.Kind != Server {
		t.Errorf("store failure: %+v", f)
	}
}
