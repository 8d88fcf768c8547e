package wsse

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/partnerd/partnerd/auth/authtest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
)

// addSeeds seeds a fuzz target with every envelope in testdata and a few
// hand-written headers.
func addSeeds(f *testing.F) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		ut(userPass + `<wsse:Nonce>AAECAw==</wsse:Nonce><wsu:Created>2024-05-01T12:00:00Z</wsu:Created>`),
		ut(`<wsse:Username>u</wsse:Username><wsse:Password Type="` + typeDigest + `">` + digest("AAECAw==", "2024-05-01T12:00:00Z", "p") +
			`</wsse:Password><wsse:Nonce>AAECAw==</wsse:Nonce><wsu:Created>2024-05-01T12:00:00Z</wsu:Created>`),
		sec(`s12:mustUnderstand="true"`, `<wsu:Timestamp><wsu:Expires>2024-05-01T12:05:00Z</wsu:Expires></wsu:Timestamp><wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`),
		`<Password><![CDATA[x]]><!-- y --><b/>z</Password>`,
		`<!DOCTYPE a [<!ENTITY e "<Password>">]><a><Nonce>n</Nonce></a>`,
	} {
		f.Add([]byte(s))
	}
}

func FuzzParse(f *testing.F) {
	addSeeds(f)
	old := credential.DefaultIterations
	credential.DefaultIterations = 1 // every input that parses is verified
	f.Cleanup(func() { credential.DefaultIterations = old })
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewManual(now)
	sealer := testSealer(f)
	acct := account(f, sealer, 1, "u", "p")
	f.Fuzz(func(t *testing.T, data []byte) {
		doc := etree.NewDocument()
		if doc.ReadFromBytes(data) != nil {
			return
		}
		tok, err := Parse(security(doc))
		if err != nil {
			if !errors.Is(err, ErrLoginFailed) {
				t.Fatalf("Parse error %v does not wrap ErrLoginFailed", err)
			}
			return
		}
		switch {
		case tok.Username == "" || strings.TrimSpace(tok.Username) != tok.Username || len(tok.Username) > MaxUsernameLen:
			t.Fatalf("bad Username %q", tok.Username)
		case len(tok.Password) > MaxPasswordLen || len(tok.Nonce) > MaxNonceLen:
			t.Fatal("size limit not enforced")
		case tok.Type != PasswordText && tok.Type != PasswordDigest:
			t.Fatalf("Type %d", tok.Type)
		case tok.HasCreated != (tok.CreatedText != "") || tok.HasCreated == tok.Created.IsZero():
			t.Fatalf("Created %v %q %v", tok.Created, tok.CreatedText, tok.HasCreated)
		case tok.HasCreated && tok.Created.Location() != time.UTC:
			t.Fatal("Created not in UTC")
		}
		// Whatever parsed must verify or fail cleanly.
		v := &auth.Authenticator{Store: authtest.NewStore(clk, acct), Clock: clk, Sealer: sealer}
		if _, err := v.VerifyUsernameToken(context.Background(), tok.UsernameToken); err != nil && !errors.Is(err, ErrLoginFailed) {
			t.Fatalf("Verify error %v does not wrap ErrLoginFailed", err)
		}
	})
}

func FuzzMaskSecrets(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		out := MaskSecrets(data)
		if !bytes.Equal(in, data) {
			t.Fatal("input modified")
		}
		checkMasked(t, data, out)
	})
}

