package credential

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestMain(m *testing.M) {
	// The real count makes each hash take tens of milliseconds.
	DefaultIterations = 1000
	os.Exit(m.Run())
}

func TestHashRoundTrip(t *testing.T) {
	for _, pw := range []string{"", "XXX", "correct horse battery staple", "pässwörd ✓", strings.Repeat("x", 1000)} {
		enc, err := Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(enc, "pbkdf2-sha256$1000$") {
			t.Errorf("Hash(%q) = %q, want pbkdf2-sha256$1000$ prefix", pw, enc)
		}
		if !CheckHash(enc, pw) {
			t.Errorf("CheckHash(Hash(%q)) = false", pw)
		}
		if CheckHash(enc, pw+"x") {
			t.Errorf("CheckHash accepted a wrong password for %q", pw)
		}
	}
	a, _ := Hash("same")
	b, _ := Hash("same")
	if a == b {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

// TestCheckHashVector checks against a key computed here from the parts, so
// that the encoding (unpadded std base64, field order) is pinned.
func TestCheckHashVector(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key, err := pbkdf2.Key(sha256.New, "secret", salt, 7, 32)
	if err != nil {
		t.Fatal(err)
	}
	enc := "pbkdf2-sha256$7$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
	if !CheckHash(enc, "secret") {
		t.Fatalf("CheckHash(%q, secret) = false", enc)
	}
}

func TestCheckHashRejectsMalformed(t *testing.T) {
	good, err := Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	salt, key := parts[2], parts[3]
	tests := []struct{ name, enc string }{
		{"empty", ""},
		{"plain text", "pw"},
		{"wrong scheme", "pbkdf2-sha1$1000$" + salt + "$" + key},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuu5Yh0oZ8bGm4Zb3ZBmJ3j7CKuYzBdFEm"},
		{"too few fields", "pbkdf2-sha256$1000$" + salt},
		{"too many fields", good + "$x"},
		{"zero iterations", "pbkdf2-sha256$0$" + salt + "$" + key},
		{"negative iterations", "pbkdf2-sha256$-1$" + salt + "$" + key},
		{"plus sign", "pbkdf2-sha256$+1000$" + salt + "$" + key},
		{"leading zero", "pbkdf2-sha256$01000$" + salt + "$" + key},
		{"absurd iterations", "pbkdf2-sha256$2000000000$" + salt + "$" + key},
		{"huge iterations", "pbkdf2-sha256$99999999999999999999$" + salt + "$" + key},
		{"above max", fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", maxIterations+1, salt, key)},
		{"bad salt base64", "pbkdf2-sha256$1000$!!!!$" + key},
		{"padded salt", "pbkdf2-sha256$1000$" + salt + "==$" + key},
		{"short salt", "pbkdf2-sha256$1000$" + base64.RawStdEncoding.EncodeToString([]byte("1234567")) + "$" + key},
		{"short key", "pbkdf2-sha256$1000$" + salt + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, 8))},
		{"empty key", "pbkdf2-sha256$1000$" + salt + "$"},
		{"truncated key", good[:len(good)-4]},
		{"huge", good + strings.Repeat("A", 1<<16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if CheckHash(tt.enc, "pw") {
				t.Errorf("CheckHash(%q) = true", tt.enc)
			}
		})
	}
}

func TestSealer(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"", "XXX", "pässwörd ✓"} {
		a, b := s.Seal(pw), s.Seal(pw)
		if bytes.Equal(a, b) {
			t.Errorf("Seal(%q) twice gave equal bytes: nonce reused", pw)
		}
		if pw != "" && bytes.Contains(a, []byte(pw)) {
			t.Errorf("Seal(%q) contains the clear password", pw)
		}
		got, err := s.Open(a)
		if err != nil || got != pw {
			t.Errorf("Open(Seal(%q)) = %q, %v", pw, got, err)
		}
	}

	other, _ := NewSealer(bytes.Repeat([]byte{8}, KeySize))
	sealed := s.Seal("secret")
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	badVersion := bytes.Clone(sealed)
	badVersion[0] = 2
	for name, in := range map[string][]byte{
		"nil":         nil,
		"short":       sealed[:10],
		"tampered":    tampered,
		"bad version": badVersion,
	} {
		if _, err := s.Open(in); !errors.Is(err, ErrSealed) {
			t.Errorf("Open(%s) error = %v, want ErrSealed", name, err)
		}
	}
	if _, err := other.Open(sealed); !errors.Is(err, ErrSealed) {
		t.Errorf("Open with another key: error = %v, want ErrSealed", err)
	}

	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer(%d bytes) succeeded", n)
		}
	}
}

