package sqlcodec

import (
	"strings"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

func TestCheckSendDates(t *testing.T) {
	ok := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name string
		s    store.Send
		says string // "" when accepted
	}{
		{"all unset", store.Send{}, ""},
		{"in range", store.Send{SendDate: ok, SentDate: ok, StatusChangedAt: ok, CreatedDate: ok, ModifiedDate: ok}, ""},
		{"first year", store.Send{SendDate: time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)}, ""},
		{"last year", store.Send{SendDate: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}, ""},
		{"year 10000", store.Send{SentDate: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, "SentDate 10000-01-01T00:00:00Z is outside years 1-9999"},
		{"year 0", store.Send{ModifiedDate: time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC)}, "ModifiedDate"},
		{"late in UTC", store.Send{CreatedDate: time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -2*3600))}, "CreatedDate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSendDates(tc.s)
			if tc.says == "" && err != nil || tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)) {
				t.Errorf("CheckSendDates = %v, want %q", err, tc.says)
			}
		})
	}
}