// checkMasked asserts that when in is well-formed XML, so is out, and every
// Password and Nonce element in it holds nothing but the mask.
func checkMasked(t *testing.T, in, out []byte) {
	t.Helper()
	orig := etree.NewDocument()
	if orig.ReadFromBytes(in) != nil {
		return
	}
	masked := etree.NewDocument()
	if err := masked.ReadFromBytes(out); err != nil {
		t.Fatalf("well-formed input masked into malformed output: %v\nin:  %q\nout: %q", err, in, out)
	}
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if isSecret([]byte(e.Tag)) {
			switch {
			case len(e.Child) == 0:
			case len(e.Child) == 1:
				if cd, ok := e.Child[0].(*etree.CharData); !ok || cd.Data != mask {
					t.Fatalf("secret element %q not masked\nin:  %q\nout: %q", e.FullTag(), in, out)
				}
			default:
				t.Fatalf("secret element %q keeps %d children\nin:  %q\nout: %q", e.FullTag(), len(e.Child), in, out)
			}
			return
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	for _, c := range masked.ChildElements() {
		walk(c)
	}
	// Masking only ever replaces content: as many secret elements remain.
	if a, b := countSecrets(orig.ChildElements()), countSecrets(masked.ChildElements()); a != b {
		t.Fatalf("%d secret elements before masking, %d after\nin:  %q\nout: %q", a, b, in, out)
	}
}

func countSecrets(es []*etree.Element) int {
	n := 0
	for _, e := range es {
		if isSecret([]byte(e.Tag)) {
			n++
			continue // its content is masked away
		}
		n += countSecrets(e.ChildElements())
	}
	return n
}

// secretNames are spellings FuzzMaskNoSecretSurvives puts secrets in.
var secretNames = []string{"Password", "Nonce", "fueloauth", "oAuthToken", "access_token", "accessToken", "refreshToken",
	"client_secret", "clientSecret", "BinarySecurityToken", "internalOauthToken", "apiKey", "AdminPassword", "token"}

// FuzzMaskNoSecretSurvives builds envelopes holding a secret (in an
// element or attribute named as one, any prefix and case, as text, CDATA,
// or with an unescaped '&') and checks that no part of its value survives
// MaskSecrets or ForLog, whole or cut anywhere.
func FuzzMaskNoSecretSurvives(f *testing.F) {
	f.Add("hunter2", uint8(0), uint8(0), uint8(0), uint16(0))
	f.Add("a<b>&c]]>d", uint8(3), uint8(1), uint8(1), uint16(300))
	f.Add("x y\nz", uint8(7), uint8(2), uint8(2), uint16(411))
	f.Add("tail", uint8(1), uint8(1), uint8(3), uint16(380))
	f.Add("é✓", uint8(9), uint8(0), uint8(4), uint16(1))
	f.Fuzz(func(t *testing.T, value string, name, prefix, form uint8, cut uint16) {
		const head, tail = "S3CR3T", "T41L"
		if !utf8.ValidString(value) {
			return
		}
		local := secretNames[int(name)%len(secretNames)]
		if name&0x80 != 0 {
			local = strings.ToUpper(local)
		}
		// (encoding/xml reads no name with two colons: ForLog keeps
		// nothing of such a document, which TestForLog covers.)
		tag := []string{"", "wsse:", "a:"}[int(prefix)%3] + local
		var esc strings.Builder
		xml.EscapeText(&esc, []byte(value))
		text := head + esc.String() + tail
		wellFormed := true
		var secret string
		switch form % 5 {
		case 0:
			secret = "<" + tag + ">" + text + "</" + tag + ">"
		case 1:
			cdata := strings.ReplaceAll(value, "]]>", "")
			secret = "<" + tag + "><![CDATA[" + head + cdata + tail + "]]></" + tag + ">"
		case 2:
			secret = `<x ` + tag + `="` + text + `" y="1"/>`
		case 3:
			secret = "<" + tag + "><i>" + text + "</i><!-- c --></" + tag + ">"
		case 4:
			// A password with an unescaped '&': not XML, and its tail must
			// not survive either.
			secret = "<" + tag + ">" + head + "&" + esc.String() + tail + "</" + tag + ">"
			wellFormed = false
		}
		env := []byte(`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="urn:w" xmlns:a="urn:a"><s:Header><wsse:Security><wsse:UsernameToken><wsse:Username>u</wsse:Username>` +
			secret + `</wsse:UsernameToken></wsse:Security></s:Header><s:Body><Cancel/></s:Body></s:Envelope>`)
		if wellFormed && etree.NewDocument().ReadFromBytes(env) != nil {
			// The value holds a character XML does not allow (CDATA
			// does not escape): test it as malformed.
			wellFormed = false
		}
		check := func(what string, out []byte) {
			t.Helper()
			if bytes.Contains(out, []byte(head)) || bytes.Contains(out, []byte(tail)) {
				t.Fatalf("%s: the secret survived\nin:  %q\nout: %q", what, env, out)
			}
		}
		check("MaskSecrets", MaskSecrets(env))
		n := 1 + int(cut)%len(env)
		for _, parsed := range []bool{false, true} {
			if parsed && !wellFormed {
				continue
			}
			k := ForLog(env, len(env), parsed)
			check(fmt.Sprintf("ForLog(parsed %v)", parsed), k.Body)
			if wellFormed && (k.Why != "" || k.Cut) {
				t.Fatalf("ForLog(parsed %v) of a well-formed envelope: why %q, cut %v", parsed, k.Why, k.Cut)
			}
			k = ForLog(env, n, parsed)
			check(fmt.Sprintf("ForLog(parsed %v, cut at %d)", parsed, n), k.Body)
		}
		if !wellFormed {
			k := ForLog(env, len(env), false)
			check("ForLog(malformed)", k.Body)
			if k.Why == "" {
				t.Fatalf("a malformed envelope gave why %q", k.Why)
			}
		}
	})
}
