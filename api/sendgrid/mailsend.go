package sendgrid

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// Limits of POST /v3/mail/send (notes §4).
const (
	MaxPersonalizations = 1000
	MaxRecipients       = 1000 // to + cc + bcc, across the request
	MaxAddressLen       = 320
	MaxScheduleAhead    = 72 * time.Hour
	// maxErrors bounds errors[]: a request with a thousand bad
	// personalizations is told of the first hundred problems.
	maxErrors = 100
)

// Messages of mail/send: SendGrid's own wording where the notes record it.
const (
	msgNoPersonalization   = "You must have at least one personalization."
	msgTooManyPerso        = "The personalizations field may not have more than 1000 items."
	msgPersoArray          = "The personalizations field must be an array."
	msgPersoObject         = "Each personalization must be an object."
	msgToRequired          = "The to parameter is required for all personalization objects, and must have at least one email object with a valid email address."
	msgRecipArray          = "The %s parameter must be an array of email objects."
	msgAddrObject          = "Each email address must be an object with an email parameter."
	msgAddrInvalid         = "Does not contain a valid address."
	msgAddrLong            = "An email address may not be longer than 320 characters."
	msgDuplicate           = "Each email address in the personalization block should be unique between to, cc, and bcc."
	msgTooManyRecipients   = "The total number of recipients may not exceed 1000. This includes all recipients defined within the to, cc, and bcc parameters, across each object that you include in the personalizations array."
	msgFromRequired        = "The from object must be provided for every email send. It is an object that requires an email parameter, but may also contain a name parameter."
	msgFromInvalid         = "The from email does not contain a valid address."
	msgSubjectRequired     = "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined."
	msgSubjectString       = "The subject must be a string."
	msgContentRequired     = "The content param is required unless you are using a transactional template and have defined a template_id."
	msgContentArray        = "The content param must be an array of objects with a type and a value."
	msgContentType         = "The content type param is required and must be a string, text/plain or text/html."
	msgContentTypeSupport  = "partnerd delivers text/plain and text/html content only."
	msgContentOrder        = "If present, text/plain must be first, followed by text/html."
	msgContentOnce         = "If present, text/plain and text/html may only be provided once."
	msgContentValue        = "The content value must be a string at least one character in length."
	msgSendAtInteger       = "The send_at parameter is expecting a Unix timestamp as an integer."
	msgSendAtTooFar        = "Scheduling more than 72 hours in advance is forbidden."
	msgBatchString         = "The batch_id must be a string."
	msgTemplateUnsupported = "partnerd does not render templates: give subject and content instead of template_id."
	msgAttachUnsupported   = "partnerd does not deliver attachments."
)

// mailSend is a decoded, valid mail/send request.
type mailSend struct {
	FromEmail, FromName string
	TextBody, HTMLBody  string
	BatchID             string
	Personalizations    []personalization
	// Sandbox: mail_settings.sandbox_mode.enable, validate only.
	Sandbox bool
}

// personalization is one send to be.
type personalization struct {
	Subject    string
	Recipients []string // to, then cc, then bcc
	// SendAt is zero for "now" (absent or past).
	SendAt time.Time
}

// problems collects errors[] items up to maxErrors.
type problems []fieldError

func (p *problems) add(path, msg string) {
	if len(*p) < maxErrors {
		*p = append(*p, fieldError{Field: field(path), Message: msg})
	}
}

