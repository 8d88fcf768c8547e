package wsdl

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

const (
	nsWSDL     = "http://schemas.xmlsoap.org/wsdl/"
	nsWSDLSOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
	nsXSD      = "http://www.w3.org/2001/XMLSchema"
	nsTNS      = "http://exacttarget.com/wsdl/partnerAPI"
	nsFault    = "urn:fault.partner.exacttarget.com"
)

// servedOps are the operations partnerd serves, in the reference's portType
// order.
var servedOps = []string{"Create", "Retrieve", "Delete", "Perform", "Schedule", "VersionInfo", "GetSystemStatus"}

// requiredTypes and requiredElements are the roots the subset must keep
// beyond what the messages reach: the concrete types clients name in
// xsi:type.
var (
	requiredTypes = []string{
		"Send", "Email", "List", "EmailSendDefinition", "ScheduleDefinition",
		"Recurrence", "MinutelyRecurrence", "HourlyRecurrence", "DailyRecurrence",
		"WeeklyRecurrence", "MonthlyRecurrence", "YearlyRecurrence",
		"SimpleFilterPart", "ComplexFilterPart",
		"PerformOptions", "CreateOptions", "RetrieveOptions", "ScheduleOptions", "DeleteOptions",
	}
	requiredElements = []string{
		"Send", "List", "EmailSendDefinition",
		"MinutelyRecurrence", "HourlyRecurrence", "DailyRecurrence",
		"WeeklyRecurrence", "MonthlyRecurrence", "YearlyRecurrence",
	}
)

// referencePath finds ../shared/reference/etframework.wsdl beside the
// module root (the directory holding go.mod, found by walking up).
func referencePath(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "reference", "etframework.wsdl")
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		t.Skipf("reference WSDL %s is absent; the subset cannot be compared against it", p)
	}
	return p
}

func parse(t testing.TB, b []byte) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatalf("parse: %v", err)
	}
	if doc.Root() == nil {
		t.Fatal("parse: no root element")
	}
	return doc.Root()
}

func loadBoth(t testing.TB) (ours, ref *etree.Element) {
	t.Helper()
	p := referencePath(t)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, partnerAPI), parse(t, b)
}

// ---- canonical form ----

// node is an element in canonical form: names and QName-valued attributes
// resolved to {namespace}local, so prefixes do not matter; namespace
// declarations, comments, whitespace, xsd:annotation and wsdl:documentation
// dropped; attributes a set; children in order.
type node struct {
	name  string
	attrs map[string]string
	kids  []*node
}

// qnameAttrs are the attributes whose values are QNames in XSD and WSDL 1.1.
var qnameAttrs = map[string]bool{
	"type": true, "base": true, "ref": true, "element": true, "message": true,
	"binding": true, "itemType": true, "substitutionGroup": true,
}

func canon(e *etree.Element) *node {
	n := &node{name: "{" + e.NamespaceURI() + "}" + e.Tag, attrs: map[string]string{}}
	for _, a := range e.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		key := a.Key
		if a.Space != "" {
			key = "{" + a.NamespaceURI() + "}" + a.Key
		}
		val := a.Value
		if a.Space == "" && qnameAttrs[a.Key] {
			ns, local := resolveQName(e, val)
			val = "{" + ns + "}" + local
		}
		n.attrs[key] = val
	}
	for _, c := range e.ChildElements() {
		if isEl(c, nsXSD, "annotation") || isEl(c, nsWSDL, "documentation") {
			continue
		}
		n.kids = append(n.kids, canon(c))
	}
	return n
}

// label names a node for messages: its local name plus its name= if any.
func (n *node) label() string {
	local := n.name[strings.LastIndex(n.name, "}")+1:]
	if v, ok := n.attrs["name"]; ok {
		return local + "[" + v + "]"
	}
	return local
}

