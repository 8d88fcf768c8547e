package soap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/partnerd/partnerd/auth"
)

// NSExactTarget is the namespace of the token headers Marketing Cloud SDKs
// send: fueloauth and oAuth.
const NSExactTarget = "http://exacttarget.com"

// Faultstrings of a refused token, as the real service words them
// (fuel-auth-notes §5): fuel-soap fetches a new token and retries once on
// exactly "Token Expired". A password login keeps "Login failed".
const (
	TokenExpiredString = "Token Expired"
	TokenFailedString  = "Login Failed"
)

// errTokenHeader: a token header that cannot be read (empty, or more than
// one token).
var errTokenHeader = fmt.Errorf("%w: unreadable token header", auth.ErrMalformed)

// FindToken returns the access token of env's header: the text of
// fueloauth (in the ExactTarget namespace with any prefix, in no
// namespace as FuelSDK-Java sends it, or nested in another fueloauth as
// FuelSDK-Ruby's Savon writes it) or of oAuth/oAuthToken (the legacy
// header, its child qualified or not), trimmed. found is false when the
// header has neither; err is set when one is there but holds no single
// token.
func FindToken(header *etree.Element) (token string, found bool, err error) {
	if header == nil {
		return "", false, nil
	}
	for _, c := range header.ChildElements() {
		var el *etree.Element
		switch {
		case isTokenHeader(c, "fueloauth"):
			el = c
			if inner := c.ChildElements(); len(inner) == 1 && isTokenHeader(inner[0], "fueloauth") {
				el = inner[0]
			}
		case isTokenHeader(c, "oAuth"):
			for _, t := range c.ChildElements() {
				if t.Tag == "oAuthToken" && (t.NamespaceURI() == "" || t.NamespaceURI() == NSExactTarget) {
					if el != nil {
						return "", true, errTokenHeader
					}
					el = t
				}
			}
			if el == nil {
				return "", true, errTokenHeader
			}
		default:
			continue
		}
		if found || len(el.ChildElements()) > 0 {
			return "", true, errTokenHeader // two tokens: which one logs in?
		}
		found, token = true, strings.TrimSpace(el.Text())
		if token == "" {
			return "", true, errTokenHeader
		}
	}
	return token, found, nil
}

// isTokenHeader: c is local in the ExactTarget namespace or in none.
func isTokenHeader(c *etree.Element, local string) bool {
	return c.Tag == local && (c.NamespaceURI() == NSExactTarget || c.NamespaceURI() == "")
}

// TokenAuth authenticates a request by its access token when it carries
// one (fueloauth, oAuth/oAuthToken; a UsernameToken beside it, the legacy
// SDKs' "*"/"*", is then not a password and is not checked), and by
// Passwords otherwise. Tokens are checked through Auth like passwords:
// the same throttle, metrics and one refusal, "Login Failed" — except an
// expired token, "Token Expired", which SDKs act on.
type TokenAuth struct {
	Tokens    *auth.Tokens
	Auth      *auth.Authenticator
	Passwords Authenticator
}

// Authenticate implements Authenticator.
func (a TokenAuth) Authenticate(ctx context.Context, env *Envelope) (Principal, error) {
	token, found, err := FindToken(env.Header)
	if !found {
		return a.Passwords.Authenticate(ctx, env)
	}
	if err != nil {
		return Principal{}, TokenFault(a.Auth.Refuse(ctx, err))
	}
	p, err := a.Auth.Authenticate(ctx, a.Tokens.Bearer(token))
	if err != nil {
		return Principal{}, TokenFault(err)
	}
	return p, nil
}

// TokenFault answers an error of a token login: "Token Expired" for an
// expired token, "Login Failed" for every other login failure (with
// Retry-After when throttled), AuthFault's answer otherwise.
func TokenFault(err error) *Fault {
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		return &Fault{Kind: Security, String: TokenExpiredString, Reason: err.Error()}
	case errors.Is(err, auth.ErrLoginFailed):
		return &Fault{Kind: Security, String: TokenFailedString, Reason: err.Error(), RetryAfter: auth.RetryAfter(err)}
	}
	return AuthFault(err)
}
