package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

func testNonces(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	// Nonce expiry is judged at the now each call gives, never by a
	// clock of the store's own.
	now := base
	live, expired := now.Add(time.Hour), now.Add(-time.Hour)

	// Steps run in order against one store: each depends on the ones
	// before it.
	steps := []struct {
		name     string
		username string
		nonce    string
		expires  time.Time
		want     error
	}{
		{"first use", "u1", "n1", live, nil},
		{"replay", "u1", "n1", live, store.ErrReplay},
		{"replay with a later expiry", "u1", "n1", now.Add(5 * time.Hour), store.ErrReplay},
		{"same nonce, other user", "u2", "n1", live, nil},
		{"other nonce, same user", "u1", "n2", live, nil},
		{"nonces are case-sensitive", "u1", "N1", live, nil},
		{"record an already expired nonce", "u1", "n3", expired, nil},
		{"expired nonce may be reused", "u1", "n3", live, nil},
		{"the reused nonce is live again", "u1", "n3", live, store.ErrReplay},
		{"long nonce", "u1", strings.Repeat("x", 4096), live, nil},
	}
	for _, st := range steps {
		err := s.UseNonce(t.Context(), st.username, st.nonce, st.expires, now)
		if st.want == nil && err != nil {
			t.Fatalf("%s: UseNonce: %v", st.name, err)
		}
		if st.want != nil {
			wantErr(t, st.name, err, st.want)
		}
	}

	t.Run("Prune", func(t *testing.T) {
		// Pruning before a time still ahead of the clock forgets nonces
		// that are live now: how the counts below stay exact.
		soon := now.Add(30 * time.Minute)
		for _, n := range []string{"p1", "p2"} {
			if err := s.UseNonce(t.Context(), "u3", n, soon, now); err != nil {
				t.Fatalf("UseNonce(%s): %v", n, err)
			}
		}
		if n, err := pruneNonces(t, s, now); err != nil || n != 0 {
			t.Fatalf("Prune(now) = %d, %v; want 0, every record is live", n, err)
		}
		wantErr(t, "UseNonce(p1) before it is pruned", s.UseNonce(t.Context(), "u3", "p1", live, now), store.ErrReplay)
		n, err := pruneNonces(t, s, now.Add(45*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("Prune(now+45m) = %d, %v; want p1 and p2", n, err)
		}
		if n, err := pruneNonces(t, s, now.Add(45*time.Minute)); err != nil || n != 0 {
			t.Errorf("Prune(now+45m) again = %d, %v; want 0", n, err)
		}
		// The later ones survived pruning.
		wantErr(t, "UseNonce(n1) after prune", s.UseNonce(t.Context(), "u1", "n1", live, now), store.ErrReplay)
		// A pruned nonce is forgotten.
		if err := s.UseNonce(t.Context(), "u3", "p1", live, now); err != nil {
			t.Errorf("UseNonce(pruned p1): %v", err)
		}
		// u1: n1 n2 N1 n3 long, u2: n1, u3: p1 (n3's expired first use
		// needs no record).
		n, err = pruneNonces(t, s, now.Add(2*time.Hour))
		if err != nil || n != 7 {
			t.Errorf("Prune(now+2h) = %d, %v; want 7", n, err)
		}
		// Everything is forgotten, in memory too.
		if err := s.UseNonce(t.Context(), "u1", "n1", live, now); err != nil {
			t.Errorf("UseNonce(n1) after pruning all: %v", err)
		}
	})
}

// pruneNonces runs Prune at now with no request-log retention and returns
// how many nonces it removed.
func pruneNonces(t *testing.T, s store.Store, now time.Time) (int64, error) {
	t.Helper()
	p, err := s.Prune(t.Context(), now, store.Retention{})
	return p.Nonces, err
}