// decodeMailSend decodes and checks a mail/send body against now (the
// server clock). It answers every problem it finds, each with its field
// path (personalizations.0.to.1.email), or, for a body that is not a JSON
// object, one item with a null field.
func decodeMailSend(body []byte, now time.Time) (mailSend, []fieldError) {
	o, e := parseObject(body, false)
	if e != nil {
		return mailSend{}, e.errs
	}
	var m mailSend
	var ps problems

	// from
	if raw, ok := o["from"]; !ok || isNull(raw) {
		ps.add("from.email", msgFromRequired)
	} else if from, ok := asObject(raw); !ok {
		ps.add("from", msgFromRequired)
	} else {
		email, present, msg := from.str("email")
		switch {
		case msg != "":
			ps.add("from.email", msg)
		case !present || email == "":
			ps.add("from.email", msgFromRequired)
		case len(email) > MaxAddressLen:
			ps.add("from.email", msgAddrLong)
		case !validAddress(email):
			ps.add("from.email", msgFromInvalid)
		}
		name, _, msg := from.str("name")
		if msg != "" {
			ps.add("from.name", msg)
		}
		m.FromEmail, m.FromName = email, name
	}

	// subject (message level)
	subject, _, subjectMsg := o.str("subject")
	if subjectMsg != "" {
		ps.add("subject", msgSubjectString)
	}

	// send_at (message level)
	sendAt, msg := decodeSendAt(o["send_at"], now)
	if msg != "" {
		ps.add("send_at", msg)
	}

	// batch_id
	if id, _, msg := o.str("batch_id"); msg != "" {
		ps.add("batch_id", msgBatchString)
	} else {
		m.BatchID = id
	}

	// Sandbox mode validates without sending (SendGrid answers 200).
	if raw, ok := o["mail_settings"]; ok && !isNull(raw) {
		if settings, ok := asObject(raw); ok {
			if sb, ok := asObject(settings["sandbox_mode"]); ok {
				if en := sb["enable"]; !isNull(en) {
					if err := json.Unmarshal(en, &m.Sandbox); err != nil {
						ps.add("mail_settings.sandbox_mode.enable", "The enable field must be a boolean.")
					}
				}
			}
		}
	}

	// Content partnerd cannot deliver is refused rather than dropped; the
	// empty values some clients always write are absent.
	if id, _, msg := o.str("template_id"); msg != "" || id != "" {
		ps.add("template_id", msgTemplateUnsupported)
	}
	if raw := o["attachments"]; !isNull(raw) {
		if items, ok := asArray(raw); !ok || len(items) > 0 {
			ps.add("attachments", msgAttachUnsupported)
		}
	}

	// personalizations
	everyHasSubject := true
	total := 0
	if raw, ok := o["personalizations"]; !ok || isNull(raw) {
		ps.add("personalizations", msgNoPersonalization)
		everyHasSubject = false
	} else if items, ok := asArray(raw); !ok {
		ps.add("personalizations", msgPersoArray)
		everyHasSubject = false
	} else if len(items) == 0 {
		ps.add("personalizations", msgNoPersonalization)
		everyHasSubject = false
	} else if len(items) > MaxPersonalizations {
		ps.add("personalizations", msgTooManyPerso)
	} else {
		m.Personalizations = make([]personalization, 0, len(items))
		for i, raw := range items {
			p, ok := decodePersonalization(&ps, "personalizations."+strconv.Itoa(i), raw, now, sendAt)
			if p.Subject == "" {
				everyHasSubject = false
			}
			total += len(p.Recipients)
			if ok {
				m.Personalizations = append(m.Personalizations, p)
			}
		}
		if total > MaxRecipients {
			ps.add("personalizations", msgTooManyRecipients)
		}
	}
	if subject == "" && !everyHasSubject && subjectMsg == "" {
		ps.add("subject", msgSubjectRequired)
	}
	for i := range m.Personalizations {
		if m.Personalizations[i].Subject == "" {
			m.Personalizations[i].Subject = subject
		}
	}

	// content
	if raw, ok := o["content"]; !ok || isNull(raw) {
		ps.add("content", msgContentRequired)
	} else if items, ok := asArray(raw); !ok {
		ps.add("content", msgContentArray)
	} else if len(items) == 0 {
		ps.add("content", msgContentRequired)
	} else {
		decodeContent(&ps, items, &m)
	}

	if len(ps) > 0 {
		return mailSend{}, ps
	}
	return m, nil
}

