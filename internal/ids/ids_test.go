package ids

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// draw takes one of each kind of ID from s, in a fixed order.
func draw(s Source, now time.Time) []string {
	return []string{s.UUID(), s.TimeUUID(now), Hex(s, 8), Token(s, 32), s.UUID()}
}

func TestSeededRepeats(t *testing.T) {
	now := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	a, b := draw(Seeded(42), now), draw(Seeded(42), now)
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("draw %d: %s then %s from the same seed", i, a[i], b[i])
		}
	}
	c := draw(Seeded(43), now)
	if a[0] == c[0] {
		t.Errorf("seeds 42 and 43 both gave %s", a[0])
	}
	if a[0] == a[4] {
		t.Errorf("one stream gave %s twice", a[0])
	}
}

func TestIDShapes(t *testing.T) {
	now := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		src     Source
		det     bool
		version uuid.Version
		id      func(Source) string
	}{
		{"random UUID", Random(), false, 4, Source.UUID},
		{"seeded UUID", Seeded(1), true, 4, Source.UUID},
		{"random TimeUUID", Random(), false, 7, func(s Source) string { return s.TimeUUID(now) }},
		{"seeded TimeUUID", Seeded(1), true, 7, func(s Source) string { return s.TimeUUID(now) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.src.Deterministic() != tc.det {
				t.Errorf("Deterministic() = %v", !tc.det)
			}
			s := tc.id(tc.src)
			u, err := uuid.Parse(s)
			if err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			if u.String() != s {
				t.Errorf("%q is not in canonical lower case", s)
			}
			if u.Version() != tc.version || u.Variant() != uuid.RFC4122 {
				t.Errorf("%s: version %d variant %v", s, u.Version(), u.Variant())
			}
		})
	}
}

// A seeded RequestID starts with the server's clock, so that it repeats
// with the clock and still sorts by time.
func TestSeededTimeUUIDCarriesTheClock(t *testing.T) {
	now := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	u := uuid.MustParse(Seeded(7).TimeUUID(now))
	sec, nsec := u.Time().UnixTime()
	if got := time.Unix(sec, nsec).UTC(); !got.Equal(now) {
		t.Errorf("time in the ID = %v, want %v", got, now)
	}
}

func TestForkIsIndependentOfTheParentsDraws(t *testing.T) {
	p1, p2 := Seeded(9), Seeded(9)
	p2.UUID() // the parent moved on: the fork must not care
	f1, f2 := p1.Fork("dispatch"), p2.Fork("dispatch")
	if a, b := f1.UUID(), f2.UUID(); a != b {
		t.Errorf("forks of one seed differ: %s, %s", a, b)
	}
	if a, b := Seeded(9).Fork("dispatch").UUID(), Seeded(9).Fork("other").UUID(); a == b {
		t.Errorf("forks for two purposes both gave %s", a)
	}
	if Random().Fork("x").Deterministic() {
		t.Error("a fork of Random is deterministic")
	}
}

func TestOrRandom(t *testing.T) {
	if OrRandom(nil).Deterministic() {
		t.Error("OrRandom(nil) is deterministic")
	}
	if s := Seeded(3); OrRandom(s) != s {
		t.Error("OrRandom replaced a source it was given")
	}
}

// Concurrent draws from one seeded stream never give one ID twice (run
// with -race to check the lock).
func TestSeededConcurrent(t *testing.T) {
	s := Seeded(5)
	const workers, each = 8, 200
	got := make(chan string, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				got <- s.UUID()
			}
		}()
	}
	wg.Wait()
	close(got)
	seen := map[string]bool{}
	for id := range got {
		if seen[id] {
			t.Fatalf("%s drawn twice", id)
		}
		seen[id] = true
	}
}

func TestTokenAndHexLengths(t *testing.T) {
	for _, s := range []Source{Random(), Seeded(1)} {
		if tok := Token(s, 32); len(tok) != 43 || strings.ContainsAny(tok, "+/=") {
			t.Errorf("Token(32) = %q: want 43 characters of base64url", tok)
		}
		if h := Hex(s, 6); len(h) != 12 || strings.ToLower(h) != h {
			t.Errorf("Hex(6) = %q", h)
		}
	}
}
