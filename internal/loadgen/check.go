package loadgen

import (
	"bytes"
	"fmt"
	"strings"
)

// Kind is a class of failed request.
type Kind string

// The kinds of error a request can end in. A request fails with exactly one:
// the first that applies, in this order.
const (
	// KindTransport: no HTTP response (connection refused or reset,
	// timeout, malformed HTTP).
	KindTransport Kind = "transport"
	// KindHTTPStatus: an HTTP status other than 200 without a SOAP
	// fault in the body (404, 413, 503 from a proxy …).
	KindHTTPStatus Kind = "http_status"
	// KindFault: a SOAP Fault, whatever the HTTP status (SOAP 1.1 faults
	// come with 500, but some stacks send them with 200).
	KindFault Kind = "soap_fault"
	// KindNotOK: a well-formed answer that says the request did not do
	// what it asked: OverallStatus other than OK, a Retrieve without the
	// Send, a WSDL request answered with something else.
	KindNotOK Kind = "not_ok"
)

// Kinds lists every Kind, in report order.
var Kinds = []Kind{KindTransport, KindHTTPStatus, KindFault, KindNotOK}

// Problem is why one request failed: its Kind and a short detail for the
// report ("HTTP 503", "Login failed", "OverallStatus Error: 7094 …").
type Problem struct {
	Kind   Kind
	Detail string
}

func (p *Problem) Error() string { return string(p.Kind) + ": " + p.Detail }

// Check judges one HTTP answer to a request of workload w: nil when it is a
// success. It reads the body with byte searches instead of an XML parser,
// so that checking every answer costs the generator (pinned to its own
// core, and which must not become the bottleneck) almost nothing; the
// elements it looks for are matched by local name with any prefix, since
// servers differ in prefixes and default namespaces.
func Check(w Workload, status int, body []byte) *Problem {
	if w == WSDL {
		if status != 200 {
			return &Problem{KindHTTPStatus, fmt.Sprintf("HTTP %d", status)}
		}
		if _, _, ok := element(body, "definitions"); !ok {
			return &Problem{KindNotOK, "the answer is not a WSDL document"}
		}
		return nil
	}
	if start, end, ok := element(body, "Fault"); ok {
		return &Problem{KindFault, faultText(body[start:end])}
	}
	if status != 200 {
		return &Problem{KindHTTPStatus, fmt.Sprintf("HTTP %d", status)}
	}
	overall, ok := text(body, "OverallStatus")
	if !ok {
		return &Problem{KindNotOK, "the answer has no OverallStatus"}
	}
	if overall != "OK" {
		detail := "OverallStatus " + overall
		// The first failed Result says why; keep its code and message.
		if code, ok := text(body, "ErrorCode"); ok {
			detail += ": ErrorCode " + code
		}
		if msg, ok := text(body, "StatusMessage"); ok && msg != "" {
			detail += ": " + cut(msg, 100)
		} else if msg, ok := text(body, "OverallStatusMessage"); ok && msg != "" {
			detail += ": " + cut(msg, 100)
		}
		return &Problem{KindNotOK, detail}
	}
	if w == Retrieve {
		if _, _, ok := element(body, "Results"); !ok {
			return &Problem{KindNotOK, "Retrieve answered OK without the Send"}
		}
	}
	return nil
}

// faultText returns the fault's reason: faultstring (SOAP 1.1) or the
// Reason's Text (SOAP 1.2).
func faultText(fault []byte) string {
	if s, ok := text(fault, "faultstring"); ok {
		return cut(s, 100)
	}
	if s, ok := text(fault, "Text"); ok {
		return cut(s, 100)
	}
	return "SOAP Fault"
}

// text returns the trimmed character data of the first element named local
// (with or without a prefix), with the five predefined entities decoded.
func text(doc []byte, local string) (string, bool) {
	start, end, ok := element(doc, local)
	if !ok {
		return "", false
	}
	s := strings.TrimSpace(string(doc[start:end]))
	if strings.IndexByte(s, '&') >= 0 {
		s = xmlUnescaper.Replace(s)
	}
	return s, true
}

var xmlUnescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'")

// element finds the first element whose local name is local, and returns
// the span of its content (empty for a self-closed element). It is a
// scanner, not a parser: good enough for answers from SOAP stacks, which
// never put markup in comments or CDATA where these names occur.
func element(doc []byte, local string) (start, end int, ok bool) {
	for i := 0; ; {
		j := bytes.Index(doc[i:], []byte(local))
		if j < 0 {
			return 0, 0, false
		}
		at := i + j
		after := at + len(local)
		i = after
		if after >= len(doc) {
			return 0, 0, false
		}
		// The name must end here (">", "/>" or attributes follow) …
		if c := doc[after]; c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			continue
		}
		// … and start right after "<" or "<prefix:".
		k := at - 1
		if k >= 0 && doc[k] == ':' {
			k--
			for k >= 0 && isNameByte(doc[k]) {
				k--
			}
		}
		if k < 0 || doc[k] != '<' || (k+1 < at && doc[k+1] == '/') {
			continue
		}
		gt := bytes.IndexByte(doc[after:], '>')
		if gt < 0 {
			return 0, 0, false
		}
		open := after + gt
		if doc[open-1] == '/' {
			return open + 1, open + 1, true
		}
		closing := "</" + string(doc[k+1:at]) + local + ">"
		c := bytes.Index(doc[open+1:], []byte(closing))
		if c < 0 {
			return 0, 0, false
		}
		return open + 1, open + 1 + c, true
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// allTexts returns the text of every element named local, in order (the
// NewIDs of a Create answer).
func allTexts(doc []byte, local string) []string {
	var out []string
	for {
		start, end, ok := element(doc, local)
		if !ok {
			return out
		}
		out = append(out, strings.TrimSpace(string(doc[start:end])))
		doc = doc[end:]
	}
}
