package wsse

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/partnerd/partnerd/auth"
)

const (
	typeText   = NSUsernameToken + "#PasswordText"
	typeDigest = NSUsernameToken + "#PasswordDigest"
	encBase64  = NSSoapMessageSecurity + "#Base64Binary"
)

// sec builds a Security header with the usual prefixes declared: wsse, wsu,
// s11 and s12 (the SOAP envelopes).
func sec(attrs, inner string) string {
	return `<wsse:Security xmlns:wsse="` + NSSecExt + `" xmlns:wsu="` + NSUtility +
		`" xmlns:s11="` + nsSOAP11 + `" xmlns:s12="` + nsSOAP12 + `" ` + attrs + `>` + inner + `</wsse:Security>`
}

// ut builds a Security header holding one UsernameToken.
func ut(inner string) string {
	return sec("", "<wsse:UsernameToken>"+inner+"</wsse:UsernameToken>")
}

const userPass = `<wsse:Username>u</wsse:Username><wsse:Password>p</wsse:Password>`

func parseString(t *testing.T, s string) (Token, error) {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		t.Fatalf("test XML does not parse: %v\n%s", err, s)
	}
	return Parse(doc.Root())
}

func TestParseClients(t *testing.T) {
	tests := []struct {
		file string
		want Token
	}{
		{"docs_cancel_envelope.xml", Token{UsernameToken: auth.UsernameToken{
			Username: "XXX", Password: "XXX", Type: PasswordText,
			Nonce:   "On06D99VmKbjWKQiY6wYLk+IpIs=",
			Created: time.Date(2011, 3, 24, 15, 23, 47, 0, time.UTC), CreatedText: "2011-03-24T15:23:47Z", HasCreated: true,
		}}},
		{"docs_minimal_header.xml", Token{UsernameToken: auth.UsernameToken{Username: "XXXXX", Password: "XXXXX"}}},
		{"suds_text_header.xml", Token{UsernameToken: auth.UsernameToken{Username: "suds-user", Password: "suds pass"}, MustUnderstand: true}},
		{"zeep_digest_header.xml", Token{UsernameToken: auth.UsernameToken{
			Username: "zeep-user", Password: "CFK4JlTzn5SsT/YEzZyBYh2lVbw=", Type: PasswordDigest,
			Nonce:   "LKqI6G/AikKCQrN0zqZFlg==",
			Created: time.Date(2024, 5, 1, 12, 0, 0, 123e6, time.UTC), CreatedText: "2024-05-01T12:00:00.123Z", HasCreated: true,
		}}},
		{"nodesoap_timestamp_header.xml", Token{UsernameToken: auth.UsernameToken{
			Username: "node-user", Password: "node&pass",
			Created: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), CreatedText: "2024-05-01T12:00:00Z", HasCreated: true,
			Timestamp: &Timestamp{Created: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), Expires: time.Date(2024, 5, 1, 12, 10, 0, 0, time.UTC)},
		}, MustUnderstand: true}},
		{"wcf_soap12_header.xml", Token{UsernameToken: auth.UsernameToken{
			Username: "wcf-user", Password: "wcf<pass>",
			Timestamp: &Timestamp{Created: time.Date(2024, 5, 1, 12, 0, 0, 123456700, time.UTC), Expires: time.Date(2024, 5, 1, 12, 5, 0, 123456700, time.UTC)},
		}, MustUnderstand: true}},
		{"gowsdl_header.xml", Token{UsernameToken: auth.UsernameToken{Username: "go-user", Password: "go-pass"}, MustUnderstand: true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			sec := security(readDoc(t, tt.file))
			if sec == nil {
				t.Fatal("Find found no Security header")
			}
			got, err := Parse(sec)
			if err != nil {
				t.Fatal(err)
			}
			assertToken(t, got, tt.want)
		})
	}
}

func assertToken(t *testing.T, got, want Token) {
	t.Helper()
	if got.Username != want.Username || got.Password != want.Password || got.Type != want.Type ||
		got.Nonce != want.Nonce || !got.Created.Equal(want.Created) || got.CreatedText != want.CreatedText ||
		got.HasCreated != want.HasCreated || got.MustUnderstand != want.MustUnderstand {
		t.Errorf("token\n got %+v\nwant %+v", got, want)
	}
	switch {
	case (got.Timestamp == nil) != (want.Timestamp == nil):
		t.Errorf("Timestamp = %+v, want %+v", got.Timestamp, want.Timestamp)
	case got.Timestamp != nil && (!got.Timestamp.Created.Equal(want.Timestamp.Created) || !got.Timestamp.Expires.Equal(want.Timestamp.Expires)):
		t.Errorf("Timestamp = %+v, want %+v", *got.Timestamp, *want.Timestamp)
	}
}

