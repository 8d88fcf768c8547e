// Package goldencase is the golden-case format of partnerd's tests
// (testdata/golden/README.md) without the test harness: parsing a case
// file, filling a request's placeholders, recording a response in the
// .golden form and numbering the IDs in it. internal/golden runs cases in
// tests; `partnerd replay` sends them to a running server. It imports no
// testing code, so a command may use it.
package goldencase

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is how an exchange's response is recorded.
type Kind string

// Exchange kinds.
const (
	// KindRaw records the status, the Content-Type and the body as the
	// server wrote it: the SOAP face's kind, and the default.
	KindRaw Kind = "raw"
	// KindJSON records the status, the Content-Type, the response
	// headers the request names (Exchange.Record) and the body, indented
	// when it is JSON. A REST face's kind.
	KindJSON Kind = "json"
)

// Exchange is one request of a case, and how to record its response.
type Exchange struct {
	Method, Path string
	// Advance moves the manual clock forward before the request.
	Advance time.Duration
	Kind    Kind
	Header  http.Header
	Body    string
	// Record names the response headers KindJSON records, in this order.
	Record []string
}

// Case is one golden case file: set-up lines, then exchanges.
type Case struct {
	// Setup holds the lines before the first request, trimmed, without
	// blank lines and comments (#). The test applies them (see Fixture).
	Setup     []string
	Exchanges []Exchange
}

// Parse reads a case file.
func Parse(path string) (Case, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Case{}, err
	}
	return ParseCase(string(raw))
}

