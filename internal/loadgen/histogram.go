package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// subBuckets is the number of buckets per power of two. 128 keeps every
// recorded latency within 1/128 (0.8%) of its true value, which is finer
// than the run-to-run noise of any machine this runs on, in a fixed 58 KiB
// per histogram: small enough for one histogram per client goroutine, so
// recording never takes a lock.
const (
	subBucketBits = 7
	subBuckets    = 1 << subBucketBits
	numBuckets    = (64 - subBucketBits + 1) * subBuckets
)

// Histogram counts durations in log-linear buckets (HdrHistogram's layout:
// exact below 128 ns, then 128 buckets per power of two). The zero value is
// ready to use; it is not safe for concurrent use — give each goroutine its
// own and Merge them.
type Histogram struct {
	counts [numBuckets]int64
	n      int64
	sum    int64 // nanoseconds, for the mean
	max    int64
	min    int64
}

// bucketOf returns the bucket index of v nanoseconds (v >= 0).
func bucketOf(v int64) int {
	if v < subBuckets {
		return int(v)
	}
	// Shift so that the top subBucketBits+1 bits remain: the value then
	// lies in [subBuckets, 2*subBuckets), and the shift says which power
	// of two it belongs to.
	shift := bits.Len64(uint64(v)) - (subBucketBits + 1)
	return (shift+1)*subBuckets + int(v>>shift) - subBuckets
}

// bucketRange returns the lowest value and the width of bucket i.
func bucketRange(i int) (lo, width int64) {
	if i < subBuckets {
		return int64(i), 1
	}
	shift := i/subBuckets - 1
	m := int64(i%subBuckets + subBuckets)
	return m << shift, 1 << shift
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	h.n++
	h.sum += v
	if v > h.max {
		h.max = v
	}
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded durations.
func (h *Histogram) Count() int64 { return h.n }

// Max returns the largest recorded duration, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min returns the smallest recorded duration, exactly.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean returns the average recorded duration.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// Quantile returns the duration below or at which a fraction q (0..1) of the
// recorded durations lie: the value of rank ceil(q*n), the "nearest rank"
// definition, so that p99 of 100 samples is the 99th smallest, not an
// interpolation between two. The answer is the middle of that sample's
// bucket, clamped to the exact minimum and maximum.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := bucketRange(i)
			v := lo + (w-1)/2
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
