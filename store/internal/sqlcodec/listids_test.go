package sqlcodec

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestDecodeListIDs(t *testing.T) {
	for _, tc := range []struct {
		text    string
		want    []int64
		wantErr bool
	}{
		{"[]", nil, false},
		{"[1]", []int64{1}, false},
		{"[1,2,30]", []int64{1, 2, 30}, false},
		{"[-5,9223372036854775807]", []int64{-5, 9223372036854775807}, false},
		// Not what EncodeListIDs writes, but valid JSON: the slow path.
		{"[ 1, 2 ]", []int64{1, 2}, false},
		{"null", nil, false},
		{"[1,,2]", nil, true},
		{"[1.5]", nil, true},
		{`["1"]`, nil, true},
		{"[", nil, true},
		{"", nil, true},
	} {
		got, err := DecodeListIDs(tc.text)
		if (err != nil) != tc.wantErr {
			t.Errorf("DecodeListIDs(%q) error %v, want error %v", tc.text, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && !slices.Equal(got, tc.want) {
			t.Errorf("DecodeListIDs(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

// FuzzDecodeListIDs checks the fast path against encoding/json: whatever
// both accept, they read alike.
func FuzzDecodeListIDs(f *testing.F) {
	for _, s := range []string{"[]", "[1,2]", "[ 3 ]", "[1,,2]", "[+1]", "[01]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, err := DecodeListIDs(text)
		var want []int64
		jerr := json.Unmarshal([]byte(text), &want)
		if (err == nil) != (jerr == nil) {
			t.Fatalf("DecodeListIDs(%q) error %v, encoding/json %v", text, err, jerr)
		}
		if err == nil && !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("DecodeListIDs(%q) = %v, encoding/json %v", text, got, want)
		}
	})
}
