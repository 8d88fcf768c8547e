package sendgrid

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/partnerd/partnerd/store"
)

// validMail is a minimal valid mail/send body; tests patch it.
const validMail = `{"personalizations":[{"to":[{"email":"a@example.com"}]}],"from":{"email":"f@example.com","name":"F"},"subject":"S","content":[{"type":"text/plain","value":"T"}]}`

func TestMailSendCreatesOneSendPerPersonalization(t *testing.T) {
	rg := newRig(nil)
	var b batchResponse
	_ = json.Unmarshal(rg.do("POST", "/v3/mail/batch", rg.full, "").Body.Bytes(), &b)
	at := t0.Add(2 * time.Hour)
	body := fmt.Sprintf(`{
	  "personalizations": [
	    {"to":[{"email":"a@example.com","name":"A"}],"cc":[{"email":"c@example.com"}],"bcc":[{"email":"b@example.com"}]},
	    {"to":[{"email":"d@example.com"}],"subject":"Own","send_at":%d},
	    {"to":[{"email":"e@example.com"}],"send_at":%d}
	  ],
	  "from": {"email":"f@example.com","name":"Sender"},
	  "subject": "Hello",
	  "content": [{"type":"text/plain","value":"plain"},{"type":"text/html","value":"<p>html</p>"}],
	  "send_at": %d,
	  "batch_id": %q,
	  "categories": ["ignored"]
	}`, at.Add(time.Hour).Unix(), t0.Add(-time.Hour).Unix(), at.Unix(), b.BatchID)
	rec := rg.do("POST", "/v3/mail/send", rg.full, body)
	check(t, rec, 202, "")
	if rec.Header().Get("Content-Length") != "0" {
		t.Errorf("Content-Length %q", rec.Header().Get("Content-Length"))
	}
	if len(rg.sends.calls) != 1 || len(rg.sends.calls[0]) != 3 {
		t.Fatalf("calls %+v", rg.sends.calls)
	}
	got := rg.sends.calls[0]
	wantRcpts := [][]store.Recipient{
		{{Address: "a@example.com"}, {Address: "c@example.com"}, {Address: "b@example.com"}},
		{{Address: "d@example.com"}},
		{{Address: "e@example.com"}},
	}
	wantSubject := []string{"Hello", "Own", "Hello"}
	wantAt := []time.Time{at, at.Add(time.Hour), {}} // a past send_at is "now"
	for i, s := range got {
		if s.Subject != wantSubject[i] || s.Content.Subject != wantSubject[i] {
			t.Errorf("send %d subject %q / %q, want %q", i, s.Subject, s.Content.Subject, wantSubject[i])
		}
		if !s.SendDate.Equal(wantAt[i]) {
			t.Errorf("send %d SendDate %v, want %v", i, s.SendDate, wantAt[i])
		}
		if fmt.Sprint(s.Content.Recipients) != fmt.Sprint(wantRcpts[i]) {
			t.Errorf("send %d recipients %v, want %v", i, s.Content.Recipients, wantRcpts[i])
		}
		if s.FromAddress != "f@example.com" || s.FromName != "Sender" || s.Content.TextBody != "plain" || s.Content.HTMLBody != "<p>html</p>" {
			t.Errorf("send %d %+v", i, s)
		}
	}
	// X-Message-Id: 22 characters, the first send's ObjectID.
	id := rec.Header().Get("X-Message-Id")
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if len(id) != 22 || err != nil || len(raw) != 16 {
		t.Fatalf("X-Message-Id %q", id)
	}
	if u, _ := uuid.FromBytes(raw); u.String() == "" {
		t.Errorf("X-Message-Id %q is not a GUID", id)
	}
}