// diff appends every difference between ours and ref, each prefixed by path.
func diff(path string, ours, ref *node, out *[]string) {
	if ours.name != ref.name {
		*out = append(*out, fmt.Sprintf("%s: element %s, reference has %s", path, ours.name, ref.name))
		return
	}
	keys := map[string]bool{}
	for k := range ours.attrs {
		keys[k] = true
	}
	for k := range ref.attrs {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		o, inOurs := ours.attrs[k]
		r, inRef := ref.attrs[k]
		switch {
		case !inOurs:
			*out = append(*out, fmt.Sprintf("%s: missing attribute %s=%q", path, k, r))
		case !inRef:
			*out = append(*out, fmt.Sprintf("%s: extra attribute %s=%q", path, k, o))
		case o != r:
			*out = append(*out, fmt.Sprintf("%s: attribute %s=%q, reference has %q", path, k, o, r))
		}
	}
	labels := func(ns []*node) []string {
		var s []string
		for _, n := range ns {
			s = append(s, n.label())
		}
		return s
	}
	ol, rl := labels(ours.kids), labels(ref.kids)
	if !slices.Equal(ol, rl) {
		*out = append(*out, fmt.Sprintf("%s: children %v, reference has %v", path, ol, rl))
	}
	for i := 0; i < len(ours.kids) && i < len(ref.kids); i++ {
		diff(fmt.Sprintf("%s/%d:%s", path, i, ref.kids[i].label()), ours.kids[i], ref.kids[i], out)
	}
}

func isEl(e *etree.Element, ns, local string) bool {
	return e.Tag == local && e.NamespaceURI() == ns
}

// resolveQName resolves a QName value in e's scope; unprefixed names take
// the default namespace (the reference writes type="string" under the XSD
// default namespace).
func resolveQName(e *etree.Element, q string) (ns, local string) {
	prefix, local, ok := strings.Cut(strings.TrimSpace(q), ":")
	if !ok {
		prefix, local = "", prefix
	}
	for p := e; p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if (prefix == "" && a.Space == "" && a.Key == "xmlns") || (prefix != "" && a.Space == "xmlns" && a.Key == prefix) {
				return a.Value, local
			}
		}
	}
	return "", local
}

// components indexes a schema's top-level named components by kind/name.
func components(t testing.TB, schema *etree.Element) map[string]*etree.Element {
	t.Helper()
	m := map[string]*etree.Element{}
	for _, c := range schema.ChildElements() {
		var kind string
		switch {
		case isEl(c, nsXSD, "complexType"), isEl(c, nsXSD, "simpleType"):
			kind = "type" // one symbol space for both
		case isEl(c, nsXSD, "element"):
			kind = "element"
		default:
			continue
		}
		key := kind + "/" + c.SelectAttrValue("name", "")
		if _, dup := m[key]; dup {
			t.Errorf("schema defines %s twice", key)
		}
		m[key] = c
	}
	return m
}

func schemaOf(t testing.TB, defs *etree.Element) *etree.Element {
	t.Helper()
	s := defs.FindElement("./types/schema")
	if s == nil || !isEl(s, nsXSD, "schema") {
		t.Fatal("no types/xsd:schema")
	}
	return s
}

// compareSchemas lists every difference between our schema components and
// the reference's.
func compareSchemas(t testing.TB, ours, ref *etree.Element) []string {
	var diffs []string
	oursSchema, refSchema := schemaOf(t, ours), schemaOf(t, ref)
	// The schema element itself: same attributes (targetNamespace,
	// elementFormDefault, version).
	o, r := canon(oursSchema), canon(refSchema)
	o.kids, r.kids = nil, nil
	diff("schema", o, r, &diffs)

	refComps := components(t, refSchema)
	for key, c := range components(t, oursSchema) {
		rc, ok := refComps[key]
		if !ok {
			diffs = append(diffs, key+": not in the reference")
			continue
		}
		diff(key, canon(c), canon(rc), &diffs)
	}
	sort.Strings(diffs)
	return diffs
}

