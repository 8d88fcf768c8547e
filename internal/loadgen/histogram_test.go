package loadgen

import (
	"math"
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	// Every value lies inside the bucket it is counted in, and buckets
	// are at most 1/128 of their value wide.
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 1000, 999_999, 1 << 40, math.MaxInt64} {
		i := bucketOf(v)
		lo, w := bucketRange(i)
		if v < lo || v > lo+(w-1) {
			t.Errorf("value %d in bucket %d = [%d, %d]", v, i, lo, lo+w-1)
		}
		if v >= subBuckets && float64(w)/float64(lo) > 1.0/subBuckets+1e-12 {
			t.Errorf("bucket of %d is %d wide from %d", v, w, lo)
		}
		if i >= numBuckets {
			t.Errorf("value %d: bucket %d out of %d", v, i, numBuckets)
		}
	}
}

func TestQuantiles(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		q       float64
		want    time.Duration
		tol     float64 // relative
	}{
		{"empty", nil, 0.5, 0, 0},
		{"one sample is every quantile", []time.Duration{3 * time.Millisecond}, 0.99, 3 * time.Millisecond, 0},
		{"nearest rank, small ints exact", []time.Duration{10, 20, 30, 40}, 0.5, 20, 0},
		{"p100 is the max", []time.Duration{10, 20, 30, 40}, 1, 40, 0},
		{"p0 is the min", []time.Duration{10, 20, 30, 40}, 0, 10, 0},
		{"uniform p50", uniform(1000), 0.50, 500 * time.Microsecond, 0.01},
		{"uniform p90", uniform(1000), 0.90, 900 * time.Microsecond, 0.01},
		{"uniform p99", uniform(1000), 0.99, 990 * time.Microsecond, 0.01},
		{"outlier p99 of 100 ignores the slowest", append(repeat(100, time.Millisecond, 99), time.Second), 0.99, time.Millisecond, 0.01},
		{"outlier p999 of 100 is the slowest", append(repeat(100, time.Millisecond, 99), time.Second), 0.999, time.Second, 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, s := range tt.samples {
				h.Record(s)
			}
			got := h.Quantile(tt.q)
			if diff := math.Abs(float64(got-tt.want)) / math.Max(1, float64(tt.want)); diff > tt.tol {
				t.Errorf("Quantile(%v) = %v, want %v (±%.1f%%)", tt.q, got, tt.want, tt.tol*100)
			}
		})
	}
}

func TestMergeAndExtremes(t *testing.T) {
	var a, b, all Histogram
	for i, d := range uniform(1000) {
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	if a.Count() != 1000 || a.Max() != time.Millisecond || a.Min() != time.Microsecond {
		t.Fatalf("merged: n=%d min=%v max=%v", a.Count(), a.Min(), a.Max())
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("q%v: merged %v, direct %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
	if m := a.Mean(); m < 500*time.Microsecond || m > 501*time.Microsecond {
		t.Errorf("mean %v", m)
	}
	var neg Histogram
	neg.Record(-time.Second)
	if neg.Max() != 0 || neg.Quantile(0.5) != 0 {
		t.Errorf("negative duration not counted as zero")
	}
}

// uniform returns 1µs, 2µs … nµs.
func uniform(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * time.Microsecond
	}
	return out
}

func repeat(capacity int, d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, 0, capacity)
	for range n {
		out = append(out, d)
	}
	return out
}
