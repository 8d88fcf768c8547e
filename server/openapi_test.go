package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/api/sendgrid"
	"github.com/partnerd/partnerd/internal/golden"
	"github.com/partnerd/partnerd/internal/oascheck"
)

// restAnswer is one recorded answer of a kind=json exchange of a golden
// case, read back from its .golden file.
type restAnswer struct {
	at           string // "NAME #n", for messages
	method, path string // the request's; placeholders ({{JSON:…}}) left in, they fill a path parameter
	status       int
	contentType  string
	body         []byte
}

var responseRE = regexp.MustCompile(`(?m)^=== response ([0-9]+)\n`)

// restAnswers reads every kind=json exchange under goldenDir with its
// recorded answer.
func restAnswers(t *testing.T) []restAnswer {
	t.Helper()
	cases, err := filepath.Glob(filepath.Join(goldenDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []restAnswer
	for _, path := range cases {
		c, err := golden.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(path), ".txt")
		raw, err := os.ReadFile(strings.TrimSuffix(path, ".txt") + ".golden")
		if err != nil {
			t.Fatal(err)
		}
		blocks := responseRE.Split(string(raw), -1)[1:]
		if len(blocks) != len(c.Exchanges) {
			t.Fatalf("%s: %d answers recorded for %d requests", name, len(blocks), len(c.Exchanges))
		}
		for i, x := range c.Exchanges {
			// The SendGrid face's answers; the token endpoints (13x)
			// are no part of its OpenAPI document.
			if x.Kind != golden.KindJSON || !strings.HasPrefix(x.Path, "/v3/") {
				continue
			}
			a, err := parseAnswer(blocks[i])
			if err != nil {
				t.Fatalf("%s #%d: %v", name, i+1, err)
			}
			a.at = fmt.Sprintf("%s #%d", name, i+1)
			a.method, a.path, _ = strings.Cut(x.Method+" "+x.Path, " ")
			a.path, _, _ = strings.Cut(a.path, "?")
			out = append(out, a)
		}
	}
	return out
}

// parseAnswer reads one kind=json block: "HTTP NNN", "Content-Type: …",
// the recorded headers, a blank line and the body, then a newline.
func parseAnswer(block string) (restAnswer, error) {
	head, body, ok := strings.Cut(block, "\n\n")
	lines := strings.Split(head, "\n")
	if !ok || len(lines) < 2 || !strings.HasPrefix(lines[0], "HTTP ") || !strings.HasPrefix(lines[1], "Content-Type:") {
		return restAnswer{}, fmt.Errorf("not a recorded answer: %.80q", block)
	}
	status, err := strconv.Atoi(strings.TrimPrefix(lines[0], "HTTP "))
	if err != nil {
		return restAnswer{}, err
	}
	return restAnswer{status: status, contentType: strings.TrimSpace(strings.TrimPrefix(lines[1], "Content-Type:")),
		body: []byte(strings.TrimSuffix(body, "\n"))}, nil
}

// TestGoldenAnswersMatchOurOpenAPI validates every REST answer of the
// golden cases against the document the face serves at /v3/openapi.json.
// Two kinds of answer belong to no operation — a method a path does not
// take (405) and a path under /v3/ that does not exist (404) — and are held
// to the document's ErrorResponse through an operation that declares it.
func TestGoldenAnswersMatchOurOpenAPI(t *testing.T) {
	doc, err := oascheck.Parse("openapi.json", sendgrid.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	answers := restAnswers(t)
	if len(answers) == 0 {
		t.Fatal("no kind=json exchanges in the golden cases")
	}
	for _, a := range answers {
		err := doc.Validate(a.method, a.path, a.status, a.contentType, a.body)
		if errors.Is(err, oascheck.ErrNoSchema) || err != nil && !declaresMethod(doc, a.method, a.path) {
			if !outsideOperations(doc, a) {
				t.Errorf("%s: %s %s %d: %v", a.at, a.method, a.path, a.status, err)
				continue
			}
			err = doc.Validate("GET", "/v3/user/scheduled_sends/any", 404, a.contentType, a.body)
		}
		if err != nil {
			t.Errorf("%s: %v", a.at, err)
		}
	}
	t.Logf("%d REST answers validated against openapi.json", len(answers))
}

// declaresMethod reports whether doc has an operation for method on
// path's template.
func declaresMethod(doc *oascheck.Document, method, path string) bool {
	tmpl, ok := doc.Template(path)
	if !ok {
		return false
	}
	for _, op := range doc.Operations() {
		if op == method+" "+tmpl {
			return true
		}
	}
	return false
}

// outsideOperations: a 405 for a method a known path does not take, or a
// 404 for a path no template matches.
func outsideOperations(doc *oascheck.Document, a restAnswer) bool {
	_, known := doc.Template(a.path)
	switch {
	case a.status == 405:
		return known && !declaresMethod(doc, a.method, a.path)
	case a.status == 404:
		return !known
	}
	return false
}

// excerptException is a known disagreement between the official excerpt
// and what partnerd answers, where partnerd follows the notes' reading
// (../shared/reference/sendgrid-v3-notes.md §9, or the §1 fact the
// excerpt leaves out). An answer the excerpt refuses passes only if every
// single problem of the validation error (each "at '…': …" leaf) is excused
// by a row whose file, method, path template and status match ("" and 0
// match any) and whose because matches the problem. Every row must excuse
// at least one answer, so the table cannot outlive the disagreement.
type excerptException struct {
	file, method, template string
	status                 int
	because                *regexp.Regexp // one problem of the validation error
	reason                 string         // the notes' section and why partnerd differs
}

var excerptExceptions = []excerptException{
	{because: regexp.MustCompile(`^at '/errors/[0-9]+/field': got null, want string$`),
		reason: `§9 "error field in examples": the excerpt types errors[].field as a string (its examples write "null"); ` +
			`BP, WEB and real servers send JSON null for an error about no field`},
	{status: 401, because: regexp.MustCompile(`^at '/errors/[0-9]+/help': got null, want object$`),
		reason: `§9 "error help": the excerpt types help as an object; real auth errors send "help": null (§1.1, the 401 body exactly)`},
	{status: 403, because: regexp.MustCompile(`declares no 403 response`),
		reason: `§9 "403 meaning" and §1.1: a key without the endpoint's scope gets 403 access forbidden on every v3 endpoint ` +
			`(ISS sendgrid-ruby#393); the excerpt's campaigns, Single Sends and lists files declare 403 only where a state refuses`},
	{file: "tsg_mail_v3.json", status: 429, because: regexp.MustCompile(`declares no 429 response`),
		reason: `§1.2: every v3 endpoint answers 429 over the rate (BP rate_limits.md); the excerpt's mail file declares no 429 for mail/batch`},
}

// problems splits a validation error into its single problems: the
// leaves "at '<pointer>': <what>" of a schema error, or the error itself.
func problems(err error) []string {
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "- "))
		if strings.HasPrefix(line, "at '") && !strings.HasSuffix(line, ": validation failed") {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		out = append(out, err.Error())
	}
	return out
}

