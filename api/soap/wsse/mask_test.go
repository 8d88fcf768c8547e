package wsse

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMaskSecrets(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", `<Password>secret</Password>`, `<Password>****</Password>`},
		{"prefixed, with Type", `<wsse:Password Type="` + typeText + `">secret</wsse:Password>`, `<wsse:Password Type="` + typeText + `">****</wsse:Password>`},
		{"nonce", `<wsse:Nonce EncodingType="x">On06D99VmKbjWKQiY6wYLk+IpIs=</wsse:Nonce>`, `<wsse:Nonce EncodingType="x">****</wsse:Nonce>`},
		{"any case", `<o:password>a</o:password><NONCE>b</NONCE>`, `<o:password>****</o:password><NONCE>****</NONCE>`},
		{"other elements untouched", `<Username>u</Username><PasswordHint>h</PasswordHint><Passwords>y</Passwords><CustomerKey>k</CustomerKey><TokenType>t</TokenType>`,
			`<Username>u</Username><PasswordHint>h</PasswordHint><Passwords>y</Passwords><CustomerKey>k</CustomerKey><TokenType>t</TokenType>`},
		{"compound secret names", `<xPassword>x</xPassword><fueloauth>f</fueloauth><a:oAuthToken>o</a:oAuthToken><access_token>a</access_token><accessToken>b</accessToken><refreshToken>r</refreshToken><client_secret>c</client_secret><ClientSecret>d</ClientSecret><BinarySecurityToken>e</BinarySecurityToken><internalOauthToken>g</internalOauthToken><api-key>h</api-key>`,
			`<xPassword>****</xPassword><fueloauth>****</fueloauth><a:oAuthToken>****</a:oAuthToken><access_token>****</access_token><accessToken>****</accessToken><refreshToken>****</refreshToken><client_secret>****</client_secret><ClientSecret>****</ClientSecret><BinarySecurityToken>****</BinarySecurityToken><internalOauthToken>****</internalOauthToken><api-key>****</api-key>`},
		{"UsernameToken keeps its Username", `<wsse:UsernameToken wsu:Id="x"><wsse:Username>u</wsse:Username><wsse:Password>p</wsse:Password></wsse:UsernameToken>`,
			`<wsse:UsernameToken wsu:Id="x"><wsse:Username>u</wsse:Username><wsse:Password>****</wsse:Password></wsse:UsernameToken>`},
		{"secret attributes", `<a Password="p" b='c' x:token = 'tt' accessToken=unq>t</a><e token="v"/>`, `<a Password="****" b='c' x:token = '****' accessToken=****>t</a><e token="****"/>`},
		{"end tag named like a secret", `</x:Password>tail<a/>`, `</x:Password>tail<a/>`},
		{"unescaped ampersand", `<Password>ab&cd;ef</Password><Nonce>n&</Nonce>`, `<Password>****</Password><Nonce>****</Nonce>`},
		{"cut in a secret attribute", `<a token="abc`, `<a token="****`},
		{"'>' in a quoted attribute", `<Password Type='a>b' x="c>d">secret</Password>`, `<Password Type='a>b' x="c>d">****</Password>`},
		{"whitespace in tags", "<Password\n\tType=\"t\" >secret</Password >", "<Password\n\tType=\"t\" >****</Password >"},
		{"self-closing", `<Password/><Nonce />`, `<Password/><Nonce />`},
		{"empty", `<Password></Password>`, `<Password></Password>`},
		{"entities", `<Password>a&amp;b&#x3c;</Password>`, `<Password>****</Password>`},
		{"CDATA", `<Password><![CDATA[se<c>ret]]></Password>`, `<Password>****</Password>`},
		{"comment inside", `<Password>se<!-- </Password> -->cret</Password>`, `<Password>****</Password>`},
		{"child elements", `<Password>a<b x=">">c</b><d/>e</Password>tail`, `<Password>****</Password>tail`},
		{"nested password", `<Password><Password>x</Password>y</Password>`, `<Password>****</Password>`},
		{"many", `<a><Password>1</Password><b/><Password>2</Password><Nonce>3</Nonce></a>`, `<a><Password>****</Password><b/><Password>****</Password><Nonce>****</Nonce></a>`},
		{"password text in a comment is not an element", `<!-- <Password>x</Password> --><a/>`, `<!-- <Password>x</Password> --><a/>`},
		{"password text in CDATA is not an element", `<a><![CDATA[<Password>x</Password>]]></a>`, `<a><![CDATA[<Password>x</Password>]]></a>`},
		{"processing instruction", `<?pi <Password>x</Password> ?><Password>y</Password>`, `<?pi <Password>x</Password> ?><Password>****</Password>`},
		{"doctype with markup inside", `<!DOCTYPE a [<!ENTITY e "<Password>"><!-- > -->]><a><Password>s</Password></a>`,
			`<!DOCTYPE a [<!ENTITY e "<Password>"><!-- > -->]><a><Password>****</Password></a>`},
		{"double prefix", `<a:b:Password>s</a:b:Password>`, `<a:b:Password>****</a:b:Password>`},

		// Not well-formed: mask too much rather than too little.
		{"nothing", ``, ``},
		{"lone <", `<`, `<`},
		{"truncated in content", `<Password>secret`, `<Password>****`},
		{"truncated in tag", `<Password Type="x`, `<Password Type="x`},
		{"unbalanced quote hides nothing", `<Password a="><Password>secret</Password>`, `<Password a="><Password>****</Password>`},
		{"unterminated CDATA inside", `<Password><![CDATA[secret</Password><a/>`, `<Password>****`},
		{"unterminated comment inside", `<Password><!-- secret`, `<Password>****`},
		{"unterminated comment before", `<!-- <Password>secret</Password>`, `<!-- <Password>****</Password>`},
		{"unterminated CDATA before", `<![CDATA[ <Password>secret</Password>`, `<![CDATA[ <Password>****</Password>`},
		{"unterminated directive before", `<!DOCTYPE "<Password>secret</Password>`, `<!DOCTYPE "<Password>****</Password>`},
		{"unterminated PI before", `<? <Nonce>n</Nonce>`, `<? <Nonce>****</Nonce>`},
		{"unclosed children", `<Password><b>secret`, `<Password>****`},
		{"stray end tags", `</Password>x</a><Password>s</Password>`, `</Password>x</a><Password>****</Password>`},
		{"not XML", "\x00\xff<<>>&&;", "\x00\xff<<>>&&;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			got := MaskSecrets(in)
			if string(got) != tt.want {
				t.Errorf("MaskSecrets(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if string(in) != tt.in {
				t.Error("MaskSecrets modified its input")
			}
		})
	}
}

