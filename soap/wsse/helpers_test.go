package wsse

import (
	"crypto/sha1"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/partnerd/partnerd/credential"
	"github.com/partnerd/partnerd/store"
)

func TestMain(m *testing.M) {
	// The real iteration count would make the suite spend seconds hashing;
	// the benchmarks restore it.
	credential.DefaultIterations = 1000
	os.Exit(m.Run())
}

// readDoc parses a file of testdata.
func readDoc(t testing.TB, name string) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(filepath.Join("testdata", name)); err != nil {
		t.Fatal(err)
	}
	return doc
}

// security returns the wsse:Security header of an envelope, or the root
// itself when the document is a bare header.
func security(doc *etree.Document) *etree.Element {
	root := doc.Root()
	if root == nil {
		return nil
	}
	if root.Tag != "Envelope" {
		return root
	}
	for _, c := range root.ChildElements() {
		if c.Tag == "Header" {
			return Find(c)
		}
	}
	return nil
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC()
}

// account makes an account whose password is both hashed and sealed.
func account(t testing.TB, sealer *credential.Sealer, id int64, username, password string) store.Account {
	t.Helper()
	h, err := credential.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	return store.Account{ID: id, Username: username, ClientID: 1000 + id, PasswordHash: h, PasswordSealed: sealer.Seal(password)}
}

func testSealer(t testing.TB) *credential.Sealer {
	t.Helper()
	s, err := credential.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// digest computes a PasswordDigest the way the profile defines it
// (package auth pins it against vectors computed outside Go).
func digest(nonceB64, created, password string) string {
	n, err := base64.StdEncoding.DecodeString(nonceB64)
	if err != nil {
		panic(err)
	}
	sum := sha1.Sum(append(append(n, created...), password...))
	return base64.StdEncoding.EncodeToString(sum[:])
}
