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
		{"other elements untouched", `<Username>u</Username><PasswordHint>h</PasswordHint><xPassword>x</xPassword><Passwords>y</Passwords>`,
			`<Username>u</Username><PasswordHint>h</PasswordHint><xPassword>x</xPassword><Passwords>y</Passwords>`},
		{"attribute named Password untouched", `<a Password="p">t</a>`, `<a Password="p">t</a>`},
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
