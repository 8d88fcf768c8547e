package console

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/partnerd/partnerd/store"
)

// exchangeScan is how many of the newest exchanges the list filters: the
// store reads the request log newest first, by count.
const exchangeScan = 2000

// exchangesPage lists the request log, filtered by RequestID, account
// (operator only), face, operation and outcome. A RequestID opens that
// exchange directly.
func (f *Face) exchangesPage(w http.ResponseWriter, r *http.Request) {
	s, _ := f.current(r)
	q := r.URL.Query()
	if id := strings.TrimSpace(q.Get("id")); id != "" {
		http.Redirect(w, r, "/console/exchanges/"+url.PathEscape(id), http.StatusSeeOther)
		return
	}
	account, face, op, outcome := strings.TrimSpace(q.Get("account")), q.Get("face"), strings.TrimSpace(q.Get("operation")), strings.TrimSpace(q.Get("outcome"))
	if !s.Operator() {
		account = s.AccountName
	}
	all, err := f.cfg.Store.RecentRequests(r.Context(), exchangeScan)
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The request log could not be read.")
		return
	}
	var rows []store.RequestLog
	for _, e := range all {
		if !s.Operator() && e.AccountID != s.AccountID {
			continue
		}
		if (account != "" && !strings.EqualFold(e.Username, account)) || (face != "" && e.Face != face) ||
			(op != "" && !strings.EqualFold(e.Operation, op)) || (outcome != "" && !strings.EqualFold(e.Status, outcome)) {
			continue
		}
		rows = append(rows, e)
		if len(rows) == pageSize {
			break
		}
	}
	f.render(w, r, http.StatusOK, "exchanges", map[string]any{"Rows": rows, "Account": account, "Face": face,
		"Operation": op, "Outcome": outcome, "Scan": exchangeScan})
}

// exchange reads one exchange the session may see: another account's is
// answered as unknown.
func (f *Face) exchange(r *http.Request, s session) (store.RequestLog, error) {
	e, err := f.cfg.Store.RequestByID(r.Context(), r.PathValue("rid"))
	if err != nil {
		return e, err
	}
	if !s.Operator() && e.AccountID != s.AccountID {
		return store.RequestLog{}, store.ErrNotFound
	}
	return e, nil
}

func (f *Face) exchangeOr404(w http.ResponseWriter, r *http.Request) (store.RequestLog, bool) {
	s, _ := f.current(r)
	e, err := f.exchange(r, s)
	if errors.Is(err, store.ErrNotFound) {
		f.fail(w, r, http.StatusNotFound, "No exchange with RequestID "+quoteShort(r.PathValue("rid"))+".")
		return e, false
	}
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The request log could not be read.")
		return e, false
	}
	return e, true
}

func (f *Face) exchangePage(w http.ResponseWriter, r *http.Request) {
	e, ok := f.exchangeOr404(w, r)
	if !ok {
		return
	}
	f.render(w, r, http.StatusOK, "exchange", map[string]any{"E": e,
		"Request": highlight(pretty(e.Request)), "Response": highlight(pretty(e.Response)), "Curl": curlOf(r, e)})
}

// exchangeGolden downloads the exchange as a golden case (the format of
// testdata/golden/*.txt, see internal/golden): the clock at its time and
// its request, for the user's own envelope tests.
func (f *Face) exchangeGolden(w http.ResponseWriter, r *http.Request) {
	e, ok := f.exchangeOr404(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFileName(e.RequestID)+`.txt"`)
	io.WriteString(w, goldenCase(e))
}

// goldenCase writes e as a golden case file. Secrets were masked when the
// exchange was logged, so the case carries "****" where they were: set up
// the account with the password the test uses.
func goldenCase(e store.RequestLog) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Exchange %s (%s %s, %s, answered %d %s), downloaded from the partnerd console.\n",
		oneLine(e.RequestID), e.Face, oneLine(e.Operation), oneLine(e.Username), e.HTTPStatus, oneLine(e.Status))
	b.WriteString("# Secrets were masked (****) when it was logged: put the test account's own in their place.\n")
	if e.RequestNote != "" {
		fmt.Fprintf(&b, "# The request as logged is not whole: %s\n", oneLine(e.RequestNote))
	}
	fmt.Fprintf(&b, "clock %s\n", e.ReceivedAt.UTC().Format(time.RFC3339))
	line := "=== " + e.Method + " " + e.Path
	if isJSON(e.Request) || e.Face == "sendgrid" {
		line += " kind=json"
	}
	b.WriteString(line + "\n")
	for _, h := range requestHeaders(e) {
		b.WriteString(h[0] + ": " + h[1] + "\n")
	}
	b.WriteString("\n")
	b.WriteString(e.Request)
	if !strings.HasSuffix(e.Request, "\n") {
		b.WriteString("\n")
	}
	return b.String()
}