func TestMailSendSendAtLimits(t *testing.T) {
	rg := newRig(nil)
	for _, tt := range []struct {
		ahead  time.Duration
		status int
	}{
		{72 * time.Hour, 202},
		{72*time.Hour + time.Second, 400},
		{0, 202},
	} {
		body := strings.Replace(validMail, `"subject":"S"`, fmt.Sprintf(`"subject":"S","send_at":%d`, t0.Add(tt.ahead).Unix()), 1)
		rec := rg.do("POST", "/v3/mail/send", rg.full, body)
		if rec.Code != tt.status {
			t.Errorf("send_at now+%v: %d %s, want %d", tt.ahead, rec.Code, rec.Body, tt.status)
		}
	}
}

func TestMailSendUnknownBatch(t *testing.T) {
	rg := newRig(nil)
	body := strings.Replace(validMail, `"subject":"S"`, `"subject":"S","batch_id":"nope"`, 1)
	check(t, rg.do("POST", "/v3/mail/send", rg.full, body), 400, `{"errors":[{"field":"batch_id","message":"invalid batch id"}]}`)
	if len(rg.sends.calls) != 0 {
		t.Errorf("sends created for an unknown batch: %v", rg.sends.calls)
	}
}

func TestMailSendStoreFailureIsA500WithoutDetails(t *testing.T) {
	rg := newRig(nil)
	rg.sends.err = errors.New("disk on fire at /var/lib/partnerd")
	rec, snap := rg.doInfo("POST", "/v3/mail/send", rg.full, validMail)
	check(t, rec, 500, `{"errors":[{"field":null,"message":"internal error"}]}`)
	if !strings.Contains(snap.Detail, "disk on fire") {
		t.Errorf("detail %q", snap.Detail)
	}
}

