package sendgrid

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzDecodeMailSend: whatever the body, the decoder neither panics nor
// lets through a request that breaks a limit; every refusal says why.
func FuzzDecodeMailSend(f *testing.F) {
	f.Add([]byte(validMail))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"personalizations":[{"to":[{"email":"a@example.com"}],"cc":[{"email":"a@example.com"}],"send_at":1772370000}],"from":{"email":"f@example.com"},"subject":"S","content":[{"type":"text/html","value":"<p>x</p>"}],"batch_id":"abc","send_at":"1"}`))
	f.Add([]byte(`{"personalizations":[{"to":[{"email":"A <a@example.com>"}]}],"from":{"email":"f@"},"content":[{"type":"text/html","value":"H"},{"type":"text/plain","value":"T"}]}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"personalizations":[3,{"to":{}}],"send_at":1e9}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, errs := decodeMailSend(body, t0)
		if errs != nil {
			if len(errs) > maxErrors {
				t.Fatalf("%d errors", len(errs))
			}
			for _, e := range errs {
				if e.Message == "" {
					t.Fatalf("empty message in %+v", errs)
				}
			}
			return
		}
		if n := len(m.Personalizations); n == 0 || n > MaxPersonalizations {
			t.Fatalf("%d personalizations accepted", n)
		}
		if !validAddress(m.FromEmail) || (m.TextBody == "" && m.HTMLBody == "") {
			t.Fatalf("accepted %+v", m)
		}
		total := 0
		for _, p := range m.Personalizations {
			if len(p.Recipients) == 0 || p.Subject == "" {
				t.Fatalf("accepted personalization %+v", p)
			}
			seen := map[string]bool{}
			for _, a := range p.Recipients {
				if len(a) > MaxAddressLen || !validAddress(a) || seen[strings.ToLower(a)] {
					t.Fatalf("accepted recipient %q", a)
				}
				seen[strings.ToLower(a)] = true
			}
			total += len(p.Recipients)
			if !p.SendAt.IsZero() && (!p.SendAt.After(t0) || p.SendAt.Sub(t0) > MaxScheduleAhead) {
				t.Fatalf("accepted send_at %v", p.SendAt)
			}
		}
		if total > MaxRecipients {
			t.Fatalf("%d recipients accepted", total)
		}
		if fmt.Sprint(decodeMailSend(body, t0)) != fmt.Sprint(m, []fieldError(nil)) {
			t.Fatal("not deterministic")
		}
	})
}
