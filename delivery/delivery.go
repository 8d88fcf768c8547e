// Package delivery turns a dispatched send into real mail. By default
// partnerd only captures each dispatched send in the store's outbox (the
// dispatcher does that itself); with an SMTP relay configured, SMTP
// delivers the send's inline content (the Email's Subject, HTMLBody and
// TextBody) to its recipients (the Lists' Subscribers) as one message, then
// the dispatcher records it in the outbox.
package delivery

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/partnerd/partnerd/store"
)

// SMTP delivers sends through an SMTP relay with net/smtp.
type SMTP struct {
	// Addr is the relay's host:port.
	Addr string
	// Username and Password, when set, authenticate with AUTH PLAIN
	// (which net/smtp only sends over TLS or to localhost).
	Username, Password string
	// StartTLS upgrades the connection before authenticating and
	// refuses a relay that does not offer it.
	StartTLS bool
	// TLSConfig is used for STARTTLS; nil verifies the relay's
	// certificate against the system roots for the host of Addr.
	TLSConfig *tls.Config
	// HelloName is sent with EHLO (default "localhost").
	HelloName string
	// DefaultFrom is the sender of sends that have no FromAddress.
	DefaultFrom string
	// Timeout bounds one delivery, connection to QUIT (default 30s).
	Timeout time.Duration
}

// External reports that SMTP delivery leaves the process, so the
// dispatcher completes each send as soon as it is delivered.
func (*SMTP) External() bool { return true }

// Error is a failed delivery. Permanent errors (the relay answered 5xx, or
// the send cannot be turned into mail) fail the send; others are retried.
type Error struct {
	Err       error
	permanent bool
}

func (e *Error) Error() string   { return "delivery: " + e.Err.Error() }
func (e *Error) Unwrap() error   { return e.Err }
func (e *Error) Permanent() bool { return e.permanent }

func isPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.permanent
}

// Permanent marks err as a failure that retrying will not fix.
func Permanent(err error) error { return &Error{Err: err, permanent: true} }

func classify(stage string, err error) error {
	var tp *textproto.Error
	err = fmt.Errorf("%s: %w", stage, err)
	if errors.As(err, &tp) && tp.Code >= 500 {
		return Permanent(err)
	}
	return &Error{Err: err}
}

// Deliver sends s to its recipients as one message (one SMTP transaction
// with a RCPT per recipient, so the relay accepts it whole or not at all).
// A send without recipients has nothing to deliver: it completes with
// NumberSent 0.
func (c *SMTP) Deliver(ctx context.Context, s *store.ClaimedSend, e *store.OutboxEntry) error {
	e.Transport = "smtp"
	if len(e.Recipients) == 0 {
		return nil
	}
	from := e.FromAddress
	if from == "" {
		from = c.DefaultFrom
	}
	if from == "" {
		return Permanent(fmt.Errorf("send %d has no FromAddress and no default sender is configured", s.ID))
	}
	msg, err := Message(e, from)
	if err != nil {
		return Permanent(err)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return classify("connect", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(c.Addr)
	client, err := smtp.NewClient(conn, host)
	if err != nil {
		return classify("greeting", err)
	}
	defer client.Close()
	hello := c.HelloName
	if hello == "" {
		hello = "localhost"
	}
	if err := client.Hello(hello); err != nil {
		return classify("EHLO", err)
	}
	if c.StartTLS {
		if ok, _ := client.Extension("STARTTLS"); !ok {
			return Permanent(fmt.Errorf("relay %s does not offer STARTTLS", c.Addr))
		}
		cfg := c.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host}
		}
		if err := client.StartTLS(cfg); err != nil {
			return classify("STARTTLS", err)
		}
	}
	if c.Username != "" {
		if err := client.Auth(smtp.PlainAuth("", c.Username, c.Password, host)); err != nil {
			return classify("AUTH", err)
		}
	}
	if err := client.Mail(from); err != nil {
		return classify("MAIL FROM", err)
	}
	// A subscriber address the relay refuses for good is left out rather
	// than failing the whole send; NumberSent counts those accepted.
	var accepted []string
	var refused error
	for _, to := range e.Recipients {
		err := client.Rcpt(to)
		if err == nil {
			accepted = append(accepted, to)
			continue
		}
		if err := classify("RCPT TO "+to, err); !isPermanent(err) {
			return err
		}
		refused = err
	}
	if len(accepted) == 0 {
		return refused
	}
	e.Recipients, e.NumberSent = accepted, int64(len(accepted))
	w, err := client.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return classify("DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify("DATA", err)
	}
	// The message is accepted; a failed QUIT does not undo that.
	_ = client.Quit()
	return nil
}

// Message renders e as an RFC 5322 message from from: text/plain,
// text/html, or multipart/alternative with both. Its Message-ID is
// e.MessageID, the same on every attempt, so that a copy re-sent after a
// crash can be recognised as one.
func Message(e *store.OutboxEntry, from string) ([]byte, error) {
	fromAddr := mail.Address{Name: e.FromName, Address: from}
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", fromAddr.String())
	if len(e.Recipients) == 1 {
		h("To", (&mail.Address{Address: e.Recipients[0]}).String())
	} else {
		// One message to every subscriber: no one sees the others.
		h("To", "undisclosed-recipients:;")
	}
	h("Subject", mime.QEncoding.Encode("utf-8", e.Subject))
	h("Date", e.DeliveredAt.UTC().Format(time.RFC1123Z))
	if e.MessageID != "" {
		h("Message-ID", e.MessageID)
	}
	h("MIME-Version", "1.0")
	h("X-Partnerd-Send-ID", fmt.Sprint(e.SendID))
	text, html := e.TextBody, e.HTMLBody
	if text == "" && html == "" {
		text = e.Subject
	}
	switch {
	case html == "":
		writePart(&b, "text/plain; charset=utf-8", text)
	case text == "":
		writePart(&b, "text/html; charset=utf-8", html)
	default:
		rb := make([]byte, 12)
		rand.Read(rb)
		boundary := "partnerd-" + hex.EncodeToString(rb)
		h("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
		b.WriteString("\r\n")
		for _, p := range []struct{ typ, body string }{{"text/plain; charset=utf-8", text}, {"text/html; charset=utf-8", html}} {
			fmt.Fprintf(&b, "--%s\r\n", boundary)
			writePart(&b, p.typ, p.body)
			b.WriteString("\r\n")
		}
		fmt.Fprintf(&b, "--%s--\r\n", boundary)
	}
	return b.Bytes(), nil
}

// writePart writes a Content-Type, a quoted-printable body and the blank
// line between them: quoted-printable keeps long lines and non-ASCII text
// within SMTP's limits.
func writePart(b *bytes.Buffer, contentType, body string) {
	fmt.Fprintf(b, "Content-Type: %s\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", contentType)
	qp := quotedprintable.NewWriter(b)
	qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")))
	qp.Close()
	b.WriteString("\r\n")
}
