package auth

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store"
)

type tokensEnv struct {
	tokens *Tokens
	authn  *Authenticator
	db     store.Store
	clock  *clock.Manual
	acct   store.Account
}

func newTokensEnv(t *testing.T) *tokensEnv {
	t.Helper()
	db := testrig.OpenStore(t)
	e := &tokensEnv{db: db, clock: clock.NewManual(keysEpoch)}
	e.tokens = &Tokens{Store: db, Clock: e.clock}
	e.authn = &Authenticator{Store: db, Clock: e.clock}
	e.acct = store.Account{Username: "fuel", ClientID: 7012345}
	if err := db.CreateAccount(t.Context(), &e.acct); err != nil {
		t.Fatal(err)
	}
	return e
}

// login runs a client secret through the Authenticator, as the token
// endpoints do.
func (e *tokensEnv) login(t *testing.T, id, secret string) (*ClientSecret, error) {
	t.Helper()
	c := e.tokens.ClientSecret(id, secret)
	_, err := e.authn.Authenticate(t.Context(), c)
	return c, err
}

func (e *tokensEnv) issue(t *testing.T, id, secret string, req TokenRequest) Issued {
	t.Helper()
	c, err := e.login(t, id, secret)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	is, err := e.tokens.Issue(t.Context(), c, req)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return is
}

func (e *tokensEnv) use(t *testing.T, token string) (Principal, error) {
	t.Helper()
	return e.authn.Authenticate(t.Context(), e.tokens.Bearer(token))
}

