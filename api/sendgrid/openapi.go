package sendgrid

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.1 document of exactly what the face
// serves, written by hand (not generated from the code), so that a test can
// hold the two against each other: server/openapi_test.go validates every
// REST golden answer against it, and against SendGrid's own excerpt.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the face's OpenAPI 3.1 document (a copy), as
// GET /v3/openapi.json serves it.
func OpenAPI() []byte { return append([]byte(nil), openAPIDocument...) }

// serveOpenAPI answers GET /v3/openapi.json: public, no key needed (the
// route's scope is empty; see ServeHTTP), so that tools can read what the
// face serves before they hold a key.
func (h *Handler) serveOpenAPI(w http.ResponseWriter, _ *http.Request, _ *caller) {
	writeRaw(w, http.StatusOK, openAPIDocument)
}
