// Command subsetgen writes wsdl/partnerAPI.wsdl, partnerd's WSDL, as a
// faithful subset of the real ExactTarget Partner API WSDL
// (../shared/reference/etframework.wsdl next to the repository).
//
// The subset keeps the operations partnerd serves (Create, Retrieve, Delete,
// Perform, Schedule, VersionInfo, GetSystemStatus) with their messages,
// portType and binding entries exactly as in the reference, and the schema
// closure they need: every global element those messages use, every extra
// root listed in roots below (the concrete types clients put in xsi:type),
// and everything reachable from them through type= and base= references.
// Schema components are copied verbatim, in reference order, minus
// annotations and comments; the only intended change is that the fault
// schema import points at the local ETFrameworkFault.xsd instead of
// https://webservice.exacttarget.com/ETFrameworkFault.xsd, because clients
// such as node-soap and suds hang trying to download it.
//
// Usage (from anywhere inside the module):
//
//	go run ./wsdl/internal/subsetgen [-ref path/to/etframework.wsdl] [-out path/to/partnerAPI.wsdl]
//
// With no flags it finds the module root (the directory holding go.mod) by
// walking up from the working directory, reads
// <root>/../shared/reference/etframework.wsdl and writes
// <root>/wsdl/partnerAPI.wsdl. `go generate ./wsdl` runs it.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/beevik/etree"
)

const (
	nsWSDL = "http://schemas.xmlsoap.org/wsdl/"
	nsXSD  = "http://www.w3.org/2001/XMLSchema"
	nsTNS  = "http://exacttarget.com/wsdl/partnerAPI"

	faultNS        = "urn:fault.partner.exacttarget.com"
	faultLocalPath = "ETFrameworkFault.xsd"
)

// operations are the operations partnerd serves. Their order here does not
// matter: the output keeps the reference's portType order.
var operations = []string{"Create", "Retrieve", "Delete", "Perform", "Schedule", "VersionInfo", "GetSystemStatus"}

// rootTypes are named types kept even though no kept message reaches them:
// the message elements declare their items as the abstract-ish APIObject,
// Options or Recurrence, and clients send the concrete type in xsi:type, so
// the schema must define the concrete types for those documents to be valid.
var rootTypes = []string{
	"Send", "Email", "List", "EmailSendDefinition", "ScheduleDefinition",
	"Recurrence", "MinutelyRecurrence", "HourlyRecurrence", "DailyRecurrence",
	"WeeklyRecurrence", "MonthlyRecurrence", "YearlyRecurrence",
	"SimpleFilterPart", "ComplexFilterPart",
	"PerformOptions", "CreateOptions", "RetrieveOptions", "ScheduleOptions", "DeleteOptions",
}

// rootElements are global elements kept beyond the message elements.
var rootElements = []string{
	"Send", "List", "EmailSendDefinition",
	"MinutelyRecurrence", "HourlyRecurrence", "DailyRecurrence",
	"WeeklyRecurrence", "MonthlyRecurrence", "YearlyRecurrence",
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("subsetgen: ")
	ref := flag.String("ref", "", "reference WSDL (default <module root>/../shared/reference/etframework.wsdl)")
	out := flag.String("out", "", "output WSDL (default <module root>/wsdl/partnerAPI.wsdl)")
	flag.Parse()

	if *ref == "" || *out == "" {
		root, err := moduleRoot()
		if err != nil {
			log.Fatal(err)
		}
		if *ref == "" {
			*ref = filepath.Join(root, "..", "shared", "reference", "etframework.wsdl")
		}
		if *out == "" {
			*out = filepath.Join(root, "wsdl", "partnerAPI.wsdl")
		}
	}
	src, err := os.ReadFile(*ref)
	if err != nil {
		log.Fatalf("reading the reference WSDL: %v", err)
	}
	b, stats, err := subset(src)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s: %d complexTypes, %d simpleTypes, %d global elements, %d operations",
		*out, stats.complexTypes, stats.simpleTypes, stats.elements, len(operations))
}

// moduleRoot walks up from the working directory to the one holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory")
		}
		dir = parent
	}
}

type counts struct{ complexTypes, simpleTypes, elements int }

