package credential

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
)

// DefaultCacheSize is a cache size for NewCache that holds every active
// client of a large deployment in a few hundred kilobytes.
const DefaultCacheSize = 4096

// Cache remembers PasswordText credentials that recently passed CheckHash,
// so a client sending the same password on every request pays the slow hash
// once. An entry is keyed by the account ID, the stored PasswordHash string
// and the presented password: rotating an account's password writes a new
// hash (new salt), so the old entry can never match again, in this process
// or any other sharing the database, without any invalidation message.
//
// Only a keyed digest of that triple is kept, never the clear password. The
// key is random per Cache, so the digests cannot be matched against
// precomputed tables or against another process's cache.
//
// Failures are not cached: every wrong guess pays the full hash.
//
// A Cache is safe for concurrent use. A nil *Cache caches nothing.
type Cache struct {
	mac  [32]byte  // HMAC key for entry digests
	macs sync.Pool // of hash.Hash keyed with mac: hmac.New costs two allocations per request

	mu      sync.Mutex
	max     int
	order   *list.List // of cacheKey; front is most recently used
	entries map[cacheKey]*list.Element
}

type cacheKey [sha256.Size]byte

// NewCache returns a Cache holding at most size entries, evicting the least
// recently used. A size below 1 is taken as 1.
func NewCache(size int) *Cache {
	if size < 1 {
		size = 1
	}
	c := &Cache{max: size, order: list.New(), entries: make(map[cacheKey]*list.Element)}
	rand.Read(c.mac[:])
	return c
}

// Check reports whether password matches encodedHash, the stored hash of
// account accountID: from the cache when it has verified this exact
// password against this exact hash before, otherwise with CheckHash,
// remembering a match.
func (c *Cache) Check(accountID int64, encodedHash, password string) bool {
	if c == nil {
		return CheckHash(encodedHash, password)
	}
	k := c.key(accountID, encodedHash, password)
	if c.hit(k) {
		return true
	}
	if !CheckHash(encodedHash, password) {
		return false
	}
	c.add(k)
	return true
}

// Hit reports, without hashing, whether password was verified against
// encodedHash for account accountID before: callers that bound the
// hashing work (a flood of guesses) check the cache first and queue only
// the misses. A nil Cache never hits.
func (c *Cache) Hit(accountID int64, encodedHash, password string) bool {
	if c == nil {
		return false
	}
	return c.hit(c.key(accountID, encodedHash, password))
}

// Remember records that password matched encodedHash (the caller ran
// CheckHash after a miss of Hit).
func (c *Cache) Remember(accountID int64, encodedHash, password string) {
	if c == nil {
		return
	}
	c.add(c.key(accountID, encodedHash, password))
}

// Len returns the number of cached entries.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// key digests the triple with unambiguous framing: the lengths make
// ("ab","c") and ("a","bc") different entries.
func (c *Cache) key(accountID int64, encodedHash, password string) cacheKey {
	pw := sha256.Sum256([]byte(password))
	m, _ := c.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, c.mac[:])
	}
	defer func() {
		m.Reset()
		c.macs.Put(m)
	}()
	var n [16]byte
	binary.BigEndian.PutUint64(n[:8], uint64(accountID))
	binary.BigEndian.PutUint64(n[8:], uint64(len(encodedHash)))
	m.Write(n[:])
	m.Write([]byte(encodedHash))
	m.Write(pw[:])
	var k cacheKey
	m.Sum(k[:0])
	return k
}

func (c *Cache) hit(k cacheKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if ok {
		c.order.MoveToFront(e)
	}
	return ok
}

func (c *Cache) add(k cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok { // a concurrent miss got here first
		c.order.MoveToFront(e)
		return
	}
	for c.order.Len() >= c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.entries, old.Value.(cacheKey))
	}
	c.entries[k] = c.order.PushFront(k)
}
