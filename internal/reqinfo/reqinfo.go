// Package reqinfo carries what one HTTP request learns on its way through
// partnerd — its ID, the face that serves it, the operation, who it acts for,
// how it ended, and how its bodies are to be masked — from the face that
// learns it to the server's shared middleware (access log, exchange log,
// metrics), which knows no face's wire format. The server puts an *Info in
// every request's context before any face sees it; a face fills in what
// only it can know.
package reqinfo

import (
	"context"
	"sync"
)

// Info is one request's record. The server creates it; faces set its fields
// through the methods, which are safe to call from any goroutine serving
// the request.
type Info struct {
	// ID is the request's ID, set by the server before the face runs (a
	// face may replace it with one its wire format echoes, SOAP's
	// RequestID).
	ID string
	// Face names the face that serves the request: "soap", "sendgrid",
	// "oauth", "console", "admin", "ops".
	Face string
	// Method and Path are the request's HTTP method and URL path as the
	// server received them, set before the face runs: the exchange log
	// records them.
	Method, Path string

	mu        sync.Mutex
	operation string
	outcome   string
	accountID int64
	username  string
	credKind  string
	cred      string
	detail    string
	throttled bool
	mask      func([]byte) []byte
	logged    bool
}

// Snapshot is an Info's fields at one moment.
type Snapshot struct {
	ID, Face, Method, Path, Operation, Outcome string
	AccountID                                  int64
	Username                                   string
	// CredentialKind and Credential name the credential the request
	// logged in with ("user" and a username, "apikey" and a key ID),
	// never its secret; empty when it did not log in.
	CredentialKind, Credential string
	// Detail says why a request failed, for the logs only (clients are
	// told the face's own words).
	Detail    string
	Throttled bool
	// Mask, when set, returns a body with the face's secrets masked
	// (keys, passwords); the exchange log applies it to both bodies.
	Mask func([]byte) []byte
	// Logged: the face wrote the exchange log itself (SOAP, which reads
	// its envelopes anyway), so the middleware does not.
	Logged bool
}

type ctxKey struct{}

// With returns ctx carrying in.
func With(ctx context.Context, in *Info) context.Context {
	return context.WithValue(ctx, ctxKey{}, in)
}

// From returns the request's Info, or nil outside the server (tests calling
// a face directly); every method below is a no-op on nil.
func From(ctx context.Context) *Info {
	in, _ := ctx.Value(ctxKey{}).(*Info)
	return in
}

// SetOperation names the operation ("Perform", "mail.send" …) for metrics
// and logs.
func (in *Info) SetOperation(op string) {
	in.update(func() { in.operation = op })
}

// SetOutcome records how the request ended in the face's terms ("OK",
// "Error", "Fault", "401" …); Throttled overrides it in metrics.
func (in *Info) SetOutcome(outcome string) {
	in.update(func() { in.outcome = outcome })
}

// SetPrincipal records the account the request acts for.
func (in *Info) SetPrincipal(accountID int64, username string) {
	in.update(func() { in.accountID, in.username = accountID, username })
}

// SetCredential records the credential the request logged in with (kind
// and name, never the secret), beside the account SetPrincipal records.
func (in *Info) SetCredential(kind, name string) {
	in.update(func() { in.credKind, in.cred = kind, name })
}

// SetDetail records why the request failed (logs only).
func (in *Info) SetDetail(detail string) {
	in.update(func() { in.detail = detail })
}

// MarkThrottled records that a limit refused the request.
func (in *Info) MarkThrottled() {
	in.update(func() { in.throttled = true })
}

// SetMask sets how the exchange log masks this request's bodies.
func (in *Info) SetMask(mask func([]byte) []byte) {
	in.update(func() { in.mask = mask })
}

// MarkLogged records that the face wrote the exchange log itself.
func (in *Info) MarkLogged() {
	in.update(func() { in.logged = true })
}

// update runs set under the lock; a nil Info ignores it.
func (in *Info) update(set func()) {
	if in == nil {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	set()
}

// Snapshot returns the fields as they are now.
func (in *Info) Snapshot() Snapshot {
	if in == nil {
		return Snapshot{}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return Snapshot{ID: in.ID, Face: in.Face, Method: in.Method, Path: in.Path, Operation: in.operation, Outcome: in.outcome,
		AccountID: in.accountID, Username: in.username, CredentialKind: in.credKind, Credential: in.cred, Detail: in.detail,
		Throttled: in.throttled, Mask: in.mask, Logged: in.logged}
}
