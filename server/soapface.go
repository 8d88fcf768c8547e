package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/wsdl"
)

// soapFace is the Marketing Cloud SOAP Partner API: the endpoint (POST an
// envelope, GET ?wsdl), the WSDL and its fault schema. Its handler writes
// the exchange log itself (it parses the envelope, so it masks the
// WS-Security header exactly) and answers overload with apifault Code 17.
type soapFace struct {
	handler *soap.Handler
}

// endpointPath is the SOAP endpoint as the WSDL names it; IIS paths are
// case-insensitive and legacy configs spell it every way.
const endpointPath = "/Service.asmx"

func (soapFace) Name() string { return "soap" }

func (f soapFace) Mount(mux interface {
	Handle(pattern string, handler http.Handler)
}) {
	mux.Handle("POST "+endpointPath, f.handler)
	mux.Handle("GET "+endpointPath, f.handler) // ?wsdl; anything else is told to POST
	// Any other method gets the endpoint's own 405, not the mux's: its
	// text is part of the wire behaviour (testdata/golden/080).
	mux.Handle(endpointPath, f.handler)
	mux.Handle("GET /etframework.wsdl", wsdlHandler)
	mux.Handle("GET /ETFrameworkFault.xsd", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write(wsdl.FaultSchema())
	}))
}

func (soapFace) CaseInsensitivePaths() []string { return []string{endpointPath} }

func (soapFace) LogsOwnExchanges() bool { return true }

// Refuse answers with a Server fault (Code 17) over HTTP 503 with
// Retry-After, in the SOAP version of the request's Content-Type. Unlike
// the per-account faults this is transport-level overload, which load
// balancers and HTTP clients understand as "try again shortly".
func (f soapFace) Refuse(w http.ResponseWriter, r *http.Request, reason string, retryAfter time.Duration) {
	f.handler.Refuse(w, r, overload(reason, retryAfter))
}

// OverloadError is the same fault, which the handler answers as it is when
// reading the body fails with it.
func (soapFace) OverloadError(reason string, retryAfter time.Duration) error {
	return overload(reason, retryAfter)
}

func overload(what string, retryAfter time.Duration) *soap.Fault {
	return &soap.Fault{Kind: soap.Server, String: "The server is busy: too many " + what + " in flight. Retry later.",
		APICode: soap.CodeRateLimited, HTTPStatus: http.StatusServiceUnavailable, RetryAfter: retryAfter}
}

// wsdlHandler serves the WSDL with the endpoint's address as the client
// reached it (scheme, host, and the endpoint's spelling when it asked
// /service.asmx?wsdl).
var wsdlHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if !strings.EqualFold(path, endpointPath) {
		path = endpointPath
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(wsdl.Document(scheme + "://" + r.Host + path))
})