// TestDecodeMailSendErrors: every refusal of the decoder, with its field
// path and message.
func TestDecodeMailSendErrors(t *testing.T) {
	addrs := addresses
	persos := func(n int) string {
		return `[` + strings.Repeat(`{"to":[{"email":"a@example.com"}]},`, n-1) + `{"to":[{"email":"a@example.com"}]}]`
	}
	type item struct{ field, message string }
	tests := []struct {
		name string
		body string
		want []item
	}{
		{"empty object", `{}`, []item{
			{"from.email", msgFromRequired}, {"personalizations", msgNoPersonalization},
			{"subject", msgSubjectRequired}, {"content", msgContentRequired}}},
		{"not JSON", `{`, []item{{"", msgBadJSON}}},
		{"personalizations not an array", `{"personalizations":{},"from":{"email":"f@example.com"},"subject":"S","content":[{"type":"text/plain","value":"T"}]}`,
			[]item{{"personalizations", msgPersoArray}}},
		{"empty personalizations", `{"personalizations":[],"from":{"email":"f@example.com"},"subject":"S","content":[{"type":"text/plain","value":"T"}]}`,
			[]item{{"personalizations", msgNoPersonalization}}},
		{"too many personalizations", `{"personalizations":` + persos(1001) + `,"from":{"email":"f@example.com"},"subject":"S","content":[{"type":"text/plain","value":"T"}]}`,
			[]item{{"personalizations", msgTooManyPerso}}},
		{"personalization not an object", patch(`"personalizations":[{"to":[{"email":"a@example.com"}]}]`, `"personalizations":[3]`),
			[]item{{"personalizations.0", msgPersoObject}}},
		{"missing to", patch(`"personalizations":[{"to":[{"email":"a@example.com"}]}]`, `"personalizations":[{"cc":[{"email":"a@example.com"}]}]`),
			[]item{{"personalizations.0.to", msgToRequired}}},
		{"empty to", patch(`[{"email":"a@example.com"}]`, `[]`), []item{{"personalizations.0.to", msgToRequired}}},
		{"to not an array", patch(`[{"email":"a@example.com"}]`, `{"email":"a@example.com"}`),
			[]item{{"personalizations.0.to", "The to parameter must be an array of email objects."}}},
		{"cc not an array", patch(`}]}]`, `}],"cc":"c@example.com"}]`),
			[]item{{"personalizations.0.cc", "The cc parameter must be an array of email objects."}}},
		{"address not an object", patch(`[{"email":"a@example.com"}]`, `["a@example.com"]`),
			[]item{{"personalizations.0.to.0", msgAddrObject}}},
		{"address without email", patch(`[{"email":"a@example.com"}]`, `[{"name":"A"}]`),
			[]item{{"personalizations.0.to.0.email", msgAddrObject}}},
		{"email not a string", patch(`[{"email":"a@example.com"}]`, `[{"email":7}]`),
			[]item{{"personalizations.0.to.0.email", "The email must be a string."}}},
		{"invalid address", patch(`[{"email":"a@example.com"}]`, `[{"email":"a@example.com"},{"email":"not an address"}]`),
			[]item{{"personalizations.0.to.1.email", msgAddrInvalid}}},
		{"display name form", patch(`[{"email":"a@example.com"}]`, `[{"email":"A <a@example.com>"}]`),
			[]item{{"personalizations.0.to.0.email", msgAddrInvalid}}},
		{"header injection", patch(`[{"email":"a@example.com"}]`, `[{"email":"a@example.com\r\nBcc: x@example.com"}]`),
			[]item{{"personalizations.0.to.0.email", msgAddrInvalid}}},
		{"address too long", patch(`[{"email":"a@example.com"}]`, `[{"email":"`+strings.Repeat("a", 64)+`@`+strings.Repeat("b", 252)+`.com"}]`),
			[]item{{"personalizations.0.to.0.email", msgAddrLong}}},
		{"name not a string", patch(`[{"email":"a@example.com"}]`, `[{"email":"a@example.com","name":1}]`),
			[]item{{"personalizations.0.to.0.name", "The name must be a string."}}},
		{"duplicate across to and bcc", patch(`[{"email":"a@example.com"}]`, `[{"email":"a@example.com"}],"bcc":[{"email":"A@Example.com"}]`),
			[]item{{"personalizations.0.bcc.0.email", msgDuplicate + " The first instance is in personalizations.0.to.0."}}},
		{"too many recipients", patch(`"personalizations":[{"to":[{"email":"a@example.com"}]}]`,
			`"personalizations":[{"to":[`+addrs(600, "a")+`]},{"to":[`+addrs(401, "b")+`]}]`),
			[]item{{"personalizations", msgTooManyRecipients}}},
		{"missing from", patch(`"from":{"email":"f@example.com","name":"F"},`, ``), []item{{"from.email", msgFromRequired}}},
		{"from not an object", patch(`{"email":"f@example.com","name":"F"}`, `"f@example.com"`), []item{{"from", msgFromRequired}}},
		{"from without email", patch(`{"email":"f@example.com","name":"F"}`, `{"name":"F"}`), []item{{"from.email", msgFromRequired}}},
		{"from invalid", patch(`{"email":"f@example.com","name":"F"}`, `{"email":"f@"}`), []item{{"from.email", msgFromInvalid}}},
		{"from name not a string", patch(`"name":"F"`, `"name":["F"]`), []item{{"from.name", "The name must be a string."}}},
		{"missing subject", patch(`"subject":"S",`, ``), []item{{"subject", msgSubjectRequired}}},
		{"subject not a string", patch(`"subject":"S"`, `"subject":1`), []item{{"subject", msgSubjectString}}},
		{"personalization subject not a string", patch(`}]}]`, `}],"subject":false}]`),
			[]item{{"personalizations.0.subject", msgSubjectString}}},
		{"missing content", patch(`,"content":[{"type":"text/plain","value":"T"}]`, ``), []item{{"content", msgContentRequired}}},
		{"empty content", patch(`[{"type":"text/plain","value":"T"}]`, `[]`), []item{{"content", msgContentRequired}}},
		{"content not an array", patch(`[{"type":"text/plain","value":"T"}]`, `"T"`), []item{{"content", msgContentArray}}},
		{"content item not an object", patch(`[{"type":"text/plain","value":"T"}]`, `["T"]`), []item{{"content.0", msgContentArray}}},
		{"content without type and value", patch(`[{"type":"text/plain","value":"T"}]`, `[{}]`),
			[]item{{"content.0.type", msgContentType}, {"content.0.value", msgContentValue}}},
		{"content empty value", patch(`"value":"T"`, `"value":""`), []item{{"content.0.value", msgContentValue}}},
		{"content value not a string", patch(`"value":"T"`, `"value":5`), []item{{"content.0.value", msgContentValue}}},
		{"content type unsupported", patch(`"text/plain"`, `"text/calendar"`), []item{{"content.0.type", msgContentTypeSupport}}},
		{"html before plain", patch(`[{"type":"text/plain","value":"T"}]`, `[{"type":"text/html","value":"H"},{"type":"text/plain","value":"T"}]`),
			[]item{{"content.1.type", msgContentOrder}}},
		{"plain twice", patch(`[{"type":"text/plain","value":"T"}]`, `[{"type":"text/plain","value":"T"},{"type":"text/plain","value":"U"}]`),
			[]item{{"content.1.type", msgContentOnce}}},
		{"html twice", patch(`[{"type":"text/plain","value":"T"}]`, `[{"type":"text/html","value":"T"},{"type":"text/html","value":"U"}]`),
			[]item{{"content.1.type", msgContentOnce}}},
		{"send_at a string", patch(`"subject":"S"`, `"subject":"S","send_at":"1772366400"`), []item{{"send_at", msgSendAtInteger}}},
		{"send_at a fraction", patch(`"subject":"S"`, `"subject":"S","send_at":1772366400.5`), []item{{"send_at", msgSendAtInteger}}},
		{"send_at an exponent", patch(`"subject":"S"`, `"subject":"S","send_at":1.7e9`), []item{{"send_at", msgSendAtInteger}}},
		{"send_at overflows", patch(`"subject":"S"`, `"subject":"S","send_at":99999999999999999999`), []item{{"send_at", msgSendAtInteger}}},
		{"send_at too far", patch(`"subject":"S"`, fmt.Sprintf(`"subject":"S","send_at":%d`, t0.Add(73*time.Hour).Unix())), []item{{"send_at", msgSendAtTooFar}}},
		{"personalization send_at too far", patch(`}]}]`, fmt.Sprintf(`}],"send_at":%d}]`, t0.Add(100*time.Hour).Unix())),
			[]item{{"personalizations.0.send_at", msgSendAtTooFar}}},
		{"personalization send_at a string", patch(`}]}]`, `}],"send_at":"soon"}]`),
			[]item{{"personalizations.0.send_at", msgSendAtInteger}}},
		{"batch_id a number", patch(`"subject":"S"`, `"subject":"S","batch_id":12`), []item{{"batch_id", msgBatchString}}},
		{"template_id", patch(`"subject":"S"`, `"subject":"S","template_id":"d-1"`), []item{{"template_id", msgTemplateUnsupported}}},
		{"attachments", patch(`"subject":"S"`, `"subject":"S","attachments":[{"content":"eA==","filename":"x"}]`), []item{{"attachments", msgAttachUnsupported}}},
		{"several problems at once", `{"personalizations":[{"to":[{"email":"bad"}]}],"from":{},"content":[{"type":"text/plain","value":""}],"send_at":"x","batch_id":1}`,
			[]item{{"from.email", msgFromRequired}, {"send_at", msgSendAtInteger}, {"batch_id", msgBatchString},
				{"personalizations.0.to.0.email", msgAddrInvalid}, {"subject", msgSubjectRequired}, {"content.0.value", msgContentValue}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := decodeMailSend([]byte(tt.body), t0)
			var got []item
			for _, e := range errs {
				f := ""
				if e.Field != nil {
					f = *e.Field
				}
				got = append(got, item{f, e.Message})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// patch returns validMail with old replaced by new once (the test fails
// loudly through an unchanged body otherwise).
func patch(old, new string) string {
	if !strings.Contains(validMail, old) {
		panic("patch: " + old + " not in validMail")
	}
	return strings.Replace(validMail, old, new, 1)
}

func TestDecodeMailSendAccepts(t *testing.T) {
	tests := []struct{ name, body string }{
		{"minimal", validMail},
		{"subject only per personalization", strings.Replace(patch(`"subject":"S",`, ``), `}]}]`, `}],"subject":"P"}]`, 1)},
		{"html only", patch(`"text/plain"`, `"text/html"`)},
		{"nulls are absent", patch(`"subject":"S"`, `"subject":"S","send_at":null,"batch_id":null,"template_id":null,"cc":null`)},
		{"empty template_id and attachments", patch(`"subject":"S"`, `"subject":"S","template_id":"","attachments":[]`)},
		{"past send_at", patch(`"subject":"S"`, `"subject":"S","send_at":0`)},
		{"1000 recipients", patch(`[{"email":"a@example.com"}]`, `[`+addresses(999, "x")+`,{"email":"a@example.com"}]`)},
		{"same address in two personalizations", patch(`"personalizations":[{"to":[{"email":"a@example.com"}]}]`,
			`"personalizations":[{"to":[{"email":"a@example.com"}]},{"to":[{"email":"a@example.com"}]}]`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, errs := decodeMailSend([]byte(tt.body), t0)
			if errs != nil {
				t.Fatalf("refused: %+v", errs)
			}
			if len(m.Personalizations) == 0 {
				t.Fatal("no personalization")
			}
		})
	}
}

func TestMailSendThroughTheHandlerAnswersAllItems(t *testing.T) {
	rg := newRig(nil)
	rec := rg.do("POST", "/v3/mail/send", rg.full, `{}`)
	var er errorResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &er); err != nil || rec.Code != 400 || len(er.Errors) != 4 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// addresses is n distinct email objects, comma-separated.
func addresses(n int, prefix string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"email":"%s%d@example.com"}`, prefix, i)
	}
	return b.String()
}

// TestDecodeMailSendErrorsAreBounded: a thousand bad personalizations are
// answered with the first maxErrors problems, not a thousand.
func TestDecodeMailSendErrorsAreBounded(t *testing.T) {
	bad := `{"to":[{"email":"bad"}]}`
	body := patch(`"personalizations":[{"to":[{"email":"a@example.com"}]}]`,
		`"personalizations":[`+strings.Repeat(bad+",", 999)+bad+`]`)
	_, errs := decodeMailSend([]byte(body), t0)
	if len(errs) != maxErrors || *errs[0].Field != "personalizations.0.to.0.email" {
		t.Fatalf("%d errors, first %+v", len(errs), errs[0])
	}
}

func TestMailSendSandboxValidatesWithoutSending(t *testing.T) {
	tests := []struct {
		name, settings string
		status         int
		sent           bool
	}{
		{"sandbox on", `{"sandbox_mode":{"enable":true}}`, 200, false},
		{"sandbox off", `{"sandbox_mode":{"enable":false}}`, 202, true},
		{"other settings", `{"bypass_list_management":{"enable":true}}`, 202, true},
		{"enable not a boolean", `{"sandbox_mode":{"enable":"yes"}}`, 400, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRig(nil)
			body := strings.Replace(validMail, `"subject":"S"`, `"subject":"S","mail_settings":`+tt.settings, 1)
			rec := rg.do("POST", "/v3/mail/send", rg.full, body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if sent := len(rg.sends.calls) > 0; sent != tt.sent {
				t.Fatalf("sends created: %v, want %v", sent, tt.sent)
			}
		})
	}
}
