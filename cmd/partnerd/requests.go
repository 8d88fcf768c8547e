package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/partnerd/partnerd/store"
)

// runRequests shows the request log: a table of the last N exchanges, or one
// exchange in full (both envelopes) with --id.
func runRequests(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := newStoreCommand("requests", stderr)
	last := cmd.Int("last", 20, "how many of the newest exchanges to list")
	id := cmd.String("id", "", "show this RequestID's request and response envelopes")
	credential := cmd.String("credential", "", "only the exchanges made with this credential: a username, API key ID or token client ID, or KIND:NAME (user:U, apikey:ID, client:ID)")
	db, err := cmd.parseAndOpen(ctx, args, func() error {
		if *last <= 0 {
			return errors.New("--last must be positive")
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer db.Close()

	if *id != "" {
		e, err := db.RequestByID(ctx, *id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no request %s in the log", *id)
		}
		if err != nil {
			return err
		}
		// Everything here came from a client: shown so that no byte of it
		// can move the cursor, recolour or clear the operator's terminal.
		fmt.Fprintf(stdout, "RequestID:  %s\nReceived:   %s\nDuration:   %s\nAccount:    %s\nCredential: %s\nFace:       %s\nRequest:    %s %s\nOperation:  %s\nStatus:     %s (HTTP %d)\nRemote:     %s\n",
			visible(e.RequestID, false), e.ReceivedAt.UTC().Format(time.RFC3339Nano), e.Duration, visible(e.Username, false),
			visible(credentialLabel(e), false), visible(e.Face, false), visible(e.Method, false), visible(e.Path, false), visible(e.Operation, false), visible(e.Status, false), e.HTTPStatus, visible(e.Remote, false))
		if e.Detail != "" {
			fmt.Fprintf(stdout, "Detail:     %s\n", visible(e.Detail, false))
		}
		fmt.Fprintf(stdout, "\n--- request (secrets masked) ---\n%s%s\n\n--- response ---\n%s%s\n",
			bodyNote(e.RequestSize, e.RequestNote), visible(e.Request, true), bodyNote(e.ResponseSize, e.ResponseNote), visible(e.Response, true))
		return nil
	}
	var entries []store.RequestLog
	if *credential != "" {
		kind, name, ok := strings.Cut(*credential, ":")
		if !ok {
			kind, name = "", *credential
		}
		entries, err = db.RequestsByCredential(ctx, kind, name, *last)
	} else {
		entries, err = db.RecentRequests(ctx, *last)
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIVED\tREQUEST ID\tACCOUNT\tCREDENTIAL\tFACE\tMETHOD\tPATH\tOPERATION\tSTATUS\tHTTP\tDURATION\tDETAIL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.ReceivedAt.UTC().Format(time.RFC3339), cell(e.RequestID),
			cell(e.Username), cell(credentialLabel(e)), cell(e.Face), cell(e.Method), cell(e.Path), cell(e.Operation), cell(e.Status), e.HTTPStatus, e.Duration.Round(time.Microsecond), cell(e.Detail))
	}
	return tw.Flush()
}

// credentialLabel is how a log entry's credential is shown: KIND:NAME,
// "" when the request did not log in.
func credentialLabel(e store.RequestLog) string {
	if e.Credential == "" {
		return ""
	}
	return e.CredentialKind + ":" + e.Credential
}

// bodyNote is the line said before a stored body that is not the whole
// body: cut to the log's limit, or described instead of kept.
func bodyNote(size int64, note string) string {
	if note == "" {
		return ""
	}
	return fmt.Sprintf("[%d bytes; %s]\n", size, visible(note, false))
}

// visible returns s with every character a terminal would act on rather
// than print shown as an escape: C0 controls (but for \n and \t when
// keepLines), DEL and C1 controls as \xNN, bytes that are not UTF-8 as
// \xNN, and invisible format characters (bidirectional overrides, zero
// widths, line separators) as \uNNNN. A client's bytes then cannot forge
// lines, clear the screen or reorder what the operator reads.
func visible(s string, keepLines bool) string {
	if isPlain(s, keepLines) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case keepLines && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case hidden(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// hidden reports the printable-looking runes a terminal treats specially
// or does not show: C1 controls (0x9b is CSI on some terminals), format
// characters (bidi overrides, zero widths) and the line and paragraph
// separators.
func hidden(r rune) bool {
	return r >= 0x80 && r <= 0x9f || unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029
}

func isPlain(s string, keepLines bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return false // checked rune by rune
		}
		if c < 0x20 && !(keepLines && (c == '\n' || c == '\t')) || c == 0x7f {
			return false
		}
	}
	return true
}

// cell is a value for one cell of a table: as it is when it is plain
// printable text, quoted Go-style (every control, separator and invisible
// character escaped) when it is not, starts with a quote, or is "-"; "-"
// when empty. A line feed or tab in a client-chosen key cannot forge a row
// or a column.
func cell(s string) string {
	switch {
	case s == "":
		return "-"
	case s == "-" || strings.HasPrefix(s, `"`):
		return strconv.QuoteToGraphic(s)
	}
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsGraphic(r) || hidden(r) || r != ' ' && unicode.IsSpace(r) {
			return strconv.QuoteToGraphic(s)
		}
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
