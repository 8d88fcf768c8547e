package postgres

import (
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
)

// One-shot transactions. Many Updates read one row and find nothing to
// write: a repeated cancel (the send is Canceled already), a cancel the
// rules refuse, a key that names no send. Such an Update costs two round
// trips, BEGIN with the query, then COMMIT; sent together, BEGIN, query
// and COMMIT take one, shared with the one shots of concurrent Updates
// (shots.go). The COMMIT is still a SERIALIZABLE commit, checked
// as any other, so the answer keeps the guarantees of an Update that ran
// the same query alone: nothing is skipped, only batched.
//
// Whether an Update will stop after its first query is known only once
// its fn has seen the result, so the pipeline is a prediction. When it
// is wrong (fn runs a second statement after the COMMIT went out), that
// statement fails with errOverrun, the read-only transaction has already
// ended, and Update runs fn again at once as an ordinary transaction: one
// round trip and one query lost. The prediction is kept per query text, a
// saturating counter like a branch predictor's, moved by every Update's
// outcome (predicted or not): it sends the COMMIT early only while most
// of that query's recent transactions ended with it, so a workload of
// first cancels (which always write) never pays for it, and one of
// repeats always gains.
//
// Only a SELECT that locks no row is sent as a one shot: a first
// statement that writes must not be committed before fn has decided to
// keep it, and a row lock released at once guards nothing (a claim's
// SELECT … FOR UPDATE that found nothing due is not a prediction that the
// next one will find nothing).

// oneShots predicts, per first query, whether an Update ends with it.
type oneShots struct {
	counters sync.Map // query text → *atomic.Int32
	size     atomic.Int32
}

const (
	oneShotMax       = 7   // the counter's ceiling: 3 bits of history
	oneShotThreshold = 4   // a one shot at this count and above
	oneShotQueries   = 256 // distinct first queries learned; the rest never
)

// alone says whether the Update beginning with query is predicted to run
// no other statement. A nil predictor never predicts.
func (p *oneShots) alone(query string) bool {
	if p == nil {
		return false
	}
	// Only queries that may be one shots are learned.
	c, ok := p.counters.Load(query)
	return ok && c.(*atomic.Int32).Load() >= oneShotThreshold
}

// learn moves query's counter up when its Update ran no other statement,
// down when it did.
func (p *oneShots) learn(query string, alone bool) {
	if p == nil || query == "" {
		return
	}
	v, ok := p.counters.Load(query)
	if !ok {
		if !readsOnly(query) {
			return
		}
		// Query texts are the store's constants and the shapes of
		// Retrieve filters; a bound keeps odd ones from growing the map.
		if p.size.Load() >= oneShotQueries {
			return
		}
		var loaded bool
		if v, loaded = p.counters.LoadOrStore(query, new(atomic.Int32)); !loaded {
			p.size.Add(1)
		}
	}
	c := v.(*atomic.Int32)
	for {
		old := c.Load()
		n := old - 1
		if alone {
			n = old + 1
		}
		if n < 0 || n > oneShotMax || c.CompareAndSwap(old, n) {
			return
		}
	}
}

// readsOnly says whether query is a SELECT that locks no row: one that
// may be committed before fn has seen its result.
func readsOnly(query string) bool {
	q := strings.TrimSpace(query)
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT") && !lockingClause.MatchString(q)
}

// lockingClause matches a SELECT's FOR UPDATE, FOR NO KEY UPDATE, FOR
// SHARE or FOR KEY SHARE.
var lockingClause = regexp.MustCompile(`(?i)\bFOR\s+(NO\s+KEY\s+UPDATE|UPDATE|SHARE|KEY\s+SHARE)\b`)