// subset computes the subset document from the reference WSDL bytes.
func subset(src []byte) ([]byte, counts, error) {
	var c counts
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(src); err != nil {
		return nil, c, fmt.Errorf("parsing the reference WSDL: %w", err)
	}
	defs := doc.Root()
	if defs == nil || !is(defs, nsWSDL, "definitions") {
		return nil, c, errors.New("reference root is not wsdl:definitions")
	}
	schema := defs.FindElement("./types/schema")
	if schema == nil {
		return nil, c, errors.New("reference has no types/schema")
	}

	// Index the schema's top-level components. Types and elements are
	// separate symbol spaces (a type and an element are both named Send).
	types := map[string]*etree.Element{}
	elems := map[string]*etree.Element{}
	for _, ch := range schema.ChildElements() {
		name := ch.SelectAttrValue("name", "")
		switch {
		case is(ch, nsXSD, "complexType"), is(ch, nsXSD, "simpleType"):
			types[name] = ch
		case is(ch, nsXSD, "element"):
			elems[name] = ch
		}
	}

	// Pick the operations and, through them, the messages and their elements.
	keepOp := map[string]bool{}
	for _, op := range operations {
		keepOp[op] = true
	}
	portType := defs.SelectElement("portType")
	binding := defs.SelectElement("binding")
	if portType == nil || binding == nil {
		return nil, c, errors.New("reference lacks portType or binding")
	}
	keepMsg := map[string]bool{}
	found := map[string]bool{}
	for _, op := range portType.SelectElements("operation") {
		name := op.SelectAttrValue("name", "")
		if !keepOp[name] {
			continue
		}
		found[name] = true
		for _, io := range []string{"input", "output"} {
			m := op.SelectElement(io)
			if m == nil {
				return nil, c, fmt.Errorf("operation %s has no %s", name, io)
			}
			ns, local := resolveQName(m, m.SelectAttrValue("message", ""))
			if ns != nsTNS {
				return nil, c, fmt.Errorf("operation %s: message %q outside the target namespace", name, local)
			}
			keepMsg[local] = true
		}
	}
	for _, op := range operations {
		if !found[op] {
			return nil, c, fmt.Errorf("operation %s not in the reference portType", op)
		}
	}

	cl := closure{types: types, elems: elems, keptTypes: map[string]bool{}, keptElems: map[string]bool{}}
	for _, m := range defs.SelectElements("message") {
		if !keepMsg[m.SelectAttrValue("name", "")] {
			continue
		}
		for _, p := range m.SelectElements("part") {
			if ns, local := resolveQName(p, p.SelectAttrValue("element", "")); ns == nsTNS {
				if err := cl.element(local); err != nil {
					return nil, c, err
				}
			}
		}
	}
	for _, n := range rootElements {
		if err := cl.element(n); err != nil {
			return nil, c, err
		}
	}
	for _, n := range rootTypes {
		if err := cl.typ(n); err != nil {
			return nil, c, err
		}
	}

	// Prune the document in place, which keeps every namespace declaration,
	// attribute and the reference order.
	for _, ch := range schema.ChildElements() {
		name := ch.SelectAttrValue("name", "")
		switch {
		case is(ch, nsXSD, "import"):
			if ch.SelectAttrValue("namespace", "") != faultNS {
				return nil, c, fmt.Errorf("unexpected schema import of %q", ch.SelectAttrValue("namespace", ""))
			}
			ch.CreateAttr("schemaLocation", faultLocalPath)
		case is(ch, nsXSD, "complexType") && cl.keptTypes[name]:
			c.complexTypes++
		case is(ch, nsXSD, "simpleType") && cl.keptTypes[name]:
			c.simpleTypes++
		case is(ch, nsXSD, "element") && cl.keptElems[name]:
			c.elements++
		default:
			schema.RemoveChild(ch)
		}
	}
	for _, m := range defs.SelectElements("message") {
		if !keepMsg[m.SelectAttrValue("name", "")] {
			defs.RemoveChild(m)
		}
	}
	for _, parent := range []*etree.Element{portType, binding} {
		for _, op := range parent.SelectElements("operation") {
			if !keepOp[op.SelectAttrValue("name", "")] {
				parent.RemoveChild(op)
			}
		}
	}
	stripSchemaNoise(schema)
	stripComments(defs)

	doc.Unindent()
	for _, t := range doc.Child {
		// Drop anything outside the root (a stray prolog or comment) so the
		// header below is the only one.
		if _, ok := t.(*etree.Element); !ok {
			doc.RemoveChild(t)
		}
	}
	doc.Indent(2)

	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	buf.WriteString("<!-- Code generated by wsdl/internal/subsetgen from etframework.wsdl. DO NOT EDIT. -->\n")
	if _, err := doc.WriteTo(&buf); err != nil {
		return nil, c, err
	}
	return buf.Bytes(), c, nil
}

