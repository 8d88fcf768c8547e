package delivery

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// The SMTP tests deliver to a real SMTP server: the npm package smtp-server
// run by testdata/smtp/server.js (installed by scripts/setup-smtp-test.sh).

type received struct {
	From   string   `json:"from"`
	To     []string `json:"to"`
	User   string   `json:"user"`
	Secure bool     `json:"secure"`
	Data   string   `json:"data"`
}

type smtpServer struct {
	addr string
	out  string
}

// startSMTP runs testdata/smtp/server.js. It skips the test when node or
// smtp-server is missing, unless CI=true, where that is a failure.
func startSMTP(t *testing.T, auth ...string) *smtpServer {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		msg := why + ": run scripts/setup-smtp-test.sh to install the test SMTP server (npm smtp-server)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	dir, _ := filepath.Abs("testdata/smtp")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "smtp-server")); err != nil {
		missing("npm package smtp-server is not installed in testdata/smtp")
	}
	out := filepath.Join(t.TempDir(), "mail.jsonl")
	cmd := exec.Command(node, append([]string{filepath.Join(dir, "server.js"), out}, auth...)...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				port <- p
			}
		}
		close(port)
	}()
	select {
	case p, ok := <-port:
		if !ok {
			t.Fatalf("smtp server exited: %s", stderr.String())
		}
		return &smtpServer{addr: "127.0.0.1:" + p, out: out}
	case <-time.After(20 * time.Second):
		t.Fatalf("smtp server did not start: %s", stderr.String())
	}
	return nil
}

// messages reads what the server received. The server writes a message
// before it answers the final ".", so everything Deliver sent is there.
func (s *smtpServer) messages(t *testing.T) []received {
	t.Helper()
	raw, err := os.ReadFile(s.out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []received
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var r received
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

func claimed(recipients ...string) (*store.ClaimedSend, store.OutboxEntry) {
	cs := &store.ClaimedSend{
		Send: store.Send{ID: 42, AccountID: 1, ObjectID: "6a0d2f80-0000-4000-8000-000000000042", Subject: "Spring sale",
			FromName: "Acme Shop", FromAddress: "news@acme.example", Status: store.StatusSending},
		Attempt: 1,
	}
	for _, r := range recipients {
		cs.Content.Recipients = append(cs.Content.Recipients, store.Recipient{Address: r})
	}
	e := store.OutboxEntry{SendID: cs.ID, ObjectID: cs.ObjectID, Subject: cs.Subject, FromName: cs.FromName,
		FromAddress: cs.FromAddress, Recipients: recipients, NumberSent: int64(len(recipients)),
		MessageID: "<send-42.x@partnerd>", DeliveredAt: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)}
	return cs, e
}

func TestSMTPDelivery(t *testing.T) {
	srv := startSMTP(t)
	cases := []struct {
		name       string
		to         []string
		text, html string
		wantTypes  []string
		wantSent   int64
	}{
		{"text to one", []string{"ann@example.com"}, "Hello Ann\nLine two – with a dash", "", []string{"text/plain"}, 1},
		{"html to two", []string{"ann@example.com", "bob@example.com"}, "", "<p>Hello</p>", []string{"text/html"}, 2},
		{"both", []string{"cy@example.com"}, "plain", "<b>rich</b>", []string{"text/plain", "text/html"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(srv.messages(t))
			cs, e := claimed(c.to...)
			e.TextBody, e.HTMLBody = c.text, c.html
			d := &SMTP{Addr: srv.addr}
			if err := d.Deliver(t.Context(), cs, &e); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if e.Transport != "smtp" || e.NumberSent != c.wantSent {
				t.Errorf("entry transport %q number sent %d", e.Transport, e.NumberSent)
			}
			msgs := srv.messages(t)
			if len(msgs) != before+1 {
				t.Fatalf("server received %d messages, want 1", len(msgs)-before)
			}
			m := msgs[len(msgs)-1]
			if m.From != "news@acme.example" || !slices.Equal(m.To, c.to) {
				t.Errorf("envelope from %q to %v", m.From, m.To)
			}
			checkMessage(t, m.Data, c.text, c.html, c.wantTypes)
		})
	}
}

// checkMessage parses data as mail and compares its headers and bodies.
func checkMessage(t *testing.T, data, text, html string, wantTypes []string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, data)
	}
	if got := msg.Header.Get("Subject"); got != "Spring sale" {
		t.Errorf("Subject %q", got)
	}
	if got := msg.Header.Get("Message-ID"); got != "<send-42.x@partnerd>" {
		t.Errorf("Message-ID %q", got)
	}
	if from, err := msg.Header.AddressList("From"); err != nil || from[0].Name != "Acme Shop" {
		t.Errorf("From %v %v", from, err)
	}
	bodies := map[string]string{}
	ct := msg.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "multipart/alternative") {
		_, params, _ := strings.Cut(ct, "boundary=")
		mr := multipart.NewReader(msg.Body, strings.Trim(params, `"`))
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p) // multipart decodes quoted-printable itself
			typ, _, _ := strings.Cut(p.Header.Get("Content-Type"), ";")
			bodies[typ] = string(b)
		}
	} else {
		b, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
		typ, _, _ := strings.Cut(ct, ";")
		bodies[typ] = string(b)
	}
	var types []string
	for _, w := range wantTypes {
		types = append(types, w)
		want := text
		if w == "text/html" {
			want = html
		}
		if got := strings.ReplaceAll(strings.TrimRight(bodies[w], "\r\n"), "\r\n", "\n"); got != want {
			t.Errorf("%s body %q, want %q", w, got, want)
		}
	}
	if len(bodies) != len(types) {
		t.Errorf("parts %v, want %v", bodies, types)
	}
}

