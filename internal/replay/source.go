package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/goldencase"
)

// Source is one recorded file made ready to send: its requests as a golden
// case (a request file is a case of one request and no set-up).
type Source struct {
	// Path is the file the requests came from; Name is its base name
	// without the extension, which names its expected answers
	// (DIR/NAME.golden).
	Path, Name string
	// Golden is true for a golden case (NAME.txt): it starts from the
	// golden clock and may carry set-up lines.
	Golden bool
	Case   goldencase.Case
}

// DefaultSOAPPath is where a bare envelope (FILE.xml) is posted when the
// URL names no path: the endpoint partnerd and the real service serve.
const DefaultSOAPPath = "/Service.asmx"

// Load reads the sources a path names: FILE.xml (one SOAP envelope),
// FILE.json (one REST request, see ParseJSONRequest), NAME.txt (a golden
// case) or a directory, whose files of those kinds are read in name order
// (others, such as NAME.golden and README.md, are skipped). soapPath is
// the path a bare envelope is posted to.
func Load(path, soapPath string) ([]Source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		s, err := loadFile(path, soapPath)
		if err != nil {
			return nil, err
		}
		return []Source{s}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() && kindOf(e.Name()) != "" && e.Name() != "README.txt" {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no .xml, .json or .txt requests in the directory", path)
	}
	var out []Source
	for _, n := range names {
		s, err := loadFile(filepath.Join(path, n), soapPath)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func kindOf(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xml":
		return "xml"
	case ".json":
		return "json"
	case ".txt":
		return "golden"
	}
	return ""
}

func loadFile(path, soapPath string) (Source, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Source{}, err
	}
	base := filepath.Base(path)
	s := Source{Path: path, Name: strings.TrimSuffix(base, filepath.Ext(base))}
	switch kindOf(base) {
	case "xml":
		s.Case = goldencase.Case{Exchanges: []goldencase.Exchange{EnvelopeExchange(raw, soapPath)}}
	case "json":
		x, err := ParseJSONRequest(raw)
		if err != nil {
			return Source{}, fmt.Errorf("%s: %w", path, err)
		}
		s.Case = goldencase.Case{Exchanges: []goldencase.Exchange{x}}
	case "golden":
		c, err := goldencase.ParseCase(string(raw))
		if err != nil {
			return Source{}, fmt.Errorf("%s: %w", path, err)
		}
		if len(c.Exchanges) == 0 {
			return Source{}, fmt.Errorf("%s: a golden case with no request (=== METHOD PATH)", path)
		}
		s.Case, s.Golden = c, true
	default:
		return Source{}, fmt.Errorf("%s: not a request file: want FILE.xml, FILE.json, NAME.txt (a golden case) or a directory", path)
	}
	return s, nil
}

// EnvelopeExchange is the POST of a recorded SOAP envelope to soapPath,
// with the headers its SOAP version asks for: text/xml and a SOAPAction
// naming the Body's operation (1.1), or application/soap+xml with an
// action parameter (1.2). An envelope partnerd cannot read is sent as
// text/xml without a SOAPAction, for the server to answer as it does.
func EnvelopeExchange(raw []byte, soapPath string) goldencase.Exchange {
	x := goldencase.Exchange{Method: http.MethodPost, Path: soapPath, Kind: goldencase.KindRaw, Header: http.Header{}, Body: string(raw)}
	x.Header.Set("Content-Type", soap.V11.ContentType())
	env, err := soap.ReadEnvelope(raw)
	if err != nil || env.Body == nil {
		return x
	}
	op, ok := soap.OperationOfBody(env.Body)
	if env.Version == soap.V12 {
		ct := env.Version.ContentType()
		if ok {
			ct += fmt.Sprintf(`; action="%s"`, op)
		}
		x.Header.Set("Content-Type", ct)
	} else if ok {
		x.Header.Set("SOAPAction", `"`+op+`"`)
	}
	return x
}

// jsonRequest is a recorded REST request, FILE.json:
//
//	{"method": "POST", "path": "/v3/mail/batch",
//	 "headers": {"Authorization": "Bearer SG.…"},
//	 "body": {…} or "text",
//	 "record": ["Location"]}
//
// A body that is an object or array is sent as its JSON text (with
// Content-Type application/json unless a header says otherwise); a string
// is sent as it is. record names the response headers to record and
// compare, as a golden case's headers= does.
type jsonRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
	Record  []string          `json:"record"`
}

var (
	methodRE = regexp.MustCompile(`^[A-Z]+$`)
	// tokenRE is an HTTP token (RFC 9110 5.6.2): a header name.
	tokenRE = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
)

// ParseJSONRequest reads a recorded REST request (see jsonRequest) as an
// exchange of kind json.
func ParseJSONRequest(raw []byte) (goldencase.Exchange, error) {
	var r jsonRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return goldencase.Exchange{}, fmt.Errorf(`a recorded REST request is {"method": …, "path": …, "headers": {…}, "body": …}: %w`, err)
	}
	if dec.More() {
		return goldencase.Exchange{}, errors.New("more than one JSON value: a .json file records one request")
	}
	r.Method = strings.ToUpper(strings.TrimSpace(r.Method))
	if !methodRE.MatchString(r.Method) {
		return goldencase.Exchange{}, fmt.Errorf("method %q: want an HTTP method such as POST", r.Method)
	}
	if u, err := url.ParseRequestURI(r.Path); err != nil || !strings.HasPrefix(r.Path, "/") || u.Host != "" || strings.ContainsAny(r.Path, " \t\r\n") {
		return goldencase.Exchange{}, fmt.Errorf("path %q: want an absolute path such as /v3/mail/batch", r.Path)
	}
	x := goldencase.Exchange{Method: r.Method, Path: r.Path, Kind: goldencase.KindJSON, Header: http.Header{}}
	for k, v := range r.Headers {
		if !tokenRE.MatchString(k) || strings.ContainsFunc(v, func(c rune) bool { return c < ' ' && c != '\t' || c == 0x7f }) {
			return goldencase.Exchange{}, fmt.Errorf("header %q: not a valid HTTP header", k)
		}
		x.Header.Set(k, v)
	}
	for _, h := range r.Record {
		x.Record = append(x.Record, http.CanonicalHeaderKey(h))
	}
	body := bytes.TrimSpace(r.Body)
	switch {
	case len(body) == 0 || string(body) == "null":
	case body[0] == '"':
		var s string
		if err := json.Unmarshal(body, &s); err != nil {
			return goldencase.Exchange{}, fmt.Errorf("body: %w", err)
		}
		x.Body = s
	default:
		x.Body = string(body)
		if x.Header.Get("Content-Type") == "" {
			x.Header.Set("Content-Type", "application/json")
		}
	}
	return x, nil
}
