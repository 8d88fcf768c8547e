package loadgen

import (
	crand "crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Namespaces of the envelopes the generator writes.
const (
	nsSOAP11     = "http://schemas.xmlsoap.org/soap/envelope/"
	nsXSI        = "http://www.w3.org/2001/XMLSchema-instance"
	nsWSSE       = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsWSU        = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	nsPartnerAPI = "http://exacttarget.com/wsdl/partnerAPI"
	typeURI      = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#"
	base64URI    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)

// Credentials are what every envelope logs in with.
type Credentials struct {
	Username string
	Password string
	// Digest sends PasswordDigest (Base64(SHA-1(nonce+created+password)))
	// instead of the clear password.
	Digest bool
}

// EnvelopeWriter builds request envelopes, each with a fresh UsernameToken,
// into one reused buffer: the envelope a method returns is valid until the
// next call. It is not safe for concurrent use; give each goroutine its own
// (the generator does, and so do the Go benchmarks of the server).
type EnvelopeWriter struct {
	creds    Credentials
	username string // escaped once
	password string // escaped once (PasswordText)
	rng      *rand.ChaCha8
	buf      []byte
	now      func() time.Time
}

// NewEnvelopeWriter returns an EnvelopeWriter for creds with a random nonce
// seed.
func NewEnvelopeWriter(creds Credentials) *EnvelopeWriter {
	var seed [32]byte
	crand.Read(seed[:])
	return newEnvelopeWriterSeeded(creds, seed)
}

func newEnvelopeWriterSeeded(creds Credentials, seed [32]byte) *EnvelopeWriter {
	return &EnvelopeWriter{
		creds:    creds,
		username: escape(creds.Username),
		password: escape(creds.Password),
		rng:      rand.NewChaCha8(seed),
		now:      time.Now,
	}
}

// header starts an envelope with a fresh UsernameToken: a new 16-byte nonce
// and the current time as Created, so that a server checking replays and
// freshness accepts every request, as it would a real client's.
func (e *EnvelopeWriter) header() {
	var raw [16]byte
	e.rng.Read(raw[:])
	var nonce [24]byte
	base64.StdEncoding.Encode(nonce[:], raw[:])
	created := e.now().UTC().AppendFormat(nil, "2006-01-02T15:04:05.000Z")

	b := e.buf[:0]
	b = append(b, `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="`+nsSOAP11+`" xmlns:xsi="`+nsXSI+`"><soap:Header>`...)
	b = append(b, `<wsse:Security soap:mustUnderstand="1" xmlns:wsse="`+nsWSSE+`" xmlns:wsu="`+nsWSU+`"><wsse:UsernameToken><wsse:Username>`...)
	b = append(b, e.username...)
	b = append(b, `</wsse:Username>`...)
	if e.creds.Digest {
		h := sha1.New()
		h.Write(raw[:])
		h.Write(created)
		h.Write([]byte(e.creds.Password))
		b = append(b, `<wsse:Password Type="`+typeURI+`PasswordDigest">`...)
		b = base64.StdEncoding.AppendEncode(b, h.Sum(nil))
	} else {
		b = append(b, `<wsse:Password Type="`+typeURI+`PasswordText">`...)
		b = append(b, e.password...)
	}
	b = append(b, `</wsse:Password><wsse:Nonce EncodingType="`+base64URI+`">`...)
	b = append(b, nonce[:]...)
	b = append(b, `</wsse:Nonce><wsu:Created>`...)
	b = append(b, created...)
	b = append(b, `</wsu:Created></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>`...)
	e.buf = b
}

func (e *EnvelopeWriter) footer() []byte {
	e.buf = append(e.buf, `</soap:Body></soap:Envelope>`...)
	return e.buf
}

// Cancel returns a Perform cancel envelope with one Send Definition per ID.
func (e *EnvelopeWriter) Cancel(ids []int64) []byte { return e.Perform("cancel", ids) }

// Perform returns a Perform envelope of action (cancel, pause, resume) with
// one Send Definition per ID.
func (e *EnvelopeWriter) Perform(action string, ids []int64) []byte {
	e.header()
	e.buf = append(e.buf, `<PerformRequestMsg xmlns="`+nsPartnerAPI+`"><Options/><Action>`...)
	e.buf = append(e.buf, action...)
	e.buf = append(e.buf, `</Action><Definitions>`...)
	for _, id := range ids {
		e.buf = append(e.buf, `<Definition xsi:type="Send"><ID>`...)
		e.buf = strconv.AppendInt(e.buf, id, 10)
		e.buf = append(e.buf, `</ID></Definition>`...)
	}
	e.buf = append(e.buf, `</Definitions></PerformRequestMsg>`...)
	return e.footer()
}

// Retrieve returns a Retrieve of one Send by ID.
func (e *EnvelopeWriter) Retrieve(id int64) []byte {
	e.header()
	e.buf = append(e.buf, `<RetrieveRequestMsg xmlns="`+nsPartnerAPI+`"><RetrieveRequest><ObjectType>Send</ObjectType>`+
		`<Properties>ID</Properties><Properties>Status</Properties><Properties>SendDate</Properties>`+
		`<Filter xsi:type="SimpleFilterPart"><Property>ID</Property><SimpleOperator>equals</SimpleOperator><Value>`...)
	e.buf = strconv.AppendInt(e.buf, id, 10)
	e.buf = append(e.buf, `</Value></Filter></RetrieveRequest></RetrieveRequestMsg>`...)
	return e.footer()
}

// Create returns a Create of n Sends due at sendDate.
func (e *EnvelopeWriter) Create(n int, sendDate time.Time) []byte {
	e.header()
	date := sendDate.UTC().AppendFormat(nil, time.RFC3339)
	e.buf = append(e.buf, `<CreateRequest xmlns="`+nsPartnerAPI+`"><Options/>`...)
	for i := range n {
		e.buf = append(e.buf, `<Objects xsi:type="Send"><Email><ID>`...)
		e.buf = strconv.AppendInt(e.buf, int64(1+i%50), 10)
		e.buf = append(e.buf, `</ID></Email><List><ID>1</ID></List><SendDate>`...)
		e.buf = append(e.buf, date...)
		e.buf = append(e.buf, `</SendDate><Subject>partnerd bench</Subject></Objects>`...)
	}
	e.buf = append(e.buf, `</CreateRequest>`...)
	return e.footer()
}

// CreateMail returns a Create of one Send due at sendDate carrying what a
// mail/send of one personalization carries: an inline Email (Subject,
// TextBody) and one List Subscriber, n numbering the recipient. The create
// workload sends it, so that it compares with sg-send like for like.
func (e *EnvelopeWriter) CreateMail(n int64, sendDate time.Time) []byte {
	e.header()
	e.buf = append(e.buf, `<CreateRequest xmlns="`+nsPartnerAPI+`"><Options/><Objects xsi:type="Send"><Email><Subject>bench `...)
	e.buf = strconv.AppendInt(e.buf, n, 10)
	e.buf = append(e.buf, `</Subject><TextBody>bench</TextBody></Email><List><Subscribers><EmailAddress>bench`...)
	e.buf = strconv.AppendInt(e.buf, n, 10)
	e.buf = append(e.buf, `@example.com</EmailAddress></Subscribers></List><SendDate>`...)
	e.buf = sendDate.UTC().AppendFormat(e.buf, time.RFC3339)
	e.buf = append(e.buf, `</SendDate><FromAddress>bench@example.com</FromAddress><Subject>bench `...)
	e.buf = strconv.AppendInt(e.buf, n, 10)
	e.buf = append(e.buf, `</Subject></Objects></CreateRequest>`...)
	return e.footer()
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

func escape(s string) string { return xmlEscaper.Replace(s) }

// RetrieveAll returns a Retrieve of every Send of the account (up to the
// server's page size) with several properties each: a large answer, for
// measuring what a client that stops reading can hold.
func (e *EnvelopeWriter) RetrieveAll() []byte {
	e.header()
	e.buf = append(e.buf, `<RetrieveRequestMsg xmlns="`+nsPartnerAPI+`"><RetrieveRequest><ObjectType>Send</ObjectType>`+
		`<Properties>ID</Properties><Properties>Status</Properties><Properties>SendDate</Properties>`+
		`<Properties>Subject</Properties><Properties>CreatedDate</Properties></RetrieveRequest></RetrieveRequestMsg>`...)
	return e.footer()
}
