package soap

import (
	"context"
	"errors"
	"time"

	"github.com/partnerd/partnerd/soap/wsse"
)

// UsernameTokenAuth authenticates requests by their WS-Security
// UsernameToken (PasswordText or PasswordDigest).
type UsernameTokenAuth struct {
	Verifier *wsse.Verifier
	// Guard, when set, may refuse a login before its password is checked
	// (failed-login throttling) and hears every outcome.
	Guard LoginGuard
}

// LoginGuard watches logins: it is asked before a token's password is
// checked, so that a throttled account or source costs no hashing, and is
// told how each check ended.
type LoginGuard interface {
	// Allow is called with the token's username before its password is
	// checked. A non-nil error refuses the attempt as it is (a *Fault
	// keeps its kind, HTTP status and Retry-After); a throttled login is
	// answered with the "Login failed" fault over HTTP 500, the status
	// SOAP clients read faults from.
	Allow(ctx context.Context, username string) error
	// Done is told the outcome: nil on success, an error wrapping
	// wsse.ErrLoginFailed and one reason (wsse.ErrBadPassword …) on a
	// failed login, any other error when the store failed. username is
	// empty when the header could not be read.
	Done(ctx context.Context, username string, err error)
}

// Authenticate implements Authenticator. Every failure is the same "Login
// failed" fault; the reason is kept for the log.
func (a UsernameTokenAuth) Authenticate(ctx context.Context, env *Envelope) (Principal, error) {
	sec := wsse.Find(env.Header)
	if sec == nil {
		a.done(ctx, "", wsse.ErrNoToken)
		return Principal{}, LoginFailed("the request has no wsse:Security header")
	}
	tok, err := wsse.Parse(sec)
	if err != nil {
		a.done(ctx, "", err)
		return Principal{}, LoginFailed(err.Error())
	}
	if a.Guard != nil {
		if err := a.Guard.Allow(ctx, tok.Username); err != nil {
			return Principal{}, err
		}
	}
	acct, err := a.Verifier.Verify(ctx, tok)
	a.done(ctx, tok.Username, err)
	if err != nil {
		if errors.Is(err, wsse.ErrBusy) {
			// Too many password checks at once: the same fault as any
			// failed login, with a hint to come back.
			f := LoginFailed(err.Error())
			f.RetryAfter = time.Second
			return Principal{}, f
		}
		if errors.Is(err, wsse.ErrLoginFailed) {
			return Principal{}, LoginFailed(err.Error())
		}
		// The store failed: the client did nothing wrong.
		return Principal{}, &Fault{Kind: Server, String: "Unexpected Error", APICode: CodeUnexpectedError, Reason: err.Error()}
	}
	return Principal{AccountID: acct.ID, Username: acct.Username, ClientID: acct.ClientID}, nil
}

func (a UsernameTokenAuth) done(ctx context.Context, username string, err error) {
	if a.Guard != nil {
		a.Guard.Done(ctx, username, err)
	}
}