func TestParseVariants(t *testing.T) {
	base := Token{UsernameToken: auth.UsernameToken{Username: "u", Password: "p"}}
	with := func(f func(*Token)) Token { tok := base; f(&tok); return tok }
	created := func(text string, tm time.Time) Token {
		return with(func(tok *Token) { tok.Created, tok.CreatedText, tok.HasCreated = tm, text, true })
	}
	mu := with(func(tok *Token) { tok.MustUnderstand = true })
	ts := func(c, e time.Time) Token {
		return with(func(tok *Token) { tok.Timestamp = &Timestamp{Created: c, Expires: e} })
	}
	noon := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		xml  string
		want Token
	}{
		{"no Type is PasswordText", ut(userPass), base},
		{"empty Type is PasswordText", ut(`<wsse:Username>u</wsse:Username><wsse:Password Type="">p</wsse:Password>`), base},
		{"PasswordText", ut(`<wsse:Username>u</wsse:Username><wsse:Password Type="` + typeText + `">p</wsse:Password>`), base},
		{"PasswordDigest, digest trimmed", ut(`<wsse:Username>u</wsse:Username><wsse:Password Type="` + typeDigest + `"> p </wsse:Password>`),
			with(func(tok *Token) { tok.Type = PasswordDigest })},
		{"clear password kept verbatim", ut(`<wsse:Username>u</wsse:Username><wsse:Password> p </wsse:Password>`),
			with(func(tok *Token) { tok.Password = " p " })},
		{"username trimmed", ut("<wsse:Username>\n  u\n</wsse:Username><wsse:Password>p</wsse:Password>"), base},
		{"CDATA and comments in password", ut(`<wsse:Username>u</wsse:Username><wsse:Password><!-- c --><![CDATA[<p>]]>&amp;</wsse:Password>`),
			with(func(tok *Token) { tok.Password = "<p>&" })},
		{"empty password", ut(`<wsse:Username>u</wsse:Username><wsse:Password/>`), with(func(tok *Token) { tok.Password = "" })},
		{"children in any order", ut(`<wsse:Password>p</wsse:Password><wsse:Username>u</wsse:Username>`), base},
		{"unknown children ignored", sec(`xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`,
			`<ds:Signature><ds:SignedInfo/></ds:Signature><wsse:UsernameToken wsu:Id="x"><wsse11:Salt xmlns:wsse11="urn:x">AA==</wsse11:Salt>`+userPass+`</wsse:UsernameToken>`), base},
		{"nonce with EncodingType", ut(userPass + `<wsse:Nonce EncodingType="` + encBase64 + `"> AAECAw== </wsse:Nonce>`),
			with(func(tok *Token) { tok.Nonce = "AAECAw==" })},
		{"created Z", ut(userPass + `<wsu:Created>2024-05-01T12:00:00Z</wsu:Created>`), created("2024-05-01T12:00:00Z", noon)},
		{"created fraction", ut(userPass + `<wsu:Created>2024-05-01T12:00:00.5Z</wsu:Created>`), created("2024-05-01T12:00:00.5Z", noon.Add(500*time.Millisecond))},
		{"created offset", ut(userPass + `<wsu:Created>2024-05-01T14:00:00+02:00</wsu:Created>`), created("2024-05-01T14:00:00+02:00", noon)},
		{"created negative offset fraction", ut(userPass + `<wsu:Created>2024-05-01T07:00:00.000-05:00</wsu:Created>`), created("2024-05-01T07:00:00.000-05:00", noon)},
		{"created without zone is UTC", ut(userPass + `<wsu:Created>2024-05-01T12:00:00</wsu:Created>`), created("2024-05-01T12:00:00", noon)},
		{"created trimmed", ut(userPass + "<wsu:Created>\n2024-05-01T12:00:00Z </wsu:Created>"), created("2024-05-01T12:00:00Z", noon)},
		{"wsse:Created accepted", ut(userPass + `<wsse:Created>2024-05-01T12:00:00Z</wsse:Created>`), created("2024-05-01T12:00:00Z", noon)},
		{"mustUnderstand unqualified 1", sec(`mustUnderstand="1"`, `<wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`), mu},
		{"mustUnderstand unqualified true (suds)", sec(`mustUnderstand="true"`, `<wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`), mu},
		{"mustUnderstand SOAP 1.1", sec(`s11:mustUnderstand="1"`, `<wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`), mu},
		{"mustUnderstand SOAP 1.2 true", sec(`s12:mustUnderstand="true"`, `<wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`), mu},
		{"mustUnderstand 0", sec(`s11:mustUnderstand="0"`, `<wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`), base},
		{"mustUnderstand false", sec(`mustUnderstand="false"`, `<wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`), base},
		{"mustUnderstand of another namespace ignored", sec(`xmlns:o="urn:other" o:mustUnderstand="maybe"`, `<wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`), base},
		{"timestamp", sec("", `<wsu:Timestamp><wsu:Created>2024-05-01T12:00:00Z</wsu:Created><wsu:Expires>2024-05-01T12:05:00Z</wsu:Expires></wsu:Timestamp><wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`),
			ts(noon, noon.Add(5*time.Minute))},
		{"timestamp after token, expires only", sec("", `<wsse:UsernameToken>`+userPass+`</wsse:UsernameToken><wsu:Timestamp><wsu:Expires>2024-05-01T12:05:00Z</wsu:Expires></wsu:Timestamp>`),
			ts(time.Time{}, noon.Add(5*time.Minute))},
		{"default namespace", `<Security xmlns="` + NSSecExt + `"><UsernameToken><Username>u</Username><Password>p</Password></UsernameToken></Security>`, base},
		{"default namespace, prefixed utility", `<Security xmlns="` + NSSecExt + `"><UsernameToken><Username>u</Username><Password>p</Password><Created xmlns="` + NSUtility + `">2024-05-01T12:00:00Z</Created></UsernameToken></Security>`,
			created("2024-05-01T12:00:00Z", noon)},
		{"prefix declared on child", `<a:Security xmlns:a="` + NSSecExt + `"><b:UsernameToken xmlns:b="` + NSSecExt + `"><a:Username>u</a:Username><b:Password>p</b:Password></b:UsernameToken></a:Security>`, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseString(t, tt.xml)
			if err != nil {
				t.Fatal(err)
			}
			assertToken(t, got, tt.want)
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name string
		xml  string
		want error
	}{
		{"not Security", `<Security xmlns="urn:other"/>`, ErrMalformed},
		{"Security without namespace", `<Security><UsernameToken><Username>u</Username><Password>p</Password></UsernameToken></Security>`, ErrMalformed},
		{"old draft namespace", `<Security xmlns="http://schemas.xmlsoap.org/ws/2002/07/secext"/>`, ErrMalformed},
		{"no UsernameToken", sec("", `<wsu:Timestamp><wsu:Created>2024-05-01T12:00:00Z</wsu:Created></wsu:Timestamp>`), ErrNoToken},
		{"empty Security", sec("", ""), ErrNoToken},
		{"UsernameToken in another namespace", sec("", `<UsernameToken>`+userPass+`</UsernameToken>`), ErrNoToken},
		{"prefix rebound on child", sec("", `<wsse:UsernameToken xmlns:wsse="urn:other">`+userPass+`</wsse:UsernameToken>`), ErrNoToken},
		{"two UsernameTokens", sec("", `<wsse:UsernameToken>`+userPass+`</wsse:UsernameToken><wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`), ErrMalformed},
		{"two Timestamps", sec("", `<wsu:Timestamp/><wsu:Timestamp/><wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`), ErrMalformed},
		{"no Username", ut(`<wsse:Password>p</wsse:Password>`), ErrMalformed},
		{"Username in wrong namespace", ut(`<wsu:Username>u</wsu:Username><wsse:Password>p</wsse:Password>`), ErrMalformed},
		{"empty Username", ut(`<wsse:Username> </wsse:Username><wsse:Password>p</wsse:Password>`), ErrMalformed},
		{"two Usernames", ut(`<wsse:Username>u</wsse:Username>` + userPass), ErrMalformed},
		{"Username with child", ut(`<wsse:Username>u<b/></wsse:Username><wsse:Password>p</wsse:Password>`), ErrMalformed},
		{"Username too long", ut(`<wsse:Username>` + long(MaxUsernameLen+1) + `</wsse:Username><wsse:Password>p</wsse:Password>`), ErrMalformed},
		{"no Password", ut(`<wsse:Username>u</wsse:Username>`), ErrMalformed},
		{"two Passwords", ut(userPass + `<wsse:Password>q</wsse:Password>`), ErrMalformed},
		{"Password too long", ut(`<wsse:Username>u</wsse:Username><wsse:Password>` + long(MaxPasswordLen+1) + `</wsse:Password>`), ErrMalformed},
		{"Password too long in pieces", ut(`<wsse:Username>u</wsse:Username><wsse:Password>` + long(MaxPasswordLen/2+1) + `<!---->` + long(MaxPasswordLen/2+1) + `</wsse:Password>`), ErrMalformed},
		{"unknown Password Type", ut(`<wsse:Username>u</wsse:Username><wsse:Password Type="` + NSUsernameToken + `#PasswordSaltedDigest">p</wsse:Password>`), ErrMalformed},
		{"bare Password Type", ut(`<wsse:Username>u</wsse:Username><wsse:Password Type="PasswordText2">p</wsse:Password>`), ErrMalformed},
		{"Nonce not base64", ut(userPass + `<wsse:Nonce>not base64!</wsse:Nonce>`), ErrMalformed},
		{"Nonce empty", ut(userPass + `<wsse:Nonce></wsse:Nonce>`), ErrMalformed},
		{"Nonce hex", ut(userPass + `<wsse:Nonce EncodingType="` + NSSoapMessageSecurity + `#HexBinary">00</wsse:Nonce>`), ErrMalformed},
		{"Nonce too long", ut(userPass + `<wsse:Nonce>` + strings.Repeat("AAAA", MaxNonceLen/4+1) + `</wsse:Nonce>`), ErrMalformed},
		{"two Nonces", ut(userPass + `<wsse:Nonce>AAAA</wsse:Nonce><wsse:Nonce>AAAA</wsse:Nonce>`), ErrMalformed},
		{"Created not a date", ut(userPass + `<wsu:Created>yesterday</wsu:Created>`), ErrMalformed},
		{"Created date only", ut(userPass + `<wsu:Created>2024-05-01</wsu:Created>`), ErrMalformed},
		{"Created bad offset", ut(userPass + `<wsu:Created>2024-05-01T12:00:00+2</wsu:Created>`), ErrMalformed},
		{"Created hour 25", ut(userPass + `<wsu:Created>2024-05-01T25:00:00Z</wsu:Created>`), ErrMalformed},
		{"Created zero time", ut(userPass + `<wsu:Created>0001-01-01T00:00:00Z</wsu:Created>`), ErrMalformed},
		{"Created too long", ut(userPass + `<wsu:Created>2024-05-01T12:00:00.` + strings.Repeat("0", 80) + `Z</wsu:Created>`), ErrMalformed},
		{"two Created", ut(userPass + `<wsu:Created>2024-05-01T12:00:00Z</wsu:Created><wsse:Created>2024-05-01T12:00:00Z</wsse:Created>`), ErrMalformed},
		{"Timestamp Expires bad", sec("", `<wsu:Timestamp><wsu:Expires>soon</wsu:Expires></wsu:Timestamp><wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`), ErrMalformed},
		{"Timestamp two Created", sec("", `<wsu:Timestamp><wsu:Created>2024-05-01T12:00:00Z</wsu:Created><wsu:Created>2024-05-01T12:00:00Z</wsu:Created></wsu:Timestamp><wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`), ErrMalformed},
		{"mustUnderstand yes", sec(`s11:mustUnderstand="yes"`, `<wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`), ErrMalformed},
		{"mustUnderstand TRUE", sec(`mustUnderstand="TRUE"`, `<wsse:UsernameToken>`+userPass+`</wsse:UsernameToken>`), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseString(t, tt.xml)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse error = %v, want %v (token %+v)", err, tt.want, got)
			}
			if !errors.Is(err, ErrLoginFailed) {
				t.Errorf("error %v does not wrap ErrLoginFailed", err)
			}
			if got != (Token{}) {
				t.Errorf("Parse returned a token with its error: %+v", got)
			}
		})
	}

	if _, err := Parse(nil); !errors.Is(err, ErrNoToken) {
		t.Errorf("Parse(nil) = %v, want ErrNoToken", err)
	}
}