func TestMaskSecretsEnvelopes(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	secrets := []string{"XXX</wsse:Password", "XXXXX</Password", "On06D99VmKbjWKQiY6wYLk", "suds pass", "CFK4JlTzn5SsT", "LKqI6G", "node&amp;pass", "wcf&lt;pass", "go-pass"}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got := MaskSecrets(data)
		for _, s := range secrets {
			if bytes.Contains(got, []byte(s)) {
				t.Errorf("%s: %q survived masking", f, s)
			}
		}
		if !bytes.Contains(got, []byte(">****</")) {
			t.Errorf("%s: nothing masked", f)
		}
		checkMasked(t, data, got)
	}
}

// TestMaskSecretsLinear feeds inputs built to make a naive scanner
// quadratic. A quadratic scan of 1 MiB would take minutes.
func TestMaskSecretsLinear(t *testing.T) {
	const n = 1 << 20
	for _, unit := range []string{
		"<![CDATA[", "<!--", "<?", "<!x '", "<!x <", "<Password>", "<Password a=\"", "<Nonce><![CDATA[",
		"<Password><b>", "<", "<a b='", "</", "<Password><Password>", "<Password><!x '",
	} {
		in := []byte(strings.Repeat(unit, n/len(unit)))
		start := time.Now()
		MaskSecrets(in)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("MaskSecrets of %d × %q took %v", n/len(unit), unit, d)
		}
	}
}

func BenchmarkMaskSecrets(b *testing.B) {
	data, err := os.ReadFile("testdata/docs_cancel_envelope.xml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		MaskSecrets(data)
	}
}

