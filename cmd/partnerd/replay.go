package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/partnerd/partnerd/internal/replay"
)

// exitStatus is an error that asks main for a particular exit code; its
// message, if any, has already been printed.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// ExitCode is the code main exits with.
func (e exitStatus) ExitCode() int { return int(e) }

const replayUsage = `partnerd replay [flags] FILE|DIR …

Sends recorded requests to a server in order: FILE.xml (a SOAP envelope),
FILE.json (a REST request: {"method", "path", "headers", "body"}), NAME.txt
(a golden case, testdata/golden/README.md) or a directory of them (name
order). Prints each answer, or with --expect DIR compares it with DIR/NAME.golden.

Exit status: 0 every answer as expected (2xx, or equal to the recorded one);
1 a request failed (unreachable server, non-2xx without --expect, a
difference, a clock the case moves but replay cannot); 2 usage or a file
that cannot be read.

Flags:
`

// runReplay is "partnerd replay".
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay", stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, replayUsage)
		fs.PrintDefaults()
	}
	base := fs.String("url", envDefault("PARTNERD_URL", "http://127.0.0.1:8080"), "the server's URL; a bare envelope is posted to its path, or /Service.asmx (env PARTNERD_URL)")
	adminURL := fs.String("admin", envDefault("PARTNERD_ADMIN_URL", ""), "the manual clock's admin URL (serve --clock manual prints it), for golden cases that set or advance the clock (env PARTNERD_ADMIN_URL)")
	adminToken := fs.String("admin-token", envDefault("PARTNERD_ADMIN_TOKEN", ""), "the admin face's bearer token (env PARTNERD_ADMIN_TOKEN)")
	refresh := fs.Bool("refresh", false, "give each UsernameToken a fresh Nonce and Created (a recorded one is refused as a replay or stale)")
	password := fs.String("password", envDefault("PARTNERD_REPLAY_PASSWORD", ""), "with --refresh: recompute a PasswordDigest with this password (env PARTNERD_REPLAY_PASSWORD, which keeps it out of ps)")
	expect := fs.String("expect", "", "compare each answer with the recorded ones in DIR/NAME.golden; exit 1 on a difference")
	record := fs.String("record", "", "write each source's answers to DIR/NAME.golden, for a later --expect")
	normalize := fs.String("normalize", replay.DefaultNormalize, `with --expect, what to mask in both before comparing: "times" (every RFC 3339 time) and element or JSON member names (RequestID,NewID,ObjectID …), comma-separated; "none" masks nothing. GUIDs and SendGrid IDs are always numbered in order of appearance`)
	host := fs.String("host", "", "Host header of every request (default: the URL's; partnerd.test for golden cases, whose answers record it)")
	timeout := fs.Duration("timeout", 60*time.Second, "limit for one request")
	files, err := parseWithFiles(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fs.Usage()
		return errors.New("replay: name at least one FILE or DIR")
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("replay: --url %q: want http(s)://HOST[:PORT][/PATH]", *base)
	}
	norm, err := replay.ParseNormalization(*normalize)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if *password != "" && !*refresh {
		return errors.New("replay: --password is only used with --refresh")
	}
	for _, dir := range []string{*expect, *record} {
		if dir == "" {
			continue
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("replay: %s is not a directory", dir)
		}
	}
	soapPath := replay.DefaultSOAPPath
	if p := strings.TrimRight(u.Path, "/"); p != "" {
		soapPath = p
	}
	var sources []replay.Source
	for _, arg := range files {
		s, err := replay.Load(arg, soapPath)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		sources = append(sources, s...)
	}
	client := &http.Client{Timeout: *timeout}
	// Answers and their diffs come from the server replayed against:
	// whatever they hold is shown, never acted on by the terminal.
	stdout, stderr = inert{stdout}, inert{stderr}
	opts := replay.Options{URL: *base, Client: client, Refresh: *refresh, Password: *password,
		Expect: *expect, Normalize: norm, RecordTo: *record, Host: *host, Out: stdout, Log: stderr}
	if *adminURL != "" {
		opts.Admin = &replay.Admin{URL: *adminURL, Token: *adminToken, Client: client}
	}
	rep := replay.Run(ctx, opts, sources)
	for _, f := range rep.Failures {
		fmt.Fprintln(stderr, f)
	}
	fmt.Fprintf(stderr, "replay: %d sources, %d requests, %d failures\n", rep.Sources, rep.Requests, len(rep.Failures))
	if len(rep.Failures) > 0 {
		return exitStatus(1)
	}
	return nil
}

// parseWithFiles parses flags that may come before, between or after the
// file arguments (partnerd check a.xml --wsdl x), and returns the files.
func parseWithFiles(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(envProblems) > 0 {
		return nil, errors.Join(envProblems...)
	}
	return files, nil
}

// inert writes what it is given with every character a terminal would act
// on shown as an escape (visible), line feeds and tabs kept. Each Write
// is one whole message, so no rune is split between two.
type inert struct{ w io.Writer }

func (i inert) Write(p []byte) (int, error) {
	if _, err := io.WriteString(i.w, visible(string(p), true)); err != nil {
		return 0, err
	}
	return len(p), nil
}
