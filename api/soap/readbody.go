package soap

import (
	"bytes"
	"io"
	"unicode/utf8"
)

// sniffLen is how much of a body is read before deciding whether it can be
// an XML document at all.
const sniffLen = 512

// readBody reads a request body of at most limit bytes (r is expected to
// enforce the limit, as http.MaxBytesReader does).
//
// It holds the body once: the buffer is sized from the declared length when
// there is one within the limit, instead of io.ReadAll's doubling, which
// for a 4 MiB body allocates ~8 MiB more along the way and keeps copies of
// ~4 MiB alive until the collector runs.
//
// Unless sniff is false (the body is content-encoded), a body whose first
// bytes cannot begin an XML document is refused after sniffLen bytes at
// most, with a parse error: random bytes or a misdirected upload cost one
// small buffer rather than the whole body. The bytes read so far are
// returned with the error, for the request log.
func readBody(r io.Reader, declared, limit int64, sniff bool) ([]byte, error) {
	size := int64(sniffLen)
	if declared >= 0 && declared <= limit {
		size = declared + 1 // + 1: the read that sees EOF needs no growth
	} else if limit < size {
		size = limit + 1
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			// Unknown length (chunked): grow by doubling, never past the
			// limit (+1, so that the reader can report going over it).
			nb := make([]byte, len(buf), min(2*int64(cap(buf)), max(limit+1, int64(cap(buf))+1)))
			copy(nb, buf)
			buf = nb
		}
		end := cap(buf)
		if sniff {
			// Undecided: read no further than the sniffed prefix.
			end = min(end, max(sniffLen, len(buf)+1))
		}
		n, err := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if sniff && (len(buf) >= sniffLen || err != nil && len(buf) > 0) {
			// A prefix of white space only leaves the verdict to the parser.
			decided, serr := sniffXML(buf[:min(len(buf), sniffLen)], err != nil || len(buf) >= sniffLen)
			if serr != nil {
				return buf, serr
			}
			sniff = !decided
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// sniffXML decides from a body's first bytes whether it can be an XML
// document: after an optional byte order mark and white space, the first
// character must be '<'. It answers decided=false when the prefix is all
// white space and more may follow (final is false). Bodies that look like UTF-16 or
// UTF-32 (a byte order mark, or a NUL in the first two bytes) are left to
// the parser, which knows what to say about them.
func sniffXML(p []byte, final bool) (decided bool, err error) {
	switch {
	case bytes.HasPrefix(p, []byte{0xEF, 0xBB, 0xBF}):
		p = p[3:]
	case bytes.HasPrefix(p, []byte{0xFE, 0xFF}), bytes.HasPrefix(p, []byte{0xFF, 0xFE}),
		bytes.HasPrefix(p, []byte{0, 0, 0xFE, 0xFF}):
		return true, nil
	case len(p) >= 2 && (p[0] == 0 || p[1] == 0):
		return true, nil
	}
	rest := bytes.TrimLeft(p, " \t\r\n")
	if len(rest) == 0 {
		return final, nil
	}
	if rest[0] == '<' {
		return true, nil
	}
	// The same answer the full parse would give, only sooner.
	if !utf8.Valid(trimPartialRune(p)) {
		return true, parseErr("the request is not valid UTF-8")
	}
	return true, parseErr("the request is not an XML document: it does not begin with '<'")
}

// trimPartialRune drops a rune cut off at the end of a prefix.
func trimPartialRune(p []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(p); i++ {
		if utf8.RuneStart(p[len(p)-i]) {
			if !utf8.FullRune(p[len(p)-i:]) {
				return p[:len(p)-i]
			}
			break
		}
	}
	return p
}