func TestForLog(t *testing.T) {
	const max = 128
	long := `<a><Password>` + strings.Repeat("s", 200) + `</Password></a>`
	tests := []struct {
		name   string
		in     string
		parsed bool
		want   string
		cut    bool
		why    string // a substring of Why; "" wants none
	}{
		{"empty", ``, false, ``, false, ``},
		{"well-formed, parsed", `<a><Password>p</Password></a>`, true, `<a><Password>****</Password></a>`, false, ``},
		{"well-formed, decoded", `<?xml version="1.0"?><!-- c --><a x="1"><b:Password Type="t">p&amp;q</b:Password><c/></a>`, false,
			`<?xml version="1.0"?><!-- c --><a x="1"><b:Password Type="t">****</b:Password><c/></a>`, false, ``},
		{"secret attribute, decoded", `<a token="tt" b="c"><e accessToken='x'/></a>`, false, `<a token="****" b="c"><e accessToken='****'/></a>`, false, ``},
		{"self-closing secret, decoded", `<a><Nonce/></a>`, false, `<a><Nonce/></a>`, false, ``},
		{"nested secret, decoded", `<a><Token><x>1</x><Token>2</Token></Token>t</a>`, false, `<a><Token>****</Token>t</a>`, false, ``},
		{"cut in a secret, parsed", long, true, `<a><Password>****`, true, ``},
		{"cut in a secret, decoded", long, false, `<a><Password>****`, true, ``},
		{"cut inside a rune", `<a>` + strings.Repeat("é", 80) + `</a>`, false, `<a>` + strings.Repeat("é", 62), true, ``},
		{"unescaped ampersand in a password", `<a><Password>ab&cd ef</Password><b>x</b></a>`, false, `<a><Password>****`, false, `not well-formed XML at line 1`},
		{"malformed later", "<a><b>ok</b>\n<c></d></a>", false, "<a><b>ok</b>\n<c>", false, `line 2`},
		{"control character", "<a>\x1b[2J</a>", false, `<a>`, false, `not well-formed`},
		{"gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00\xff\xff", false, ``, false, `gzip`},
		{"UTF-16 with BOM", "\xff\xfe<\x00a\x00>\x00", false, ``, false, `UTF-16 text (with a byte-order mark)`},
		{"UTF-16 without BOM", "<\x00a\x00>\x00\xe9\x00", false, ``, false, `UTF-16 text (without`},
		{"binary", "ab\xc3\x28cd", false, ``, false, `not UTF-8: byte 0xc3 at offset 2`},
		{"binary, parsed", "ab\xc3\x28cd", true, ``, false, `not UTF-8`},
		{"JSON", `{"password": "hunter2"}`, false, ``, false, `not XML: text outside the root element`},
		{"text after the root", `<a/>password hunter2`, false, `<a/>`, false, `not XML: text outside`},
		{"two roots", `<a/><b>x</b>`, false, `<a/>`, false, `an element after the root`},
		{"declared UTF-16", `<?xml version="1.0" encoding="UTF-16"?><a><Password>p</Password></a>`, false, ``, false, `declares an encoding`},
		{"whitespace only", "  \n", false, "", false, `no element`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			k := ForLog(in, max, tt.parsed)
			if string(k.Body) != tt.want || k.Cut != tt.cut {
				t.Errorf("ForLog(%q) = %q, cut %v; want %q, cut %v", tt.in, k.Body, k.Cut, tt.want, tt.cut)
			}
			if tt.why == "" && k.Why != "" || !strings.Contains(k.Why, tt.why) {
				t.Errorf("ForLog(%q).Why = %q, want %q", tt.in, k.Why, tt.why)
			}
			for _, leak := range []string{"hunter2", "cd ef", "\x1b"} {
				if strings.Contains(string(k.Body)+k.Why, leak) {
					t.Errorf("%q survived: %q %q", leak, k.Body, k.Why)
				}
			}
			if string(in) != tt.in {
				t.Error("ForLog modified its input")
			}
		})
	}
}

// TestForLogEnvelopes checks that both ways of masking agree on the
// clients' real envelopes: the decoder finds the elements the byte masker
// finds.
func TestForLogEnvelopes(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parsed, decoded := ForLog(data, 1<<20, true), ForLog(data, 1<<20, false)
		if decoded.Why != "" || !bytes.Equal(parsed.Body, decoded.Body) {
			t.Errorf("%s: decoded (why %q)\n%s\nparsed\n%s", f, decoded.Why, decoded.Body, parsed.Body)
		}
	}
}

func TestRedact(t *testing.T) {
	body := []byte(`<a><Password>abc&TailSecret xyz!Wxyz</Password><Nonce>Tm9uY2U=</Nonce><b token="T0ken-value"/></a>`)
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"XML syntax error on line 1: invalid character entity &TailSecret (no semicolon)", "XML syntax error on line 1: invalid character entity &**** (no semicolon)"},
		{"<faultstring>entity &amp;TailSecret</faultstring>", "<faultstring>entity &amp;****</faultstring>"},
		{"nonce Tm9uY2U= and T0ken-value", "nonce ****= and ****"},
		{"abc and xyz stay: too short to tell", "abc and xyz stay: too short to tell"},
		{"a name cut at a character no name holds: &Wxyz", "a name cut at a character no name holds: &****"},
	} {
		if got := Redact(c.in, body); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
