package wsse

import (
	"context"
	"errors"
	"github.com/partnerd/partnerd/auth/authtest"
	"testing"
	"time"

	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/store"
)

// TestVerifyDocsEnvelope runs the envelope from the Partner API docs
// ("Cancel a Scheduled Send") through Find, Parse and Verify at the moment
// its token was created.
func TestVerifyDocsEnvelope(t *testing.T) {
	created := time.Date(2011, 3, 24, 15, 23, 47, 0, time.UTC)
	clk := clock.NewManual(created)
	sealer := testSealer(t)
	st := authtest.NewStore(clk, account(t, sealer, 7, "XXX", "XXX"))
	v := &auth.Authenticator{Store: st, Clock: clk, Sealer: sealer, Cache: credential.NewCache(16)}

	tok, err := Parse(security(readDoc(t, "docs_cancel_envelope.xml")))
	if err != nil {
		t.Fatal(err)
	}
	acct, err := v.VerifyUsernameToken(context.Background(), tok.UsernameToken)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if acct.ID != 7 || acct.Username != "XXX" {
		t.Errorf("Verify = %+v", acct)
	}
	exp, ok := st.NonceExpiry("XXX", "On06D99VmKbjWKQiY6wYLk+IpIs=")
	if want := created.Add(DefaultMaxAge + DefaultMaxFutureSkew); !ok || !exp.Equal(want) {
		t.Errorf("nonce recorded until %v (%v), want %v", exp, ok, want)
	}

	// The same envelope again is a replay.
	_, err = v.VerifyUsernameToken(context.Background(), tok.UsernameToken)
	if !errors.Is(err, auth.ErrReplay) || !errors.Is(err, store.ErrReplay) || !errors.Is(err, ErrLoginFailed) {
		t.Errorf("second Verify = %v, want ErrReplay", err)
	}

	// Six minutes later the token is stale.
	clk.Advance(6 * time.Minute)
	if _, err := v.VerifyUsernameToken(context.Background(), tok.UsernameToken); !errors.Is(err, auth.ErrCreatedTooOld) {
		t.Errorf("Verify six minutes later = %v, want auth.ErrCreatedTooOld", err)
	}

	// The same nonce and Created as a digest, on a fresh store.
	clk.Set(created)
	st = authtest.NewStore(clk, account(t, sealer, 7, "XXX", "XXX"))
	v.Store = st
	tok.Type, tok.Password = PasswordDigest, "wNtQyUl0vjQM2jpH+VUBGK06qUA="
	if _, err := v.VerifyUsernameToken(context.Background(), tok.UsernameToken); err != nil {
		t.Errorf("digest of the docs token: %v", err)
	}
}