func TestSMTPAuthAndStartTLS(t *testing.T) {
	srv := startSMTP(t, "relayuser", "relaypass")
	cases := []struct {
		name      string
		d         SMTP
		wantErr   bool
		permanent bool
		secure    bool
	}{
		{"plain auth", SMTP{Username: "relayuser", Password: "relaypass"}, false, false, false},
		{"starttls and auth", SMTP{Username: "relayuser", Password: "relaypass", StartTLS: true,
			TLSConfig: &tls.Config{InsecureSkipVerify: true}}, false, false, true}, // smtp-server's self-signed certificate
		{"wrong password", SMTP{Username: "relayuser", Password: "nope"}, true, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(srv.messages(t))
			d := c.d
			d.Addr = srv.addr
			cs, e := claimed("ann@example.com")
			e.TextBody = "hi"
			err := d.Deliver(t.Context(), cs, &e)
			if (err != nil) != c.wantErr {
				t.Fatalf("Deliver: %v, want error %v", err, c.wantErr)
			}
			if err != nil {
				if got := isPermanent(err); got != c.permanent {
					t.Errorf("permanent = %v, want %v (%v)", got, c.permanent, err)
				}
				return
			}
			msgs := srv.messages(t)
			if len(msgs) != before+1 {
				t.Fatalf("received %d, want 1", len(msgs)-before)
			}
			if m := msgs[len(msgs)-1]; m.User != "relayuser" || m.Secure != c.secure {
				t.Errorf("session user %q secure %v, want relayuser %v", m.User, m.Secure, c.secure)
			}
		})
	}
}

func TestSMTPFailures(t *testing.T) {
	cs, e := claimed()
	d := &SMTP{Addr: "127.0.0.1:1"}
	if err := d.Deliver(context.Background(), cs, &e); err != nil || e.NumberSent != 0 || e.Transport != "smtp" {
		t.Errorf("a send without recipients: %v, NumberSent %d; want nothing to deliver", err, e.NumberSent)
	}
	cs, e = claimed("a@example.com")
	e.FromAddress = ""
	if err := d.Deliver(context.Background(), cs, &e); !isPermanent(err) {
		t.Errorf("no sender: %v, want a permanent error", err)
	}
	cs, e = claimed("a@example.com")
	err := d.Deliver(context.Background(), cs, &e)
	if err == nil || isPermanent(err) {
		t.Errorf("relay down: %v, want a transient error", err)
	}
}
