package postgres

import "testing"

// TestOneShotsPredict: a query is predicted to end its Update once most
// of its recent Updates did, and stops being so once most did not; a
// query that writes never is, whatever its history.
func TestOneShotsPredict(t *testing.T) {
	const q = "SELECT 1 FROM sends WHERE id = $1"
	tests := []struct {
		name    string
		query   string
		history []bool // learned in order: true = the Update ended with its first query
		want    bool
	}{
		{"never seen", q, nil, false},
		{"three alone are not enough", q, []bool{true, true, true}, false},
		{"four alone", q, []bool{true, true, true, true}, true},
		{"lower case, leading space", "  select 1", []bool{true, true, true, true}, true},
		{"one miss after a long run", q, []bool{true, true, true, true, true, true, true, true, true, false}, true},
		{"two misses after a long run", q, []bool{true, true, true, true, true, true, true, true, true, false, false, false, false}, false},
		{"alternating from the top", q, []bool{true, true, true, true, true, true, true, false, true, false, true, false}, true},
		{"mostly misses", q, []bool{true, false, false, true, false, false, true, false}, false},
		{"a write never", "UPDATE sends SET status = 1", []bool{true, true, true, true, true}, false},
		{"a write in a CTE never", "WITH x AS (DELETE FROM nonces RETURNING 1) SELECT 1", []bool{true, true, true, true, true}, false},
		{"a row lock never", "SELECT id FROM sends WHERE id = $1 FOR UPDATE", []bool{true, true, true, true, true}, false},
		{"a row lock on its own line never", "SELECT id FROM sends\nLIMIT 2 for\n  no key update skip locked", []bool{true, true, true, true, true}, false},
		{"a shared lock never", "SELECT 1 FROM accounts WHERE id = $1 FOR KEY SHARE", []bool{true, true, true, true, true}, false},
		{"a column named for_update", "SELECT for_update FROM t", []bool{true, true, true, true, true}, true},
		{"empty", "", []bool{true, true, true, true, true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p oneShots
			for _, alone := range tt.history {
				p.learn(tt.query, alone)
			}
			if got := p.alone(tt.query); got != tt.want {
				t.Errorf("alone = %v, want %v", got, tt.want)
			}
			if p.alone("SELECT 2") {
				t.Error("a query never learned is predicted")
			}
		})
	}
	var none *oneShots
	none.learn(q, true)
	if none.alone(q) {
		t.Error("a nil predictor predicts")
	}
}

// TestOneShotsBounded: past oneShotQueries distinct queries, new ones are
// not learned (and so never predicted), and those learned before still are.
func TestOneShotsBounded(t *testing.T) {
	var p oneShots
	query := func(i int) string {
		return "SELECT " + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
	}
	for i := range oneShotQueries + 10 {
		for range oneShotThreshold {
			p.learn(query(i), true)
		}
	}
	if !p.alone(query(0)) || !p.alone(query(oneShotQueries-1)) {
		t.Error("a query learned within the bound is not predicted")
	}
	if p.alone(query(oneShotQueries)) {
		t.Error("a query past the bound was learned")
	}
}
