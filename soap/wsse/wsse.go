// Package wsse reads and checks the WS-Security UsernameToken header that
// Partner API clients authenticate with: Parse turns a wsse:Security header
// into a Token, a Verifier checks a Token against the account store
// (password, digest, freshness, nonce replay), and MaskSecrets and ForLog
// blank every secret (passwords, nonces, tokens, client secrets: by their
// element or attribute name) out of envelopes before they reach the request
// log, which keeps nothing of a body it could not read as UTF-8 XML.
//
// Every failure is an error value wrapping ErrLoginFailed, so the SOAP layer
// answers all of them with the one "Login failed" security fault the real
// service sends, while the log keeps the precise reason. Errors that do not
// wrap ErrLoginFailed come from the store and are server faults.
package wsse

import (
	"errors"
	"time"
)

// Namespaces of the OASIS WS-Security 1.0 specifications.
const (
	NSSecExt  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	NSUtility = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	// NSUsernameToken prefixes the Password Type URIs.
	NSUsernameToken = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
	// NSSoapMessageSecurity prefixes the Nonce EncodingType URIs.
	NSSoapMessageSecurity = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0"

	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
)

// PasswordType is how a UsernameToken carries its password.
type PasswordType int

// The password types of the UsernameToken profile. The zero value is
// PasswordText, which is also what a Password without a Type attribute
// means.
const (
	// PasswordText carries the password in clear (over TLS).
	PasswordText PasswordType = iota
	// PasswordDigest carries Base64(SHA-1(nonce + created + password)).
	PasswordDigest
)

// String returns the type's name as in the Type URI fragment.
func (t PasswordType) String() string {
	switch t {
	case PasswordText:
		return "PasswordText"
	case PasswordDigest:
		return "PasswordDigest"
	}
	return "PasswordType(?)"
}

// Token is a parsed UsernameToken, with the optional wsu:Timestamp of the
// same Security header.
type Token struct {
	Username string
	// Password is the clear password for PasswordText, the base64 digest
	// for PasswordDigest, exactly as sent.
	Password string
	Type     PasswordType
	// Nonce is the wsse:Nonce as sent (base64, surrounding whitespace
	// removed); empty when absent.
	Nonce string
	// Created is wsu:Created when HasCreated. CreatedText keeps the text
	// as sent (surrounding whitespace removed), since the digest is
	// computed over that text, not over any re-formatting of the time.
	Created     time.Time
	CreatedText string
	HasCreated  bool
	// Timestamp is the Security header's wsu:Timestamp, nil when absent.
	Timestamp *Timestamp
	// MustUnderstand is the Security header's mustUnderstand flag.
	MustUnderstand bool
}

// Timestamp is a wsu:Timestamp. A zero Created or Expires means it was not
// given.
type Timestamp struct {
	Created time.Time
	Expires time.Time
}

// ErrLoginFailed is wrapped by every authentication failure of Parse and
// Verify. The SOAP layer maps it to the "Login failed" security fault.
var ErrLoginFailed = errors.New("wsse: login failed")

// loginError is a distinct reason for a failed login, for the log.
type loginError struct{ reason string }

func (e *loginError) Error() string { return "wsse: " + e.reason }
func (e *loginError) Unwrap() error { return ErrLoginFailed }

// Reasons a header is refused by Parse. Each wraps ErrLoginFailed.
var (
	// ErrNoToken: no Security header, or one without a UsernameToken.
	ErrNoToken error = &loginError{"no UsernameToken"}
	// ErrMalformed: a Security header that does not follow the
	// UsernameToken profile or exceeds the size limits.
	ErrMalformed error = &loginError{"malformed UsernameToken"}
)

// Reasons Verify refuses a token. Each wraps ErrLoginFailed; callers must
// not tell the client which one it was.
var (
	ErrUnknownUser       error = &loginError{"unknown username"}
	ErrDisabled          error = &loginError{"account disabled"}
	ErrBadPassword       error = &loginError{"wrong password"}
	ErrBadDigest         error = &loginError{"password digest mismatch"}
	ErrDigestIncomplete  error = &loginError{"PasswordDigest without Nonce and Created"}
	ErrCreatedTooOld     error = &loginError{"Created too old"}
	ErrCreatedInFuture   error = &loginError{"Created in the future"}
	ErrTimestampExpired  error = &loginError{"Timestamp expired"}
	ErrTimestampInFuture error = &loginError{"Timestamp created in the future"}
	// ErrReplay also wraps store.ErrReplay.
	ErrReplay error = &loginError{"nonce replayed"}
)

// Size limits. They are far above anything a real client sends and far
// below what would make hashing, base64 decoding or logging cost anything.
const (
	MaxUsernameLen = 256
	MaxPasswordLen = 1024
	MaxNonceLen    = 256 // base64 characters
	maxTimeLen     = 64
)