// decodePersonalization decodes one personalization; ok is false when it
// had a problem (recorded in ps). Its subject is kept even then, for the
// message-level subject rule.
func decodePersonalization(ps *problems, path string, raw json.RawMessage, now, msgSendAt time.Time) (personalization, bool) {
	start := len(*ps)
	var p personalization
	o, ok := asObject(raw)
	if !ok {
		ps.add(path, msgPersoObject)
		return p, false
	}
	subject, _, msg := o.str("subject")
	if msg != "" {
		ps.add(path+".subject", msgSubjectString)
	}
	p.Subject = subject
	p.SendAt = msgSendAt
	if raw, ok := o["send_at"]; ok && !isNull(raw) {
		at, msg := decodeSendAt(raw, now)
		if msg != "" {
			ps.add(path+".send_at", msg)
		}
		p.SendAt = at
	}
	seen := make(map[string]string)
	for _, kind := range [...]string{"to", "cc", "bcc"} {
		raw, present := o[kind]
		if kind == "to" && (!present || isNull(raw)) {
			ps.add(path+".to", msgToRequired)
			continue
		}
		if !present || isNull(raw) {
			continue
		}
		items, ok := asArray(raw)
		if !ok {
			ps.add(path+"."+kind, strings.Replace(msgRecipArray, "%s", kind, 1))
			continue
		}
		if kind == "to" && len(items) == 0 {
			ps.add(path+".to", msgToRequired)
			continue
		}
		for j, item := range items {
			ipath := path + "." + kind + "." + strconv.Itoa(j)
			addr, ok := asObject(item)
			if !ok {
				ps.add(ipath, msgAddrObject)
				continue
			}
			email, present, msg := addr.str("email")
			switch {
			case msg != "":
				ps.add(ipath+".email", msg)
				continue
			case !present || email == "":
				ps.add(ipath+".email", msgAddrObject)
				continue
			case len(email) > MaxAddressLen:
				ps.add(ipath+".email", msgAddrLong)
				continue
			case !validAddress(email):
				ps.add(ipath+".email", msgAddrInvalid)
				continue
			}
			if _, _, msg := addr.str("name"); msg != "" {
				ps.add(ipath+".name", msg)
			}
			folded := strings.ToLower(email)
			if first, dup := seen[folded]; dup {
				ps.add(ipath+".email", msgDuplicate+" The first instance is in "+first+".")
				continue
			}
			seen[folded] = ipath
			p.Recipients = append(p.Recipients, email)
		}
	}
	return p, len(*ps) == start
}

// decodeContent fills the bodies from content[]: text/plain first, then
// text/html, each at most once.
func decodeContent(ps *problems, items []json.RawMessage, m *mailSend) {
	var sawPlain, sawHTML bool
	for i, raw := range items {
		path := "content." + strconv.Itoa(i)
		c, ok := asObject(raw)
		if !ok {
			ps.add(path, msgContentArray)
			continue
		}
		typ, present, msg := c.str("type")
		if msg != "" || !present || typ == "" {
			ps.add(path+".type", msgContentType)
		}
		value, present, msg := c.str("value")
		if msg != "" || !present || value == "" {
			ps.add(path+".value", msgContentValue)
		}
		switch strings.ToLower(typ) {
		case "":
		case "text/plain":
			switch {
			case sawPlain:
				ps.add(path+".type", msgContentOnce)
			case sawHTML:
				ps.add(path+".type", msgContentOrder)
			}
			sawPlain = true
			m.TextBody = value
		case "text/html":
			if sawHTML {
				ps.add(path+".type", msgContentOnce)
			}
			sawHTML = true
			m.HTMLBody = value
		default:
			ps.add(path+".type", msgContentTypeSupport)
		}
	}
}

// decodeSendAt reads send_at: a JSON integer of UNIX seconds, at most 72 h
// ahead of now; zero time for absent, null or past ("send now").
func decodeSendAt(raw json.RawMessage, now time.Time) (time.Time, string) {
	if isNull(raw) {
		return time.Time{}, ""
	}
	s := string(raw)
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return time.Time{}, msgSendAtInteger
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, msgSendAtInteger
	}
	if sec > now.Unix()+int64(MaxScheduleAhead/time.Second) {
		return time.Time{}, msgSendAtTooFar
	}
	at := time.Unix(sec, 0).UTC()
	if !at.After(now) {
		return time.Time{}, ""
	}
	return at, ""
}

