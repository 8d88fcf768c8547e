package envcheck

import (
	"os"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/api/sendgrid"
	"github.com/partnerd/partnerd/internal/oascheck"
	"github.com/partnerd/partnerd/internal/xsdcheck"
	"github.com/partnerd/partnerd/wsdl"
)

var served = []string{"Create", "Delete", "GetSystemStatus", "Perform", "Retrieve", "Schedule", "VersionInfo"}

// env builds an envelope: SOAP 1.1 unless ns says otherwise, the given
// header and body, one element a line so that positions are easy to read.
func env(ns, header, body string) string {
	if ns == "" {
		ns = "http://schemas.xmlsoap.org/soap/envelope/"
	}
	return `<s:Envelope xmlns:s="` + ns + `">` + "\n" +
		header + "\n" +
		"<s:Body>\n" + body + "\n</s:Body>\n</s:Envelope>"
}

const (
	secret = "s3cr&amp;t-pw"
	token  = `<s:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">` +
		`<wsse:UsernameToken><wsse:Username>alice</wsse:Username><wsse:Password>` + secret + `</wsse:Password></wsse:UsernameToken></wsse:Security></s:Header>`
	perform = `<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">
<Action>cancel</Action>
<Definitions><Definition xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Send"><ID>1</ID></Definition></Definitions>
</PerformRequestMsg>`
)

