package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/partnerd/partnerd/api/partnerapi"
	"github.com/partnerd/partnerd/api/sendgrid"
	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/envcheck"
	"github.com/partnerd/partnerd/internal/goldencase"
	"github.com/partnerd/partnerd/internal/oascheck"
	"github.com/partnerd/partnerd/internal/replay"
	"github.com/partnerd/partnerd/wsdl"
)

const checkUsage = `partnerd check [flags] FILE|DIR …

Validates requests offline: FILE.xml (a SOAP envelope: well-formed, SOAP
1.1 or 1.2, an operation partnerd serves, the security header's shape, the
Body against our WSDL's schema and --wsdl's), FILE.json (a REST request:
{"method", "path", "headers", "body"}, against our OpenAPI document) or
NAME.txt (a golden case: each request). One line per problem:
FILE:LINE:COL: what is wrong. Passwords are never printed.

Exit status: 0 no problem; 1 problems found; 2 usage, or a file that
cannot be read.

Flags:
`

// runCheck is "partnerd check".
func runCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, checkUsage)
		fs.PrintDefaults()
	}
	other := fs.String("wsdl", "", "also validate SOAP bodies against this WSDL's schema (e.g. the real etframework.wsdl)")
	noSchema := fs.Bool("no-schema", false, "skip the schema validation of SOAP bodies (it needs xmllint)")
	quiet := fs.Bool("quiet", false, "print problems only, not a line per clean file")
	files, err := parseWithFiles(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fs.Usage()
		return errors.New("check: name at least one FILE")
	}
	h := &soap.Handler{}
	(&partnerapi.Service{}).Register(h)
	opts := envcheck.Options{Served: h.Operations()}
	if *noSchema && *other != "" {
		// Said together, one of them is a mistake: answer it rather than
		// skip the validation the user asked for.
		return errors.New("check: --wsdl validates against a schema, which --no-schema turns off: give one of them")
	}
	if !*noSchema {
		opts.WSDLs = []envcheck.WSDL{{Name: "partnerd", Src: wsdl.Document(replay.DefaultSOAPPath)}}
		if *other != "" {
			src, err := os.ReadFile(*other)
			if err != nil {
				return fmt.Errorf("check: --wsdl: %w", err)
			}
			opts.WSDLs = append(opts.WSDLs, envcheck.WSDL{Name: filepath.Base(*other), Src: src})
		}
	}
	oas, err := oascheck.Parse("openapi.json", sendgrid.OpenAPI())
	if err != nil {
		return fmt.Errorf("check: our OpenAPI document: %w", err)
	}
	// Messages quote names and values of the files checked.
	stdout, stderr = inert{stdout}, inert{stderr}
	paths, err := expandFiles(files)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	problems := 0
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("check: %w", err)
		}
		results, err := checkFile(path, raw, opts, oas)
		if err != nil {
			return fmt.Errorf("check: %s: %w", path, err)
		}
		for _, r := range results {
			for _, n := range r.Notes {
				fmt.Fprintf(stderr, "%s: note: %s%s\n", path, r.prefix, n)
			}
			for _, p := range r.Problems {
				fmt.Fprintf(stdout, "%s:%d:%d: %s%s\n", path, p.Line, p.Col, r.prefix, p.Msg)
				problems++
			}
			if len(r.Problems) == 0 && !*quiet {
				fmt.Fprintf(stdout, "%s: %sok: %s\n", path, r.prefix, r.Summary)
			}
		}
	}
	if problems > 0 {
		fmt.Fprintf(stderr, "check: %d problems in %d files\n", problems, len(paths))
		return exitStatus(1)
	}
	return nil
}

// fileResult is a check's result for one request of a file; prefix names
// the request in a golden case ("request 2: ").
type fileResult struct {
	envcheck.Result
	prefix string
}

// expandFiles lists a directory's request files in name order.
func expandFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range entries {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".xml", ".json", ".txt":
				names = append(names, filepath.Join(a, e.Name()))
			}
		}
		sort.Strings(names)
		out = append(out, names...)
	}
	return out, nil
}

func checkFile(path string, raw []byte, opts envcheck.Options, oas *oascheck.Document) ([]fileResult, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xml":
		return []fileResult{{Result: envcheck.CheckEnvelope(raw, opts)}}, nil
	case ".json":
		x, err := replay.ParseJSONRequest(raw)
		if err != nil {
			var se *json.SyntaxError
			p := envcheck.Problem{Line: 1, Col: 1, Msg: err.Error()}
			if errors.As(err, &se) {
				p.Line, p.Col = lineCol(raw, se.Offset)
			}
			return []fileResult{{Result: envcheck.Result{Problems: []envcheck.Problem{p}}}}, nil
		}
		r := envcheck.REST{Method: x.Method, Path: x.Path, ContentType: x.Header.Get("Content-Type"), Body: []byte(x.Body), BodyLine: 1, BodyCol: 1}
		if off := envcheck.MemberOffset(raw, "body"); off >= 0 {
			r.BodyLine, r.BodyCol = lineCol(raw, off)
		}
		return []fileResult{{Result: envcheck.CheckREST(oas, r)}}, nil
	case ".txt":
		return checkCase(string(raw), opts, oas)
	}
	return nil, errors.New("not a request file: want FILE.xml, FILE.json or NAME.txt (a golden case)")
}

// checkCase checks each request of a golden case, its placeholders filled
// as at the case's start (those quoting an earlier answer left empty).
func checkCase(text string, opts envcheck.Options, oas *oascheck.Document) ([]fileResult, error) {
	c, err := goldencase.ParseCase(text)
	if err != nil {
		return nil, err
	}
	lines := bodyLines(text)
	var out []fileResult
	for i, x := range c.Exchanges {
		body, _ := goldencase.NewState().Expand(x.Body, goldencase.Start)
		line := 1
		if i < len(lines) {
			line = lines[i]
		}
		prefix := fmt.Sprintf("request %d (%s %s): ", i+1, x.Method, x.Path)
		var res envcheck.Result
		switch {
		case x.Kind == goldencase.KindJSON || strings.HasPrefix(x.Path, "/v3/"):
			res = envcheck.CheckREST(oas, envcheck.REST{Method: x.Method, Path: x.Path, ContentType: x.Header.Get("Content-Type"), Body: []byte(body), BodyLine: line, BodyCol: 1})
		case x.Method == "POST" && strings.TrimSpace(body) != "":
			res = envcheck.CheckEnvelope([]byte(body), opts)
			for j := range res.Problems {
				res.Problems[j].Line += line - 1
			}
		default:
			continue // a GET of the WSDL, say: nothing to check offline
		}
		out = append(out, fileResult{Result: res, prefix: prefix})
	}
	return out, nil
}

// bodyLines is the line each request's body starts on in a golden case
// (the line after the blank line that ends its headers), in order.
func bodyLines(text string) []int {
	lines := strings.Split(text, "\n")
	var out []int
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "=== ") {
			continue
		}
		j := i + 1
		for j < len(lines) && lines[j] != "" {
			j++
		}
		out = append(out, j+2)
		i = j
	}
	return out
}

// lineCol is the position of byte off of raw.
func lineCol(raw []byte, off int64) (int, int) {
	line, col := 1, 1
	for i := int64(0); i < off && i < int64(len(raw)); i++ {
		if raw[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
