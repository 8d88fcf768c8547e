package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

func tokenClient(accountID int64, id string, created time.Time) store.TokenClient {
	return store.TokenClient{
		ID: id, AccountID: accountID, MID: 7_100_000 + accountID,
		Scopes:     []string{"email_read", "email_send"},
		SecretHash: []byte{9, 0, 0xff, byte(len(id))},
		Created:    created,
	}
}

func diffTokenClient(t *testing.T, what string, got, want store.TokenClient) {
	t.Helper()
	if got.ID != want.ID || got.AccountID != want.AccountID || got.MID != want.MID ||
		!slices.Equal(got.Scopes, want.Scopes) || !bytes.Equal(got.SecretHash, want.SecretHash) ||
		!sameTime(got.Created, want.Created) || !sameTime(got.RevokedAt, want.RevokedAt) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testTokenClients(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("ClientsAndRevoke", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "tok-a"), newAccount(t, s, "tok-b")
		c1, c2 := tokenClient(a.ID, "client-a1", base), tokenClient(a.ID, "client-a2", at(time.Millisecond))
		cb := tokenClient(b.ID, "client-b1", base)
		for _, c := range []store.TokenClient{c2, c1, cb} {
			if err := s.CreateTokenClient(t.Context(), c); err != nil {
				t.Fatalf("CreateTokenClient(%s): %v", c.ID, err)
			}
		}
		wantErr(t, "CreateTokenClient(duplicate id)", s.CreateTokenClient(t.Context(), tokenClient(b.ID, c1.ID, base)), store.ErrExists)
		wantErr(t, "CreateTokenClient(no account)", s.CreateTokenClient(t.Context(), tokenClient(a.ID+b.ID+100, "client-x", base)), store.ErrNotFound)

		got, holder, err := s.TokenClientWithAccount(t.Context(), cb.ID)
		if err != nil {
			t.Fatalf("TokenClientWithAccount: %v", err)
		}
		diffTokenClient(t, "TokenClientWithAccount", got, cb)
		if holder.ID != b.ID || holder.Username != b.Username || holder.ClientID != b.ClientID || holder.Disabled {
			t.Errorf("TokenClientWithAccount account = %+v, want %+v", holder, b)
		}
		_, _, err = s.TokenClientWithAccount(t.Context(), "no-such-client")
		wantErr(t, "TokenClientWithAccount(unknown)", err, store.ErrNotFound)

		list, err := s.ListTokenClients(t.Context(), a.ID)
		if err != nil {
			t.Fatalf("ListTokenClients: %v", err)
		}
		if len(list) != 2 || list[0].ID != c1.ID || list[1].ID != c2.ID {
			t.Errorf("ListTokenClients = %+v, want %s then %s only", list, c1.ID, c2.ID)
		}

		// Only the holder revokes, once.
		wantErr(t, "RevokeTokenClient(other account)", s.RevokeTokenClient(t.Context(), b.ID, c1.ID, at(time.Hour)), store.ErrNotFound)
		if err := s.RevokeTokenClient(t.Context(), a.ID, c1.ID, at(time.Hour)); err != nil {
			t.Fatalf("RevokeTokenClient: %v", err)
		}
		wantErr(t, "RevokeTokenClient(again)", s.RevokeTokenClient(t.Context(), a.ID, c1.ID, at(2*time.Hour)), store.ErrNotFound)
		revoked, _, err := s.TokenClientWithAccount(t.Context(), c1.ID)
		c1.RevokedAt = at(time.Hour)
		if err != nil {
			t.Fatalf("TokenClientWithAccount(revoked): %v", err)
		}
		diffTokenClient(t, "revoked client", revoked, c1)
		if list, _ := s.ListTokenClients(t.Context(), a.ID); len(list) != 1 || list[0].ID != c2.ID {
			t.Errorf("ListTokenClients after revoke = %+v, want %s only", list, c2.ID)
		}
	})

	t.Run("Tokens", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "tok-issued")
		c := tokenClient(a.ID, "client-t", base)
		if err := s.CreateTokenClient(t.Context(), c); err != nil {
			t.Fatalf("CreateTokenClient: %v", err)
		}
		old := store.IssuedToken{Hash: []byte("hash-old"), Kind: store.TokenAccess, ClientID: c.ID, AccountID: a.ID,
			Scopes: []string{"email_read"}, Created: base, Expires: at(time.Minute)}
		if err := s.InsertToken(t.Context(), old, base); err != nil {
			t.Fatalf("InsertToken: %v", err)
		}
		wantErr(t, "InsertToken(duplicate)", s.InsertToken(t.Context(), old, base), store.ErrExists)
		wantErr(t, "InsertToken(no client)", s.InsertToken(t.Context(),
			store.IssuedToken{Hash: []byte("h-x"), Kind: store.TokenAccess, ClientID: "nope", AccountID: a.ID, Expires: base}, base), store.ErrNotFound)

		tok, cl, acct, err := s.TokenWithClient(t.Context(), old.Hash)
		if err != nil {
			t.Fatalf("TokenWithClient: %v", err)
		}
		if !bytes.Equal(tok.Hash, old.Hash) || tok.Kind != old.Kind || tok.ClientID != c.ID || tok.AccountID != a.ID ||
			!slices.Equal(tok.Scopes, old.Scopes) || !sameTime(tok.Created, base) || !sameTime(tok.Expires, old.Expires) {
			t.Errorf("TokenWithClient token = %+v, want %+v", tok, old)
		}
		diffTokenClient(t, "TokenWithClient client", cl, c)
		if acct.ID != a.ID || acct.Username != a.Username || acct.Disabled {
			t.Errorf("TokenWithClient account = %+v, want %+v", acct, a)
		}
		_, _, _, err = s.TokenWithClient(t.Context(), []byte("unknown"))
		wantErr(t, "TokenWithClient(unknown)", err, store.ErrNotFound)

		// A new token leaves the client's expired ones to Prune: one still
		// presented must read as expired, not unknown.
		fresh := store.IssuedToken{Hash: []byte("hash-new"), Kind: store.TokenRefresh, ClientID: c.ID, AccountID: a.ID,
			Created: at(time.Hour), Expires: at(2 * time.Hour)}
		if err := s.InsertToken(t.Context(), fresh, at(time.Hour)); err != nil {
			t.Fatalf("InsertToken(fresh): %v", err)
		}
		if tok, _, _, err := s.TokenWithClient(t.Context(), old.Hash); err != nil || !sameTime(tok.Expires, old.Expires) {
			t.Errorf("TokenWithClient(expired, after a new one) = %+v, %v; want it kept until Prune", tok, err)
		}

		// A refresh token is used once.
		if err := s.ConsumeToken(t.Context(), fresh.Hash); err != nil {
			t.Fatalf("ConsumeToken: %v", err)
		}
		wantErr(t, "ConsumeToken(again)", s.ConsumeToken(t.Context(), fresh.Hash), store.ErrNotFound)
	})

	t.Run("PruneExpired", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "tok-prune-a"), newAccount(t, s, "tok-prune-b")
		ca, cb := tokenClient(a.ID, "client-pa", base), tokenClient(b.ID, "client-pb", base)
		for _, c := range []store.TokenClient{ca, cb} {
			if err := s.CreateTokenClient(t.Context(), c); err != nil {
				t.Fatalf("CreateTokenClient(%s): %v", c.ID, err)
			}
		}
		// Of every kind and client, each inserted at base so that
		// InsertToken's own forgetting removes none: only Prune can.
		tokens := []struct {
			hash, kind, client string
			account            int64
			expires            time.Time
		}{
			{"p-access-a", store.TokenAccess, ca.ID, a.ID, at(20 * time.Minute)},
			{"p-legacy-a", store.TokenLegacy, ca.ID, a.ID, at(20 * time.Minute)},
			{"p-access-b", store.TokenAccess, cb.ID, b.ID, at(30 * time.Minute)},
			{"p-refresh-b", store.TokenRefresh, cb.ID, b.ID, at(48 * time.Hour)},
		}
		for _, tk := range tokens {
			err := s.InsertToken(t.Context(), store.IssuedToken{Hash: []byte(tk.hash), Kind: tk.kind, ClientID: tk.client,
				AccountID: tk.account, Created: base, Expires: tk.expires}, base)
			if err != nil {
				t.Fatalf("InsertToken(%s): %v", tk.hash, err)
			}
		}
		steps := []struct {
			now  time.Time
			keep time.Duration // Retention.ExpiredTokenAge
			want int64
			left []string
		}{
			{at(0), 0, 0, []string{"p-access-a", "p-legacy-a", "p-access-b", "p-refresh-b"}},
			// Expired at exactly now: not yet before it.
			{at(20 * time.Minute), 0, 0, []string{"p-access-a", "p-legacy-a", "p-access-b", "p-refresh-b"}},
			// Expired, but kept for ExpiredTokenAge after.
			{at(40 * time.Minute), time.Hour, 0, []string{"p-access-a", "p-legacy-a", "p-access-b", "p-refresh-b"}},
			{at(85 * time.Minute), time.Hour, 2, []string{"p-access-b", "p-refresh-b"}},
			{at(85 * time.Minute), time.Hour, 0, []string{"p-access-b", "p-refresh-b"}},
			{at(31 * time.Minute), 0, 1, []string{"p-refresh-b"}},
			{at(49 * time.Hour), 0, 1, nil},
		}
		for _, st := range steps {
			p, err := s.Prune(t.Context(), st.now, store.Retention{ExpiredTokenAge: st.keep})
			if err != nil || p.Tokens != st.want || p.Nonces != 0 || p.Cursors != 0 || p.Requests != 0 {
				t.Errorf("Prune(%v, keep %v) = %+v, %v; want %d tokens and nothing else", st.now, st.keep, p, err, st.want)
			}
			for _, tk := range tokens {
				_, _, _, err := s.TokenWithClient(t.Context(), []byte(tk.hash))
				if want := slices.Contains(st.left, tk.hash); (err == nil) != want {
					t.Errorf("after Prune(%v, keep %v): token %s found %v, want %v (err %v)", st.now, st.keep, tk.hash, err == nil, want, err)
				}
			}
		}
		if _, err := s.Prune(t.Context(), base, store.Retention{ExpiredTokenAge: -time.Minute}); err == nil {
			t.Error("Prune(negative ExpiredTokenAge): want an error")
		}
	})
}