// closure collects the named types and global elements reachable from the
// roots.
type closure struct {
	types, elems         map[string]*etree.Element
	keptTypes, keptElems map[string]bool
}

func (cl *closure) element(name string) error {
	if cl.keptElems[name] {
		return nil
	}
	e, ok := cl.elems[name]
	if !ok {
		return fmt.Errorf("global element %q not in the reference schema", name)
	}
	cl.keptElems[name] = true
	return cl.walk(e)
}

func (cl *closure) typ(name string) error {
	if cl.keptTypes[name] {
		return nil
	}
	t, ok := cl.types[name]
	if !ok {
		return fmt.Errorf("type %q not in the reference schema", name)
	}
	cl.keptTypes[name] = true
	return cl.walk(t)
}

// walk follows every QName-valued reference inside a component: type= on
// elements (named or local), base= on extensions and restrictions, ref= and
// substitutionGroup= in case a later reference uses them, itemType=/memberTypes
// on lists and unions.
func (cl *closure) walk(e *etree.Element) error {
	for _, a := range e.Attr {
		if a.Space != "" {
			continue
		}
		var qnames []string
		switch a.Key {
		case "type", "base", "itemType":
			qnames = []string{a.Value}
		case "memberTypes":
			qnames = strings.Fields(a.Value)
		case "ref", "substitutionGroup":
			if ns, local := resolveQName(e, a.Value); ns == nsTNS {
				if err := cl.element(local); err != nil {
					return err
				}
			}
		}
		for _, q := range qnames {
			ns, local := resolveQName(e, q)
			if ns == nsTNS {
				if err := cl.typ(local); err != nil {
					return err
				}
			} else if ns != nsXSD {
				return fmt.Errorf("%s refers to %q in unexpected namespace %q", e.GetPath(), q, ns)
			}
		}
	}
	for _, ch := range e.ChildElements() {
		if err := cl.walk(ch); err != nil {
			return err
		}
	}
	return nil
}

// stripSchemaNoise removes xsd:annotation elements: documentation only, and
// the brief allows dropping it; it would otherwise make the diff against the
// reference noisier for no gain on the wire.
func stripSchemaNoise(e *etree.Element) {
	for _, ch := range e.ChildElements() {
		if is(ch, nsXSD, "annotation") {
			e.RemoveChild(ch)
			continue
		}
		stripSchemaNoise(ch)
	}
}

// stripComments drops comments everywhere; in the reference they are
// mostly commented-out elements.
func stripComments(e *etree.Element) {
	for _, t := range slices.Clone(e.Child) {
		switch t := t.(type) {
		case *etree.Comment:
			e.RemoveChild(t)
		case *etree.Element:
			stripComments(t)
		}
	}
}

// is reports whether e is the element {ns}local.
func is(e *etree.Element, ns, local string) bool {
	return e.Tag == local && e.NamespaceURI() == ns
}

// resolveQName resolves a QName-valued attribute in the scope of e. An
// unprefixed name takes the default namespace, as XML Schema specifies for
// QName values; the reference relies on that (type="string" under
// xmlns="http://www.w3.org/2001/XMLSchema").
func resolveQName(e *etree.Element, q string) (ns, local string) {
	prefix, local, ok := strings.Cut(strings.TrimSpace(q), ":")
	if !ok {
		prefix, local = "", prefix
	}
	return lookupNS(e, prefix), local
}

func lookupNS(e *etree.Element, prefix string) string {
	if prefix == "xml" {
		return "http://www.w3.org/XML/1998/namespace"
	}
	for ; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if (prefix == "" && a.Space == "" && a.Key == "xmlns") || (prefix != "" && a.Space == "xmlns" && a.Key == prefix) {
				return a.Value
			}
		}
	}
	return ""
}
