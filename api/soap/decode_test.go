package soap

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeCharset(t *testing.T) {
	const doc = `<a>é€𝄞</a>`
	tests := []struct {
		name string
		in   []byte
		want string // "" when refused
	}{
		{"UTF-8 untouched", []byte(doc), doc},
		{"UTF-8 BOM dropped", []byte("\xef\xbb\xbf" + doc), doc},
		{"UTF-16LE BOM", encodeUTF16(doc, false, true), doc},
		{"UTF-16BE BOM", encodeUTF16(doc, true, true), doc},
		{"UTF-16 BOM only", []byte{0xff, 0xfe}, ""},
		{"UTF-16LE no BOM", encodeUTF16(doc, false, false), doc},
		{"surrogate pair", encodeUTF16("<a>𝄞</a>", true, true), "<a>𝄞</a>"},
		{"unpaired high surrogate", append(encodeUTF16("<a>", false, true), 0x3d, 0xd8, '<', 0), ""},
		{"unpaired low surrogate", append(encodeUTF16("<a>", false, true), 0x00, 0xdc), ""},
		{"declaration rewritten", []byte(`<?xml version="1.0" encoding='UTF-16' ?>` + doc), `<?xml version="1.0" encoding='utf-8' ?>` + doc},
		{"us-ascii rewritten", []byte(`<?xml version="1.0" encoding="us-ascii"?><a/>`), `<?xml version="1.0" encoding="utf-8"?><a/>`},
		{"latin-1", []byte("<?xml version=\"1.0\" encoding=\"latin1\"?><a>\xe9\xff</a>"), `<?xml version="1.0" encoding="utf-8"?><a>éÿ</a>`},
		{"utf-8 declaration untouched", []byte(`<?xml version="1.0" encoding="UTF-8"?><a/>`), `<?xml version="1.0" encoding="UTF-8"?><a/>`},
		{"Shift_JIS refused", []byte(`<?xml version="1.0" encoding="Shift_JIS"?><a/>`), ""},
		{"not a declaration", []byte(`<?xml-stylesheet encoding="x"?><a/>`), `<?xml-stylesheet encoding="x"?><a/>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, f := decodeCharset(tc.in, 1<<20)
			if tc.want == "" {
				if f == nil && len(out) > 0 {
					t.Fatalf("accepted: %q", out)
				}
				return
			}
			if f != nil {
				t.Fatalf("refused: %s", f.String)
			}
			if string(out) != tc.want {
				t.Errorf("got %q, want %q", out, tc.want)
			}
		})
	}
}

// FuzzDecodeBody: decoding never panics, never returns more than the
// limit, leaves a plain UTF-8 body as it is, and reads back any text
// written as UTF-16 or gzip.
func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte(perform11), uint8(0))
	f.Add(encodeUTF16(perform11, false, true), uint8(0))
	f.Add(encodeUTF16(`<?xml version="1.0" encoding="utf-16"?>`+perform11, true, false), uint8(0))
	f.Add(compress(f, "gzip", []byte(perform11)), uint8(1))
	f.Add(compress(f, "deflate", []byte(perform11)), uint8(2))
	f.Add([]byte("<?xml version='1.0' encoding='iso-8859-1'?><a>\xe9</a>"), uint8(0))
	codings := []string{"", "gzip", "deflate", "identity", "br"}
	f.Fuzz(func(t *testing.T, raw []byte, c uint8) {
		const limit = 4096
		coding := codings[int(c)%len(codings)]
		out, fault := decodeBody(raw, []string{coding}, limit)
		if fault == nil && len(out) > limit {
			t.Fatalf("%d bytes out, limit %d", len(out), limit)
		}
		if coding != "" || len(raw) > limit || !utf8.Valid(raw) {
			return
		}
		if !bytes.HasPrefix(raw, []byte("<?xml")) && !bytes.HasPrefix(raw, utf8BOM) && !bytes.HasPrefix(raw, []byte{'<', 0}) && !bytes.HasPrefix(raw, []byte{0, '<'}) {
			if fault != nil || !bytes.Equal(out, raw) {
				t.Fatalf("plain UTF-8 changed: %q -> %q (%v)", raw, out, fault)
			}
		}
		// Text that does not look like a declaration or a BOM survives
		// a round trip through UTF-16 and gzip.
		s := strings.ToValidUTF8(string(raw), "")
		if strings.HasPrefix(s, "<?xml") || strings.HasPrefix(s, "\ufeff") || strings.HasPrefix(s, "\x00") || strings.HasPrefix(s, "<\x00") {
			return
		}
		for _, bigEndian := range []bool{false, true} {
			got, fault := decodeBody(encodeUTF16(s, bigEndian, true), nil, 4*limit)
			if fault != nil || string(got) != s {
				t.Fatalf("UTF-16 round trip of %q: %q (%v)", s, got, fault)
			}
		}
		got, fault := decodeBody(compress(t, "gzip", []byte(s)), []string{"gzip"}, limit)
		if fault != nil || string(got) != s {
			t.Fatalf("gzip round trip of %q: %q (%v)", s, got, fault)
		}
	})
}
