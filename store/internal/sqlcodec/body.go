package sqlcodec

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/s2"

	"github.com/partnerd/partnerd/store"
)

// The request log's envelopes are stored compressed by both stores, as Mailpit stores its
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
		panic("sqlcodec: request log dictionary is not a valid s2 dictionary")
	}
	return d
})

// PackBody appends the stored form of body to dst.
func PackBody(dst []byte, body string) []byte {
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

var errBadBody = errors.New("request log body: unknown codec")

// UnpackBody is the inverse of PackBody.
func UnpackBody(stored []byte) (string, error) {
	if len(stored) == 0 {
		return "", fmt.Errorf("%w: empty", errBadBody)
	}
	switch stored[0] {
	case codecS2Dict1:
		// A damaged row must not make the reader allocate whatever length
		// its block claims: no envelope we write comes near this.
		if n, err := s2.DecodedLen(stored[1:]); err != nil || n > maxBodyLen {
			return "", fmt.Errorf("request log body: bad block length %d (%v)", n, err)
		}
		b, err := s2Dict1().Decode(nil, stored[1:])
		if err != nil {
			return "", fmt.Errorf("request log body: %w", err)
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
		panic("sqlcodec: request log body too large to encode")
	}
	return m
}

// PackedLog is one exchange's bodies as the request log keeps them, and
// what its row takes for the log's byte limit: store.RequestLogSize of
// the rest of the exchange plus the packed bodies.
type PackedLog struct {
	Request, Response []byte
	Stored            int64
}

// packScratch holds the buffers bodies are encoded into before they are
// copied, packed, into a batch's buffer: a block's bound is ~1.2 times its
// body, so without the pool every exchange logged allocated that again.
var packScratch = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledScratch keeps the buffers of the rare huge exchange out of the
// pool.
const maxPooledScratch = 256 << 10

// PackLogs packs the bodies of es, in order. One buffer holds every packed
// body of the batch; each is encoded into a scratch buffer first, since a
// block's bound is several times its packed size.
func PackLogs(es []store.RequestLog) []PackedLog {
	ends := make([]int, 0, 2*len(es))
	var buf []byte
	sp := packScratch.Get().(*[]byte)
	scratch := *sp
	defer func() {
		if cap(scratch) <= maxPooledScratch {
			*sp = scratch[:0]
			packScratch.Put(sp)
		}
	}()
	for _, e := range es {
		scratch = PackBody(scratch[:0], e.Request)
		buf = append(buf, scratch...)
		ends = append(ends, len(buf))
		scratch = PackBody(scratch[:0], e.Response)
		buf = append(buf, scratch...)
		ends = append(ends, len(buf))
	}
	packed := func(i int) []byte {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		return buf[start:ends[i]:ends[i]]
	}
	ps := make([]PackedLog, len(es))
	for i, e := range es {
		req, resp := packed(2*i), packed(2*i+1)
		sized := e
		sized.Request, sized.Response = "", ""
		ps[i] = PackedLog{Request: req, Response: resp, Stored: store.RequestLogSize(sized) + int64(len(req)+len(resp))}
	}
	return ps
}

// UnpackRowBodies puts into row, an exported request log row, the bodies
// its stored row keeps packed. A nil packed body is one the row keeps as
// it was logged, before bodies were packed.
func UnpackRowBodies(t store.ExportTable, row store.Row, reqPacked, respPacked []byte) error {
	for _, b := range []struct {
		col    string
		packed []byte
	}{{"request", reqPacked}, {"response", respPacked}} {
		if b.packed == nil {
			continue
		}
		body, err := UnpackBody(b.packed)
		if err != nil {
			return fmt.Errorf("request log row %v: %w", row[0], err)
		}
		row[t.ColumnIndex(b.col)] = body
	}
	return nil
}

// UnpackLogBodies puts into e the bodies its stored row keeps packed, as
// UnpackRowBodies does for an exported row.
func UnpackLogBodies(e *store.RequestLog, reqPacked, respPacked []byte) error {
	var err error
	if reqPacked != nil {
		if e.Request, err = UnpackBody(reqPacked); err != nil {
			return fmt.Errorf("request %s: %w", e.RequestID, err)
		}
	}
	if respPacked != nil {
		if e.Response, err = UnpackBody(respPacked); err != nil {
			return fmt.Errorf("request %s: %w", e.RequestID, err)
		}
	}
	return nil
}
