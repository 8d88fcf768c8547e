// Package xmlw writes XML by appending to a byte slice. partnerd builds every
// response body with it: the element order and namespace placement of the
// Partner API responses are fixed, so a direct writer gives byte-exact control
// without the reflection and copies of encoding/xml.
package xmlw

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Writer appends XML to Buf. The zero value is ready to use.
type Writer struct {
	Buf []byte
}

// Start writes a start tag. attrs are name/value pairs; values are escaped.
func (w *Writer) Start(name string, attrs ...string) {
	w.open(name, attrs)
	w.Buf = append(w.Buf, '>')
}

// End writes an end tag.
func (w *Writer) End(name string) {
	w.Buf = append(w.Buf, "</"...)
	w.Buf = append(w.Buf, name...)
	w.Buf = append(w.Buf, '>')
}

// Empty writes a self-closed element.
func (w *Writer) Empty(name string, attrs ...string) {
	w.open(name, attrs)
	w.Buf = append(w.Buf, " />"...)
}

// Nil writes <name xsi:nil="true" />; the xsi prefix must be in scope.
func (w *Writer) Nil(name string) { w.Empty(name, "xsi:nil", "true") }

// Elem writes <name>text</name> with text escaped.
func (w *Writer) Elem(name, text string) {
	w.Start(name)
	w.Text(text)
	w.End(name)
}

// Int writes <name>n</name>.
func (w *Writer) Int(name string, n int64) {
	w.Start(name)
	w.Buf = strconv.AppendInt(w.Buf, n, 10)
	w.End(name)
}

// Bool writes <name>true|false</name>.
func (w *Writer) Bool(name string, b bool) {
	w.Start(name)
	w.Buf = strconv.AppendBool(w.Buf, b)
	w.End(name)
}

// Time writes an xsd:dateTime in UTC with the precision the time carries
// (whole seconds are written without a fraction, as the real service does).
func (w *Writer) Time(name string, t time.Time) {
	w.Start(name)
	w.Buf = AppendTime(w.Buf, t)
	w.End(name)
}

// AppendTime appends t as an xsd:dateTime in UTC: whole seconds without a
// fraction, otherwise milliseconds without trailing zeros (what
// t.AppendFormat(b, "2006-01-02T15:04:05.999Z") writes, in a tenth of its
// time: a 100-Definition answer writes hundreds of these).
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		// Outside what four digits hold: the general formatter's business.
		if t.Nanosecond() == 0 {
			return t.AppendFormat(b, "2006-01-02T15:04:05Z")
		}
		return t.AppendFormat(b, "2006-01-02T15:04:05.999Z")
	}
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	if ms := t.Nanosecond() / 1e6; ms != 0 {
		digits := 3
		for ms%10 == 0 {
			ms /= 10
			digits--
		}
		b = append(b, '.')
		b = appendDigits(b, ms, digits)
	}
	return append(b, 'Z')
}

// appendDigits appends n (non-negative) zero-padded to width digits.
func appendDigits(b []byte, n, width int) []byte {
	var buf [4]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, buf[:width]...)
}

// Raw appends already-serialized XML.
func (w *Writer) Raw(s []byte) { w.Buf = append(w.Buf, s...) }

// Text writes escaped character data.
func (w *Writer) Text(s string) { w.Buf = AppendEscaped(w.Buf, s, false) }

func (w *Writer) open(name string, attrs []string) {
	w.Buf = append(w.Buf, '<')
	w.Buf = append(w.Buf, name...)
	for i := 0; i+1 < len(attrs); i += 2 {
		w.Buf = append(w.Buf, ' ')
		w.Buf = append(w.Buf, attrs[i]...)
		w.Buf = append(w.Buf, `="`...)
		w.Buf = AppendEscaped(w.Buf, attrs[i+1], true)
		w.Buf = append(w.Buf, '"')
	}
}

// AppendEscaped appends s escaped for XML text (or an attribute value when
// attr is set). Characters XML 1.0 cannot carry (control characters, invalid
// UTF-8) are replaced by U+FFFD so that the output is always well-formed.
func AppendEscaped(b []byte, s string, attr bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '<':
				b = append(b, "&lt;"...)
			case c == '>':
				b = append(b, "&gt;"...)
			case c == '&':
				b = append(b, "&amp;"...)
			case c == '"' && attr:
				b = append(b, "&quot;"...)
			case c == '\n' && attr:
				b = append(b, "&#xA;"...)
			case c == '\r':
				b = append(b, "&#xD;"...)
			case c == '\t' && attr:
				b = append(b, "&#x9;"...)
			case c < 0x20 && c != '\n' && c != '\t':
				b = append(b, "\uFFFD"...)
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == 0xFFFE || r == 0xFFFF {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}