// requestHeaders are the headers a replay of e needs. The log keeps no
// headers, so they are what the face reads: SOAP's content type and
// action, REST's bearer key (masked, as logged).
func requestHeaders(e store.RequestLog) [][2]string {
	switch {
	case e.Face == "soap":
		return [][2]string{{"Content-Type", "text/xml; charset=utf-8"}, {"SOAPAction", `"` + oneLine(e.Operation) + `"`}}
	case isJSON(e.Request) || e.Face == "sendgrid":
		h := [][2]string{{"Authorization", "Bearer ****"}}
		if e.Request != "" {
			h = append(h, [2]string{"Content-Type", "application/json"})
		}
		return h
	}
	return nil
}

// curlOf is the exchange as a curl command against the server it was
// read from.
func curlOf(r *http.Request, e store.RequestLog) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "curl -sS -X %s %s", e.Method, shellQuote(scheme+"://"+r.Host+e.Path))
	for _, h := range requestHeaders(e) {
		fmt.Fprintf(&b, " \\\n  -H %s", shellQuote(h[0]+": "+h[1]))
	}
	if e.Request != "" {
		fmt.Fprintf(&b, " \\\n  --data-binary %s", shellQuote(e.Request))
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// pretty indents an XML or JSON body for reading; anything else (or a
// body cut short) is shown as stored.
func pretty(body string) string {
	t := strings.TrimSpace(body)
	switch {
	case isJSON(t):
		var b bytes.Buffer
		if json.Indent(&b, []byte(t), "", "  ") == nil {
			return b.String()
		}
	case strings.HasPrefix(t, "<"):
		if s, err := indentXML(t); err == nil {
			return s
		}
	}
	return body
}

func isJSON(s string) bool {
	t := strings.TrimSpace(s)
	return strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")
}

// indentXML re-indents XML token by token, keeping the prefixes as
// written: what the client sent, laid out. An element holding only text
// stays on one line.
func indentXML(s string) (string, error) {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = false
	var b strings.Builder
	depth := 0
	name := func(n xml.Name) string {
		if n.Space != "" {
			return n.Space + ":" + n.Local
		}
		return n.Local
	}
	var pending string // text of the element opened last, not yet closed
	open := false      // the last token was a start tag
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if open {
				b.WriteString(">" + pending) // mixed content: text before a child
			}
			b.WriteString("\n" + strings.Repeat("  ", depth) + "<" + name(t.Name))
			for _, a := range t.Attr {
				b.WriteString(" " + name(a.Name) + `="` + attrEscaper.Replace(a.Value) + `"`)
			}
			depth++
			open, pending = true, ""
		case xml.EndElement:
			depth--
			if depth < 0 {
				// RawToken does not match end tags to start tags.
				return "", errors.New("an end tag closes no element")
			}
			switch {
			case open && pending == "":
				b.WriteString(" />")
			case open:
				b.WriteString(">" + pending + "</" + name(t.Name) + ">")
			default:
				b.WriteString("\n" + strings.Repeat("  ", depth) + "</" + name(t.Name) + ">")
			}
			open, pending = false, ""
		case xml.CharData:
			txt := strings.TrimSpace(string(t))
			if txt == "" {
				continue
			}
			txt = textEscaper.Replace(txt)
			if open {
				pending += txt
			} else {
				b.WriteString("\n" + strings.Repeat("  ", depth) + txt)
			}
		case xml.ProcInst:
			b.WriteString("<?" + t.Target + " " + string(t.Inst) + "?>")
		case xml.Comment:
			if open {
				b.WriteString(">")
				open = false
			}
			b.WriteString("\n" + strings.Repeat("  ", depth) + "<!--" + string(t) + "-->")
		}
	}
	if depth != 0 {
		return "", errors.New("unclosed element: the body was cut")
	}
	return strings.TrimPrefix(b.String(), "\n"), nil
}

// What the pretty-printer escapes again of what the decoder unescaped:
// only what XML requires, so that the text reads as the client wrote it.
var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;")
)

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return fmt.Sprintf("%q", s)
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// actionsPage lists operator actions (the operator's only: they span
// accounts).
func (f *Face) actionsPage(w http.ResponseWriter, r *http.Request) {
	s, _ := f.current(r)
	acts, err := f.cfg.Store.OperatorActions(r.Context(), 200)
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The operator actions could not be read.")
		return
	}
	if !s.Operator() {
		mine := acts[:0]
		for _, a := range acts {
			if a.AccountID == s.AccountID {
				mine = append(mine, a)
			}
		}
		acts = mine
	}
	f.render(w, r, http.StatusOK, "actions", map[string]any{"Rows": acts})
}
