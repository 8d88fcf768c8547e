package wsse

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Find returns the first wsse:Security element among the children of a SOAP
// Header element, or nil. Namespaces are resolved through each element's
// in-scope declarations, so any prefix, or a default namespace, works.
func Find(header *etree.Element) *etree.Element {
	if header == nil {
		return nil
	}
	for _, c := range header.ChildElements() {
		if is(c, NSSecExt, "Security") {
			return c
		}
	}
	return nil
}

// Parse reads the UsernameToken, and the optional wsu:Timestamp, of a
// wsse:Security header element. It checks form only; package auth decides
// whether the token logs in. Parse never fails on content it does not
// understand (signatures, other tokens) unless the UsernameToken itself is
// ambiguous or malformed.
func Parse(security *etree.Element) (Token, error) {
	if security == nil {
		return Token{}, ErrNoToken
	}
	if !is(security, NSSecExt, "Security") {
		return Token{}, fmt.Errorf("%w: %s is not wsse:Security", ErrMalformed, describe(security))
	}
	var tok Token
	var err error
	if tok.MustUnderstand, err = mustUnderstand(security); err != nil {
		return Token{}, err
	}

	var ut, ts *etree.Element
	for _, c := range security.ChildElements() {
		switch {
		case is(c, NSSecExt, "UsernameToken"):
			// Two tokens would let the verifier and whoever reads the
			// log disagree on who logged in.
			if ut != nil {
				return Token{}, fmt.Errorf("%w: more than one UsernameToken", ErrMalformed)
			}
			ut = c
		case is(c, NSUtility, "Timestamp"):
			if ts != nil {
				return Token{}, fmt.Errorf("%w: more than one Timestamp", ErrMalformed)
			}
			ts = c
		}
	}
	if ut == nil {
		return Token{}, fmt.Errorf("%w: Security header has no UsernameToken", ErrNoToken)
	}
	if err := parseUsernameToken(ut, &tok); err != nil {
		return Token{}, err
	}
	if ts != nil {
		if tok.Timestamp, err = parseTimestamp(ts); err != nil {
			return Token{}, err
		}
	}
	return tok, nil
}

func parseUsernameToken(ut *etree.Element, tok *Token) error {
	var found [4]*etree.Element
	if err := childrenOnce(ut, found[:], func(c *etree.Element) int {
		switch {
		case is(c, NSSecExt, "Username"):
			return 0
		case is(c, NSSecExt, "Password"):
			return 1
		case is(c, NSSecExt, "Nonce"):
			return 2
		// wsse:Created is not in the profile, but pre-standard stacks
		// (and hand-written envelopes) use it; its meaning is clear.
		case is(c, NSUtility, "Created"), is(c, NSSecExt, "Created"):
			return 3
		}
		return -1
	}); err != nil {
		return err
	}
	user, pass, nonce, created := found[0], found[1], found[2], found[3]

	if user == nil {
		return fmt.Errorf("%w: UsernameToken has no Username", ErrMalformed)
	}
	name, err := text(user, MaxUsernameLen)
	if err != nil {
		return err
	}
	// Pretty-printers may wrap the name in whitespace; no username has any.
	tok.Username = strings.TrimSpace(name)
	if tok.Username == "" {
		return fmt.Errorf("%w: empty Username", ErrMalformed)
	}

	if pass == nil {
		return fmt.Errorf("%w: UsernameToken has no Password", ErrMalformed)
	}
	if tok.Type, err = passwordType(pass); err != nil {
		return err
	}
	// A clear password is taken verbatim: spaces may be part of it.
	if tok.Password, err = text(pass, MaxPasswordLen); err != nil {
		return err
	}
	if tok.Type == PasswordDigest {
		tok.Password = strings.TrimSpace(tok.Password)
	}

	if nonce != nil {
		if err := nonceEncoding(nonce); err != nil {
			return err
		}
		s, err := text(nonce, MaxNonceLen)
		if err != nil {
			return err
		}
		tok.Nonce = strings.TrimSpace(s)
		if b, err := base64.StdEncoding.DecodeString(tok.Nonce); err != nil || len(b) == 0 {
			return fmt.Errorf("%w: Nonce is not base64", ErrMalformed)
		}
	}

	if created != nil {
		s, err := text(created, maxTimeLen)
		if err != nil {
			return err
		}
		tok.CreatedText = strings.TrimSpace(s)
		if tok.Created, err = parseDateTime(tok.CreatedText); err != nil {
			return fmt.Errorf("%w: UsernameToken Created: %w", ErrMalformed, err)
		}
		tok.HasCreated = true
	}
	return nil
}

func parseTimestamp(ts *etree.Element) (*Timestamp, error) {
	var found [2]*etree.Element
	if err := childrenOnce(ts, found[:], func(c *etree.Element) int {
		switch {
		case is(c, NSUtility, "Created"):
			return 0
		case is(c, NSUtility, "Expires"):
			return 1
		}
		return -1
	}); err != nil {
		return nil, err
	}
	created, expires := found[0], found[1]
	var out Timestamp
	for _, f := range []struct {
		e  *etree.Element
		to *time.Time
	}{{created, &out.Created}, {expires, &out.Expires}} {
		if f.e == nil {
			continue
		}
		s, err := text(f.e, maxTimeLen)
		if err != nil {
			return nil, err
		}
		if *f.to, err = parseDateTime(strings.TrimSpace(s)); err != nil {
			return nil, fmt.Errorf("%w: Timestamp %s: %w", ErrMalformed, f.e.Tag, err)
		}
	}
	return &out, nil
}

