package sqlcodec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The dictionary of a codec is part of the stored format: changing it would
// make every row written with it decode to garbage. A new dictionary is a new
// codec byte, with this one kept for reading.
func TestRequestLogDictionaryIsFrozen(t *testing.T) {
	const want = "c90e082da468d4b125d17f60512b7f4de41597363110b15c0aa11b68c95d2bb9"
	sum := sha256.Sum256(requestLogDict)
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("requestlog.dict (codec %d) changed: sha256 %s, want %s; add a codec instead", codecS2Dict1, got, want)
	}
}

func goldenEnvelope(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPackBodyRoundTrip(t *testing.T) {
	seed := goldenEnvelope(t, "001_seed_cancel.txt")
	batch := strings.Repeat(`<Result><StatusCode>OK</StatusCode><StatusMessage>Send canceled</StatusMessage></Result>`, 2000)
	for _, tc := range []struct {
		name    string
		body    string
		maxSize int // the packed size must not exceed this (0: no bound)
	}{
		{"empty", "", 2},
		{"short", "x", 4},
		{"seed envelope", seed, len(seed) / 2},
		{"160 KB of repeats", batch, len(batch) / 20},
		{"invalid UTF-8 and NULs", "\xff\xfe\x00<a>\x00</a>\xc3", 0},
		{"dictionary itself", string(requestLogDict), len(requestLogDict) / 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			packed := PackBody([]byte("prefix"), tc.body)
			if !strings.HasPrefix(string(packed), "prefix") {
				t.Fatalf("PackBody did not append to dst")
			}
			packed = packed[len("prefix"):]
			if packed[0] != codecS2Dict1 {
				t.Errorf("codec byte %d, want %d", packed[0], codecS2Dict1)
			}
			if tc.maxSize > 0 && len(packed) > tc.maxSize {
				t.Errorf("packed %d bytes into %d, want at most %d", len(tc.body), len(packed), tc.maxSize)
			}
			got, err := UnpackBody(packed)
			if err != nil {
				t.Fatalf("UnpackBody: %v", err)
			}
			if got != tc.body {
				t.Fatalf("round trip changed the body:\n got %q\nwant %q", got, tc.body)
			}
		})
	}
}

func TestUnpackBodyRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stored []byte
	}{
		{"empty", nil},
		{"unknown codec", []byte{99, 1, 2, 3}},
		{"codec 0", []byte{0}},
		{"truncated block", PackBody(nil, strings.Repeat("envelope ", 100))[:20]},
		{"length beyond data", []byte{codecS2Dict1, 0xff, 0xff, 0x03, 0}},
		{"claims 4 GB", []byte{codecS2Dict1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := UnpackBody(tc.stored); err == nil {
				t.Fatalf("UnpackBody(%x) = %q, want an error", tc.stored, got)
			}
		})
	}
	if _, err := UnpackBody([]byte{7}); !errors.Is(err, errBadBody) {
		t.Errorf("unknown codec: %v, want errBadBody", err)
	}
}

func FuzzPackBody(f *testing.F) {
	f.Add(goldenEnvelope(f, "001_seed_cancel.txt"))
	f.Add(goldenEnvelope(f, "020_security.golden"))
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		got, err := UnpackBody(PackBody(nil, body))
		if err != nil || got != body {
			t.Fatalf("round trip of %q: %q, %v", body, got, err)
		}
		// Whatever is stored, reading it never panics.
		UnpackBody([]byte(body))
	})
}

func BenchmarkPackBody(b *testing.B) {
	body := goldenEnvelope(b, "001_seed_cancel.txt") + goldenEnvelope(b, "001_seed_cancel.golden")
	var dst []byte
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		dst = PackBody(dst[:0], body)
	}
	b.ReportMetric(float64(len(dst)), "packed-bytes")
}
