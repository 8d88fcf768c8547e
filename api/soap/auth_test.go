package soap

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/partnerd/partnerd/auth"
)

// TestAuthFault pins how the SOAP face answers auth's neutral errors: every
// login failure is the one "Login failed" security fault (Retry-After when
// auth suggests a wait), the account rate is a Code 17 Server fault, and
// anything else is the store's Unexpected Error; all over HTTP 500.
func TestAuthFault(t *testing.T) {
	const rateText = "We noticed an abnormal spike in your call volume so your SOAP Web Service account has been rate limited temporarily."
	tests := []struct {
		name   string
		err    error
		kind   FaultKind
		str    string
		code   int
		retry  time.Duration
		reason string
	}{
		{"wrong password", fmt.Errorf("%w: account \"alice\"", auth.ErrBadPassword), Security, "Login failed", 0, 0, `auth: wrong password: account "alice"`},
		{"unknown user", auth.ErrUnknownUser, Security, "Login failed", 0, 0, "auth: unknown username"},
		{"disabled", auth.ErrDisabled, Security, "Login failed", 0, 0, "auth: account disabled"},
		{"replay", auth.ErrReplay, Security, "Login failed", 0, 0, "auth: nonce replayed"},
		{"busy", fmt.Errorf("%w: %w", auth.ErrBusy, errors.New("gate full")), Security, "Login failed", 0, time.Second, "auth: too many password checks at once: gate full"},
		{"throttled", &auth.ThrottledError{Why: "too many", RetryAfter: 12 * time.Second}, Security, "Login failed", 0, 12 * time.Second, "auth: login throttled: too many"},
		{"rate limited", &auth.RateLimitedError{Username: "alice", Rate: 2.5, RetryAfter: 400 * time.Millisecond}, Server, rateText, CodeRateLimited, 400 * time.Millisecond, "account alice over 2.5 requests/s"},
		{"store", errors.New("disk on fire"), Server, "Unexpected Error", CodeUnexpectedError, 0, "disk on fire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := AuthFault(tt.err)
			want := Fault{Kind: tt.kind, String: tt.str, APICode: tt.code, RetryAfter: tt.retry, Reason: tt.reason}
			if f.Kind != want.Kind || f.String != want.String || f.APICode != want.APICode || f.RetryAfter != want.RetryAfter ||
				f.Reason != want.Reason || f.HTTPStatus != 0 || f.Header != nil {
				t.Errorf("AuthFault = %+v, want %+v", *f, want)
			}
		})
	}
}
