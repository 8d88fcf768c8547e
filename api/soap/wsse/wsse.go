// Package wsse reads the WS-Security UsernameToken header that Partner API
// clients authenticate with, and keeps its secrets out of the logs: Parse
// turns a wsse:Security header into a Token, whose UsernameToken package
// auth verifies against the account store (password, digest, freshness,
// nonce replay); MaskSecrets and ForLog blank every secret (passwords,
// nonces, tokens, client secrets: by their element or attribute name) out
// of envelopes before they reach the request log, which keeps nothing of a
// body it could not read as UTF-8 XML.
//
// Every failure of Parse is an error value wrapping ErrLoginFailed (that of
// package auth), so the SOAP layer answers all of them, and those of the
// verification, with the one "Login failed" security fault the real
// service sends, while the log keeps the precise reason.
package wsse

import (
	"github.com/partnerd/partnerd/auth"
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
type PasswordType = auth.PasswordType

// The password types of the UsernameToken profile; a Password without a
// Type attribute is PasswordText.
const (
	PasswordText   = auth.PasswordText
	PasswordDigest = auth.PasswordDigest
)

// Default freshness windows the verification applies (package auth).
const (
	DefaultMaxAge        = auth.DefaultMaxAge
	DefaultMaxFutureSkew = auth.DefaultMaxFutureSkew
)

// Token is a parsed UsernameToken, with the optional wsu:Timestamp of the
// same Security header: the credential package auth verifies, and what the
// header said beside it.
type Token struct {
	auth.UsernameToken
	// MustUnderstand is the Security header's mustUnderstand flag.
	MustUnderstand bool
}

// Timestamp is a wsu:Timestamp. A zero Created or Expires means it was not
// given.
type Timestamp = auth.Timestamp

// ErrLoginFailed is wrapped by every failure of Parse (and of the
// verification in package auth). The SOAP layer maps it to the "Login
// failed" security fault.
var ErrLoginFailed = auth.ErrLoginFailed

// Reasons a header is refused by Parse. Each wraps ErrLoginFailed.
var (
	// ErrNoToken: no Security header, or one without a UsernameToken.
	ErrNoToken = auth.ErrNoCredential
	// ErrMalformed: a Security header that does not follow the
	// UsernameToken profile or exceeds the size limits.
	ErrMalformed = auth.ErrMalformed
)

// Size limits, those of package auth. They are far above anything a real
// client sends and far below what would make hashing, base64 decoding or
// logging cost anything.
const (
	MaxUsernameLen = auth.MaxUsernameLen
	MaxPasswordLen = auth.MaxPasswordLen
	MaxNonceLen    = auth.MaxNonceLen
	maxTimeLen     = 64
)
