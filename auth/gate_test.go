package auth

import (
	"context"
	"errors"
	"github.com/partnerd/partnerd/auth/authtest"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/credential"
	"github.com/partnerd/partnerd/internal/limit"
)

// countingGate is a HashGate that counts its slots and can be closed.
type countingGate struct {
	closed   bool
	acquired int
	held     int
}

func (g *countingGate) Acquire(context.Context) error {
	if g.closed {
		return limit.ErrBusy
	}
	g.acquired++
	g.held++
	return nil
}

func (g *countingGate) Release() { g.held-- }

// TestVerifyHashGate is issue 10 defect 7's hashing bound: every password
// hash — a cache miss, a wrong password, an unknown user's dummy hash —
// takes a HashGate slot, a cache hit takes none, and a closed gate fails
// the login with ErrBusy (a login failure, but no guess) before the nonce
// is recorded.
func TestVerifyHashGate(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	sealer := testSealer(t)
	alice := account(t, sealer, 1, "alice", "wonderland")
	st := authtest.NewStore(clock.NewManual(now), alice)
	g := &countingGate{}
	v := &Authenticator{Store: st, Clock: clock.NewManual(now), Sealer: sealer, Cache: credential.NewCache(8), HashGate: g}
	ctx := context.Background()
	const nonce = "MTIzNDU2Nzg5MGFiY2RlZg=="

	steps := []struct {
		name     string
		tok      UsernameToken
		closed   bool
		want     error
		acquired int // slots taken by the step
	}{
		{"first login hashes", UsernameToken{Username: "alice", Password: "wonderland"}, false, nil, 1},
		{"cache hit costs no slot", UsernameToken{Username: "alice", Password: "wonderland"}, false, nil, 0},
		{"cache hit through a closed gate", UsernameToken{Username: "alice", Password: "wonderland"}, true, nil, 0},
		{"wrong password hashes", UsernameToken{Username: "alice", Password: "guess"}, false, ErrBadPassword, 1},
		{"unknown user hashes too", UsernameToken{Username: "nobody", Password: "guess"}, false, ErrUnknownUser, 1},
		{"wrong password, gate closed", UsernameToken{Username: "alice", Password: "guess"}, true, ErrBusy, 0},
		{"unknown user, gate closed", UsernameToken{Username: "nobody", Password: "guess"}, true, ErrBusy, 0},
		{"gate closed: the nonce is not burnt", UsernameToken{Username: "alice", Password: "other", Nonce: nonce}, true, ErrBusy, 0},
		{"digest tokens are cheap: no slot", UsernameToken{Username: "alice", Type: PasswordDigest, Password: "x", Nonce: nonce, HasCreated: true, Created: now, CreatedText: now.Format(time.RFC3339)}, true, ErrBadDigest, 0},
	}
	for _, s := range steps {
		g.closed = s.closed
		before := g.acquired
		_, err := v.VerifyUsernameToken(ctx, s.tok)
		if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
			t.Errorf("%s: %v, want %v", s.name, err, s.want)
		}
		if s.want != nil && !errors.Is(err, ErrLoginFailed) {
			t.Errorf("%s: %v does not wrap ErrLoginFailed", s.name, err)
		}
		if got := g.acquired - before; got != s.acquired {
			t.Errorf("%s: %d slots taken, want %d", s.name, got, s.acquired)
		}
		if g.held != 0 {
			t.Fatalf("%s: %d slots not released", s.name, g.held)
		}
	}
	if _, ok := st.NonceExpiry("alice", nonce); ok {
		t.Error("a nonce was recorded for a login whose password was never checked")
	}
}