func TestCheckEnvelope(t *testing.T) {
	if err := xsdcheck.Available(); err != nil {
		t.Skipf("schema validation needs xmllint: %v", err)
	}
	ours := []WSDL{{Name: "partnerd", Src: wsdl.Document("http://x/Service.asmx")}}
	tests := []struct {
		name string
		doc  string
		want []string // each problem as "line:col: text it contains"; none is clean
		sum  string
	}{
		{name: "clean", doc: env("", token, perform), sum: `SOAP 1.1 Perform UsernameToken PasswordText (user "alice")`},
		{name: "clean 1.2", doc: env("http://www.w3.org/2003/05/soap-envelope", token, perform), sum: "SOAP 1.2 Perform"},
		{name: "fueloauth", doc: env("", `<s:Header><fueloauth xmlns="http://exacttarget.com">tok</fueloauth></s:Header>`, perform), sum: "fueloauth"},
		{name: "bad XML", doc: env("", token, "<PerformRequestMsg>\n<Action>cancel</Actio>\n</PerformRequestMsg>"),
			want: []string{"5:23: not well-formed XML: element … closed by … (inside <Action>)"}},
		{name: "bad XML in the password", doc: strings.Replace(env("", token, perform), secret, "a&b", 1),
			want: []string{"2:195: not well-formed XML: invalid character entity … (no semicolon) (inside <Password>)"}},
		{name: "not an envelope", doc: "<html/>", want: []string{"1:1: root element is <html>, not a SOAP Envelope"}},
		{name: "unknown SOAP version", doc: env("urn:soap3", token, perform), want: []string{`1:1: Envelope in namespace "urn:soap3"`}},
		{name: "no Body", doc: `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">` + token + `</s:Envelope>`, want: []string{"1:1: no Body"}},
		{name: "Header after Body (as SDKs write it)", doc: `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` + perform + "</s:Body>\n" + token + `</s:Envelope>`,
			sum: "SOAP 1.1 Perform UsernameToken"},
		{name: "two Headers", doc: env("", token+"\n"+token, perform), want: []string{"3:1: a second Header"}},
		{name: "1.2 Body in a 1.1 envelope", doc: `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://www.w3.org/2003/05/soap-envelope"><t:Body/></s:Envelope>`,
			want: []string{`1:115: Body in namespace "http://www.w3.org/2003/05/soap-envelope" inside a SOAP 1.1 Envelope`, "1:1: no Body"}},
		{name: "empty Body", doc: env("", token, ""), want: []string{"3:1: empty Body"}},
		{name: "unknown operation", doc: env("", token, `<CancelRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"/>`),
			want: []string{"4:1: unknown operation: <CancelRequestMsg> is no Partner API request element (partnerd serves Create, Delete, GetSystemStatus, Perform, Retrieve, Schedule, VersionInfo)"}},
		{name: "operation not served", doc: env("", token, `<UpdateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"/>`),
			want: []string{"4:1: operation Update (<UpdateRequest>) is not served by partnerd"}},
		{name: "operation in the wrong namespace", doc: env("", token, `<PerformRequestMsg xmlns="urn:other"/>`),
			want: []string{`4:1: <PerformRequestMsg> in namespace "urn:other"`}},
		{name: "missing header", doc: env("", "", perform), want: []string{"1:1: no Header, so no credentials"}},
		{name: "header without Security", doc: env("", "<s:Header><x/></s:Header>", perform), want: []string{"2:1: no security header"}},
		{name: "Security without UsernameToken", doc: env("", `<s:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"/></s:Header>`, perform),
			want: []string{"2:11: security header: Security header has no UsernameToken"}},
		{name: "UsernameToken without Password", doc: env("", strings.Replace(token, "<wsse:Password>"+secret+"</wsse:Password>", "", 1), perform),
			want: []string{"2:121: security header: UsernameToken has no Password"}},
		{name: "unknown password type", doc: env("", strings.Replace(token, "<wsse:Password>", `<wsse:Password Type="#PasswordSHA512">`, 1), perform),
			want: []string{"2:121: security header: unsupported Password Type \"#PasswordSHA512\""}},
		{name: "digest without nonce", doc: env("", strings.Replace(token, "<wsse:Password>", `<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">`, 1), perform),
			want: []string{"2:11: security header: a PasswordDigest needs a Nonce and a Created"}},
		{name: "empty fueloauth", doc: env("", `<s:Header><fueloauth xmlns="http://exacttarget.com"/></s:Header>`, perform), want: []string{"2:11: empty fueloauth token"}},
		{name: "wrong element order", doc: env("", token, strings.Replace(strings.Replace(perform, "<Action>cancel</Action>\n", "", 1), "</Definitions>", "</Definitions>\n<Action>cancel</Action>", 1)),
			want: []string{"6:1: schema (partnerd WSDL): Element 'Action': This element is not expected."}},
		{name: "schema violation", doc: env("", token, strings.Replace(perform, "<ID>1</ID>", "<ID>one</ID>", 1)),
			want: []string{"6:96: schema (partnerd WSDL): Element 'ID': 'one' is not a valid value of the atomic type 'xs:int'."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := CheckEnvelope([]byte(tc.doc), Options{Served: served, WSDLs: ours})
			var got []string
			for _, p := range res.Problems {
				got = append(got, p.String())
				if strings.Contains(p.String(), "s3cr") || strings.Contains(p.String(), "a&b") {
					t.Errorf("a problem shows the password: %s", p)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], strings.SplitN(tc.want[i], " ", 2)[0]) || !strings.Contains(got[i], strings.SplitN(tc.want[i], " ", 2)[1]) {
					t.Errorf("problem %d:\n  %s\nwant\n  %s", i+1, got[i], tc.want[i])
				}
			}
			if len(res.Notes) > 0 {
				t.Errorf("notes: %v", res.Notes)
			}
			if !strings.Contains(res.Summary, tc.sum) {
				t.Errorf("summary %q, want it to contain %q", res.Summary, tc.sum)
			}
		})
	}
}

// TestReferenceWSDL: the body is checked against each WSDL given, each
// named in its problems.
func TestReferenceWSDL(t *testing.T) {
	if err := xsdcheck.Available(); err != nil {
		t.Skipf("needs xmllint and the reference WSDL: %v", err)
	}
	ref, err := os.ReadFile("../../../shared/reference/etframework.wsdl")
	if err != nil {
		t.Skip(err)
	}
	doc := env("", token, strings.Replace(perform, "<ID>1</ID>", "<ID>one</ID>", 1))
	res := CheckEnvelope([]byte(doc), Options{Served: served, WSDLs: []WSDL{{"partnerd", wsdl.Document("http://x")}, {"reference", ref}}})
	if len(res.Problems) != 2 || !strings.Contains(res.Problems[0].Msg, "(partnerd WSDL)") || !strings.Contains(res.Problems[1].Msg, "(reference WSDL)") {
		t.Errorf("problems %v", res.Problems)
	}
}