// subsetPath is the official excerpt beside the checkout (../shared).
var subsetPath = filepath.Join("..", "..", "shared", "reference", "sendgrid-oai-subset.json")

// TestGoldenAnswersMatchTheOfficialExcerpt validates every REST answer of
// the golden cases against SendGrid's own OpenAPI files (the excerpt keyed
// by source file; each path belongs to the file that declares it), but
// for the known disagreements of excerptExceptions.
func TestGoldenAnswersMatchTheOfficialExcerpt(t *testing.T) {
	data, err := os.ReadFile(subsetPath)
	if err != nil {
		t.Skipf("official excerpt not checked: %v (it lives in ../shared beside the checkout)", err)
	}
	files, err := oascheck.ParseSubset(data, true)
	if err != nil {
		t.Fatal(err)
	}
	used := make([]int, len(excerptExceptions))
	validated, excused := 0, 0
	for _, a := range restAnswers(t) {
		file, doc := "", (*oascheck.Document)(nil)
		for name, d := range files {
			if _, ok := d.Template(a.path); ok && declaresMethod(d, a.method, a.path) {
				file, doc = name, d
			}
		}
		if doc == nil {
			t.Logf("%s: %s %s %d: no operation of the excerpt (%s)", a.at, a.method, a.path, a.status, "405 or unknown path")
			continue
		}
		err := doc.Validate(a.method, a.path, a.status, a.contentType, a.body)
		validated++
		if err == nil {
			continue
		}
		tmpl, _ := doc.Template(a.path)
		var rows []int
		for _, p := range problems(err) {
			i := excerptExceptionFor(file, a.method, tmpl, a.status, p)
			if i < 0 {
				t.Errorf("%s: %s (in %v)", a.at, p, err)
				rows = nil
				break
			}
			rows = append(rows, i)
		}
		for _, i := range rows {
			used[i]++
		}
		if len(rows) > 0 {
			excused++
		}
	}
	for i, n := range used {
		if n == 0 {
			e := excerptExceptions[i]
			t.Errorf("exception %s %s %s %d (%s) excused nothing: remove it", e.file, e.method, e.template, e.status, e.reason)
		}
	}
	t.Logf("%d REST answers validated against the official excerpt, %d of them excused by the %d exceptions", validated, excused, len(excerptExceptions))
	for i, e := range excerptExceptions {
		t.Logf("exception %d used %d times: %s", i+1, used[i], e.reason)
	}
}

