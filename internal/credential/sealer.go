package credential

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeySize is the length in bytes of a Sealer key (AES-256).
const KeySize = 32

// EnvSecretKey is the environment variable that may carry the server's
// secret key, base64 encoded (see SealerFromBase64).
const EnvSecretKey = "PARTNERD_SECRET_KEY"

// sealVersion prefixes every sealed value so that a later format (another
// cipher, a key ID for rotation) can be told apart from this one.
const sealVersion byte = 1

// sealAD binds sealed values to their purpose: a ciphertext made with the
// same key for something else will not open as a password.
var sealAD = []byte("partnerd account password v1")

// Sealer encrypts passwords with the server's secret key so that they can be
// stored recoverably (PasswordDigest needs the clear password) but never in
// clear. Create one with NewSealer, SealerFromBase64 or LoadOrCreateKey; it
// is then safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer using key, which must be KeySize bytes.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("credential: secret key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	// A random 96-bit nonce per Seal is safe for far more passwords than
	// one deployment will ever seal under one key.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// SealerFromBase64 returns a Sealer for a key given as standard or URL-safe
// base64, padded or not, as put in EnvSecretKey (generate one with
// `head -c32 /dev/urandom | base64`).
func SealerFromBase64(s string) (*Sealer, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("credential: secret key is empty")
	}
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err = enc.Strict().DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		// The decoder's error quotes an offset, never the key itself.
		return nil, fmt.Errorf("credential: secret key is not base64: %w", err)
	}
	return NewSealer(key)
}

// LoadOrCreateKey returns a Sealer using the raw KeySize-byte key in the file
// at path. If the file does not exist it is created, with mode 0600, holding a
// new random key. An existing file must be a regular file of exactly KeySize
// bytes that neither group nor others can access: a key anyone can read
// protects nothing, so LoadOrCreateKey refuses it rather than warn.
func LoadOrCreateKey(path string) (*Sealer, error) {
	key, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKeyFile(path)
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: use theirs.
			key, err = readKeyFile(path)
		}
	}
	if err != nil {
		return nil, err
	}
	return NewSealer(key)
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("credential: secret key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("credential: secret key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("credential: secret key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits; its ACLs are the operator's job.
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("credential: secret key file %s has permissions %04o, readable beyond its owner; run chmod 600 %s", path, perm, path)
	}
	if fi.Size() != KeySize {
		return nil, fmt.Errorf("credential: secret key file %s is %d bytes, want exactly %d raw bytes", path, fi.Size(), KeySize)
	}
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("credential: reading secret key file %s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes a new key to a temporary file and links it into place,
// so that a crash or a concurrent reader never sees a short key file and two
// processes starting together agree on one key (the loser gets fs.ErrExist).
func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	rand.Read(key)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".partnerd-key-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("credential: creating secret key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return nil, fmt.Errorf("credential: creating secret key file: %w", err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("credential: writing secret key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("credential: writing secret key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("credential: writing secret key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("credential: creating secret key file: %w", err)
	}
	return key, nil
}

// Seal encrypts password. Every call uses a fresh random nonce, so sealing
// the same password twice gives different bytes.
func (s *Sealer) Seal(password string) []byte {
	out := make([]byte, 1, 1+s.aead.Overhead()+len(password))
	out[0] = sealVersion
	return s.aead.Seal(out, nil, []byte(password), sealAD)
}

// ErrSealed reports a sealed value that cannot be opened: corrupt, of an
// unknown version, or sealed under another key.
var ErrSealed = errors.New("credential: sealed password cannot be opened")

// Open decrypts a value made by Seal with the same key.
func (s *Sealer) Open(sealed []byte) (string, error) {
	if len(sealed) < 1+s.aead.Overhead() {
		return "", fmt.Errorf("%w: %d bytes is too short", ErrSealed, len(sealed))
	}
	if sealed[0] != sealVersion {
		return "", fmt.Errorf("%w: unknown version %d", ErrSealed, sealed[0])
	}
	pt, err := s.aead.Open(nil, nil, sealed[1:], sealAD)
	if err != nil {
		return "", fmt.Errorf("%w: %v (wrong key?)", ErrSealed, err)
	}
	return string(pt), nil
}
