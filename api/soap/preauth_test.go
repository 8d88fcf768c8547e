package soap

import (
	"context"
	"errors"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/beevik/etree"
)

// countingAuth counts its calls and checks that it is given a Header.
type countingAuth struct {
	calls     atomic.Int32
	fail      bool
	sawHeader atomic.Bool
}

func (a *countingAuth) Authenticate(ctx context.Context, env *Envelope) (Principal, error) {
	a.calls.Add(1)
	if env.Header != nil && Child(env.Header, "Security") != nil {
		a.sawHeader.Store(true)
	}
	if a.fail {
		return Principal{}, errors.New("wrong password")
	}
	return Principal{AccountID: 1, Username: "u"}, nil
}

// bigEnvelope is a Perform whose Body holds size bytes of text, after a
// WS-Security Header (or headerPad bytes of other headers before it).
func bigEnvelope(size, headerPad int) string {
	return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>` +
		`<Pad xmlns="urn:pad">` + strings.Repeat("p", headerPad) + `</Pad>` +
		`<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>u</wsse:Username><wsse:Password>p</wsse:Password></wsse:UsernameToken></wsse:Security>` +
		`</soap:Header><soap:Body><PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>` +
		strings.Repeat("x", size) + `</Action></PerformRequestMsg></soap:Body></soap:Envelope>`
}

// bodyFirstEnvelope is bigEnvelope in the order fuel-soap and sfmc-sdk
// write: the Body, then the Header, in the default namespace.
func bodyFirstEnvelope(size int) string {
	return `<?xml version="1.0" encoding="utf-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/">` +
		`<Body><PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Action>` + strings.Repeat("x", size) + `</Action></PerformRequestMsg></Body>` +
		`<Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>u</wsse:Username><wsse:Password>p</wsse:Password></wsse:UsernameToken></wsse:Security></Header></Envelope>`
}

// TestLargeBodyFirstEnvelope: an envelope whose Header follows its Body
// (the Node SDKs' order) is authenticated before parsing too, from its
// tail; a Header read differently from the tail than from the whole
// envelope (a Body end tag in a comment) is refused, not authenticated.
func TestLargeBodyFirstEnvelope(t *testing.T) {
	const size = 4 << 20
	serve := func(auth Authenticator, body string) (int, string, uint64) {
		h, _ := newTestHandler(auth)
		h.MaxBodyBytes = 8 << 20
		req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/xml")
		rec := httptest.NewRecorder()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		h.ServeHTTP(rec, req)
		runtime.ReadMemStats(&after)
		return rec.Code, rec.Body.String(), after.TotalAlloc - before.TotalAlloc
	}
	bad := &countingAuth{fail: true}
	code, out, alloc := serve(bad, bodyFirstEnvelope(size))
	if code != 500 || !strings.Contains(out, "<faultstring>Login failed</faultstring>") || !bad.sawHeader.Load() {
		t.Fatalf("wrong password: HTTP %d, Header seen %v: %.300s", code, bad.sawHeader.Load(), out)
	}
	if alloc > 2*size {
		t.Errorf("a refused 4 MiB envelope allocated %d MiB: it was parsed before its login was checked", alloc>>20)
	}
	good := &countingAuth{}
	code, out, _ = serve(good, bodyFirstEnvelope(size))
	if code != 200 || good.calls.Load() != 1 || !good.sawHeader.Load() {
		t.Fatalf("right password: HTTP %d, %d authentications (want 200, 1): %.300s", code, good.calls.Load(), out)
	}

	// The tail read after the last "</Body>" inside a comment is a Header
	// holding a UsernameToken; the envelope's real Header is the comment.
	misread := strings.Replace(bodyFirstEnvelope(size), `<Header><wsse:Security`, `<Header><!-- </Body><Header><wsse:Security`, 1)
	misread = strings.Replace(misread, `</wsse:Security></Header></Envelope>`, `</wsse:Security> --></Header></Envelope>`, 1)
	trick := &countingAuth{}
	code, out, _ = serve(trick, misread)
	if code != 500 || !strings.Contains(out, "The SOAP Header could not be read") {
		t.Fatalf("misread Header: HTTP %d: %.300s", code, out)
	}
}

// TestLargeEnvelopeAuthenticatedBeforeParsing is issue 10 defect 4: a
// stranger's large envelope was parsed whole (a few times its size in
// memory) before its credentials were looked at. Now a body over
// preauthSize is authenticated from its Header first; a failed login costs
// little more than reading the body, a good one is authenticated once.
func TestLargeEnvelopeAuthenticatedBeforeParsing(t *testing.T) {
	const size = 4 << 20
	serve := func(auth Authenticator, body string) (int, string, uint64) {
		h, _ := newTestHandler(auth)
		h.MaxBodyBytes = 8 << 20
		req := httptest.NewRequest("POST", "http://partnerd.test/Service.asmx", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		rec := httptest.NewRecorder()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		h.ServeHTTP(rec, req)
		runtime.ReadMemStats(&after)
		return rec.Code, rec.Body.String(), after.TotalAlloc - before.TotalAlloc
	}
	body := bigEnvelope(size, 0)

	bad := &countingAuth{fail: true}
	code, out, alloc := serve(bad, body)
	if code != 500 || !strings.Contains(out, "<faultstring>Login failed</faultstring>") {
		t.Fatalf("wrong password: HTTP %d %.300s", code, out)
	}
	if !bad.sawHeader.Load() {
		t.Error("the authenticator was not given the Header")
	}
	// Reading the body takes its size once; parsing it would take several
	// times more.
	if alloc > 2*size {
		t.Errorf("a refused 4 MiB envelope allocated %d MiB: it was parsed before its login was checked", alloc>>20)
	}
	t.Logf("refused 4 MiB envelope: %.1f MiB allocated", float64(alloc)/(1<<20))

	good := &countingAuth{}
	code, out, _ = serve(good, body)
	if code != 200 || good.calls.Load() != 1 {
		t.Fatalf("right password: HTTP %d, %d authentications (want 200, 1): %.300s", code, good.calls.Load(), out)
	}

	// A Header larger than the search window: the whole envelope is
	// parsed, then authenticated, as for any small request.
	late := &countingAuth{fail: true}
	code, out, _ = serve(late, bigEnvelope(size, headSearch))
	if code != 500 || !strings.Contains(out, "Login failed") || late.calls.Load() != 1 {
		t.Fatalf("large Header: HTTP %d, %d authentications: %.300s", code, late.calls.Load(), out)
	}
}

func TestReadHead(t *testing.T) {
	for _, c := range []struct {
		name   string
		body   string
		ok     bool
		header bool
	}{
		{"header then body", bigEnvelope(10, 0), true, true},
		{"no header", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><X/></s:Body></s:Envelope>`, true, false},
		{"soap 1.2, default namespace", `<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Header><A xmlns="urn:a"/></Header><Body><X/></Body></Envelope>`, true, true},
		{"no body in the window", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>` + strings.Repeat("<a/>", headSearch/4) + `</s:Header><s:Body/></s:Envelope>`, false, false},
		{"not well-formed before the body", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><a></b></s:Header><s:Body/></s:Envelope>`, false, false},
		{"a DTD", `<!DOCTYPE x [<!ENTITY a "b">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>`, false, false},
		{"two headers before the body", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/><s:Header/><s:Body/></s:Envelope>`, false, false},
		{"not an envelope", `<x:Root xmlns:x="urn:x"><x:Body/></x:Root>`, false, false},
		// The Node SDKs' order (issue 14): the Header is read from the tail.
		{"body then header", bodyFirstEnvelope(10), true, true},
		{"body then header, default namespace", `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><X>` + strings.Repeat("x", headSearch) + `</X></Body >` + "\n" + `<Header><A xmlns="urn:a"/></Header></Envelope>`, true, true},
		{"body then two headers", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><X/></s:Body><s:Header/><s:Header/></s:Envelope>`, false, false},
		{"body end tag only in a name", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><X/></s:BodyX></s:Envelope>`, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, ok := readHead([]byte(c.body))
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if ok && (env.Header != nil) != c.header {
				t.Errorf("Header present = %v, want %v", env.Header != nil, c.header)
			}
			if ok && env.Body != nil {
				t.Error("a head has no Body")
			}
		})
	}
}

// FuzzReadHead checks readHead against the whole parse: whenever both read
// an envelope, the Header readHead gives is the Header of the envelope (the
// one that is authenticated is the one the request carries), and the
// version is the same.
func FuzzReadHead(f *testing.F) {
	f.Add(bigEnvelope(10, 0))
	f.Add(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><a/></s:Header><s:Body><X/></s:Body></s:Envelope>`)
	f.Add(`<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Header><A xmlns="urn:a"/></Header><Body><X/></Body></Envelope>`)
	f.Add(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><x:Body xmlns:x="urn:x"/><s:Header><a/></s:Header><s:Body><X/></s:Body></s:Envelope>`)
	f.Add(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/><s:Header><b/></s:Header><s:Body><X/></s:Body></s:Envelope>`)
	f.Add(bodyFirstEnvelope(10))
	f.Add(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><X/></s:Body><s:Header><!-- </s:Body><s:Header><a/> --></s:Header></s:Envelope>`)
	f.Fuzz(func(t *testing.T, body string) {
		head, ok := readHead([]byte(body))
		if !ok {
			return
		}
		if head.Body != nil {
			t.Fatal("a head has a Body")
		}
		env, err := ReadEnvelope([]byte(body))
		if err != nil {
			return // the whole envelope is refused after all: nothing runs
		}
		if head.Version != env.Version {
			t.Fatalf("versions differ: head %v, envelope %v", head.Version, env.Version)
		}
		if sameHeader(head.Header, env.Header) {
			return
		}
		// Only the tail of a Body-first envelope can be misread (a Body end
		// tag in a comment after the Body), and the handler refuses every
		// envelope whose Header differs from its head's.
		if env.Header != nil && env.Header.Index() < env.Body.Parent().Index() {
			t.Fatalf("the head's Header differs from the envelope's, which comes before the Body:\n%s\n%s", serialize(head.Header), serialize(env.Header))
		}
		if (head.Header == nil) == (env.Header == nil) && head.Header != nil && serialize(head.Header) == serialize(env.Header) {
			t.Fatal("sameHeader says two Headers that serialize alike differ")
		}
	})
}

func serialize(el *etree.Element) string {
	if el == nil {
		return "(none)"
	}
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	s, _ := doc.WriteToString()
	return s
}