func TestTokensClientSecretRefusals(t *testing.T) {
	e := newTokensEnv(t)
	c, secret, err := e.tokens.CreateClient(t.Context(), e.acct.ID, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MID != e.acct.ClientID || !slices.Equal(c.Scopes, DefaultClientScopes) || len(c.ID) != 24 || len(secret) != 43 {
		t.Errorf("CreateClient = %+v, secret of %d characters", c, len(secret))
	}
	other, otherSecret, err := e.tokens.CreateClient(t.Context(), e.acct.ID, 0, []string{"email_read"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.tokens.RevokeClient(t.Context(), e.acct.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, id, secret, reason string
		guess                    bool
	}{
		{"unknown id", "aaaaaaaaaaaaaaaaaaaaaaaa", secret, "unknown_client", true},
		{"wrong secret", c.ID, otherSecret, "bad_client_secret", true},
		{"another client's secret", other.ID, secret, "bad_client_secret", true},
		{"revoked client", other.ID, otherSecret, "revoked", false},
		{"empty secret", c.ID, "", "malformed", false},
		{"empty id", "", secret, "malformed", false},
	} {
		_, err := e.login(t, tc.id, tc.secret)
		if !errors.Is(err, ErrLoginFailed) || Reason(err) != tc.reason || IsGuess(err) != tc.guess {
			t.Errorf("%s: err %v (reason %q, guess %v), want reason %q guess %v", tc.name, err, Reason(err), IsGuess(err), tc.reason, tc.guess)
		}
	}
	// A disabled account's client is refused like any other failure.
	e.acct.Disabled = true
	if err := e.db.UpdateAccount(t.Context(), e.acct); err != nil {
		t.Fatal(err)
	}
	if _, err := e.login(t, c.ID, secret); Reason(err) != "disabled" {
		t.Errorf("disabled account: %v", err)
	}
}

func TestTokensIssueRefusesWhatTheClientLacks(t *testing.T) {
	e := newTokensEnv(t)
	c, secret, err := e.tokens.CreateClient(t.Context(), e.acct.ID, 0, []string{"email_read", "email_send"})
	if err != nil {
		t.Fatal(err)
	}
	login, err := e.login(t, c.ID, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.tokens.Issue(t.Context(), login, TokenRequest{AccountID: c.MID + 1}); !errors.Is(err, ErrAccountNotAllowed) {
		t.Errorf("another MID: %v", err)
	}
	if _, err := e.tokens.Issue(t.Context(), login, TokenRequest{Scopes: []string{"email_read", "journeys_write"}}); !errors.Is(err, ErrScopeNotAllowed) {
		t.Errorf("a scope not held: %v", err)
	}
	is, err := e.tokens.Issue(t.Context(), login, TokenRequest{AccountID: c.MID, Scopes: []string{"email_read"}})
	if err != nil || !slices.Equal(is.Scopes, []string{"email_read"}) || is.ExpiresIn != DefaultTokenLifetime || is.RefreshToken != "" {
		t.Errorf("Issue = %+v, %v", is, err)
	}
	if _, err := ParseScopes("email_read Bad-Scope"); !errors.Is(err, ErrBadScope) {
		t.Errorf("ParseScopes(bad) = %v", err)
	}
}

func TestTokensExpiryOnTheManualClock(t *testing.T) {
	e := newTokensEnv(t)
	c, secret, err := e.tokens.CreateClient(t.Context(), e.acct.ID, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	is := e.issue(t, c.ID, secret, TokenRequest{Legacy: true})
	for _, tok := range []string{is.AccessToken, is.LegacyToken} {
		p, err := e.use(t, tok)
		if err != nil || p.AccountID != e.acct.ID || p.Username != "fuel" || p.ClientID != e.acct.ClientID {
			t.Fatalf("fresh token: %+v, %v", p, err)
		}
	}
	// Still accepted within the grace after expires_in, refused at its end.
	e.clock.Advance(DefaultTokenLifetime + TokenGrace - time.Second)
	if _, err := e.use(t, is.AccessToken); err != nil {
		t.Errorf("within the grace: %v", err)
	}
	e.clock.Advance(time.Second)
	_, err = e.use(t, is.AccessToken)
	if !errors.Is(err, ErrTokenExpired) || !errors.Is(err, ErrLoginFailed) || IsGuess(err) {
		t.Errorf("expired: %v", err)
	}
	// Unknown tokens are guesses; a refresh token is no access token.
	if _, err := e.use(t, "not-a-token"); Reason(err) != "unknown_token" || !IsGuess(err) {
		t.Errorf("unknown token: %v", err)
	}
	ref := e.issue(t, c.ID, secret, TokenRequest{Refresh: true})
	if _, err := e.use(t, ref.RefreshToken); Reason(err) != "unknown_token" {
		t.Errorf("refresh token as access token: %v", err)
	}
}

func TestTokensRevocationOnNextUse(t *testing.T) {
	e := newTokensEnv(t)
	c, secret, err := e.tokens.CreateClient(t.Context(), e.acct.ID, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	is := e.issue(t, c.ID, secret, TokenRequest{})
	if _, err := e.use(t, is.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := e.tokens.RevokeClient(t.Context(), e.acct.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.use(t, is.AccessToken); Reason(err) != "revoked" || !errors.Is(err, ErrLoginFailed) {
		t.Errorf("after revoke: %v", err)
	}
	if err := e.tokens.RevokeClient(t.Context(), e.acct.ID, c.ID); !errors.Is(err, ErrClientNotFound) {
		t.Errorf("revoke twice: %v", err)
	}
	if cs, err := e.tokens.ListClients(t.Context(), e.acct.ID); err != nil || len(cs) != 0 {
		t.Errorf("ListClients after revoke = %+v, %v", cs, err)
	}
}

func TestTokensRefreshIsUsedOnce(t *testing.T) {
	e := newTokensEnv(t)
	c, secret, err := e.tokens.CreateClient(t.Context(), e.acct.ID, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, otherSecret, err := e.tokens.CreateClient(t.Context(), e.acct.ID, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	is := e.issue(t, c.ID, secret, TokenRequest{Refresh: true})
	login, _ := e.login(t, c.ID, secret)
	otherLogin, _ := e.login(t, other.ID, otherSecret)
	if err := e.tokens.UseRefreshToken(t.Context(), otherLogin, is.RefreshToken); !errors.Is(err, ErrRefreshInvalid) {
		t.Errorf("another client's refresh token: %v", err)
	}
	if err := e.tokens.UseRefreshToken(t.Context(), login, is.AccessToken); !errors.Is(err, ErrRefreshInvalid) {
		t.Errorf("an access token as refresh token: %v", err)
	}
	if err := e.tokens.UseRefreshToken(t.Context(), login, is.RefreshToken); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if err := e.tokens.UseRefreshToken(t.Context(), login, is.RefreshToken); !errors.Is(err, ErrRefreshInvalid) {
		t.Errorf("refresh token used twice: %v", err)
	}
}

// TestTokensNameTheirClient: a client secret and every token issued to
// it log in as kind KindClient named by the client's ID, never by the
// secret or the token; a refused token names nothing.
func TestTokensNameTheirClient(t *testing.T) {
	e := newTokensEnv(t)
	c, secret, err := e.tokens.CreateClient(t.Context(), e.acct.ID, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	login := e.tokens.ClientSecret(c.ID, secret)
	p, err := e.authn.Authenticate(t.Context(), login)
	if err != nil || p.CredentialKind != KindClient || p.Credential != c.ID || p.AccountID != e.acct.ID {
		t.Errorf("client secret: %+v, %v; want kind %q, credential %q", p, err, KindClient, c.ID)
	}
	is, err := e.tokens.Issue(t.Context(), login, TokenRequest{Legacy: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{is.AccessToken, is.LegacyToken} {
		p, err := e.use(t, tok)
		if err != nil || p.CredentialKind != KindClient || p.Credential != c.ID || p.AccountID != e.acct.ID {
			t.Errorf("token: %+v, %v; want kind %q, credential %q", p, err, KindClient, c.ID)
		}
	}
	if p, err := e.use(t, "Unkn0wn-Token-Value"); err == nil || p.Credential != "" || p.CredentialKind != "" {
		t.Errorf("unknown token: %+v, %v", p, err)
	}
}
