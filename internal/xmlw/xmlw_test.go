package xmlw

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendTime compares AppendTime with the layout it replaces, on edge
// cases and a million random instants.
func TestAppendTime(t *testing.T) {
	reference := func(t time.Time) string {
		t = t.UTC()
		if t.Nanosecond() == 0 {
			return t.Format("2006-01-02T15:04:05Z")
		}
		return t.Format("2006-01-02T15:04:05.999Z")
	}
	cases := []time.Time{
		time.Date(2011, 3, 24, 15, 23, 47, 0, time.UTC),
		time.Date(2011, 3, 24, 15, 23, 47, 500_000_000, time.UTC),
		time.Date(2011, 3, 24, 15, 23, 47, 120_000_000, time.UTC),
		time.Date(2011, 3, 24, 15, 23, 47, 123_456_789, time.UTC),
		time.Date(2011, 3, 24, 15, 23, 47, 999_999, time.UTC), // below a millisecond
		time.Date(2011, 3, 24, 15, 23, 47, 1_000_000, time.UTC),
		time.Date(2011, 3, 24, 15, 23, 47, 0, time.FixedZone("x", -5*3600)),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 5_000_000, time.UTC),
		{},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		cases = append(cases, time.Unix(r.Int64N(400*365*86400)-100*365*86400, r.Int64N(1e9)))
	}
	for _, c := range cases {
		if got, want := string(AppendTime(nil, c)), reference(c); got != want {
			t.Fatalf("AppendTime(%v) = %s, want %s", c, got, want)
		}
	}
}

func BenchmarkAppendTime(b *testing.B) {
	t := time.Date(2011, 3, 24, 15, 23, 47, 123_000_000, time.UTC)
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = AppendTime(buf[:0], t)
	}
}