// ParseCase reads a case from its text.
func ParseCase(raw string) (Case, error) {
	var c Case
	// The newline lets a case without set-up start with its first request.
	parts := strings.Split("\n"+raw, "\n=== ")
	for _, line := range strings.Split(parts[0], "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			c.Setup = append(c.Setup, line)
		}
	}
	for _, p := range parts[1:] {
		head, rest, _ := strings.Cut(p, "\n")
		f := strings.Fields(head)
		if len(f) < 2 {
			return Case{}, fmt.Errorf("bad request line %q: want === METHOD PATH [option=value …]", head)
		}
		x := Exchange{Method: f[0], Path: f[1], Kind: KindRaw, Header: http.Header{}}
		for _, opt := range f[2:] {
			k, v, _ := strings.Cut(opt, "=")
			switch k {
			case "advance":
				d, err := time.ParseDuration(v)
				if err != nil {
					return Case{}, fmt.Errorf("request line %q: %w", head, err)
				}
				x.Advance = d
			case "kind":
				switch Kind(v) {
				case KindRaw, KindJSON:
					x.Kind = Kind(v)
				default:
					return Case{}, fmt.Errorf("request line %q: kind %q: want raw or json", head, v)
				}
			case "headers":
				for _, h := range strings.Split(v, ",") {
					x.Record = append(x.Record, http.CanonicalHeaderKey(h))
				}
			default:
				return Case{}, fmt.Errorf("request line %q: unknown option %q", head, opt)
			}
		}
		if len(x.Record) > 0 && x.Kind != KindJSON {
			return Case{}, fmt.Errorf("request line %q: headers= needs kind=json", head)
		}
		hdrs, body, _ := strings.Cut(rest, "\n\n")
		for _, h := range strings.Split(hdrs, "\n") {
			if k, v, ok := strings.Cut(h, ":"); ok {
				x.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		x.Body = strings.TrimRight(body, "\n")
		c.Exchanges = append(c.Exchanges, x)
	}
	return c, nil
}

// Numbering replaces every match of Pattern in the recorded responses by
// Format(n), n counting distinct matches (compared case-insensitively)
// from 1 in order of appearance within a case. When Pattern has a
// parenthesised group, only the group's text is the ID (and replaced): the
// rest of the match is context that keeps the pattern from numbering text
// that merely looks like an ID, e.g. the quotes around a JSON string.
type Numbering struct {
	Pattern *regexp.Regexp
	Format  func(n int) string
	// Skip, when set, leaves a match it reports true for as it is: a
	// word of the protocol that has an ID's shape.
	Skip func(id string) bool
}

// GUIDs numbers GUIDs as 00000000-0000-0000-0000-00000000000N.
var GUIDs = Numbering{
	Pattern: regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`),
	Format:  func(n int) string { return fmt.Sprintf("00000000-0000-0000-0000-%012d", n) },
}

// Normalizer applies Numberings, keeping the numbers a case has given.
type Normalizer struct {
	numberings []Numbering
	seen       []map[string]string
}

// NewNormalizer numbers GUIDs and then each of extra, in that order.
func NewNormalizer(extra ...Numbering) *Normalizer {
	n := &Normalizer{numberings: append([]Numbering{GUIDs}, extra...)}
	n.seen = make([]map[string]string, len(n.numberings))
	for i := range n.seen {
		n.seen[i] = map[string]string{}
	}
	return n
}

// Normalize replaces the IDs in s by their numbers.
func (n *Normalizer) Normalize(s string) string {
	for i, nb := range n.numberings {
		seen := n.seen[i]
		number := func(id string) string {
			if nb.Skip != nil && nb.Skip(id) {
				return id
			}
			id = strings.ToLower(id)
			if _, ok := seen[id]; !ok {
				seen[id] = nb.Format(len(seen) + 1)
			}
			return seen[id]
		}
		if nb.Pattern.NumSubexp() == 0 {
			s = nb.Pattern.ReplaceAllStringFunc(s, number)
			continue
		}
		var b strings.Builder
		last := 0
		for _, m := range nb.Pattern.FindAllStringSubmatchIndex(s, -1) {
			if m[2] < 0 {
				continue
			}
			b.WriteString(s[last:m[2]])
			b.WriteString(number(s[m[2]:m[3]]))
			last = m[3]
		}
		b.WriteString(s[last:])
		s = b.String()
	}
	return s
}

// SendGridIDs number the SendGrid face's random IDs, which are not GUIDs,
// where they appear as IDs (a JSON string, an API key token, X-Message-Id),
// keeping their length (a 22-character member name such as
// "generate_plain_content", followed by its colon, is left alone): batch IDs (32 letters and digits) as
// batch000…N, key ids and X-Message-Ids (22 characters of base64url) as
// id000…N, key secrets (43) as secret000…N, the random token in a
// campaign's sends' CustomerKeys (16 hex digits) as token000…N.
// X-RateLimit-Reset is a real
// UNIX time (the rate limiter runs on the wall clock, never the manual
// one), so it is masked rather than numbered. The server's golden test and
// `partnerd replay` number them alike.
var SendGridIDs = []Numbering{
	{Pattern: regexp.MustCompile(`"SG\.[A-Za-z0-9_-]{22}\.([A-Za-z0-9_-]{43})"`),
		Format: func(n int) string { return fmt.Sprintf("secret%037d", n) }},
	{Pattern: regexp.MustCompile(`"([A-Za-z0-9]{32})"`),
		Format: func(n int) string { return fmt.Sprintf("batch%027d", n) }},
	{Pattern: regexp.MustCompile(`(?:"|"SG\.|\nX-Message-Id: )([A-Za-z0-9_-]{22})(?:"[^:]|[.\n])`),
		Format: func(n int) string { return fmt.Sprintf("id%020d", n) },
		// OAuth2's "unsupported_grant_type" has a 22-character id's
		// shape; no random id is lower-case letters and _ alone.
		Skip: regexp.MustCompile(`^[a-z_]+$`).MatchString},
	{Pattern: regexp.MustCompile(`campaign-[0-9]+-([0-9a-f]{16})-[0-9]+`),
		Format: func(n int) string { return fmt.Sprintf("token%011d", n) }},
	// The token endpoints' tokens (43 characters of base64url), as
	// accesstoken000…N.
	{Pattern: regexp.MustCompile(`"(?:access_token|accessToken|legacyToken|refreshToken)": "([A-Za-z0-9_-]{43})"`),
		Format: func(n int) string { return fmt.Sprintf("accesstoken%032d", n) }},
	{Pattern: regexp.MustCompile(`\nX-Ratelimit-Reset: ([0-9]+)\n`),
		Format: func(int) string { return "(unix seconds)" }},
}

var (
	nowRE       = regexp.MustCompile(`\{\{NOW([+-][0-9a-z.]+)?\}\}`)
	unixRE      = regexp.MustCompile(`\{\{UNIX([+-][0-9a-z.]+)?\}\}`)
	digestRE    = regexp.MustCompile(`\{\{DIGEST:([^}]*)\}\}`)
	nonceRE     = regexp.MustCompile(`<(?:\w+:)?Nonce[^>]*>([^<]*)<`)
	createdRE   = regexp.MustCompile(`<(?:\w+:)?UsernameToken[\s\S]*?<(?:\w+:)?Created[^>]*>([^<]*)<`)
	requestIDRE = regexp.MustCompile(`<RequestID>([^<]*)</RequestID>`)
	jsonRE      = regexp.MustCompile(`\{\{JSON:([A-Za-z0-9_]+)\}\}`)
	padRE       = regexp.MustCompile(`\{\{PAD:([0-9]+)\}\}`)
)

// Record is how x's response (status, header, body) is written into a
// .golden file, before normalisation: the status and Content-Type, then
// for KindJSON the headers x.Record names and the body indented.
func Record(x Exchange, status int, header http.Header, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d\nContent-Type: %s\n", status, header.Get("Content-Type"))
	text := string(body)
	if x.Kind == KindJSON {
		for _, name := range x.Record {
			for _, v := range header.Values(name) {
				fmt.Fprintf(&b, "%s: %s\n", name, v)
			}
		}
		text = indentJSON(body)
	}
	fmt.Fprintf(&b, "\n%s\n", text)
	return b.String()
}

// indentJSON is a JSON body indented by two spaces, members in the order
// the server wrote them (that order is part of what is pinned); a body
// that is not JSON is kept as it is.
func indentJSON(body []byte) string {
	var b bytes.Buffer
	if len(bytes.TrimSpace(body)) == 0 || json.Indent(&b, bytes.TrimSpace(body), "", "  ") != nil {
		return string(body)
	}
	return b.String()
}

// State is what a case's later requests may quote of the earlier answers.
type State struct {
	// requestID is the <RequestID> of the latest SOAP answer holding one.
	requestID string
	// json holds, by member name, the latest string (or number) value
	// of each top-level member of a JSON answer — or of the objects of a
	// top-level array, or of a "result" array — as the server wrote it.
	json map[string]string
}

// NewState is the state of a case before its first answer.
func NewState() *State { return &State{json: map[string]string{}} }

// Remember notes what later requests may quote of an answer.
func (st *State) Remember(body []byte) {
	if m := requestIDRE.FindSubmatch(body); m != nil {
		st.requestID = string(m[1])
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return
	}
	var objects []any
	switch v := v.(type) {
	case map[string]any:
		objects = append(objects, v)
		if r, ok := v["result"].([]any); ok {
			objects = append(objects, r...)
		}
	case []any:
		objects = v
	}
	for _, o := range objects {
		m, _ := o.(map[string]any)
		for k, val := range m {
			switch val := val.(type) {
			case string:
				st.json[k] = val
			case float64:
				st.json[k] = strconv.FormatFloat(val, 'f', -1, 64)
			}
		}
	}
}

// Expand fills a request's placeholders: {{NOW}} and {{NOW±D}} (RFC 3339),
// {{UNIX}} and {{UNIX±D}} (Unix seconds, as JSON faces take times),
// {{REQUEST_ID}} (the RequestID of the previous SOAP response),
// {{JSON:name}} (member name of the latest JSON answer that had one, see
// State), {{PAD:N}} (N bytes of "x", for size limits) and
// {{DIGEST:password}} (the WS-Security PasswordDigest of the body's Nonce
// and Created).
func (st *State) Expand(body string, now time.Time) (string, error) {
	var err error
	body = jsonRE.ReplaceAllStringFunc(body, func(m string) string {
		name := jsonRE.FindStringSubmatch(m)[1]
		v, ok := st.json[name]
		if !ok && err == nil {
			err = fmt.Errorf("%s: no earlier JSON answer has a member %q", m, name)
		}
		return v
	})
	body = padRE.ReplaceAllStringFunc(body, func(m string) string {
		n, _ := strconv.Atoi(padRE.FindStringSubmatch(m)[1])
		return strings.Repeat("x", n)
	})
	lastRequestID := st.requestID
	offset := func(re *regexp.Regexp, m string) time.Time {
		sub := re.FindStringSubmatch(m)
		if sub[1] == "" {
			return now
		}
		d, e := time.ParseDuration(sub[1])
		if e != nil && err == nil {
			err = fmt.Errorf("bad %s: %w", m, e)
		}
		return now.Add(d)
	}
	body = nowRE.ReplaceAllStringFunc(body, func(m string) string { return offset(nowRE, m).Format(time.RFC3339) })
	body = unixRE.ReplaceAllStringFunc(body, func(m string) string { return strconv.FormatInt(offset(unixRE, m).Unix(), 10) })
	body = strings.ReplaceAll(body, "{{REQUEST_ID}}", lastRequestID)
	body = digestRE.ReplaceAllStringFunc(body, func(m string) string {
		pw := digestRE.FindStringSubmatch(m)[1]
		nonce, created := nonceRE.FindStringSubmatch(body), createdRE.FindStringSubmatch(body)
		if nonce == nil || created == nil {
			if err == nil {
				err = fmt.Errorf("{{DIGEST}} needs a Nonce and a Created in the request")
			}
			return m
		}
		n, e := base64.StdEncoding.DecodeString(nonce[1])
		if e != nil && err == nil {
			err = fmt.Errorf("{{DIGEST}}: Nonce: %w", e)
		}
		return PasswordDigest(n, created[1], pw)
	})
	return body, err
}

// PasswordDigest is the WS-Security UsernameToken PasswordDigest:
// base64(SHA-1(nonce + created + password)).
func PasswordDigest(nonce []byte, created, password string) string {
	h := sha1.New()
	h.Write(nonce)
	io.WriteString(h, created)
	io.WriteString(h, password)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// LineDiff shows the first differing line, with XML split at tags so that a
// one-line envelope still points at the element that changed.
func LineDiff(want, got string) string {
	split := func(s string) []string {
		var lines []string
		sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(s, "><", ">\n<")))
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		return lines
	}
	w, g := split(want), split(got)
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, wl, gl)
		}
	}
	return "(same lines, different bytes)"
}

// Host is the Host every case's requests name: answers that quote their
// own URL (a fault's actor, a page's next link) record it.
const Host = "partnerd.test"

// Start is the clock every case starts from, before its set-up lines.
var Start = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// When parses a set-up line's time: absolute (RFC 3339) or relative to
// now ("+2h", "-5m").
func When(v string, now time.Time) (time.Time, error) {
	if strings.HasPrefix(v, "+") || strings.HasPrefix(v, "-") {
		d, err := time.ParseDuration(v)
		if err != nil {
			return time.Time{}, fmt.Errorf("bad relative time %q", v)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q", v)
	}
	return t.UTC(), nil
}
