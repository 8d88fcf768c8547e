package sqlcodec

import (
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
)

// EncodeScopes is a scopes column (API keys, token clients, tokens): a
// JSON array of scope names.
func EncodeScopes(scopes []string) (string, error) {
	if scopes == nil {
		scopes = []string{} // "[]", never "null", so the column reads back the same
	}
	b, err := json.Marshal(scopes)
	return string(b), err
}

// decodedScopes remembers the scopes column's few distinct values (each
// key's JSON array; most keys hold the same full list), decoded: every
// REST request reads its key, and decoding the 17 names of a full-access
// key with encoding/json was a fifth of verifying it. A pure function of
// the text, so never stale; bounded, as the values are.
var (
	decodedScopes     sync.Map // string → []string
	decodedScopesSize atomic.Int64
)

const maxDecodedScopes = 4096

// DecodeScopes decodes a scopes column, a copy the caller may keep.
func DecodeScopes(text string) ([]string, error) {
	if v, ok := decodedScopes.Load(text); ok {
		return slices.Clone(v.([]string)), nil
	}
	var scopes []string
	if err := json.Unmarshal([]byte(text), &scopes); err != nil {
		return nil, err
	}
	if decodedScopesSize.Load() < maxDecodedScopes {
		if _, loaded := decodedScopes.LoadOrStore(text, slices.Clone(scopes)); !loaded {
			decodedScopesSize.Add(1)
		}
	}
	return scopes, nil
}