// ---- tests ----

func TestSchemaMatchesReference(t *testing.T) {
	ours, ref := loadBoth(t)
	for _, d := range compareSchemas(t, ours, ref) {
		t.Error(d)
	}

	// Only components and the one fault import, pointing at our local copy.
	var imports int
	for _, c := range schemaOf(t, ours).ChildElements() {
		switch {
		case isEl(c, nsXSD, "import"):
			imports++
			if got := c.SelectAttrValue("namespace", ""); got != nsFault {
				t.Errorf("import namespace %q, want %q", got, nsFault)
			}
			if got := c.SelectAttrValue("schemaLocation", ""); got != "ETFrameworkFault.xsd" {
				t.Errorf("fault import schemaLocation %q, want the relative ETFrameworkFault.xsd", got)
			}
		case isEl(c, nsXSD, "complexType"), isEl(c, nsXSD, "simpleType"), isEl(c, nsXSD, "element"):
		default:
			t.Errorf("unexpected schema child %s", c.FullTag())
		}
	}
	if imports != 1 {
		t.Errorf("%d schema imports, want 1", imports)
	}
}

func TestDiffDetectsReorder(t *testing.T) {
	ours, ref := loadBoth(t)
	if d := compareSchemas(t, ours, ref); len(d) > 0 {
		t.Skip("the committed file already differs from the reference; see TestSchemaMatchesReference")
	}
	// Swap PerformResult's Object and Task in a copy of ours: the comparison
	// must notice, since clients with ordered proxies depend on the order.
	var seq *etree.Element
	for _, c := range schemaOf(t, ours).ChildElements() {
		if isEl(c, nsXSD, "complexType") && c.SelectAttrValue("name", "") == "PerformResult" {
			seq = c.FindElement("./complexContent/extension/sequence")
		}
	}
	if seq == nil {
		t.Fatal("PerformResult sequence not found")
	}
	kids := seq.ChildElements()
	if len(kids) < 2 {
		t.Fatal("PerformResult sequence too short")
	}
	seq.RemoveChild(kids[0])
	seq.InsertChildAt(kids[1].Index()+1, kids[0])

	diffs := compareSchemas(t, ours, ref)
	if len(diffs) == 0 {
		t.Fatal("reordering PerformResult went unnoticed")
	}
	for _, d := range diffs {
		if !strings.HasPrefix(d, "type/PerformResult") {
			t.Errorf("unexpected difference outside PerformResult: %s", d)
		}
	}
}

