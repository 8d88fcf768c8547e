// Package generated holds a gowsdl client generated at run time: interop/run.sh runs gowsdl on
// the WSDL under test (the server's ?wsdl, or the full reference etframework.wsdl), writes the
// output outside the tree and adds it to this package with `go build -overlay`, then builds
// interop/go with -tags generated. Nothing generated is committed here.
package generated
