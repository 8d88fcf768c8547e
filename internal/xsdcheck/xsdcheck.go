// Package xsdcheck validates partnerd's SOAP responses against the contract
// clients were generated from: the schema embedded in the REAL Partner API
// WSDL (../shared/reference/etframework.wsdl beside the module root), not
// our subset, so a bug in the subset cannot hide a bug in a response.
//
// It shells out to xmllint (Debian package libxml2-utils) because Go has no
// XML Schema validator, and xmllint's is the libxml2 one many SOAP stacks
// use. It is meant for tests; nothing in the server depends on it.
package xsdcheck

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/beevik/etree"

	"github.com/partnerd/partnerd/wsdl"
)

const (
	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	nsXSD    = "http://www.w3.org/2001/XMLSchema"
	nsWSDL   = "http://schemas.xmlsoap.org/wsdl/"
	nsFault  = "urn:fault.partner.exacttarget.com"

	faultXSDName  = "ETFrameworkFault.xsd"
	schemaXSDName = "etframework.xsd"

	installHint = "xmllint not found in PATH: install it with `apt-get install libxml2-utils` (Debian/Ubuntu; elsewhere, the package that provides libxml2's xmllint)"
)

// Available reports whether validation can run: xmllint is installed and
// the reference WSDL is present. The error says what to install or what is
// missing.
func Available() error {
	var errs []error
	if _, err := exec.LookPath("xmllint"); err != nil {
		errs = append(errs, errors.New(installHint))
	}
	if _, err := referencePath(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// SchemaPath returns the path of the schema extracted from the reference
// WSDL (its fault import rewritten to a local copy of our fault XSD), as
// ValidateEnvelope uses it, e.g. for running xmllint by hand.
func SchemaPath() (string, error) {
	s, err := setup()
	if err != nil {
		return "", err
	}
	return s.schema, nil
}

// ValidateEnvelope checks a SOAP 1.1 or 1.2 response envelope. The single
// child of Body is validated against the reference schema, as a standalone
// document carrying every namespace declaration in scope where it stood
// (so xsi:type="ns1:Send" still resolves). A Fault is checked for its
// required parts (faultcode and faultstring, or Code/Value and Reason/Text
// in SOAP 1.2) and its detail's apifault, if any, is validated against our
// fault XSD; the Fault element itself is SOAP's, not the Partner API's. The
// error carries xmllint's messages.
func ValidateEnvelope(envelope []byte) error {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(envelope); err != nil {
		return fmt.Errorf("xsdcheck: envelope is not well-formed XML: %w", err)
	}
	env := doc.Root()
	if env == nil {
		return errors.New("xsdcheck: empty document")
	}
	ns := env.NamespaceURI()
	if env.Tag != "Envelope" || (ns != nsSOAP11 && ns != nsSOAP12) {
		return fmt.Errorf("xsdcheck: root is {%s}%s, not a SOAP 1.1 or 1.2 Envelope", ns, env.Tag)
	}
	var body *etree.Element
	for _, c := range env.ChildElements() {
		if c.Tag == "Body" && c.NamespaceURI() == ns {
			if body != nil {
				return errors.New("xsdcheck: more than one Body")
			}
			body = c
		}
	}
	if body == nil {
		return errors.New("xsdcheck: no Body")
	}
	kids := body.ChildElements()
	if len(kids) != 1 {
		return fmt.Errorf("xsdcheck: Body has %d child elements, want exactly 1", len(kids))
	}
	payload := kids[0]

	s, err := setup()
	if err != nil {
		return err
	}
	if payload.Tag == "Fault" && payload.NamespaceURI() == ns {
		return checkFault(s, payload, ns)
	}
	if err := validate(s.schema, standalone(payload)); err != nil {
		return fmt.Errorf("xsdcheck: %s does not match the reference schema: %w", payload.Tag, err)
	}
	return nil
}

// checkFault checks the parts of a SOAP fault that clients read.
func checkFault(s *files, fault *etree.Element, ns string) error {
	var errs []error
	child := func(parent *etree.Element, space, local string) *etree.Element {
		if parent == nil {
			return nil
		}
		for _, c := range parent.ChildElements() {
			if c.Tag == local && c.NamespaceURI() == space {
				return c
			}
		}
		return nil
	}
	var detail *etree.Element
	if ns == nsSOAP11 {
		// SOAP 1.1 fault children are unqualified.
		for _, name := range []string{"faultcode", "faultstring"} {
			if e := child(fault, "", name); e == nil || strings.TrimSpace(e.Text()) == "" {
				errs = append(errs, fmt.Errorf("fault has no %s", name))
			}
		}
		detail = child(fault, "", "detail")
	} else {
		if v := child(child(fault, ns, "Code"), ns, "Value"); v == nil || strings.TrimSpace(v.Text()) == "" {
			errs = append(errs, errors.New("fault has no Code/Value"))
		}
		if r := child(child(fault, ns, "Reason"), ns, "Text"); r == nil {
			errs = append(errs, errors.New("fault has no Reason/Text"))
		}
		detail = child(fault, ns, "Detail")
	}
	if detail != nil {
		for _, c := range detail.ChildElements() {
			// Matched by local name only, so an apifault in the wrong
			// namespace is validated (and rejected) rather than ignored.
			if c.Tag != "apifault" {
				continue
			}
			if err := validate(s.fault, standalone(c)); err != nil {
				errs = append(errs, fmt.Errorf("apifault does not match %s: %w", faultXSDName, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("xsdcheck: %w", err)
	}
	return nil
}

// Violations validates doc, one element written as a document of its own
// (every namespace it uses declared on it), against the schema embedded in
// the WSDL src: ours (wsdl.Document) or another, such as the reference.
// It returns xmllint's complaints, one a line, each starting "-:LINE:"
// with LINE counted in doc; err says what kept the check from running
// (no xmllint, a WSDL without one schema). `partnerd check` validates
// request bodies with it.
func Violations(src, doc []byte) ([]string, error) {
	if _, err := exec.LookPath("xmllint"); err != nil {
		return nil, errors.New(installHint)
	}
	schema, err := schemaFor(src)
	if err != nil {
		return nil, err
	}
	err = validate(schema, doc)
	if err == nil {
		return nil, nil
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "xmllint (exit") {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(msg, "\n") {
		if strings.HasPrefix(line, "-:") {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return nil, err
	}
	return out, nil
}

var (
	schemasMu sync.Mutex
	schemas   = map[[32]byte]string{}
)

// schemaFor writes the schema of the WSDL src (and our fault XSD beside
// it) once per process and content, as setup does for the reference.
func schemaFor(src []byte) (string, error) {
	key := sha256.Sum256(src)
	schemasMu.Lock()
	defer schemasMu.Unlock()
	if p, ok := schemas[key]; ok {
		return p, nil
	}
	schema, err := extractSchema(src)
	if err != nil {
		return "", fmt.Errorf("xsdcheck: WSDL: %w", err)
	}
	fault := wsdl.FaultSchema()
	h := sha256.New()
	h.Write(schema)
	h.Write([]byte{0})
	h.Write(fault)
	dir := filepath.Join(os.TempDir(), "partnerd-xsdcheck-"+hex.EncodeToString(h.Sum(nil))[:16])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("xsdcheck: %w", err)
	}
	p := filepath.Join(dir, schemaXSDName)
	for path, data := range map[string][]byte{p: schema, filepath.Join(dir, faultXSDName): fault} {
		if err := writeAtomic(path, data); err != nil {
			return "", fmt.Errorf("xsdcheck: %w", err)
		}
	}
	schemas[key] = p
	return p, nil
}

// standalone serializes e as a document of its own, declaring on its root
// every namespace in scope at e, nearest declaration first. Declarations in
// xsi:type values and element names alike must survive the move, and
// copying all of them (rather than guessing the used ones) keeps the
// meaning of the fragment unchanged.
func standalone(e *etree.Element) []byte {
	c := e.Copy()
	declared := map[string]bool{}
	for _, a := range c.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			declared[a.FullKey()] = true
		}
	}
	for p := e.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if a.Space != "xmlns" && !(a.Space == "" && a.Key == "xmlns") {
				continue
			}
			if declared[a.FullKey()] {
				continue
			}
			declared[a.FullKey()] = true
			c.CreateAttr(a.FullKey(), a.Value)
		}
	}
	doc := etree.NewDocument()
	doc.SetRoot(c)
	b, err := doc.WriteToBytes()
	if err != nil {
		// Writing to memory fails only on a broken writer.
		panic(err)
	}
	return b
}

// validate runs xmllint on doc (given on stdin) against the schema file.
func validate(schema string, doc []byte) error {
	cmd := exec.Command("xmllint", "--noout", "--nonet", "--schema", schema, "-")
	cmd.Stdin = bytes.NewReader(doc)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("xmllint (exit %d):\n%s\ndocument:\n%s", exit.ExitCode(), strings.TrimSpace(out.String()), doc)
		}
		if errors.Is(err, exec.ErrNotFound) {
			return errors.New(installHint)
		}
		return fmt.Errorf("running xmllint: %w", err)
	}
	return nil
}

// files are the schema files xmllint reads.
type files struct {
	schema string // the reference's schema, importing ./ETFrameworkFault.xsd
	fault  string // our fault XSD
}

var (
	once    sync.Once
	onceVal *files
	onceErr error
)

// setup writes the schema files once per process. The directory is named
// after a hash of their content, so repeated test runs reuse it instead of
// littering the temp dir, and a changed reference gets a fresh one.
func setup() (*files, error) {
	once.Do(func() { onceVal, onceErr = writeFiles() })
	return onceVal, onceErr
}

func writeFiles() (*files, error) {
	ref, err := referencePath()
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(ref)
	if err != nil {
		return nil, fmt.Errorf("xsdcheck: %w", err)
	}
	schema, err := schemaFor(src)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, ref)
	}
	return &files{schema: schema, fault: filepath.Join(filepath.Dir(schema), faultXSDName)}, nil
}

