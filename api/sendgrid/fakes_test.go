package sendgrid

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/partnerd/partnerd/auth"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/sending"
)

// fakeBatches keeps batches in memory with the contract's errors; cutoff
// names the batches whose sends are inside the cutoff.
type fakeBatches struct {
	clock     clock.Clock
	heldLimit int
	err       error // every call fails with it when set (a broken store)

	mu      sync.Mutex
	n       int
	batches map[string]*Batch
	cutoff  map[string]bool
}

func newFakeBatches(clk clock.Clock) *fakeBatches {
	return &fakeBatches{clock: clk, heldLimit: 100, batches: map[string]*Batch{}, cutoff: map[string]bool{}}
}

func (f *fakeBatches) CreateBatch(_ context.Context, acct int64) (Batch, error) {
	if f.err != nil {
		return Batch{}, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	b := &Batch{ID: fmt.Sprintf("B%031d", f.n), AccountID: acct, Created: f.clock.Now()}
	f.batches[b.ID] = b
	return *b, nil
}

func (f *fakeBatches) get(acct int64, id string) (*Batch, error) {
	b, ok := f.batches[id]
	if !ok || b.AccountID != acct {
		return nil, ErrBatchNotFound
	}
	return b, nil
}

func (f *fakeBatches) Batch(_ context.Context, acct int64, id string) (Batch, error) {
	if f.err != nil {
		return Batch{}, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.get(acct, id)
	if err != nil {
		return Batch{}, err
	}
	return *b, nil
}

func (f *fakeBatches) SetHold(_ context.Context, acct int64, id string, h Hold, replace bool) (Batch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.get(acct, id)
	switch {
	case err != nil:
		return Batch{}, err
	case h != HoldPause && h != HoldCancel:
		return Batch{}, ErrBadHold
	case !replace && b.Hold != HoldNone:
		return Batch{}, ErrHoldExists
	case replace && b.Hold == HoldNone:
		return Batch{}, ErrNoHold
	case f.cutoff[id]:
		return Batch{}, fmt.Errorf("%w: due soon", sending.ErrCutoff)
	}
	if !replace {
		held := 0
		for _, o := range f.batches {
			if o.AccountID == acct && o.Hold != HoldNone {
				held++
			}
		}
		if held >= f.heldLimit {
			return Batch{}, fmt.Errorf("%w: %d batches", sending.ErrHeldLimit, held)
		}
	}
	b.Hold, b.HoldChangedAt = h, f.clock.Now()
	return *b, nil
}

func (f *fakeBatches) ReleaseHold(_ context.Context, acct int64, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.get(acct, id)
	if err != nil {
		return err
	}
	if b.Hold == HoldNone {
		return ErrNoHold
	}
	b.Hold, b.HoldChangedAt = HoldNone, f.clock.Now()
	return nil
}

func (f *fakeBatches) HeldBatches(_ context.Context, acct int64) ([]Batch, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Batch
	for _, b := range f.batches {
		if b.AccountID == acct && b.Hold != HoldNone {
			out = append(out, *b)
		}
	}
	slices.SortFunc(out, func(a, b Batch) int { return a.HoldChangedAt.Compare(b.HoldChangedAt) })
	return out, nil
}

// fakeSends records what mail/send asks to create.
type fakeSends struct {
	mu     sync.Mutex
	nextID int64
	calls  [][]sending.NewSend
	err    error // returned by Create when set
	keep   bool  // record calls (benchmarks do not)
}

func (f *fakeSends) Create(_ context.Context, acct int64, sends []sending.NewSend) ([]sending.Created, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keep {
		f.calls = append(f.calls, sends)
	}
	out := make([]sending.Created, len(sends))
	for i, s := range sends {
		f.nextID++
		out[i].Send.ID = f.nextID
		out[i].Send.AccountID = acct
		out[i].Send.ObjectID = uuid.NewString()
		out[i].Send.Subject = s.Subject
	}
	return out, nil
}

// fakeKeys holds keys by ID with their tokens; a revoked key is gone.
type fakeKeys struct {
	clock     clock.Clock
	verifyErr error // Verify fails with it when set (a broken store)
	mu        sync.Mutex
	n         int
	keys      map[string]APIKey
	token     map[string]string // token → key ID
	users     map[int64]string
}

func newFakeKeys(clk clock.Clock) *fakeKeys {
	return &fakeKeys{clock: clk, keys: map[string]APIKey{}, token: map[string]string{}, users: map[int64]string{}}
}

func (f *fakeKeys) Verify(_ context.Context, token string) (auth.Principal, APIKey, error) {
	if token == "" {
		return auth.Principal{}, APIKey{}, ErrKeyMissing
	}
	if f.verifyErr != nil {
		return auth.Principal{}, APIKey{}, f.verifyErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[f.token[token]]
	if !ok {
		return auth.Principal{}, APIKey{}, ErrKeyInvalid
	}
	return auth.Principal{AccountID: k.AccountID, Username: f.users[k.AccountID]}, k, nil
}

func (f *fakeKeys) Create(_ context.Context, acct int64, name string, scopes []string) (APIKey, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if scopes == nil {
		scopes = auth.Scopes()
	}
	k := APIKey{ID: fmt.Sprintf("key%d", f.n), AccountID: acct, Name: name, Scopes: scopes, Created: f.clock.Now()}
	secret := "SG." + k.ID + ".secret" + fmt.Sprint(f.n)
	f.keys[k.ID], f.token[secret] = k, k.ID
	return k, secret, nil
}

func (f *fakeKeys) List(_ context.Context, acct int64, limit int) ([]APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []APIKey
	for _, k := range f.keys {
		if k.AccountID == acct {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b APIKey) int { return compare(a.ID, b.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func compare(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (f *fakeKeys) find(acct int64, id string) (APIKey, error) {
	k, ok := f.keys[id]
	if !ok || k.AccountID != acct {
		return APIKey{}, ErrKeyNotFound
	}
	return k, nil
}

func (f *fakeKeys) Get(_ context.Context, acct int64, id string) (APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.find(acct, id)
}

func (f *fakeKeys) Rename(_ context.Context, acct int64, id, name string) (APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, err := f.find(acct, id)
	if err != nil {
		return k, err
	}
	k.Name = name
	f.keys[id] = k
	return k, nil
}

func (f *fakeKeys) Replace(_ context.Context, acct int64, id, name string, scopes []string) (APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, err := f.find(acct, id)
	if err != nil {
		return k, err
	}
	if scopes == nil {
		scopes = auth.Scopes()
	}
	k.Name, k.Scopes = name, scopes
	f.keys[id] = k
	return k, nil
}

func (f *fakeKeys) Revoke(_ context.Context, acct int64, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.find(acct, id); err != nil {
		return err
	}
	delete(f.keys, id)
	return nil
}

// rig is a Handler over fakes, with a manual clock and a fixed rate clock.
type rig struct {
	h       *Handler
	clock   *clock.Manual
	rateNow time.Time
	batches *fakeBatches
	sends   *fakeSends
	keys    *fakeKeys
	full    string // a full-access token of account 1
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newRig(mod func(*Config)) *rig {
	clk := clock.NewManual(t0)
	rg := &rig{clock: clk, rateNow: t0, batches: newFakeBatches(clk), sends: &fakeSends{keep: true}, keys: newFakeKeys(clk)}
	rg.keys.users[1] = "acme"
	rg.keys.users[2] = "other"
	_, rg.full, _ = rg.keys.Create(context.Background(), 1, "full", nil)
	cfg := Config{Batches: rg.batches, Sends: rg.sends, Keys: rg.keys, Clock: clk,
		RateNow: func() time.Time { return rg.rateNow }}
	if mod != nil {
		mod(&cfg)
	}
	rg.h = New(cfg)
	return rg
}

// keyWith makes a key of account acct with scopes and returns its token.
func (rg *rig) keyWith(acct int64, scopes ...string) string {
	_, tok, _ := rg.keys.Create(context.Background(), acct, "k", scopes)
	return tok
}
