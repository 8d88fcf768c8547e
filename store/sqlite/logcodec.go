package sqlite

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/s2"
)

// The request log's envelopes are stored compressed, as Mailpit stores its
// messages: an exchange is ~2.6 KB of XML that is nearly all namespace URIs
// and element names, and storing it as text made the log most of what every
// commit wrote (1.2 of ~2 WAL pages per cancel). Each body is one s2 block
// encoded against a built-in dictionary of typical envelopes, so even a
// single small envelope finds its boilerplate in the dictionary: a cancel's
// request and response shrink from 2,609 bytes to ~190, in under a
// microsecond. (zstd with the same dictionary is ~30 % smaller and six
// times slower; this log is written on every request.)
//
// A stored body is one codec byte followed by the block. The codec names
// the dictionary too, so the dictionary of a codec never changes (a test
// pins its hash): a better dictionary is a new codec, and rows written with
// the old one stay readable.
const (
	codecS2Dict1 byte = 1
)

// requestLogDict is the dictionary of codecS2Dict1: envelopes from
// testdata/golden (a security fault, a Retrieve answer, a SOAP 1.2 +
// WS-Addressing exchange, the seed's request) and a bench cancel with its
// answer, the most common exchange, last, where its matches are nearest.
//
//go:embed requestlog.dict
var requestLogDict []byte

var s2Dict1 = sync.OnceValue(func() *s2.Dict {
	d := s2.MakeDict(requestLogDict, []byte(`<?xml version="1.0" encoding="utf-8"?><soap:Envelope`))
	if d == nil {
		panic("sqlite: request log dictionary is not a valid s2 dictionary")
	}
	return d
})

// packBody appends the stored form of body to dst.
func packBody(dst []byte, body string) []byte {
	dst = append(dst, codecS2Dict1)
	// The encoder only reads src: viewing the string's bytes spares a copy
	// of every envelope.
	src := unsafe.Slice(unsafe.StringData(body), len(body))
	n := s2MaxLen(len(src))
	dst = slices.Grow(dst, n)
	start := len(dst)
	block := s2Dict1().Encode(dst[start:start+n], src) // in place: it fits
	return dst[:start+len(block)]
}

// maxBodyLen bounds a stored body's decoded length.
const maxBodyLen = 256 << 20

var errBadBody = errors.New("sqlite: request log body: unknown codec")

// unpackBody is the inverse of packBody.
func unpackBody(stored []byte) (string, error) {
	if len(stored) == 0 {
		return "", fmt.Errorf("%w: empty", errBadBody)
	}
	switch stored[0] {
	case codecS2Dict1:
		// A damaged row must not make the reader allocate whatever length
		// its block claims: no envelope we write comes near this.
		if n, err := s2.DecodedLen(stored[1:]); err != nil || n > maxBodyLen {
			return "", fmt.Errorf("sqlite: request log body: bad block length %d (%v)", n, err)
		}
		b, err := s2Dict1().Decode(nil, stored[1:])
		if err != nil {
			return "", fmt.Errorf("sqlite: request log body: %w", err)
		}
		return string(b), nil
	default:
		return "", fmt.Errorf("%w %d", errBadBody, stored[0])
	}
}

// s2MaxLen bounds the block of an n-byte body. Bodies are bounded by the
// server's request size limit, far below what s2 cannot encode.
func s2MaxLen(n int) int {
	m := s2.MaxEncodedLen(n)
	if m < 0 {
		panic("sqlite: request log body too large to encode")
	}
	return m
}
