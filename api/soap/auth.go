package soap

import (
	"context"
	"errors"

	"github.com/partnerd/partnerd/api/soap/wsse"
	"github.com/partnerd/partnerd/auth"
)

// Principal is the authenticated caller of a request.
type Principal = auth.Principal

// UsernameTokenAuth is the SOAP face of package auth: it reads the
// WS-Security UsernameToken (PasswordText or PasswordDigest) off the
// envelope, has Auth check it, and answers auth's errors as faults.
type UsernameTokenAuth struct {
	Auth *auth.Authenticator
}

// Authenticate implements Authenticator. Every failure is the same "Login
// failed" fault; the reason is kept for the log.
func (a UsernameTokenAuth) Authenticate(ctx context.Context, env *Envelope) (Principal, error) {
	sec := wsse.Find(env.Header)
	if sec == nil {
		a.Auth.Refuse(ctx, wsse.ErrNoToken)
		return Principal{}, LoginFailed("the request has no wsse:Security header")
	}
	tok, err := wsse.Parse(sec)
	if err != nil {
		return Principal{}, AuthFault(a.Auth.Refuse(ctx, err))
	}
	p, err := a.Auth.Authenticate(ctx, tok.UsernameToken)
	if err != nil {
		return Principal{}, AuthFault(err)
	}
	return p, nil
}

// rateLimitedMessage is the real service's text for apifault Code 17
// (reference 0-99).
const rateLimitedMessage = "We noticed an abnormal spike in your call volume so your SOAP Web Service account has been rate limited temporarily."

// AuthFault answers an error of package auth as the real service does:
//   - every login failure, throttled or not, is the one "Login failed"
//     security fault, with Retry-After when auth suggests a wait (a
//     throttled login, too many password checks at once);
//   - an account over its request rate is a Server fault with apifault
//     Code 17 and Retry-After;
//   - anything else is the store failing: the client did nothing wrong.
//
// All go over HTTP 500, like every SOAP fault (SOAP 1.1 §6.2, WS-I BP
// R1126): WCF and Axis read a fault only from a 500.
func AuthFault(err error) *Fault {
	switch {
	case errors.Is(err, auth.ErrLoginFailed):
		f := LoginFailed(err.Error())
		f.RetryAfter = auth.RetryAfter(err)
		return f
	case errors.Is(err, auth.ErrRateLimited):
		return &Fault{Kind: Server, String: rateLimitedMessage, APICode: CodeRateLimited,
			RetryAfter: auth.RetryAfter(err), Reason: err.Error()}
	}
	return &Fault{Kind: Server, String: "Unexpected Error", APICode: CodeUnexpectedError, Reason: err.Error()}
}
