// Package credential keeps account passwords at rest: a slow salted hash to
// check PasswordText tokens (Hash, CheckHash), an AES-256-GCM Sealer that
// keeps the password recoverable for PasswordDigest tokens without ever
// storing it in clear, and a Cache of already verified passwords so that the
// slow hash is not paid on every request.
package credential

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// hashScheme names the algorithm in an encoded hash, so that a later scheme
// can be recognised (and hashes upgraded on login) without a migration.
const hashScheme = "pbkdf2-sha256"

// DefaultIterations is the PBKDF2 iteration count Hash uses. It follows the
// OWASP guidance for PBKDF2-HMAC-SHA256 of its time; tests lower it so that
// they do not spend seconds hashing. Stored hashes carry their own count, so
// changing it never invalidates them.
var DefaultIterations = 120000

const (
	saltLen = 16
	keyLen  = 32

	// maxIterations bounds the work a stored (or forged) encoding can ask
	// for: CheckHash runs on every login, and a hash row with an absurd
	// count would otherwise turn one request into minutes of CPU.
	maxIterations = 10_000_000
	// The salt bounds accept hashes made with other reasonable salt sizes
	// while refusing encodings that could only be corrupt.
	minSaltLen = 8
	maxSaltLen = 64
	// maxEncodedLen keeps CheckHash from even splitting a huge string.
	maxEncodedLen = 512
)

var b64 = base64.RawStdEncoding

// Hash returns a self-describing slow salted hash of password:
//
//	pbkdf2-sha256$<iterations>$<base64 salt>$<base64 key>
//
// with unpadded standard base64.
func Hash(password string) (string, error) {
	iter := DefaultIterations
	if iter < 1 || iter > maxIterations {
		return "", fmt.Errorf("credential: DefaultIterations %d out of range [1, %d]", iter, maxIterations)
	}
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails (crypto/rand since Go 1.24)
	key, err := pbkdf2.Key(sha256.New, password, salt, iter, keyLen)
	if err != nil {
		return "", fmt.Errorf("credential: hashing password: %w", err)
	}
	return hashScheme + "$" + strconv.Itoa(iter) + "$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key), nil
}

// CheckHash reports whether password matches the encoded hash made by Hash.
// A malformed encoding, an unknown scheme or an out-of-range parameter never
// matches.
func CheckHash(encoded, password string) bool {
	iter, salt, want, ok := parseHash(encoded)
	if !ok {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, want) == 1
}

// parseHash splits and validates an encoded hash.
func parseHash(encoded string) (iter int, salt, key []byte, ok bool) {
	if len(encoded) > maxEncodedLen {
		return 0, nil, nil, false
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[0] != hashScheme {
		return 0, nil, nil, false
	}
	// Digits only: Atoi would accept "+5", and a canonical form keeps the
	// encoding one-to-one.
	if p := parts[1]; p == "" || len(p) > 8 || p[0] == '0' || strings.Trim(p, "0123456789") != "" {
		return 0, nil, nil, false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > maxIterations {
		return 0, nil, nil, false
	}
	salt, err = b64.Strict().DecodeString(parts[2])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return 0, nil, nil, false
	}
	key, err = b64.Strict().DecodeString(parts[3])
	// The key length is fixed: a PBKDF2 output's prefix is the shorter
	// output, so a truncated (corrupt) key would still match if accepted.
	if err != nil || len(key) != keyLen {
		return 0, nil, nil, false
	}
	return iter, salt, key, true
}
