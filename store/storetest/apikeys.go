package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

func apiKey(accountID int64, id string, created time.Time) store.APIKey {
	return store.APIKey{
		ID:         id,
		AccountID:  accountID,
		Name:       "key " + id,
		Scopes:     []string{"mail.send", "mail.batch.read"},
		SecretHash: []byte{0, 1, 0xfe, 0xff, byte(len(id))},
		Created:    created,
	}
}

func diffAPIKey(t *testing.T, what string, got, want store.APIKey) {
	t.Helper()
	if got.ID != want.ID || got.AccountID != want.AccountID || got.Name != want.Name ||
		!slices.Equal(got.Scopes, want.Scopes) || !bytes.Equal(got.SecretHash, want.SecretHash) ||
		!sameTime(got.Created, want.Created) || !sameTime(got.RevokedAt, want.RevokedAt) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func keyIDs(ks []store.APIKey) []string {
	var ids []string
	for _, k := range ks {
		ids = append(ids, k.ID)
	}
	return ids
}

func testAPIKeys(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("CreateGetList", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "keys-a"), newAccount(t, s, "keys-b")
		k1, k2 := apiKey(a.ID, "aaaaaaaaaaaaaaaaaaaaa1", base), apiKey(a.ID, "aaaaaaaaaaaaaaaaaaaaa2", at(time.Millisecond))
		kb := apiKey(b.ID, "bbbbbbbbbbbbbbbbbbbbb1", base)
		kb.Scopes = nil // stored as no scopes, read back empty
		for _, k := range []store.APIKey{k2, k1, kb} {
			if err := s.CreateAPIKey(t.Context(), k, 0); err != nil {
				t.Fatalf("CreateAPIKey(%s): %v", k.ID, err)
			}
		}
		got, err := s.APIKeyByID(t.Context(), k1.ID)
		if err != nil {
			t.Fatalf("APIKeyByID: %v", err)
		}
		diffAPIKey(t, "APIKeyByID", got, k1)
		gotB, err := s.APIKeyByID(t.Context(), kb.ID)
		if err != nil || len(gotB.Scopes) != 0 {
			t.Errorf("APIKeyByID(no scopes) = %+v, %v", gotB, err)
		}
		list, err := s.ListAPIKeys(t.Context(), a.ID)
		if err != nil {
			t.Fatalf("ListAPIKeys: %v", err)
		}
		if ids := keyIDs(list); !slices.Equal(ids, []string{k1.ID, k2.ID}) {
			t.Errorf("ListAPIKeys = %v, want oldest first and only the account's", ids)
		}
		_, err = s.APIKeyByID(t.Context(), "nosuchkeynosuchkeynosu")
		wantErr(t, "APIKeyByID(unknown)", err, store.ErrNotFound)

		// The key and its holder in one read, as verification needs them.
		withKey, holder, err := s.APIKeyWithAccount(t.Context(), kb.ID)
		if err != nil {
			t.Fatalf("APIKeyWithAccount: %v", err)
		}
		diffAPIKey(t, "APIKeyWithAccount", withKey, kb)
		if holder.ID != b.ID || holder.Username != b.Username || holder.Disabled {
			t.Errorf("APIKeyWithAccount account = %+v, want %+v", holder, b)
		}
		_, _, err = s.APIKeyWithAccount(t.Context(), "nosuchkeynosuchkeynosu")
		wantErr(t, "APIKeyWithAccount(unknown)", err, store.ErrNotFound)
	})

	t.Run("DuplicateID", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "dup-a"), newAccount(t, s, "dup-b")
		k := apiKey(a.ID, "dddddddddddddddddddddd", base)
		if err := s.CreateAPIKey(t.Context(), k, 0); err != nil {
			t.Fatal(err)
		}
		other := apiKey(b.ID, k.ID, base) // IDs are unique across accounts
		wantErr(t, "CreateAPIKey(duplicate)", s.CreateAPIKey(t.Context(), other, 0), store.ErrExists)
		got, _ := s.APIKeyByID(t.Context(), k.ID)
		diffAPIKey(t, "after duplicate", got, k)
	})

	t.Run("UpdateAndRevoke", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "upd-a"), newAccount(t, s, "upd-b")
		k := apiKey(a.ID, "uuuuuuuuuuuuuuuuuuuuuu", base)
		if err := s.CreateAPIKey(t.Context(), k, 0); err != nil {
			t.Fatal(err)
		}
		// Another account cannot touch it.
		stolen := k
		stolen.AccountID, stolen.Name = b.ID, "stolen"
		wantErr(t, "UpdateAPIKey(other account)", s.UpdateAPIKey(t.Context(), stolen), store.ErrNotFound)
		wantErr(t, "RevokeAPIKey(other account)", s.RevokeAPIKey(t.Context(), b.ID, k.ID, at(time.Second)), store.ErrNotFound)

		k.Name, k.Scopes = "renamed", []string{"api_keys.read"}
		k.SecretHash = []byte("ignored") // UpdateAPIKey changes name and scopes only
		if err := s.UpdateAPIKey(t.Context(), k); err != nil {
			t.Fatalf("UpdateAPIKey: %v", err)
		}
		got, _ := s.APIKeyByID(t.Context(), k.ID)
		want := apiKey(a.ID, k.ID, base)
		want.Name, want.Scopes = "renamed", []string{"api_keys.read"}
		diffAPIKey(t, "after UpdateAPIKey", got, want)

		if err := s.RevokeAPIKey(t.Context(), a.ID, k.ID, at(time.Minute)); err != nil {
			t.Fatalf("RevokeAPIKey: %v", err)
		}
		got, err := s.APIKeyByID(t.Context(), k.ID)
		want.RevokedAt = at(time.Minute)
		if err != nil {
			t.Fatalf("APIKeyByID(revoked): %v", err)
		}
		diffAPIKey(t, "revoked", got, want)
		if list, _ := s.ListAPIKeys(t.Context(), a.ID); len(list) != 0 {
			t.Errorf("ListAPIKeys lists a revoked key: %v", keyIDs(list))
		}
		wantErr(t, "RevokeAPIKey(again)", s.RevokeAPIKey(t.Context(), a.ID, k.ID, at(time.Hour)), store.ErrNotFound)
		wantErr(t, "UpdateAPIKey(revoked)", s.UpdateAPIKey(t.Context(), k), store.ErrNotFound)
		wantErr(t, "CreateAPIKey(reusing a revoked ID)", s.CreateAPIKey(t.Context(), apiKey(a.ID, k.ID, base), 0), store.ErrExists)
	})

	t.Run("Limit", func(t *testing.T) {
		s := open(t)
		a, b := newAccount(t, s, "lim-a"), newAccount(t, s, "lim-b")
		const limit = 3
		for i := range limit {
			if err := s.CreateAPIKey(t.Context(), apiKey(a.ID, fmt.Sprintf("limit%017d", i), at(time.Duration(i))), limit); err != nil {
				t.Fatalf("key %d: %v", i, err)
			}
		}
		wantErr(t, "CreateAPIKey(over the limit)", s.CreateAPIKey(t.Context(), apiKey(a.ID, "limitover000000000000x", base), limit), store.ErrKeyLimit)
		// Another account has its own count.
		if err := s.CreateAPIKey(t.Context(), apiKey(b.ID, "limitother00000000000x", base), limit); err != nil {
			t.Errorf("other account: %v", err)
		}
		// Revoked keys do not count.
		if err := s.RevokeAPIKey(t.Context(), a.ID, fmt.Sprintf("limit%017d", 0), at(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAPIKey(t.Context(), apiKey(a.ID, "limitafter00000000000x", base), limit); err != nil {
			t.Errorf("after a revoke: %v", err)
		}
	})

	t.Run("LimitUnderRace", func(t *testing.T) {
		s := open(t)
		a := newAccount(t, s, "race")
		const limit, racers = 5, 20
		var wg sync.WaitGroup
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				errs[i] = s.CreateAPIKey(t.Context(), apiKey(a.ID, fmt.Sprintf("race%018d", i), base), limit)
			})
		}
		wg.Wait()
		created := 0
		for _, err := range errs {
			switch {
			case err == nil:
				created++
			default:
				wantErr(t, "racing CreateAPIKey", err, store.ErrKeyLimit)
			}
		}
		list, _ := s.ListAPIKeys(t.Context(), a.ID)
		if created != limit || len(list) != limit {
			t.Errorf("%d creates succeeded, %d keys stored; want exactly %d", created, len(list), limit)
		}
	})
}