// TestNoValidator: without xmllint the schema check is a note, not a
// problem, and the other checks still run.
func TestNoValidator(t *testing.T) {
	res := CheckEnvelope([]byte(env("", "", perform)), Options{Served: served, WSDLs: []WSDL{{"partnerd", nil}},
		Validate: func(_, _ []byte) ([]string, error) { return nil, os.ErrNotExist }})
	if len(res.Problems) != 1 || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "body not checked against the partnerd WSDL") {
		t.Errorf("problems %v notes %v", res.Problems, res.Notes)
	}
}

func TestCheckREST(t *testing.T) {
	doc, err := oascheck.Parse("openapi.json", sendgrid.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		r    REST
		want []string
	}{
		{name: "clean", r: REST{Method: "POST", Path: "/v3/mail/batch"}},
		{name: "clean with body", r: REST{Method: "POST", Path: "/v3/user/scheduled_sends", ContentType: "application/json",
			Body: []byte(`{"batch_id": "abc", "status": "pause"}`)}},
		{name: "unknown operation", r: REST{Method: "POST", Path: "/v3/nothing"}, want: []string{"1:1: unknown operation POST /v3/nothing"}},
		{name: "missing body", r: REST{Method: "POST", Path: "/v3/user/scheduled_sends", ContentType: "application/json", BodyLine: 4, BodyCol: 11},
			want: []string{"4:11: POST /v3/user/scheduled_sends: the request needs a body"}},
		{name: "not JSON", r: REST{Method: "POST", Path: "/v3/user/scheduled_sends", ContentType: "application/json", Body: []byte("{\n\"batch_id\": }"), BodyLine: 3, BodyCol: 5},
			want: []string{"4:13: POST /v3/user/scheduled_sends: body is not JSON"}},
		{name: "wrong media type", r: REST{Method: "POST", Path: "/v3/user/scheduled_sends", ContentType: "text/plain", Body: []byte("x")},
			want: []string{`1:1: POST /v3/user/scheduled_sends: Content-Type "text/plain", want application/json`}},
		{name: "schema violation", r: REST{Method: "POST", Path: "/v3/user/scheduled_sends", ContentType: "application/json",
			Body: []byte("{\n  \"batch_id\": \"abc\",\n  \"status\": \"stop\"\n}"), BodyLine: 10, BodyCol: 1},
			want: []string{"12:13: schema (OpenAPI): at /status: value must be one of 'pause', 'cancel'"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := CheckREST(doc, tc.r)
			if len(res.Problems) != len(tc.want) {
				t.Fatalf("problems %v, want %q", res.Problems, tc.want)
			}
			for i, p := range res.Problems {
				pos, text, _ := strings.Cut(tc.want[i], " ")
				if !strings.HasPrefix(p.String(), pos) || !strings.Contains(p.String(), text) {
					t.Errorf("problem %d:\n  %s\nwant\n  %s", i+1, p, tc.want[i])
				}
			}
		})
	}
}

func TestMemberOffset(t *testing.T) {
	raw := []byte(`{"method": "POST", "headers": {"body": 1},
  "body" :  {"a": 1}}`)
	if off := MemberOffset(raw, "body"); off < 0 || string(raw[off:off+8]) != `{"a": 1}` {
		t.Errorf("offset %d", off)
	}
	if MemberOffset(raw, "nothing") != -1 || MemberOffset([]byte("[1]"), "body") != -1 {
		t.Error("a member that is not there has an offset")
	}
}