// passwordType reads the Password's optional Type attribute. The profile's
// URIs are matched by fragment so that the rare stack spelling the base URI
// differently still works; an unknown type is refused rather than guessed.
func passwordType(pass *etree.Element) (PasswordType, error) {
	v, ok := attr(pass, "Type")
	v = strings.TrimSpace(v)
	switch {
	case !ok || v == "":
		return PasswordText, nil
	case strings.HasSuffix(v, "#PasswordText"):
		return PasswordText, nil
	case strings.HasSuffix(v, "#PasswordDigest"):
		return PasswordDigest, nil
	}
	return 0, fmt.Errorf("%w: unsupported Password Type %s", ErrMalformed, quote(v))
}

// nonceEncoding accepts only base64 nonces, the profile's default; a hex
// nonce would be digested differently by different stacks.
func nonceEncoding(nonce *etree.Element) error {
	v, ok := attr(nonce, "EncodingType")
	v = strings.TrimSpace(v)
	if !ok || v == "" || strings.HasSuffix(v, "#Base64Binary") {
		return nil
	}
	return fmt.Errorf("%w: unsupported Nonce EncodingType %s", ErrMalformed, quote(v))
}

// mustUnderstand reads the Security element's mustUnderstand attribute,
// qualified by the SOAP 1.1 or 1.2 envelope namespace, or unqualified as
// suds and gowsdl write it.
func mustUnderstand(security *etree.Element) (bool, error) {
	var mu bool
	for i := range security.Attr {
		a := &security.Attr[i]
		if a.Key != "mustUnderstand" {
			continue
		}
		if a.Space != "" {
			if ns := a.NamespaceURI(); ns != nsSOAP11 && ns != nsSOAP12 {
				continue // someone else's attribute
			}
		}
		switch strings.TrimSpace(a.Value) {
		case "1", "true":
			mu = true
		case "0", "false":
		default:
			return false, fmt.Errorf("%w: mustUnderstand=%s is not a boolean", ErrMalformed, quote(a.Value))
		}
	}
	return mu, nil
}

// parseDateTime reads an xsd:dateTime: fractional seconds optional, Z or an
// offset. A time without a zone is read as UTC: WS-Security asks for UTC,
// and refusing a client over the missing Z would help no one.
func parseDateTime(s string) (time.Time, error) {
	if len(s) > maxTimeLen {
		return time.Time{}, fmt.Errorf("dateTime longer than %d bytes", maxTimeLen)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		var err2 error
		if t, err2 = time.Parse("2006-01-02T15:04:05.999999999", s); err2 != nil {
			return time.Time{}, fmt.Errorf("%s is not an xsd:dateTime", quote(s))
		}
	}
	// The zero time is how Timestamp says "absent": refuse it as input.
	if t.IsZero() {
		return time.Time{}, fmt.Errorf("%s is out of range", quote(s))
	}
	return t.UTC(), nil
}

// is reports whether e is the element {ns}local.
// childrenOnce puts each child of parent in found at the index slot gives
// it (-1: an element the profile lets pass), and refuses a second child
// for the same index: a header saying a thing twice is malformed, never
// read by whichever comes first. (Indexes, not pointers to the caller's
// variables, keep those off the heap on every login.)
func childrenOnce(parent *etree.Element, found []*etree.Element, slot func(c *etree.Element) int) error {
	for _, c := range parent.ChildElements() {
		i := slot(c)
		if i < 0 {
			continue
		}
		if found[i] != nil {
			return fmt.Errorf("%w: more than one %s in %s", ErrMalformed, c.Tag, parent.Tag)
		}
		found[i] = c
	}
	return nil
}

func is(e *etree.Element, ns, local string) bool {
	return e.Tag == local && e.NamespaceURI() == ns
}

// attr returns the value of e's unqualified attribute key.
func attr(e *etree.Element, key string) (string, bool) {
	for _, a := range e.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// text returns e's character data (CDATA included, comments skipped),
// refusing child elements and anything longer than limit bytes.
func text(e *etree.Element, limit int) (string, error) {
	var b strings.Builder
	for _, c := range e.Child {
		switch c := c.(type) {
		case *etree.CharData:
			if b.Len()+len(c.Data) > limit {
				return "", fmt.Errorf("%w: %s longer than %d bytes", ErrMalformed, e.Tag, limit)
			}
			b.WriteString(c.Data)
		case *etree.Element:
			return "", fmt.Errorf("%w: %s has child elements", ErrMalformed, e.Tag)
		}
	}
	return b.String(), nil
}

// quote quotes a client-supplied value for an error message, cut short so
// that the log cannot be flooded through it.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

func describe(e *etree.Element) string {
	return quote("{" + e.NamespaceURI() + "}" + e.Tag)
}