// writeAtomic writes via a rename so concurrent test processes sharing the
// directory never see a half-written schema.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// extractSchema returns the WSDL's types/schema as a standalone XSD: the
// namespace declarations it inherits from wsdl:definitions (tns, xsd) copied
// onto it, and the fault import pointed at the local ETFrameworkFault.xsd so
// that xmllint needs no network.
func extractSchema(src []byte) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(src); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	defs := doc.Root()
	if defs == nil || defs.Tag != "definitions" || defs.NamespaceURI() != nsWSDL {
		return nil, errors.New("not a WSDL 1.1 document")
	}
	var schemas []*etree.Element
	for _, t := range defs.SelectElements("types") {
		for _, s := range t.ChildElements() {
			if s.Tag == "schema" && s.NamespaceURI() == nsXSD {
				schemas = append(schemas, s)
			}
		}
	}
	if len(schemas) != 1 {
		return nil, fmt.Errorf("want exactly one types/schema, found %d", len(schemas))
	}
	out := etree.NewDocument()
	if err := out.ReadFromBytes(standalone(schemas[0])); err != nil {
		return nil, err
	}
	var imports int
	for _, imp := range out.Root().ChildElements() {
		if imp.Tag == "import" && imp.NamespaceURI() == nsXSD && imp.SelectAttrValue("namespace", "") == nsFault {
			imp.CreateAttr("schemaLocation", faultXSDName)
			imports++
		}
	}
	if imports != 1 {
		return nil, fmt.Errorf("want one import of %s, found %d", nsFault, imports)
	}
	return out.WriteToBytes()
}

// referencePath locates ../shared/reference/etframework.wsdl beside the
// module root, searching up from the working directory (where `go test`
// runs) and then from this source file, so it also works from other
// packages' tests.
func referencePath() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	var tried []string
	for _, dir := range starts {
		root, ok := moduleRoot(dir)
		if !ok {
			continue
		}
		p := filepath.Join(root, "..", "shared", "reference", "etframework.wsdl")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	if len(tried) == 0 {
		return "", errors.New("reference WSDL not found: no go.mod above the working directory, so ../shared/reference/etframework.wsdl cannot be located")
	}
	return "", fmt.Errorf("reference WSDL missing: expected the real etframework.wsdl at %s", strings.Join(tried, " or "))
}

func moduleRoot(dir string) (string, bool) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
