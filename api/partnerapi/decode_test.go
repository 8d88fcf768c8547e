package partnerapi

import (
	"strings"
	"testing"
)

// TestTypedValueErrorsEchoBounded: a value that cannot be read is quoted in
// the Client fault, but only its first bytes, escaped: the fault goes back
// to the client, to the server log and to the request log.
func TestTypedValueErrorsEchoBounded(t *testing.T) {
	long := strings.Repeat("9", 1<<20) + "\x1b[2J"
	for _, c := range []struct {
		name string
		err  error
	}{
		{"xsd:int", func() error { _, err := parseInt(long); return err }()},
		{"xsd:dateTime", func() error { _, err := parseDateTime(long); return err }()},
		{"xsd:boolean", func() error { _, err := parseBool(long); return err }()},
	} {
		if c.err == nil {
			t.Fatalf("%s: no error for an unreadable value", c.name)
		}
		msg := c.err.Error()
		if len(msg) > 200 || strings.ContainsRune(msg, 0x1b) {
			t.Errorf("%s: error echoes %d bytes of the value (or a raw control character): %.120q", c.name, len(msg), msg)
		}
	}
}
