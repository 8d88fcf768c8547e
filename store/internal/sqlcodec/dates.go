package sqlcodec

import (
	"fmt"
	"time"

	"github.com/partnerd/partnerd/store"
)

// CheckSendDates refuses a date a store could not give back as it was
// given: dates are kept as microseconds, and a date outside years 1-9999
// cannot be written as an xsd:dateTime clients read. The zero time is
// "unset" (NULL).
func CheckSendDates(s store.Send) error {
	for _, d := range []struct {
		name string
		t    time.Time
	}{{"SendDate", s.SendDate}, {"SentDate", s.SentDate}, {"StatusChangedAt", s.StatusChangedAt},
		{"CreatedDate", s.CreatedDate}, {"ModifiedDate", s.ModifiedDate}} {
		if d.t.IsZero() {
			continue
		}
		if y := d.t.UTC().Year(); y < 1 || y > 9999 {
			return fmt.Errorf("%s %s is outside years 1-9999", d.name, d.t.UTC().Format(time.RFC3339Nano))
		}
	}
	return nil
}
