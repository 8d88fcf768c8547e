package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/testrig"
	"github.com/partnerd/partnerd/store"
)

var keysEpoch = time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC)

// countingStore records which store calls Verify makes, to show that an
// unknown id takes the same path as a known one.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	calls []string
}

func (c *countingStore) record(call string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, call)
}

func (c *countingStore) APIKeyByID(ctx context.Context, id string) (store.APIKey, error) {
	c.record("APIKeyByID")
	return c.Store.APIKeyByID(ctx, id)
}

func (c *countingStore) APIKeyWithAccount(ctx context.Context, id string) (store.APIKey, store.Account, error) {
	c.record("APIKeyWithAccount")
	return c.Store.APIKeyWithAccount(ctx, id)
}

func (c *countingStore) AccountByID(ctx context.Context, id int64) (store.Account, error) {
	c.record("AccountByID")
	return c.Store.AccountByID(ctx, id)
}

func (c *countingStore) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = nil
	return calls
}

type keysEnv struct {
	keys  *Keys
	db    *countingStore
	clock *clock.Manual
	alice store.Account
	bob   store.Account
}

func newKeysEnv(t *testing.T) *keysEnv {
	t.Helper()
	db := &countingStore{Store: testrig.OpenStore(t)}
	e := &keysEnv{db: db, clock: clock.NewManual(keysEpoch)}
	// No refusal floor: TestKeysRefusalFloor tests it, the others test
	// outcomes and would only wait.
	e.keys = &Keys{Store: db, Clock: e.clock, RefusalFloor: -1}
	for _, a := range []*store.Account{&e.alice, &e.bob} {
		a.Username = fmt.Sprintf("user%p", a)
		if err := db.CreateAccount(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *keysEnv) create(t *testing.T, acct store.Account, scopes ...string) (APIKey, string) {
	t.Helper()
	k, tok, err := e.keys.Create(t.Context(), acct.ID, "test key", scopes)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return k, tok
}

func wantKeyInvalid(t *testing.T, what string, err error, reason string) {
	t.Helper()
	if !errors.Is(err, ErrKeyInvalid) || err.Error() != ErrKeyInvalid.Error() {
		t.Errorf("%s: Verify = %v, want ErrKeyInvalid with its message", what, err)
	}
	if got := Reason(err); got != reason {
		t.Errorf("%s: Reason = %q, want %q", what, got, reason)
	}
}

func TestKeysCreateVerify(t *testing.T) {
	e := newKeysEnv(t)
	k, tok, err := e.keys.Create(t.Context(), e.alice.ID, "runaway script", []string{"mail.send", "mail.send", "mail.batch.read"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "SG." + k.ID + "."; !strings.HasPrefix(tok, want) || len(k.ID) != 22 {
		t.Errorf("token %q, id %q: want SG.<22-char id>.<secret>", tok, k.ID)
	}
	if !slices.Equal(k.Scopes, []string{"mail.batch.read", "mail.send"}) || k.Name != "runaway script" ||
		k.AccountID != e.alice.ID || !k.Created.Equal(keysEpoch) {
		t.Errorf("created %+v", k)
	}
	stored, _ := e.db.Store.APIKeyByID(t.Context(), k.ID)
	if strings.Contains(string(stored.SecretHash), tok[len("SG.")+23:]) || len(stored.SecretHash) != 32 {
		t.Errorf("the store holds %x: want a SHA-256 hash, never the secret", stored.SecretHash)
	}
	p, vk, err := e.keys.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if p != (Principal{AccountID: e.alice.ID, Username: e.alice.Username, ClientID: e.alice.ClientID, CredentialKind: KindAPIKey, Credential: k.ID}) {
		t.Errorf("principal %+v", p)
	}
	if vk.ID != k.ID || !slices.Equal(vk.Scopes, k.Scopes) {
		t.Errorf("Verify key %+v, want %+v", vk, k)
	}

	// Two keys never share an id or a secret.
	_, tok2 := e.create(t, e.alice)
	if tok2 == tok {
		t.Error("two keys got one token")
	}
}

func TestKeysCreateRefusals(t *testing.T) {
	e := newKeysEnv(t)
	for _, tc := range []struct {
		name, keyName string
		scopes        []string
		want          error
	}{
		{"no name", "", nil, ErrKeyName},
		{"blank name", " \t", nil, ErrKeyName},
		{"long name", strings.Repeat("n", MaxKeyNameLength+1), nil, ErrKeyName},
		{"bad UTF-8 name", "n\xff", nil, ErrKeyName},
		{"unknown scope", "k", []string{"mail.send", "mail.everything"}, ErrUnknownScope},
		{"full-scope marker", "k", []string{ScopeFull}, ErrUnknownScope},
		{"empty scope", "k", []string{""}, ErrUnknownScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, tok, err := e.keys.Create(t.Context(), e.alice.ID, tc.keyName, tc.scopes)
			if !errors.Is(err, tc.want) || tok != "" {
				t.Errorf("Create = %q, %v; want %v", tok, err, tc.want)
			}
		})
	}
	if n, _ := e.keys.List(t.Context(), e.alice.ID, 0); len(n) != 0 {
		t.Errorf("refused creates stored %d keys", len(n))
	}
	if _, _, err := e.keys.Create(t.Context(), e.alice.ID, strings.Repeat("é", MaxKeyNameLength), nil); err != nil {
		t.Errorf("a name of %d characters: %v", MaxKeyNameLength, err)
	}
}

func TestKeysScopes(t *testing.T) {
	if !slices.IsSorted(scopes) {
		t.Fatal("scopes must be sorted: normalizeScopes searches it")
	}
	for _, need := range []string{"mail.send", "mail.batch.create", "mail.batch.read", "mail.batch.update", "mail.batch.delete",
		"user.scheduled_sends.create", "user.scheduled_sends.read", "user.scheduled_sends.update", "user.scheduled_sends.delete",
		"marketing_campaigns.create", "marketing_campaigns.read", "marketing_campaigns.update", "marketing_campaigns.delete",
		"api_keys.create", "api_keys.read", "api_keys.update", "api_keys.delete"} {
		if !slices.Contains(Scopes(), need) {
			t.Errorf("scope %s is missing", need)
		}
	}
	for _, tc := range []struct {
		granted []string
		need    string
		want    bool
	}{
		{[]string{"mail.send"}, "mail.send", true},
		{[]string{"mail.send"}, "mail.batch.create", false},
		{[]string{"mail.batch.read"}, "mail.batch", false}, // no prefixes
		{[]string{"mail.batch.read"}, "mail.batch.read.x", false},
		{nil, "mail.send", false},
		{[]string{}, "mail.send", false},
		{[]string{ScopeFull}, "api_keys.delete", true},
		{Scopes(), "user.scheduled_sends.update", true},
	} {
		if got := HasScope(tc.granted, tc.need); got != tc.want {
			t.Errorf("HasScope(%v, %q) = %v, want %v", tc.granted, tc.need, got, tc.want)
		}
	}

	e := newKeysEnv(t)
	full, _ := e.create(t, e.alice) // scopes omitted: full access, listed by name
	if !slices.Equal(full.Scopes, Scopes()) {
		t.Errorf("omitted scopes gave %v, want every scope", full.Scopes)
	}
	none, tok, err := e.keys.Create(t.Context(), e.alice.ID, "nothing", []string{})
	if err != nil || len(none.Scopes) != 0 {
		t.Fatalf("an empty scope list: %+v, %v; want a key with no scopes", none, err)
	}
	if _, k, err := e.keys.Verify(t.Context(), tok); err != nil || HasScope(k.Scopes, "mail.send") {
		t.Errorf("a key without scopes: %+v, %v", k, err)
	}
}

func TestKeysRotateAndRevoke(t *testing.T) {
	e := newKeysEnv(t)
	k, tok := e.create(t, e.alice, "mail.send", "mail.batch.create")
	other, otherTok := e.create(t, e.alice, "mail.send")

	// PUT replaces the scopes: the one taken away stops on the next request.
	got, err := e.keys.Replace(t.Context(), e.alice.ID, k.ID, "rotated", []string{"mail.batch.read"})
	if err != nil || got.Name != "rotated" || !slices.Equal(got.Scopes, []string{"mail.batch.read"}) {
		t.Fatalf("Replace = %+v, %v", got, err)
	}
	_, vk, err := e.keys.Verify(t.Context(), tok)
	if err != nil || HasScope(vk.Scopes, "mail.send") || !HasScope(vk.Scopes, "mail.batch.read") {
		t.Errorf("after Replace, Verify gives %v, %v: the old scopes must stop at once", vk.Scopes, err)
	}
	// PATCH renames, keeping the scopes.
	got, err = e.keys.Rename(t.Context(), e.alice.ID, k.ID, "renamed")
	if err != nil || got.Name != "renamed" || !slices.Equal(got.Scopes, []string{"mail.batch.read"}) {
		t.Errorf("Rename = %+v, %v", got, err)
	}
	if g, err := e.keys.Get(t.Context(), e.alice.ID, k.ID); err != nil || g.Name != "renamed" {
		t.Errorf("Get after Rename = %+v, %v", g, err)
	}

	// DELETE: the key's next request fails; the other key goes on.
	if err := e.keys.Revoke(t.Context(), e.alice.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.keys.Verify(t.Context(), tok)
	wantKeyInvalid(t, "revoked key", err, "revoked")
	if _, _, err := e.keys.Verify(t.Context(), otherTok); err != nil {
		t.Errorf("another key of the account: %v", err)
	}
	list, _ := e.keys.List(t.Context(), e.alice.ID, 0)
	if len(list) != 1 || list[0].ID != other.ID {
		t.Errorf("List after revoke = %+v", list)
	}

	for _, tc := range []struct {
		name string
		op   func() error
	}{
		{"Get revoked", func() error { _, err := e.keys.Get(t.Context(), e.alice.ID, k.ID); return err }},
		{"Revoke twice", func() error { return e.keys.Revoke(t.Context(), e.alice.ID, k.ID) }},
		{"Rename revoked", func() error { _, err := e.keys.Rename(t.Context(), e.alice.ID, k.ID, "x"); return err }},
		{"Replace revoked", func() error { _, err := e.keys.Replace(t.Context(), e.alice.ID, k.ID, "x", nil); return err }},
		{"Get unknown", func() error { _, err := e.keys.Get(t.Context(), e.alice.ID, "nope"); return err }},
		{"Get another account's", func() error { _, err := e.keys.Get(t.Context(), e.bob.ID, other.ID); return err }},
		{"Rename another account's", func() error { _, err := e.keys.Rename(t.Context(), e.bob.ID, other.ID, "x"); return err }},
		{"Replace another account's", func() error { _, err := e.keys.Replace(t.Context(), e.bob.ID, other.ID, "x", nil); return err }},
		{"Revoke another account's", func() error { return e.keys.Revoke(t.Context(), e.bob.ID, other.ID) }},
	} {
		if err := tc.op(); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("%s: %v, want ErrKeyNotFound", tc.name, err)
		}
	}
	// Bob's attempts changed nothing.
	if _, vk, err := e.keys.Verify(t.Context(), otherTok); err != nil || vk.Name != "test key" || !slices.Equal(vk.Scopes, []string{"mail.send"}) {
		t.Errorf("another account's key after refused changes: %+v, %v", vk, err)
	}
	// Bad input to Rename/Replace is refused before the key is looked at.
	if _, err := e.keys.Rename(t.Context(), e.alice.ID, other.ID, ""); !errors.Is(err, ErrKeyName) {
		t.Errorf("Rename to blank: %v", err)
	}
	if _, err := e.keys.Replace(t.Context(), e.alice.ID, other.ID, "n", []string{"root"}); !errors.Is(err, ErrUnknownScope) {
		t.Errorf("Replace with an unknown scope: %v", err)
	}
}

func TestKeysVerifyRefusals(t *testing.T) {
	e := newKeysEnv(t)
	_, tok := e.create(t, e.alice)
	_, bobTok := e.create(t, e.bob)
	id, secret, _ := ParseKeyToken(tok)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	_, unknownTok, _ := e.keys.newToken()

	for _, tc := range []struct {
		name, token, reason string
	}{
		{"wrong secret", "SG." + id + "." + flip(secret, 5), "bad_secret"},
		{"secret's last character", "SG." + id + "." + flip(secret, len(secret)-2), "bad_secret"},
		{"another key's secret", "SG." + id + "." + bobTok[len(bobTok)-43:], "bad_secret"},
		{"unknown id", unknownTok, "unknown_key"},
		{"id of another key, tampered", "SG." + flip(id, 0) + "." + secret, "unknown_key"},
		{"no prefix", tok[3:], "malformed"},
		{"lower-case prefix", "sg." + tok[3:], "malformed"},
		{"Bearer left on", "Bearer " + tok, "malformed"},
		{"trailing space", tok + " ", "malformed"},
		{"cut", tok[:len(tok)-1], "malformed"},
		{"extra", tok + "A", "malformed"},
		{"padding", tok[:len(tok)-1] + "=", "malformed"},
		{"standard base64 alphabet", "SG." + id + "." + secret[:10] + "+" + secret[11:], "malformed"},
		{"a dot inside", "SG." + id + "." + secret[:10] + "." + secret[11:], "malformed"},
		{"SendGrid-looking", "SG.abc.def", "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, k, err := e.keys.Verify(t.Context(), tc.token)
			wantKeyInvalid(t, tc.name, err, tc.reason)
			if p != (Principal{}) || k.ID != "" {
				t.Errorf("a refused token gave %+v, %+v", p, k)
			}
		})
	}
	for _, missing := range []string{"", " ", "\t"} {
		if _, _, err := e.keys.Verify(t.Context(), missing); !errors.Is(err, ErrKeyMissing) || errors.Is(err, ErrKeyInvalid) {
			t.Errorf("Verify(%q) = %v, want ErrKeyMissing", missing, err)
		}
	}
	if _, _, err := e.keys.Verify(t.Context(), tok); err != nil {
		t.Errorf("the untampered token after the refusals: %v", err)
	}
}

func TestKeysDisabledAccount(t *testing.T) {
	e := newKeysEnv(t)
	_, tok := e.create(t, e.alice)
	e.alice.Disabled = true
	if err := e.db.UpdateAccount(t.Context(), e.alice); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.keys.Verify(t.Context(), tok)
	wantKeyInvalid(t, "disabled account", err, "disabled")
	e.alice.Disabled = false
	if err := e.db.UpdateAccount(t.Context(), e.alice); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.keys.Verify(t.Context(), tok); err != nil {
		t.Errorf("re-enabled account: %v", err)
	}
}

// TestKeysPasswordUntouched: an account keeps its SOAP password while it
// has keys, and changing the password leaves the keys working.
func TestKeysPasswordUntouched(t *testing.T) {
	e := newKeysEnv(t)
	e.alice.PasswordHash = "hash-before"
	if err := e.db.UpdateAccount(t.Context(), e.alice); err != nil {
		t.Fatal(err)
	}
	k, tok := e.create(t, e.alice)
	if _, err := e.keys.Replace(t.Context(), e.alice.ID, k.ID, "n", nil); err != nil {
		t.Fatal(err)
	}
	if a, _ := e.db.AccountByID(t.Context(), e.alice.ID); a.PasswordHash != "hash-before" {
		t.Errorf("key operations changed the password hash to %q", a.PasswordHash)
	}
	e.alice.PasswordHash = "hash-after"
	if err := e.db.UpdateAccount(t.Context(), e.alice); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.keys.Verify(t.Context(), tok); err != nil {
		t.Errorf("a password change broke the key: %v", err)
	}
}

func TestKeysLimit(t *testing.T) {
	e := newKeysEnv(t)
	var first APIKey
	for i := range MaxKeysPerAccount {
		k, _, err := e.keys.Create(t.Context(), e.alice.ID, fmt.Sprint("k", i), []string{"mail.send"})
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		if i == 0 {
			first = k
		}
	}
	if _, tok, err := e.keys.Create(t.Context(), e.alice.ID, "one too many", nil); !errors.Is(err, ErrTooManyKeys) || tok != "" {
		t.Fatalf("key %d: %q, %v; want ErrTooManyKeys", MaxKeysPerAccount+1, tok, err)
	}
	if ErrTooManyKeys.Error() != "Cannot create more than 100 API Keys" {
		t.Errorf("message %q is not SendGrid's", ErrTooManyKeys)
	}
	if _, _, err := e.keys.Create(t.Context(), e.bob.ID, "bob's", nil); err != nil {
		t.Errorf("another account: %v", err)
	}
	if err := e.keys.Revoke(t.Context(), e.alice.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.keys.Create(t.Context(), e.alice.ID, "after a revoke", nil); err != nil {
		t.Errorf("after a revoke: %v", err)
	}
	if l, _ := e.keys.List(t.Context(), e.alice.ID, 10); len(l) != 10 {
		t.Errorf("List(limit 10) gave %d", len(l))
	}

	small := &Keys{Store: e.db, Clock: e.clock, MaxPerAccount: 1}
	if _, _, err := small.Create(t.Context(), e.bob.ID, "second", nil); !errors.Is(err, ErrTooManyKeys) {
		t.Errorf("MaxPerAccount 1: %v", err)
	}
}

// TestKeysVerifyPath: every refusal of a well-formed token makes the same
// store calls as a success — a known id and an unknown one cost one read
// of the key with its account, one hash and one comparison — so the time a
// refusal takes does not say whether the id exists.
func TestKeysVerifyPath(t *testing.T) {
	e := newKeysEnv(t)
	k, tok := e.create(t, e.alice)
	_, revokedTok := e.create(t, e.alice)
	revokedID, _, _ := ParseKeyToken(revokedTok)
	if err := e.keys.Revoke(t.Context(), e.alice.ID, revokedID); err != nil {
		t.Fatal(err)
	}
	_, unknownTok, _ := e.keys.newToken()
	want := []string{"APIKeyWithAccount"}
	for _, tc := range []struct{ name, token string }{
		{"valid", tok},
		{"wrong secret", "SG." + k.ID + "." + unknownTok[len(unknownTok)-43:]},
		{"unknown id", unknownTok},
		{"revoked", revokedTok},
	} {
		e.db.take()
		e.keys.Verify(t.Context(), tc.token)
		if got := e.db.take(); !slices.Equal(got, want) {
			t.Errorf("%s: store calls %v, want %v", tc.name, got, want)
		}
	}
}

// TestKeysRefusalFloor: every refusal, whatever its cause, takes at least
// the floor, so that a fast miss does not stand out from a slow hit.
func TestKeysRefusalFloor(t *testing.T) {
	e := newKeysEnv(t)
	e.keys.RefusalFloor = 20 * time.Millisecond
	k, tok := e.create(t, e.alice)
	_, unknown, _ := e.keys.newToken()
	for _, tc := range []struct{ name, token string }{
		{"unknown id", unknown},
		{"wrong secret", "SG." + k.ID + "." + unknown[len(unknown)-secretLen:]},
		{"malformed", "junk"},
	} {
		start := time.Now()
		_, _, err := e.keys.Verify(t.Context(), tc.token)
		if took := time.Since(start); !errors.Is(err, ErrKeyInvalid) || took < e.keys.RefusalFloor {
			t.Errorf("%s: %v after %v, want ErrKeyInvalid after at least %v", tc.name, err, took, e.keys.RefusalFloor)
		}
	}
	// A caller that gives up is not held.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	e.keys.RefusalFloor = time.Hour
	if _, _, err := e.keys.Verify(ctx, unknown); !errors.Is(err, ErrKeyInvalid) && err == nil {
		t.Errorf("canceled: %v", err)
	}
	// Success is never held.
	e.keys.RefusalFloor = time.Hour
	if _, _, err := e.keys.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
}

func TestKeysOnFailure(t *testing.T) {
	e := newKeysEnv(t)
	var reasons []string
	e.keys.OnFailure = func(_ context.Context, r string) { reasons = append(reasons, r) }
	_, tok := e.create(t, e.alice)
	e.keys.Verify(t.Context(), tok)
	e.keys.Verify(t.Context(), "junk")
	e.keys.Verify(t.Context(), "")
	if !slices.Equal(reasons, []string{"malformed"}) {
		t.Errorf("OnFailure heard %v, want only the malformed token", reasons)
	}
}

func TestKeysStoreErrors(t *testing.T) {
	e := newKeysEnv(t)
	_, tok := e.create(t, e.alice)
	e.db.Store.Close()
	_, _, err := e.keys.Verify(t.Context(), tok)
	if err == nil || errors.Is(err, ErrKeyInvalid) || errors.Is(err, ErrLoginFailed) {
		t.Errorf("Verify on a closed store = %v, want the store's error, not a refusal", err)
	}
	if _, _, err := e.keys.Create(t.Context(), e.alice.ID, "n", nil); err == nil {
		t.Error("Create on a closed store succeeded")
	}
}

func FuzzParseKeyToken(f *testing.F) {
	k := &Keys{}
	_, tok, _ := k.newToken()
	for _, s := range []string{tok, "", "SG.", "SG..", "SG.abc.def", tok + "=", "Bearer " + tok, strings.ToLower(tok)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, ok := ParseKeyToken(s)
		if !ok {
			if id != "" || secret != "" {
				t.Fatalf("refused %q but returned %q, %q", s, id, secret)
			}
			return
		}
		// Whatever is accepted is exactly what Create issues, and
		// rebuilds into the same token.
		if "SG."+id+"."+secret != s || len(id) != idLen || len(secret) != secretLen {
			t.Fatalf("accepted %q as %q, %q", s, id, secret)
		}
		if strings.ContainsAny(id+secret, ".=+/ ") {
			t.Fatalf("accepted characters outside URL-safe base64: %q", s)
		}
	})
}

func TestKeysUnknownAccount(t *testing.T) {
	e := newKeysEnv(t)
	if _, tok, err := e.keys.Create(t.Context(), 999_999, "orphan", nil); err == nil || tok != "" {
		t.Errorf("Create for an account that does not exist = %q, %v", tok, err)
	}
}

// TestKeysRevokeUnderLoad: once Revoke returns, no Verify that starts
// afterwards succeeds, however many are running around it — there is no
// cache to outlive the revoke.
func TestKeysRevokeUnderLoad(t *testing.T) {
	e := newKeysEnv(t)
	k, tok := e.create(t, e.alice)
	var revoked sync.WaitGroup
	revoked.Add(1)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				e.keys.Verify(t.Context(), tok) // racing the revoke: either answer
			}
			revoked.Wait()
			if _, _, err := e.keys.Verify(t.Context(), tok); !errors.Is(err, ErrKeyInvalid) {
				errs <- fmt.Errorf("Verify after the revoke = %v", err)
			}
		})
	}
	if err := e.keys.Revoke(t.Context(), e.alice.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	revoked.Done()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkKeysVerify compares a valid token, a wrong secret and an
// unknown id: the refusals should cost what a success costs.
func BenchmarkKeysVerify(b *testing.B) {
	db := testrig.OpenStore(b)
	a := store.Account{Username: "bench"}
	if err := db.CreateAccount(b.Context(), &a); err != nil {
		b.Fatal(err)
	}
	keys := &Keys{Store: db, RefusalFloor: -1} // the work itself, without the floor
	k, tok, err := keys.Create(b.Context(), a.ID, "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	_, unknown, _ := keys.newToken()
	for _, bc := range []struct{ name, token string }{
		{"valid", tok},
		{"wrong-secret", "SG." + k.ID + "." + unknown[len(unknown)-secretLen:]},
		{"unknown-id", unknown},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				keys.Verify(b.Context(), bc.token)
			}
		})
	}
}

