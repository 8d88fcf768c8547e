package soap

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Request body decoding: what a client may put on the wire (a gzip or
// deflate Content-Encoding, UTF-16 as ASMX accepts it, ISO-8859-1) becomes
// the UTF-8 XML that the parser, the authenticator and the request log
// read. Before this, such bodies got a misleading "not valid UTF-8" fault,
// and their bytes went to the request log where the masker, which reads
// UTF-8 text, could not find the password in them.

// acceptedEncodings is what a 415 for an unknown Content-Encoding says
// partnerd accepts (and sends as Accept-Encoding, RFC 7694 §3).
const acceptedEncodings = "gzip, deflate"

func (h *Handler) maxBody() int64 {
	if h.MaxBodyBytes > 0 {
		return h.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

// tooLarge is the 413 Client fault for a body over limit bytes.
func tooLarge(limit int64, what string) *Fault {
	return &Fault{Kind: Client, String: fmt.Sprintf("The request is larger than the limit of %d bytes%s.", limit, what), HTTPStatus: http.StatusRequestEntityTooLarge}
}

// refuseUnread answers, from the headers alone, a request that will be
// refused whatever its body holds, so that the body is never read: a
// declared Content-Length over the limit, and a Content-Encoding partnerd
// cannot decode. Go's server sends "100 Continue" only when the handler
// first reads the body, so a client that asked for it is spared sending the
// body at all; the connection is closed, since the unread body would
// otherwise have to be drained before the next request.
func refuseUnread(r *http.Request, limit int64) *Fault {
	if r.ContentLength > limit {
		f := tooLarge(limit, "")
		f.Reason = fmt.Sprintf("declared Content-Length %d over the limit of %d bytes", r.ContentLength, limit)
		f.Header = http.Header{"Connection": {"close"}}
		return f
	}
	if _, f := contentCoding(r.Header.Values("Content-Encoding")); f != nil {
		f.Header.Set("Connection", "close")
		return f
	}
	return nil
}

// contentCoding returns the one content coding of a request ("" for none
// or identity), or a 415 fault. One coding at most: a chain of them would
// multiply the work of decoding a body that is never bigger for it.
func contentCoding(values []string) (string, *Fault) {
	coding := ""
	for _, v := range values {
		for _, c := range strings.Split(v, ",") {
			switch c = strings.ToLower(strings.TrimSpace(c)); c {
			case "", "identity":
				continue
			case "gzip", "x-gzip", "deflate":
				if coding != "" {
					return "", unsupportedEncoding("more than one Content-Encoding")
				}
				coding = c
			default:
				return "", unsupportedEncoding(fmt.Sprintf("Content-Encoding %s", QuoteInput(c)))
			}
		}
	}
	return coding, nil
}

func unsupportedEncoding(what string) *Fault {
	return &Fault{Kind: Client, HTTPStatus: http.StatusUnsupportedMediaType,
		String: fmt.Sprintf("Unsupported %s: partnerd accepts a request body with no Content-Encoding, or gzip or deflate.", what),
		Header: http.Header{"Accept-Encoding": {acceptedEncodings}}}
}

// decodeBody turns a request body as received into UTF-8 XML: it undoes
// the Content-Encoding, then converts UTF-16 (found by its byte order mark
// or by the first character, XML 1.0 Appendix F) and ISO-8859-1 (named by
// the XML declaration) to UTF-8, rewriting the declaration to say so. The
// result is never longer than limit: a gzip bomb is stopped after limit+1
// decompressed bytes. A body that is already UTF-8 and not compressed is
// returned as it is, without a copy.
func decodeBody(raw []byte, contentEncoding []string, limit int64) ([]byte, *Fault) {
	coding, f := contentCoding(contentEncoding)
	if f != nil {
		return nil, f
	}
	if coding != "" {
		if raw, f = decompress(raw, coding, limit); f != nil {
			return nil, f
		}
	}
	return decodeCharset(raw, limit)
}

func decompress(raw []byte, coding string, limit int64) ([]byte, *Fault) {
	var zr io.Reader
	var err error
	switch coding {
	case "gzip", "x-gzip":
		zr, err = gzip.NewReader(bytes.NewReader(raw))
	case "deflate":
		// HTTP's deflate is the zlib format (RFC 9110 §8.4.1.2); some
		// clients send raw deflate data, which has no zlib header.
		if zr, err = zlib.NewReader(bytes.NewReader(raw)); err != nil {
			zr, err = flate.NewReader(bytes.NewReader(raw)), nil
		}
	}
	if err != nil {
		return nil, undecodable(coding)
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	switch {
	case int64(len(out)) > limit:
		f := tooLarge(limit, " once decompressed")
		f.Reason = fmt.Sprintf("%s body of %d bytes decompresses to more than %d", coding, len(raw), limit)
		return nil, f
	case err != nil:
		return nil, undecodable(coding)
	}
	return out, nil
}

func undecodable(coding string) *Fault {
	return &Fault{Kind: Client, HTTPStatus: http.StatusBadRequest,
		String: fmt.Sprintf("The request body could not be decompressed as %s.", coding)}
}

// xmlDecl matches the start of an XML declaration and its encoding
// pseudo-attribute; group 2 is the encoding's name.
var xmlDecl = regexp.MustCompile(`^[ \t\r\n]*<\?xml[ \t\r\n][^>]*?encoding[ \t\r\n]*=[ \t\r\n]*(["'])([^"'>]*)(["'])`)

// decodeCharset converts raw to UTF-8 (see decodeBody).
func decodeCharset(raw []byte, limit int64) ([]byte, *Fault) {
	wide := false
	switch {
	case bytes.HasPrefix(raw, utf8BOM):
		raw = raw[len(utf8BOM):]
	case bytes.HasPrefix(raw, []byte{0xff, 0xfe}):
		raw, wide = utf16ToUTF8(raw[2:], false), true
	case bytes.HasPrefix(raw, []byte{0xfe, 0xff}):
		raw, wide = utf16ToUTF8(raw[2:], true), true
	case bytes.HasPrefix(raw, []byte{'<', 0}):
		raw, wide = utf16ToUTF8(raw, false), true
	case bytes.HasPrefix(raw, []byte{0, '<'}):
		raw, wide = utf16ToUTF8(raw, true), true
	}
	if raw == nil {
		return nil, ClientFault("Server was unable to read request. ---> The request is not valid UTF-16.")
	}
	if int64(len(raw)) > limit {
		f := tooLarge(limit, " once converted to UTF-8")
		f.Reason = "UTF-16 body over the limit as UTF-8"
		return nil, f
	}
	m := xmlDecl.FindSubmatchIndex(raw[:min(len(raw), 512)])
	if m == nil {
		return raw, nil
	}
	name := strings.ToLower(strings.TrimSpace(string(raw[m[4]:m[5]])))
	switch name {
	case "utf-8", "utf8":
		return raw, nil
	case "utf-16", "utf-16le", "utf-16be", "unicode":
		// Bytes that are not UTF-16 (no BOM, not starting "<\0") are read
		// as they are, as before: encoding/xml never looked.
	case "us-ascii", "ascii":
		// ASCII is UTF-8; a byte over 0x7f is refused as invalid UTF-8
		// or read as what UTF-8 makes of it.
	case "iso-8859-1", "iso_8859-1", "latin1", "l1", "iso-ir-100", "cp819":
		if !wide {
			raw = latin1ToUTF8(raw)
			if int64(len(raw)) > limit {
				return nil, tooLarge(limit, " once converted to UTF-8")
			}
		}
	default:
		return nil, &Fault{Kind: Client, HTTPStatus: http.StatusUnsupportedMediaType,
			String: fmt.Sprintf("Unsupported encoding %s in the XML declaration: partnerd reads UTF-8, UTF-16 and ISO-8859-1.", QuoteInput(name))}
	}
	// Say what the bytes now are, so that the fast parser takes them and
	// whoever reads the request log later is not misled.
	out := make([]byte, 0, len(raw)-(m[5]-m[4])+5)
	out = append(out, raw[:m[4]]...)
	out = append(out, "utf-8"...)
	return append(out, raw[m[5]:]...), nil
}

// utf16ToUTF8 decodes UTF-16 (big- or little-endian) to UTF-8; nil when b
// is not UTF-16 (an odd length, an unpaired surrogate).
func utf16ToUTF8(b []byte, bigEndian bool) []byte {
	if len(b)%2 != 0 {
		return nil
	}
	out := make([]byte, 0, len(b)/2+len(b)/8)
	for i := 0; i < len(b); i += 2 {
		u := uint16(b[i]) | uint16(b[i+1])<<8
		if bigEndian {
			u = uint16(b[i])<<8 | uint16(b[i+1])
		}
		r := rune(u)
		switch {
		case utf16.IsSurrogate(r):
			if u >= 0xdc00 || i+3 >= len(b) {
				return nil
			}
			lo := uint16(b[i+2]) | uint16(b[i+3])<<8
			if bigEndian {
				lo = uint16(b[i+2])<<8 | uint16(b[i+3])
			}
			if r = utf16.DecodeRune(r, rune(lo)); r == utf8.RuneError {
				return nil
			}
			i += 2
		}
		out = utf8.AppendRune(out, r)
	}
	if out == nil {
		out = []byte{}
	}
	return out
}

// latin1ToUTF8 decodes ISO-8859-1, where every byte is its code point.
func latin1ToUTF8(b []byte) []byte {
	n := 0
	for _, c := range b {
		if c >= utf8.RuneSelf {
			n++
		}
	}
	if n == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+n)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}
