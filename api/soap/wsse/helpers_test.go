package wsse

import (
	"crypto/sha1"
	"encoding/base64"
	"github.com/partnerd/partnerd/auth/authtest"
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"
	"github.com/partnerd/partnerd/internal/credential"
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

// The shared test helpers of auth/authtest, under the names the tests use.
var (
	mustTime   = authtest.MustTime
	account    = authtest.Account
	testSealer = authtest.Sealer
)

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
