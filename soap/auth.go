package soap

import (
	"context"
	"errors"

	"github.com/partnerd/partnerd/soap/wsse"
)

// UsernameTokenAuth authenticates requests by their WS-Security
// UsernameToken (PasswordText or PasswordDigest).
type UsernameTokenAuth struct {
	Verifier *wsse.Verifier
}

// Authenticate implements Authenticator. Every failure is the same "Login
// failed" fault; the reason is kept for the log.
func (a UsernameTokenAuth) Authenticate(ctx context.Context, env *Envelope) (Principal, error) {
	sec := wsse.Find(env.Header)
	if sec == nil {
		return Principal{}, LoginFailed("the request has no wsse:Security header")
	}
	tok, err := wsse.Parse(sec)
	if err != nil {
		return Principal{}, LoginFailed(err.Error())
	}
	acct, err := a.Verifier.Verify(ctx, tok)
	if err != nil {
		if errors.Is(err, wsse.ErrLoginFailed) {
			return Principal{}, LoginFailed(err.Error())
		}
		// The store failed: the client did nothing wrong.
		return Principal{}, &Fault{Kind: Server, String: "Unexpected Error", APICode: CodeUnexpectedError, Reason: err.Error()}
	}
	return Principal{AccountID: acct.ID, Username: acct.Username, ClientID: acct.ClientID}, nil
}