func TestClosureComplete(t *testing.T) {
	ours := parse(t, partnerAPI)
	comps := components(t, schemaOf(t, ours))
	for _, n := range requiredTypes {
		if comps["type/"+n] == nil {
			t.Errorf("required type %s missing", n)
		}
	}
	for _, n := range requiredElements {
		if comps["element/"+n] == nil {
			t.Errorf("required global element %s missing", n)
		}
	}
	// Every QName reference must resolve inside our file (or to an XSD
	// built-in): a subset that names a type it dropped would not load in
	// strict clients.
	// where names a reference by its top-level component and element, e.g.
	// complexType[Send] element[List].
	where := func(e *etree.Element) string {
		var parts []string
		for p := e; p != nil && p.Tag != "schema" && p.Tag != "definitions"; p = p.Parent() {
			if n := p.SelectAttrValue("name", ""); n != "" {
				parts = append([]string{p.Tag + "[" + n + "]"}, parts...)
			}
		}
		return strings.Join(parts, " ")
	}
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, a := range e.Attr {
			if a.Space != "" {
				continue
			}
			kind := ""
			switch a.Key {
			case "type", "base", "itemType":
				kind = "type"
			case "ref", "substitutionGroup", "element":
				kind = "element"
			default:
				continue
			}
			ns, local := resolveQName(e, a.Value)
			switch ns {
			case nsTNS:
				if comps[kind+"/"+local] == nil {
					t.Errorf("%s %s=%q: %s %s not defined in our WSDL", where(e), a.Key, a.Value, kind, local)
				}
			case nsXSD:
			default:
				t.Errorf("%s %s=%q: unexpected namespace %q", where(e), a.Key, a.Value, ns)
			}
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(schemaOf(t, ours))
	for _, m := range ours.SelectElements("message") {
		walk(m)
	}
}

func TestOperationsMatchReference(t *testing.T) {
	ours, ref := loadBoth(t)
	if got, want := ours.SelectAttrValue("targetNamespace", ""), ref.SelectAttrValue("targetNamespace", ""); got != want {
		t.Errorf("targetNamespace %q, want %q", got, want)
	}

	byName := func(parent *etree.Element, tag string) map[string]*etree.Element {
		m := map[string]*etree.Element{}
		if parent == nil {
			return m
		}
		for _, c := range parent.SelectElements(tag) {
			m[c.SelectAttrValue("name", "")] = c
		}
		return m
	}
	compare := func(what string, o, r *etree.Element) {
		var diffs []string
		diff(what, canon(o), canon(r), &diffs)
		for _, d := range diffs {
			t.Error(d)
		}
	}

	// portType: exactly our operations, in the reference's order.
	opt, rpt := ours.SelectElement("portType"), ref.SelectElement("portType")
	if opt == nil || len(ours.SelectElements("portType")) != 1 {
		t.Fatal("want exactly one portType")
	}
	if got := opt.SelectAttrValue("name", ""); got != "Soap" {
		t.Errorf("portType name %q, want Soap", got)
	}
	var names []string
	for _, op := range opt.SelectElements("operation") {
		names = append(names, op.SelectAttrValue("name", ""))
	}
	if !slices.Equal(names, servedOps) {
		t.Errorf("portType operations %v, want %v", names, servedOps)
	}
	refOps := byName(rpt, "operation")
	usedMsgs := map[string]bool{}
	for _, op := range opt.SelectElements("operation") {
		name := op.SelectAttrValue("name", "")
		r, ok := refOps[name]
		if !ok {
			t.Errorf("portType operation %s not in the reference", name)
			continue
		}
		compare("portType/operation["+name+"]", op, r)
		for _, io := range op.ChildElements() {
			if _, local := resolveQName(io, io.SelectAttrValue("message", "")); local != "" {
				usedMsgs[local] = true
			}
		}
	}

	// messages: exactly those the operations use, as in the reference.
	refMsgs := byName(ref, "message")
	ourMsgs := byName(ours, "message")
	for name, m := range ourMsgs {
		if !usedMsgs[name] {
			t.Errorf("message %s is not used by any operation", name)
		}
		if r, ok := refMsgs[name]; !ok {
			t.Errorf("message %s not in the reference", name)
		} else {
			compare("message["+name+"]", m, r)
		}
	}
	for name := range usedMsgs {
		if ourMsgs[name] == nil {
			t.Errorf("message %s used but not defined", name)
		}
	}

	// binding: same attributes and soap:binding, the same operations in the
	// same order, each identical to the reference's; soapAction is the bare
	// operation name.
	ob, rb := ours.SelectElement("binding"), ref.SelectElement("binding")
	if ob == nil || rb == nil {
		t.Fatal("binding missing")
	}
	ocb, rcb := canon(ob), canon(rb)
	ocb.kids, rcb.kids = nil, nil
	var bd []string
	diff("binding", ocb, rcb, &bd)
	for _, d := range bd {
		t.Error(d)
	}
	if got := ob.SelectAttrValue("name", ""); got != "SoapBinding" {
		t.Errorf("binding name %q, want SoapBinding", got)
	}
	compare("binding/soap:binding", ob.FindElement("./soap:binding"), rb.FindElement("./soap:binding"))
	names = names[:0]
	refBOps := byName(rb, "operation")
	for _, op := range ob.SelectElements("operation") {
		name := op.SelectAttrValue("name", "")
		names = append(names, name)
		if r, ok := refBOps[name]; ok {
			compare("binding/operation["+name+"]", op, r)
		}
		so := op.FindElement("./soap:operation")
		if so == nil || so.SelectAttrValue("soapAction", "") != name {
			t.Errorf("binding operation %s: soapAction is not %q", name, name)
		}
		if in := op.FindElement("./input/soap:body"); in == nil || in.SelectAttrValue("parts", "") != "parameters" || in.SelectAttrValue("use", "") != "literal" {
			t.Errorf("binding operation %s: input body is not parts=parameters use=literal", name)
		}
	}
	if !slices.Equal(names, servedOps) {
		t.Errorf("binding operations %v, want %v", names, servedOps)
	}

	// service: name, documentation, port and binding as in the reference.
	osvc, rsvc := ours.SelectElement("service"), ref.SelectElement("service")
	if osvc == nil || rsvc == nil {
		t.Fatal("service missing")
	}
	compare("service", osvc, rsvc) // includes port name and soap:address
	if got, want := strings.TrimSpace(osvc.SelectElement("documentation").Text()), strings.TrimSpace(rsvc.SelectElement("documentation").Text()); got != want {
		t.Errorf("service documentation %q, want %q", got, want)
	}
}

func TestCommittedSubsetIsReproducible(t *testing.T) {
	ref := referencePath(t)
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	out := filepath.Join(t.TempDir(), "partnerAPI.wsdl")
	cmd := exec.Command("go", "run", "./internal/subsetgen", "-ref", ref, "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("subsetgen: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, partnerAPI) {
		t.Error("partnerAPI.wsdl differs from what subsetgen writes; run go generate ./wsdl")
	}
}

func TestDocument(t *testing.T) {
	endpoint := `https://partnerd.example/Service.asmx?a=1&b="<2>"`
	b := Document(endpoint)
	defs := parse(t, b) // well-formed
	addr := defs.FindElement("./service/port/soap:address")
	if addr == nil || addr.NamespaceURI() != nsWSDLSOAP {
		t.Fatal("no soap:address")
	}
	if got := addr.SelectAttrValue("location", ""); got != endpoint {
		t.Errorf("location %q, want %q", got, endpoint)
	}
	if bytes.Contains(b, []byte(defaultAddress)) {
		t.Error("the reference address is still in the document")
	}
	if again := Document(endpoint); &again[0] != &b[0] {
		t.Error("Document is not memoized")
	}

	// Everything but the address is our file.
	if got := Document(defaultAddress); !bytes.Equal(got, partnerAPI) {
		t.Error("Document(defaultAddress) differs from the embedded file")
	}

	// The memo stays bounded whatever clients put in Host.
	for i := range 3 * maxMemo {
		Document(fmt.Sprintf("http://h%d/Service.asmx", i))
	}
	memoMu.Lock()
	n := len(memo)
	memoMu.Unlock()
	if n > maxMemo {
		t.Errorf("memo holds %d entries, bound is %d", n, maxMemo)
	}
}

func TestFaultSchema(t *testing.T) {
	s := parse(t, FaultSchema())
	if !isEl(s, nsXSD, "schema") || s.SelectAttrValue("targetNamespace", "") != nsFault || s.SelectAttrValue("elementFormDefault", "") != "qualified" {
		t.Fatalf("fault schema root: %s targetNamespace=%q", s.FullTag(), s.SelectAttrValue("targetNamespace", ""))
	}
	var kids []string
	for _, e := range s.FindElements("./element[@name='apifault']/complexType/sequence/element") {
		kids = append(kids, e.SelectAttrValue("name", "")+":"+e.SelectAttrValue("type", ""))
	}
	if want := []string{"Code:xsd:int", "Message:xsd:string"}; !slices.Equal(kids, want) {
		t.Errorf("apifault sequence %v, want %v", kids, want)
	}
}
