// Command gengo regenerates wsdl/partnerapi/partnerapi.go, the Go client and
// types that gowsdl derives from wsdl/partnerAPI.wsdl. `go generate ./wsdl`
// runs it from the wsdl directory.
//
// gowsdl cannot take our WSDL as it is, so gengo feeds it a temporary copy:
//
//   - The portType is named Soap, as in the real WSDL, and gowsdl names the
//     generated interface (Soap) and its implementation (soap) after it; the
//     latter collides with the import of gowsdl's runtime package soap and
//     does not compile. The copy renames the portType (and the binding's
//     reference to it) to PartnerAPISoap. Our served WSDL keeps the real
//     name.
//   - The schema imports the fault schema by the relative location
//     ETFrameworkFault.xsd, which gowsdl resolves against the WSDL's own
//     location and reads from disk, so the fault XSD is copied next to the
//     WSDL copy; without it gowsdl stops with "no such file". gowsdl then
//     also generates the Apifault type, which clients can use as fault detail.
//
// The output is then checked to be gofmt-formed and written over the
// committed file. It is deterministic: running it twice gives the same bytes.
//
// Usage: go run ./internal/gengo [-wsdl dir] (from the wsdl directory).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"os/exec"
	"path/filepath"
)

const (
	pkgName = "partnerapi"
	goFile  = "partnerapi.go"
)

// renames are the exact byte replacements applied to the copy; each must
// occur exactly once, so a change in the WSDL's shape fails loudly rather
// than generating a client with the colliding name.
var renames = [][2]string{
	{`<portType name="Soap">`, `<portType name="PartnerAPISoap">`},
	{`type="tns:Soap"`, `type="tns:PartnerAPISoap"`},
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("gengo: ")
	dir := flag.String("wsdl", ".", "the wsdl package directory (holding partnerAPI.wsdl and ETFrameworkFault.xsd)")
	flag.Parse()
	if err := run(*dir); err != nil {
		log.Fatal(err)
	}
}

func run(dir string) error {
	src, err := os.ReadFile(filepath.Join(dir, "partnerAPI.wsdl"))
	if err != nil {
		return err
	}
	fault, err := os.ReadFile(filepath.Join(dir, "ETFrameworkFault.xsd"))
	if err != nil {
		return err
	}
	for _, r := range renames {
		if n := bytes.Count(src, []byte(r[0])); n != 1 {
			return fmt.Errorf("expected exactly one %s in partnerAPI.wsdl, found %d", r[0], n)
		}
		src = bytes.Replace(src, []byte(r[0]), []byte(r[1]), 1)
	}

	tmp, err := os.MkdirTemp("", "partnerd-gengo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	wsdlCopy := filepath.Join(tmp, "partnerAPI.wsdl")
	if err := os.WriteFile(wsdlCopy, src, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "ETFrameworkFault.xsd"), fault, 0o644); err != nil {
		return err
	}

	// gowsdl writes <-d>/<-p>/<-o>. It logs to stdout, and logs some
	// failures without a useful exit status, so the output file's presence
	// is checked too.
	cmd := exec.Command("go", "tool", "gowsdl", "-p", pkgName, "-o", goFile, "-d", tmp, wsdlCopy)
	cmd.Dir = dir // inside the module, so `go tool` finds the tool directive in go.mod
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("gowsdl: %v\n%s", err, out)
	}
	code, err := os.ReadFile(filepath.Join(tmp, pkgName, goFile))
	if err != nil {
		return fmt.Errorf("gowsdl produced no output: %v\n%s", err, out)
	}

	// gowsdl already gofmts its output; formatting again makes sure the
	// committed file is gofmt-clean whatever gowsdl version runs.
	code, err = format.Source(code)
	if err != nil {
		return fmt.Errorf("formatting gowsdl output: %w", err)
	}
	dst := filepath.Join(dir, pkgName, goFile)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, code, 0o644)
}