func asObject(raw json.RawMessage) (object, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var o object
	return o, json.Unmarshal(raw, &o) == nil
}

func asArray(raw json.RawMessage) ([]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, false
	}
	var a []json.RawMessage
	return a, json.Unmarshal(raw, &a) == nil
}

// validAddress accepts a bare addr-spec (no display name, no angle
// brackets), the form SendGrid's email members take.
func validAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && strings.IndexByte(s, '@') > 0
}

// mailSend is POST /v3/mail/send: each personalization becomes one send;
// 202 with an empty body and X-Message-Id.
func (h *Handler) mailSend(w http.ResponseWriter, r *http.Request, c *caller) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, r, bodyError(err))
		return
	}
	m, errs := decodeMailSend(body, h.cfg.Clock.Now())
	if errs != nil {
		writeError(w, r, &apiError{status: http.StatusBadRequest, errs: errs})
		return
	}
	ctx, acct := r.Context(), c.principal.AccountID
	if m.BatchID != "" {
		// The domain refuses an unknown batch send by send; checking it
		// first answers the field once and creates nothing.
		if _, err := h.cfg.Batches.Batch(ctx, acct, m.BatchID); errors.Is(err, ErrBatchNotFound) {
			writeError(w, r, errField(http.StatusBadRequest, "batch_id", msgBatchInvalid))
			return
		} else if err != nil {
			writeError(w, r, internal("check batch", err))
			return
		}
	}
	if m.Sandbox {
		// Valid (its batch too), and not queued: SendGrid's sandbox answer.
		writeRaw(w, http.StatusOK, nil)
		return
	}
	sends := make([]sending.NewSend, len(m.Personalizations))
	for i, p := range m.Personalizations {
		rcpts := make([]store.Recipient, len(p.Recipients))
		for j, a := range p.Recipients {
			rcpts[j] = store.Recipient{Address: a}
		}
		sends[i] = sending.NewSend{
			Subject:     p.Subject,
			FromName:    m.FromName,
			FromAddress: m.FromEmail,
			SendDate:    p.SendAt,
			Content:     store.SendContent{Subject: p.Subject, TextBody: m.TextBody, HTMLBody: m.HTMLBody, Recipients: rcpts},
			BatchID:     m.BatchID,
			Origin:      store.OriginREST,
		}
	}
	created, err := h.cfg.Sends.Create(ctx, acct, sends)
	if err != nil {
		writeError(w, r, internal("create sends", err))
		return
	}
	for i, cr := range created {
		if cr.Err == nil {
			continue
		}
		// The request was checked in full above, so a refusal here is
		// a rule the decoder does not know; the sends before it exist.
		e := internal("create send "+strconv.Itoa(i), cr.Err)
		if errors.Is(cr.Err, ErrBatchNotFound) {
			e = errField(http.StatusBadRequest, "batch_id", msgBatchInvalid)
		}
		writeError(w, r, e)
		return
	}
	w.Header().Set("X-Message-Id", h.messageID(created))
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// messageID is the X-Message-Id of a mail/send: the 16 bytes of its first
// send's ObjectID (a GUID) in unpadded base64url, 22 characters like
// SendGrid's, so that a SOAP Retrieve by ObjectID finds the send.
func (h *Handler) messageID(created []sending.Created) string {
	if len(created) > 0 {
		if u, err := uuid.Parse(created[0].Send.ObjectID); err == nil {
			return base64.RawURLEncoding.EncodeToString(u[:])
		}
	}
	if h.cfg.NewMessageID != nil {
		return h.cfg.NewMessageID()
	}
	u := uuid.New()
	return base64.RawURLEncoding.EncodeToString(u[:])
}
