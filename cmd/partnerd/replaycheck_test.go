package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerd/partnerd/internal/xsdcheck"
)

const cliEnvelope = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>` +
	`<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">` +
	`<wsse:UsernameToken><wsse:Username>alice</wsse:Username><wsse:Password>alice-pw</wsse:Password></wsse:UsernameToken></wsse:Security></s:Header>
<s:Body><VersionInfoRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><IncludeVersionHistory>false</IncludeVersionHistory></VersionInfoRequestMsg></s:Body></s:Envelope>`

// exitCode is the status main exits with for err.
func exitCode(err error) int {
	var st exitStatus
	switch {
	case err == nil:
		return 0
	case errors.As(err, &st):
		return st.ExitCode()
	}
	return 2
}

func writeFiles(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheckCommand(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"ok.xml":      cliEnvelope,
		"bad.xml":     strings.Replace(cliEnvelope, "</s:Body>", "</s:Bod>", 1),
		"noauth.xml":  strings.NewReplacer("<wsse:UsernameToken>", "<wsse:Other>", "</wsse:UsernameToken>", "</wsse:Other>").Replace(cliEnvelope),
		"ok.json":     `{"method": "POST", "path": "/v3/mail/batch"}`,
		"bad.json":    "{\"method\": \"POST\", \"path\": \"/v3/user/scheduled_sends\",\n \"body\": {\"batch_id\": \"b\", \"status\": \"stop\"}}",
		"broken.json": `{"method": `,
		"case.txt":    "=== POST /Service.asmx\nContent-Type: text/xml\n\n" + strings.Replace(cliEnvelope, "alice-pw", "{{DIGEST:x}}", 1),
	})
	schema := xsdcheck.Available() == nil
	tests := []struct {
		args []string
		code int
		out  []string
	}{
		{[]string{"ok.xml"}, 0, []string{`ok.xml: ok: SOAP 1.1 VersionInfo UsernameToken PasswordText (user "alice")`}},
		{[]string{"bad.xml"}, 1, []string{"bad.xml:2:", "not well-formed XML"}},
		{[]string{"noauth.xml"}, 1, []string{"noauth.xml:1:", "security header: Security header has no UsernameToken"}},
		{[]string{"ok.json", "--quiet"}, 0, nil},
		{[]string{"bad.json"}, 1, []string{"bad.json:2:", "at /status"}},
		{[]string{"broken.json"}, 1, []string{"broken.json:1:"}},
		{[]string{"case.txt"}, 0, []string{"case.txt: request 1 (POST /Service.asmx): ok"}},
		{[]string{"ok.xml", "bad.xml"}, 1, []string{"ok.xml: ok", "bad.xml:2:"}},
		{[]string{}, 2, nil},
		{[]string{"missing.xml"}, 2, nil},
		{[]string{"ok.xml", "--wsdl", "missing.wsdl"}, 2, nil},
		{[]string{"--bogus"}, 2, nil},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := []string{"check"}
			for _, a := range tc.args {
				if !strings.HasPrefix(a, "-") && strings.Contains(a, ".") {
					a = filepath.Join(dir, a)
				}
				args = append(args, a)
			}
			if !schema {
				args = append(args, "--no-schema")
			}
			var out, errOut bytes.Buffer
			err := run(context.Background(), args, &out, &errOut)
			if got := exitCode(err); got != tc.code {
				t.Fatalf("exit %d (%v), want %d\n%s%s", got, err, tc.code, out.String(), errOut.String())
			}
			for _, want := range tc.out {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			if strings.Contains(out.String()+errOut.String(), "alice-pw") {
				t.Errorf("the password is printed")
			}
		})
	}
}

func TestReplayCommand(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		if r.Header.Get("SOAPAction") != `"VersionInfo"` {
			w.WriteHeader(500)
		}
		fmt.Fprint(w, "<ok>\x1b[2J</ok>")
	}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()
	dir := writeFiles(t, map[string]string{"v.xml": cliEnvelope})
	// A golden case sends only the headers it names: no SOAPAction here.
	noAction := filepath.Join(writeFiles(t, map[string]string{"n.txt": "=== POST /Service.asmx\nContent-Type: text/xml\n\n" + cliEnvelope}), "n.txt")
	expect := writeFiles(t, map[string]string{
		"v.golden": "=== response 1\nHTTP 200\nContent-Type: text/xml; charset=utf-8\n\n<ok>\x1b[2J</ok>\n"})
	differs := writeFiles(t, map[string]string{
		"v.golden": "=== response 1\nHTTP 200\nContent-Type: text/xml; charset=utf-8\n\n<ok>other</ok>\n"})
	file := filepath.Join(dir, "v.xml")
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"printed", []string{"--url", srv.URL, file}, 0, "=== v response 1 (POST /Service.asmx)\nHTTP 200"},
		{"expected", []string{file, "--url", srv.URL, "--expect", expect}, 0, ""},
		{"difference", []string{"--url", srv.URL, "--expect", differs, file}, 1, "-<ok>other</ok>\n+<ok>\\x1b[2J</ok>"},
		{"connection refused", []string{"--url", refused, file}, 1, ""},
		{"directory, another SOAP path", []string{"--url", srv.URL + "/Other.asmx", "--host", "x", dir}, 0, "=== v response 1 (POST /Other.asmx)"},
		{"non-2xx", []string{"--url", srv.URL, noAction}, 1, "=== n response 1 (POST /Service.asmx)\nHTTP 500"},
		{"no files", []string{"--url", srv.URL}, 2, ""},
		{"bad url", []string{"--url", "localhost:8080", file}, 2, ""},
		{"bad normalize", []string{"--normalize", "a b", file}, 2, ""},
		{"password without refresh", []string{"--password", "x", file}, 2, ""},
		{"expect not a directory", []string{"--expect", file, file}, 2, ""},
		{"unreadable file", []string{filepath.Join(dir, "none.xml")}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"replay"}, tc.args...), &out, &errOut)
			if got := exitCode(err); got != tc.code {
				t.Fatalf("exit %d (%v), want %d\n%s%s", got, err, tc.code, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("output lacks %q:\n%s", tc.out, out.String())
			}
			assertInert(t, "replay", out.String()+errOut.String())
			if tc.name == "connection refused" && !strings.Contains(errOut.String(), "connection refused: nothing listens there") {
				t.Errorf("stderr does not explain: %s", errOut.String())
			}
			if tc.name == "non-2xx" && !strings.Contains(errOut.String(), "request 1: status: POST /Service.asmx: HTTP 500") {
				t.Errorf("stderr does not explain: %s", errOut.String())
			}
		})
	}
}