func TestFind(t *testing.T) {
	doc := etree.NewDocument()
	err := doc.ReadFromString(`<s:Header xmlns:s="` + nsSOAP11 + `">` +
		`<Security xmlns="urn:not-wsse"/>` +
		`<a:Action xmlns:a="http://www.w3.org/2005/08/addressing">Perform</a:Action>` +
		`<x:Security xmlns:x="` + NSSecExt + `" id="first"/>` +
		`<Security xmlns="` + NSSecExt + `" id="second"/>` +
		`</s:Header>`)
	if err != nil {
		t.Fatal(err)
	}
	got := Find(doc.Root())
	if got == nil || got.SelectAttrValue("id", "") != "first" {
		t.Errorf("Find = %v, want the first wsse:Security", got)
	}
	if Find(nil) != nil {
		t.Error("Find(nil) != nil")
	}
	empty := etree.NewElement("Header")
	if Find(empty) != nil {
		t.Error("Find(empty header) != nil")
	}
}

func TestPasswordTypeString(t *testing.T) {
	if PasswordText.String() != "PasswordText" || PasswordDigest.String() != "PasswordDigest" || PasswordType(9).String() == "" {
		t.Error("PasswordType.String")
	}
}

func BenchmarkParse(b *testing.B) {
	sec := security(readDoc(b, "docs_cancel_envelope.xml"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(sec); err != nil {
			b.Fatal(err)
		}
	}
}