// FuzzCheckEnvelope: any input gets problems or a clean result, never a
// panic, and every position is inside the document.
func FuzzCheckEnvelope(f *testing.F) {
	f.Add(env("", token, perform))
	f.Add(env("http://www.w3.org/2003/05/soap-envelope", "", "<a><b></a>"))
	f.Add("<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body/><s:Header/></s:Envelope>")
	f.Fuzz(func(t *testing.T, doc string) {
		res := CheckEnvelope([]byte(doc), Options{Served: served})
		lines := strings.Count(doc, "\n") + 1
		for _, p := range res.Problems {
			if p.Line < 1 || p.Line > lines || p.Col < 1 {
				t.Errorf("position %d:%d outside a document of %d lines: %s", p.Line, p.Col, lines, p)
			}
		}
	})
}

// TestTokenHeaders: the token headers are judged as the SOAP face reads
// them (soap.FindToken): fueloauth in the ExactTarget namespace with any
// prefix or in none, nested, trimmed; oAuth/oAuthToken with its child
// qualified or not; a UsernameToken beside a token is not checked. Each
// refusal is one problem at the header at fault, never quoting the token.
// Runs without xmllint: the body's schema is not what is tested here.
func TestTokenHeaders(t *testing.T) {
	const (
		et   = `xmlns="http://exacttarget.com"`
		star = `<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">` +
			`<wsse:UsernameToken><wsse:Username>*</wsse:Username><wsse:Password>*</wsse:Password></wsse:UsernameToken></wsse:Security>`
		tok = "T0ken-Value-Never-Shown"
	)
	hdr := func(inner string) string { return `<s:Header>` + inner + `</s:Header>` }
	tests := []struct {
		name, doc string
		want      []string // "line:col: text it contains"
		sum       string
	}{
		{name: "fueloauth, default namespace", doc: env("", hdr(`<fueloauth `+et+`>`+tok+`</fueloauth>`), perform), sum: "SOAP 1.1 Perform fueloauth token"},
		{name: "fueloauth, prefixed, token on its own line", doc: env("", hdr(`<h:fueloauth xmlns:h="http://exacttarget.com">`+"\n\t"+tok+"\n"+`</h:fueloauth>`), perform),
			sum: "fueloauth token"},
		{name: "fueloauth, no namespace (FuelSDK-Java)", doc: env("", hdr(`<fueloauth>`+tok+`</fueloauth>`), perform), sum: "fueloauth token"},
		{name: "fueloauth, nested (FuelSDK-Ruby)", doc: env("", hdr(`<fueloauth `+et+`><fueloauth>`+tok+`</fueloauth></fueloauth>`), perform), sum: "fueloauth token"},
		{name: "fueloauth over SOAP 1.2", doc: env("http://www.w3.org/2003/05/soap-envelope", hdr(`<fueloauth `+et+`>`+tok+`</fueloauth>`), perform),
			sum: "SOAP 1.2 Perform fueloauth token"},
		{name: "oAuth, child unqualified, with */*", doc: env("", hdr(`<oAuth `+et+`><oAuthToken xmlns="">`+tok+`</oAuthToken></oAuth>`+star), perform),
			sum: "oAuth/oAuthToken token (the UsernameToken beside it is not checked)"},
		{name: "oAuth, child qualified", doc: env("", hdr(`<et:oAuth xmlns:et="http://exacttarget.com"><et:oAuthToken>`+tok+`</et:oAuthToken></et:oAuth>`), perform),
			sum: "oAuth/oAuthToken token"},
		{name: "fueloauth, a wrong-namespace Security beside it is not read", doc: env("", hdr(`<fueloauth>`+tok+`</fueloauth><Security xmlns="urn:x"/>`), perform),
			sum: "fueloauth token"},
		{name: "empty fueloauth", doc: env("", hdr(`<fueloauth `+et+`>  </fueloauth>`), perform), want: []string{"2:11: empty fueloauth token: partnerd refuses the request with Login Failed"}},
		{name: "empty nested fueloauth", doc: env("", hdr(`<fueloauth `+et+`><fueloauth/></fueloauth>`), perform), want: []string{"2:53: empty fueloauth token"}},
		{name: "fueloauth holding elements", doc: env("", hdr(`<fueloauth `+et+`><token>`+tok+`</token></fueloauth>`), perform),
			want: []string{"2:11: fueloauth holds elements, not a token"}},
		{name: "two fueloauth", doc: env("", hdr(`<fueloauth>`+tok+`</fueloauth><fueloauth>`+tok+`</fueloauth>`), perform),
			want: []string{"2:57: a second token header (<fueloauth> after <fueloauth>)"}},
		{name: "fueloauth and oAuth", doc: env("", hdr(`<fueloauth>`+tok+`</fueloauth><oAuth `+et+`><oAuthToken>`+tok+`</oAuthToken></oAuth>`), perform),
			want: []string{"2:57: a second token header (<oAuth> after <fueloauth>)"}},
		{name: "oAuth without oAuthToken", doc: env("", hdr(`<oAuth `+et+`/>`+star), perform), want: []string{"2:11: oAuth without an oAuthToken"}},
		{name: "oAuth with two oAuthTokens", doc: env("", hdr(`<oAuth `+et+`><oAuthToken>`+tok+`</oAuthToken><oAuthToken>`+tok+`</oAuthToken></oAuth>`), perform),
			want: []string{"2:97: a second oAuthToken"}},
		{name: "empty oAuthToken", doc: env("", hdr(`<oAuth `+et+`><oAuthToken/></oAuth>`+star), perform), want: []string{"2:49: empty oAuthToken token"}},
		{name: "token too long", doc: env("", hdr(`<fueloauth>`+strings.Repeat("x", 1025)+`</fueloauth>`), perform),
			want: []string{"2:11: a token of 1025 characters: partnerd refuses tokens longer than 1024"}},
		{name: "fueloauth in another namespace, nothing else", doc: env("", hdr(`<x:fueloauth xmlns:x="urn:other">`+tok+`</x:fueloauth>`), perform),
			want: []string{`2:11: fueloauth in namespace "urn:other" is no token header`, "2:1: no security header"}},
		{name: "unprefixed fueloauth in an envelope of default namespace", doc: `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/">` + "\n" +
			`<Body>` + perform + `</Body>` + "\n" + `<Header><fueloauth>` + tok + `</fueloauth></Header></Envelope>`,
			want: []string{`6:9: fueloauth in namespace "http://schemas.xmlsoap.org/soap/envelope/" is no token header`, "6:1: no security header"}},
		{name: "fuel-soap's envelope: Body first, default namespaces", doc: `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/">` + "\n" +
			`<Body>` + perform + `</Body>` + "\n" + `<Header><fueloauth ` + et + `>` + tok + `</fueloauth></Header></Envelope>`,
			sum: "SOAP 1.1 Perform fueloauth token"},
	}
	noSchema := func(_, _ []byte) ([]string, error) { return nil, nil }
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := CheckEnvelope([]byte(tc.doc), Options{Served: served, WSDLs: []WSDL{{"partnerd", nil}}, Validate: noSchema})
			var got []string
			for _, p := range res.Problems {
				got = append(got, p.String())
				if strings.Contains(p.String(), tok) {
					t.Errorf("a problem shows the token: %s", p)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for i := range got {
				at, text, _ := strings.Cut(tc.want[i], " ")
				if !strings.HasPrefix(got[i], at) || !strings.Contains(got[i], text) {
					t.Errorf("problem %d:\n  %s\nwant\n  %s", i+1, got[i], tc.want[i])
				}
			}
			if tc.want == nil && (res.Summary == "" || !strings.Contains(res.Summary, tc.sum)) {
				t.Errorf("summary %q, want it to contain %q", res.Summary, tc.sum)
			}
			if strings.Contains(res.Summary, tok) {
				t.Errorf("the summary shows the token: %s", res.Summary)
			}
		})
	}
}
