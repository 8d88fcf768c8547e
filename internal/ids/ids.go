// Package ids is where partnerd's identifiers and generated secrets come
// from: RequestIDs, ObjectIDs, batch IDs, message IDs, API-key and token
// values. One Source is made at start-up and handed to everything that
// makes one, so that a single switch decides whether they are
// unpredictable (Random, the default: crypto/rand) or the same on every run
// (Seeded, for `serve --deterministic`: a test suite that records what the
// server answers can then compare answers byte for byte).
//
// A seeded source is a stream: the IDs it gives depend on the seed and on
// the order in which they are asked for. Requests answered one after the
// other therefore get the same IDs on every run; work that runs beside
// requests (the dispatcher) takes a Fork of its own so that its draws never
// shift the requests' ones.
package ids

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Source gives identifiers and the random bytes of secrets. It is safe for
// concurrent use.
type Source interface {
	// Read fills p completely and never fails (crypto/rand crashes
	// rather than fail; a seeded stream cannot). It makes a Source an
	// io.Reader for code that takes one (auth.Keys.Rand).
	Read(p []byte) (int, error)
	// UUID is a lower-case version 4 GUID (ObjectIDs, list and Single
	// Send IDs, WS-Addressing MessageIDs).
	UUID() string
	// TimeUUID is a lower-case version 7 GUID (RequestIDs): it starts
	// with a time so that an index on it grows at its end. Random uses
	// the wall clock, whatever now says (IDs stay ordered when the
	// server's clock is manual); Seeded uses now, the server's clock.
	TimeUUID(now time.Time) string
	// Deterministic reports whether the source repeats from run to run.
	Deterministic() bool
	// Seed is the seed of a deterministic source (0 for Random).
	Seed() uint64
	// Fork is a source for work that runs beside the requests (purpose
	// names it: "dispatch"). Random returns itself; Seeded a stream of
	// its own, derived from the seed and purpose.
	Fork(purpose string) Source
}

// OrRandom is s, or Random when s is nil: what a component given no source
// uses.
func OrRandom(s Source) Source {
	if s == nil {
		return Random()
	}
	return s
}

// Random is the default source: crypto/rand, and the uuid package's
// generators (which draw on it).
func Random() Source { return randomSource{} }

type randomSource struct{}

func (randomSource) Read(p []byte) (int, error) { return rand.Read(p) }
func (randomSource) UUID() string               { return uuid.NewString() }
func (randomSource) Deterministic() bool        { return false }
func (randomSource) Seed() uint64               { return 0 }
func (r randomSource) Fork(string) Source       { return r }

func (randomSource) TimeUUID(time.Time) string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// Seeded is a deterministic source: a ChaCha8 stream keyed by seed. Not
// for secrets anyone relies on — whoever knows the seed knows every key it
// makes, which is the point of it.
func Seeded(seed uint64) Source {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	return &seeded{seed: seed, rng: mrand.NewChaCha8(key)}
}

type seeded struct {
	seed uint64
	mu   sync.Mutex
	rng  *mrand.ChaCha8
}

func (s *seeded) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Read(p)
}

func (s *seeded) Deterministic() bool { return true }
func (s *seeded) Seed() uint64        { return s.seed }

func (s *seeded) UUID() string {
	var u uuid.UUID
	s.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u.String()
}

func (s *seeded) TimeUUID(now time.Time) string {
	var u uuid.UUID
	s.Read(u[6:])
	ms := uint64(now.UnixMilli())
	u[0], u[1], u[2] = byte(ms>>40), byte(ms>>32), byte(ms>>24)
	u[3], u[4], u[5] = byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

// Fork derives the stream's seed from the parent's seed and purpose, so
// that the fork's draws are the same every run whatever the parent's are.
func (s *seeded) Fork(purpose string) Source {
	h := sha256.Sum256([]byte(strconv.FormatUint(s.seed, 10) + "/" + purpose))
	return Seeded(binary.LittleEndian.Uint64(h[:8]))
}

// Token is n bytes of s in unpadded base64url: the value of a bearer
// token or client secret a face hands out (OAuth access tokens), so that a
// deterministic server's tokens repeat like its other secrets.
func Token(s Source, n int) string {
	b := make([]byte, n)
	s.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hex is n bytes of s in lower-case hex (tokens, MIME boundaries).
func Hex(s Source, n int) string {
	b := make([]byte, n)
	s.Read(b)
	return hex.EncodeToString(b)
}

var _ io.Reader = Source(nil)
