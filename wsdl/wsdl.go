// Package wsdl holds partnerd's service contract: partnerAPI.wsdl, a faithful
// subset of the real ExactTarget Partner API WSDL (etframework.wsdl) for the
// operations partnerd serves, and ETFrameworkFault.xsd, the fault detail
// schema it imports. Its one job is to hand those documents out, with the
// service address set to the endpoint they are served from.
//
// The Go types generated from the WSDL by gowsdl live in the subpackage
// partnerapi. Regenerate everything with `go generate ./wsdl`: subsetgen
// rewrites partnerAPI.wsdl from ../shared/reference/etframework.wsdl, then
// gengo rewrites partnerapi/partnerapi.go from it.
package wsdl

import (
	"bytes"
	_ "embed"
	"encoding/xml"
	"sync"
)

//go:generate go run ./internal/subsetgen
//go:generate go run ./internal/gengo

//go:embed partnerAPI.wsdl
var partnerAPI []byte

//go:embed ETFrameworkFault.xsd
var faultSchema []byte

// defaultAddress is the soap:address of the reference WSDL, kept in ours so
// that the file as committed is still the reference's subset.
const defaultAddress = "https://webservice.exacttarget.com/Service.asmx"

// addressAttr is the exact attribute Document replaces. Splitting the file
// around it once means each new endpoint costs one concatenation rather
// than an XML parse and re-serialization.
const addressAttr = `location="` + defaultAddress + `"`

var docHead, docTail = split()

func split() (head, tail []byte) {
	i := bytes.Index(partnerAPI, []byte(addressAttr))
	if i < 0 || bytes.Count(partnerAPI, []byte(addressAttr)) != 1 {
		// The generator writes this attribute exactly once; anything else
		// means the embedded file was edited by hand.
		panic("wsdl: partnerAPI.wsdl must contain " + addressAttr + " exactly once")
	}
	return partnerAPI[:i+len(`location="`)], partnerAPI[i+len(addressAttr)-1:]
}

// maxMemo bounds the memo. The endpoint usually comes from the request's
// Host header, which a client chooses, so an unbounded memo would let
// anyone grow the process's memory by varying it.
const maxMemo = 64

var (
	memoMu sync.Mutex
	memo   = make(map[string][]byte)
)

// Document returns our WSDL with the soap:address location set to endpoint
// (XML-escaped), e.g. "https://partnerd.example.com/Service.asmx". Results
// are memoized per endpoint, since this is called on every ?wsdl GET. The
// returned slice is shared between callers and must not be modified.
func Document(endpoint string) []byte {
	memoMu.Lock()
	defer memoMu.Unlock()
	if b, ok := memo[endpoint]; ok {
		return b
	}
	var esc bytes.Buffer
	// EscapeText also escapes quotes, tabs and newlines, so the result is
	// safe inside a double-quoted attribute value.
	_ = xml.EscapeText(&esc, []byte(endpoint)) // writes to a bytes.Buffer never fail
	b := make([]byte, 0, len(docHead)+esc.Len()+len(docTail))
	b = append(append(append(b, docHead...), esc.Bytes()...), docTail...)
	if len(memo) >= maxMemo {
		// Evict one arbitrary entry: the endpoints a deployment really
		// serves are few and come straight back.
		for k := range memo {
			delete(memo, k)
			break
		}
	}
	memo[endpoint] = b
	return b
}

// FaultSchema returns ETFrameworkFault.xsd, the schema of the apifault
// element found in SOAP fault details, which our WSDL imports by the
// relative location "ETFrameworkFault.xsd". The returned slice must not be
// modified.
func FaultSchema() []byte {
	return faultSchema[:len(faultSchema):len(faultSchema)]
}
