package console

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerd/partnerd/store"
)

// maxFilter bounds a filter field of the exchanges page: longer is not a
// RequestID, operation or outcome the log holds.
const maxFilter = 200

// exchangesPage searches the whole request log (store.SearchRequests) by
// RequestID (a whole one opens that exchange, a beginning lists those it
// begins), account (the operator's choice; an account's session sees only
// its own), face, operation, outcome and latency, a page at a time.
func (f *Face) exchangesPage(w http.ResponseWriter, r *http.Request) {
	s, _ := f.current(r)
	q := r.URL.Query()
	field := func(name string) (string, bool) {
		v := strings.TrimSpace(q.Get(name))
		if len(v) > maxFilter || !utf8.ValidString(v) {
			f.fail(w, r, http.StatusBadRequest, fmt.Sprintf("The %s filter is not text of at most %d bytes.", name, maxFilter))
			return "", false
		}
		return v, true
	}
	var v [6]string
	for i, name := range []string{"id", "account", "face", "operation", "outcome", "after"} {
		var ok bool
		if v[i], ok = field(name); !ok {
			return
		}
	}
	id, account, face, op, outcome, after := v[0], v[1], v[2], v[3], v[4], v[5]
	sq := store.RequestQuery{RequestIDPrefix: id, Face: face, Operation: op, Status: outcome, After: after, Limit: pageSize + 1}
	if id != "" && after == "" {
		// Whole, and the session's: open it. Another account's is not
		// told apart from an unknown one.
		if e, err := f.cfg.Store.RequestByID(r.Context(), id); err == nil && (s.Operator() || e.AccountID == s.AccountID) {
			http.Redirect(w, r, "/console/exchanges/"+url.PathEscape(id), http.StatusSeeOther)
			return
		}
	}
	var err error
	if sq.MinDuration, err = latency(q.Get("slower")); err != nil {
		f.fail(w, r, http.StatusBadRequest, "slower than: "+err.Error())
		return
	}
	data := map[string]any{"ID": id, "Account": account, "Face": face, "Operation": op, "Outcome": outcome,
		"Slower": strings.TrimSpace(q.Get("slower"))}
	switch {
	case !s.Operator():
		sq.AccountID, data["Account"], account = s.AccountID, s.AccountName, ""
	case account != "":
		a, err := f.cfg.Store.AccountByUsername(r.Context(), account)
		if errors.Is(err, store.ErrNotFound) {
			data["Error"] = "No account is named " + account + "."
			f.render(w, r, http.StatusOK, "exchanges", data)
			return
		}
		if err != nil {
			f.fail(w, r, http.StatusInternalServerError, "The account could not be read.")
			return
		}
		sq.AccountID = a.ID
	}
	rows, err := f.cfg.Store.SearchRequests(r.Context(), sq)
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The request log could not be read.")
		return
	}
	if len(rows) > pageSize {
		rows = rows[:pageSize]
		next := url.Values{}
		for k, name := range map[string]string{"id": id, "account": account, "face": face, "operation": op, "outcome": outcome,
			"slower": strings.TrimSpace(q.Get("slower"))} {
			if name != "" {
				next.Set(k, name)
			}
		}
		next.Set("after", rows[len(rows)-1].RequestID)
		data["Next"] = "/console/exchanges?" + next.Encode()
	}
	data["Rows"], data["Paged"] = rows, after != ""
	f.render(w, r, http.StatusOK, "exchanges", data)
}

// latency reads the "slower than" filter: milliseconds, "" for none.
func latency(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	ms, err := strconv.ParseFloat(v, 64)
	if err != nil || ms < 0 || ms > 1e9 || math.IsNaN(ms) {
		return 0, errors.New("a number of milliseconds is required")
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
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