// excerptExceptionFor is the row that excuses problem p of an answer, or -1.
func excerptExceptionFor(file, method, tmpl string, status int, p string) int {
	for i, e := range excerptExceptions {
		if (e.file == "" || e.file == file) && (e.method == "" || e.method == method) &&
			(e.template == "" || e.template == tmpl) && (e.status == 0 || e.status == status) && e.because.MatchString(p) {
			return i
		}
	}
	return -1
}

// The exception table excuses a problem only where its row applies, and an
// answer only when every one of its problems is excused.
func TestExcerptExceptionsExcuseOnlyTheirProblems(t *testing.T) {
	data, err := os.ReadFile(subsetPath)
	if err != nil {
		t.Skipf("official excerpt not checked: %v", err)
	}
	// The excerpt as written (nullable not rewritten), so that the mail
	// file's error field still refuses null and the rows have problems to
	// excuse: the rows' matching is what is under test.
	files, err := oascheck.ParseSubset(data, false)
	if err != nil {
		t.Fatal(err)
	}
	mail := files["tsg_mail_v3.json"]
	for _, tt := range []struct {
		name, method, path string
		status             int
		body               string
		excused            bool
	}{
		{"field null", "GET", "/v3/mail/batch/x", 400, `{"errors":[{"field":null,"message":"invalid batch id"}]}`, true},
		{"field null and a number for message", "GET", "/v3/mail/batch/x", 400, `{"errors":[{"field":null,"message":7}]}`, false},
		{"help null on a 401", "POST", "/v3/mail/batch", 401, `{"errors":[{"field":null,"message":"m","help":null}]}`, true},
		{"help null on a 400", "GET", "/v3/mail/batch/x", 400, `{"errors":[{"field":null,"message":"m","help":null}]}`, false},
		{"429 undeclared", "POST", "/v3/mail/batch", 429, `{"errors":[{"field":null,"message":"too many requests"}]}`, true},
		{"418 undeclared", "POST", "/v3/mail/batch", 418, `{}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := mail.Validate(tt.method, tt.path, tt.status, "application/json", []byte(tt.body))
			if err == nil {
				t.Fatal("the excerpt accepts it: nothing to excuse")
			}
			tmpl, _ := mail.Template(tt.path)
			excused := true
			for _, p := range problems(err) {
				if excerptExceptionFor("tsg_mail_v3.json", tt.method, tmpl, tt.status, p) < 0 {
					excused = false
				}
			}
			if excused != tt.excused {
				t.Errorf("excused = %v, want %v (%v)", excused, tt.excused, err)
			}
		})
	}
}