// KeyRecord seeds a key whose token the caller chose; Verify must accept
// it as it accepts a created one, and refuse what Create would refuse.
func TestKeyRecord(t *testing.T) {
	e := newKeysEnv(t)
	const tok = "SG.goldenkeyAAAAAAAAAAAAA.goldensecretAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	rec, err := KeyRecord(e.alice.ID, tok, "seeded", []string{"mail.send"}, keysEpoch)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Store.CreateAPIKey(t.Context(), rec, 0); err != nil {
		t.Fatal(err)
	}
	p, k, err := e.keys.Verify(t.Context(), tok)
	if err != nil || p.AccountID != e.alice.ID || !slices.Equal(k.Scopes, []string{"mail.send"}) || k.ID != "goldenkeyAAAAAAAAAAAAA" {
		t.Fatalf("Verify = %+v %+v %v", p, k, err)
	}
	for _, c := range []struct {
		name, token, keyName string
		scopes               []string
		want                 error
	}{
		{"malformed token", "SG.fixed.token", "k", nil, nil},
		{"blank name", tok, " ", nil, ErrKeyName},
		{"unknown scope", tok, "k", []string{"mail.nope"}, ErrUnknownScope},
	} {
		_, err := KeyRecord(e.alice.ID, c.token, c.keyName, c.scopes, keysEpoch)
		if err == nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestMayGrant(t *testing.T) {
	for _, tc := range []struct {
		name            string
		held, requested []string
		ok              bool
	}{
		{"a scope it holds", []string{"mail.send", "api_keys.create"}, []string{"mail.send"}, true},
		{"nothing", []string{"api_keys.create"}, []string{}, true},
		{"a scope it lacks", []string{"api_keys.create"}, []string{"mail.send"}, false},
		{"full access by omission", []string{"api_keys.create"}, nil, false},
		{"full access from a full key", Scopes(), nil, true},
		{"the full scope", []string{ScopeFull}, nil, true},
	} {
		err := MayGrant(tc.held, tc.requested)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrScopeNotHeld)) {
			t.Errorf("%s: MayGrant = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