func TestSealerFromBase64(t *testing.T) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(i * 9) // includes bytes that differ between std and URL alphabets
	}
	ref, _ := NewSealer(key)
	sealed := ref.Seal("pw")
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		s, err := SealerFromBase64(" " + enc.EncodeToString(key) + "\n")
		if err != nil {
			t.Fatalf("SealerFromBase64: %v", err)
		}
		if got, err := s.Open(sealed); err != nil || got != "pw" {
			t.Errorf("sealer from %v opened %q, %v", enc, got, err)
		}
	}
	for _, bad := range []string{"", "   ", "not base64!", base64.StdEncoding.EncodeToString(key[:16]), base64.StdEncoding.EncodeToString(append(key, 1))} {
		if _, err := SealerFromBase64(bad); err == nil {
			t.Errorf("SealerFromBase64(%q) succeeded", bad)
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.key")

	s1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != KeySize {
		t.Errorf("key file is %d bytes", fi.Size())
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".partnerd-key-*")); len(m) != 0 {
		t.Errorf("temporary files left behind: %v", m)
	}
	s2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Open(s1.Seal("pw")); err != nil || got != "pw" {
		t.Errorf("reloaded key does not open: %q, %v", got, err)
	}

	t.Run("concurrent creation agrees on one key", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "k")
		var wg sync.WaitGroup
		sealers := make([]*Sealer, 8)
		errs := make([]error, 8)
		for i := range sealers {
			wg.Go(func() { sealers[i], errs[i] = LoadOrCreateKey(path) })
		}
		wg.Wait()
		sealed := sealers[0].Seal("pw")
		for i, s := range sealers {
			if errs[i] != nil {
				t.Fatalf("goroutine %d: %v", i, errs[i])
			}
			if got, err := s.Open(sealed); err != nil || got != "pw" {
				t.Errorf("goroutine %d has another key", i)
			}
		}
	})

	if runtime.GOOS == "windows" {
		return
	}
	write := func(t *testing.T, data []byte, mode os.FileMode) string {
		p := filepath.Join(t.TempDir(), "k")
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is subject to umask
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    func(t *testing.T) string
		wantErr string
	}{
		{"short", func(t *testing.T) string { return write(t, make([]byte, 16), 0o600) }, "16 bytes"},
		{"empty", func(t *testing.T) string { return write(t, nil, 0o600) }, "0 bytes"},
		{"long", func(t *testing.T) string { return write(t, make([]byte, 33), 0o600) }, "33 bytes"},
		{"base64 text instead of raw", func(t *testing.T) string {
			return write(t, []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))), 0o600)
		}, "44 bytes"},
		{"group readable", func(t *testing.T) string { return write(t, make([]byte, 32), 0o640) }, "chmod 600"},
		{"world readable", func(t *testing.T) string { return write(t, make([]byte, 32), 0o644) }, "0644"},
		{"directory", func(t *testing.T) string { return t.TempDir() }, "not a regular file"},
		{"missing directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "no", "k") }, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadOrCreateKey(tt.path(t))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCache(t *testing.T) {
	h1, _ := Hash("one")
	h2, _ := Hash("two")
	c := NewCache(2)

	tests := []struct {
		name    string
		id      int64
		hash    string
		pw      string
		want    bool
		wantLen int
	}{
		{"miss then verified", 1, h1, "one", true, 1},
		{"hit", 1, h1, "one", true, 1},
		{"wrong password not cached", 1, h1, "two", false, 1},
		{"other account same hash is another entry", 2, h1, "one", true, 2},
		{"rotation: new hash, old password", 1, h2, "one", false, 2},
		{"rotation: new hash, new password", 1, h2, "two", true, 2}, // evicts the LRU entry
	}
	for _, tt := range tests {
		if got := c.Check(tt.id, tt.hash, tt.pw); got != tt.want {
			t.Errorf("%s: Check = %v, want %v", tt.name, got, tt.want)
		}
		if got := c.Len(); got != tt.wantLen {
			t.Errorf("%s: Len = %d, want %d", tt.name, got, tt.wantLen)
		}
	}
	// The least recently used entry (account 1, h1) was evicted.
	if c.hit(c.key(1, h1, "one")) {
		t.Error("LRU entry survived eviction")
	}
	if !c.hit(c.key(2, h1, "one")) || !c.hit(c.key(1, h2, "two")) {
		t.Error("recent entries were evicted")
	}

	// A cached entry must not let a different stored hash through: that
	// is what makes rotation immediate across processes.
	c.add(c.key(3, "pbkdf2-sha256$1$garbage", "x"))
	if c.Check(3, h1, "x") {
		t.Error("entry for one hash matched another")
	}

	var nilCache *Cache
	if !nilCache.Check(1, h1, "one") || nilCache.Check(1, h1, "two") || nilCache.Len() != 0 {
		t.Error("nil cache does not fall through to CheckHash")
	}
}

// TestCacheKeepsNoPassword looks for the password, and its plain SHA-256,
// in the cache's memory.
func TestCacheKeepsNoPassword(t *testing.T) {
	const pw = "SuperSecretPassword123"
	h, _ := Hash(pw)
	c := NewCache(4)
	c.Check(1, h, pw)
	plain := sha256.Sum256([]byte(pw))
	for k := range c.entries {
		if bytes.Contains(k[:], []byte(pw)) || k == plain {
			t.Error("cache key exposes the password")
		}
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := NewCache(8)
	hashes := make([]string, 4)
	for i := range hashes {
		hashes[i], _ = Hash(fmt.Sprint("pw", i))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				n := (g + i) % len(hashes)
				if !c.Check(int64(n), hashes[n], fmt.Sprint("pw", n)) {
					t.Errorf("Check(%d) failed", n)
				}
				if c.Check(int64(n), hashes[n], "wrong") {
					t.Errorf("Check(%d, wrong) succeeded", n)
				}
			}
		})
	}
	wg.Wait()
	if c.Len() > 8 {
		t.Errorf("Len = %d, above bound", c.Len())
	}
}

func BenchmarkCheckHash(b *testing.B) {
	old := DefaultIterations
	DefaultIterations = 120000
	defer func() { DefaultIterations = old }()
	h, _ := Hash("pw")
	for b.Loop() {
		CheckHash(h, "pw")
	}
}

func BenchmarkCacheHit(b *testing.B) {
	h, _ := Hash("pw")
	c := NewCache(DefaultCacheSize)
	c.Check(1, h, "pw")
	for b.Loop() {
		c.Check(1, h, "pw")
	}
}
