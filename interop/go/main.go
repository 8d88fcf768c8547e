// Command go is the Go stack of the interop suite: a gowsdl-generated client used the way Go
// users use one against the Partner API.
//
// gowsdl's types cannot carry xsi:type (every Objects/Definition/Filter is a plain *APIObject or
// *FilterPart), so, like Go users do, this client keeps the generated types for the payloads
// (Send, Email, List, the options, the response messages) and declares its own request wrappers
// that add xsi:type, calling soap.Client.CallContext directly. gowsdl returns a SOAP fault sent
// with HTTP 500 as a *soap.HTTPError holding the body, so the fault is read from that body.
//
// Without tags it builds on github.com/partnerd/partnerd/wsdl/partnerapi (the committed package);
// with -tags generated on gowsdl output made at run time from the server's ?wsdl or from the
// reference etframework.wsdl (see api_*.go and generated/doc.go).
// Output: one ok/FAIL line per check and a closing "RESULT pass=N fail=N" line for run.sh.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hooklift/gowsdl/soap"
)

const (
	nsPartner = "http://exacttarget.com/wsdl/partnerAPI"
	nsXSI     = "http://www.w3.org/2001/XMLSchema-instance"
	unknownID = 999999
	emailID   = 5001
	listID    = 6001
)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// xsiTyped declares the prefixes it uses on the element itself, as hand-written wrappers do.
type xsiTyped struct {
	XMLNSXsi string `xml:"xmlns:xsi,attr"`
	XMLNSTns string `xml:"xmlns:tns,attr"`
	Type     string `xml:"xsi:type,attr"`
}

func typed(name string) xsiTyped {
	return xsiTyped{XMLNSXsi: nsXSI, XMLNSTns: nsPartner, Type: "tns:" + name}
}

type sendObject struct {
	xsiTyped
	*Send
}

type createRequest struct {
	XMLName xml.Name       `xml:"http://exacttarget.com/wsdl/partnerAPI CreateRequest"`
	Options *CreateOptions `xml:"Options"`
	Objects []sendObject   `xml:"Objects"`
}

type performRequestMsg struct {
	XMLName     xml.Name        `xml:"http://exacttarget.com/wsdl/partnerAPI PerformRequestMsg"`
	Options     *PerformOptions `xml:"Options"`
	Action      string          `xml:"Action"`
	Definitions struct {
		Definition []sendObject `xml:"Definition"`
	} `xml:"Definitions"`
}

type simpleFilter struct {
	xsiTyped
	*SimpleFilterPart
}

type complexFilter struct {
	xsiTyped
	LeftOperand     simpleFilter     `xml:"LeftOperand"`
	LogicalOperator LogicalOperators `xml:"LogicalOperator"`
	RightOperand    simpleFilter     `xml:"RightOperand"`
}

type retrieveRequestMsg struct {
	XMLName         xml.Name `xml:"http://exacttarget.com/wsdl/partnerAPI RetrieveRequestMsg"`
	RetrieveRequest struct {
		ObjectType string   `xml:"ObjectType"`
		Properties []string `xml:"Properties"`
		Filter     any      `xml:"Filter"`
	} `xml:"RetrieveRequest"`
}

// The generated RetrieveResponseMsg has Results []*APIObject, which drops Send's fields.
type retrieveResponseMsg struct {
	XMLName       xml.Name `xml:"http://exacttarget.com/wsdl/partnerAPI RetrieveResponseMsg"`
	OverallStatus string   `xml:"OverallStatus"`
	RequestID     string   `xml:"RequestID"`
	Results       []*Send  `xml:"Results"`
}

// gowsdl only writes PasswordText (soap.NewWSSSecurityHeader); a digest header is the user's own.
type wsseDigestHeader struct {
	XMLName        xml.Name `xml:"wsse:Security"`
	XMLNSWsse      string   `xml:"xmlns:wsse,attr"`
	XMLNSWsu       string   `xml:"xmlns:wsu,attr"`
	MustUnderstand string   `xml:"soap:mustUnderstand,attr"`
	Token          struct {
		Username string `xml:"wsse:Username"`
		Password struct {
			Type  string `xml:"Type,attr"`
			Value string `xml:",chardata"`
		} `xml:"wsse:Password"`
		Nonce struct {
			EncodingType string `xml:"EncodingType,attr"`
			Value        string `xml:",chardata"`
		} `xml:"wsse:Nonce"`
		Created string `xml:"wsu:Created"`
	} `xml:"wsse:UsernameToken"`
}

func digestHeader(user, password string) *wsseDigestHeader {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	created := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	sum := sha1.Sum(append(append(nonce, created...), password...))
	h := &wsseDigestHeader{XMLNSWsse: soap.WssNsWSSE, XMLNSWsu: soap.WssNsWSU, MustUnderstand: "1"}
	h.Token.Username = user
	h.Token.Password.Type = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
	h.Token.Password.Value = base64.StdEncoding.EncodeToString(sum[:])
	h.Token.Nonce.EncodingType = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
	h.Token.Nonce.Value = base64.StdEncoding.EncodeToString(nonce)
	h.Token.Created = created
	return h
}

type client struct {
	soap           *soap.Client
	user, password string
	digest         bool
}

func (c *client) call(action string, req, resp any) error {
	if c.digest {
		c.soap.SetHeaders(digestHeader(c.user, c.password)) // fresh nonce per request
	} else {
		c.soap.SetHeaders(soap.NewWSSSecurityHeader(c.user, c.password, "", "1"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.soap.CallContext(ctx, action, req, resp)
}

func newSend(id int32) sendObject {
	return sendObject{typed("Send"), &Send{APIObject: &APIObject{ID: id}}}
}

func (c *client) create(sendDate time.Time, n int) (*CreateResponse, error) {
	req := &createRequest{Options: &CreateOptions{}}
	run := make([]byte, 4) // CustomerKey is unique per account: one per run
	if _, err := rand.Read(run); err != nil {
		return nil, err
	}
	for i := range n {
		s := newSend(0)
		s.CustomerKey = fmt.Sprintf("interop-go-%x-%d", run, i)
		s.Email = &Email{APIObject: &APIObject{ID: emailID}}
		s.List = []*List{{APIObject: &APIObject{ID: listID}}}
		s.SendDate = soap.CreateXsdDateTime(sendDate, true)
		s.Subject = fmt.Sprintf("interop go %d", i)
		s.EmailName = fmt.Sprintf("interop-go-%d", i)
		req.Objects = append(req.Objects, s)
	}
	resp := &CreateResponse{}
	return resp, c.call("Create", req, resp)
}

func simple(op SimpleOperators, ids ...int32) simpleFilter {
	f := simpleFilter{typed("SimpleFilterPart"), &SimpleFilterPart{Property: "ID", SimpleOperator: &op}}
	for _, id := range ids {
		f.Value = append(f.Value, strconv.Itoa(int(id)))
	}
	return f
}

func (c *client) retrieve(filter any) (*retrieveResponseMsg, error) {
	req := &retrieveRequestMsg{}
	req.RetrieveRequest.ObjectType = "Send"
	req.RetrieveRequest.Properties = []string{"ID", "SendDate", "Status", "Email.ID"}
	req.RetrieveRequest.Filter = filter
	resp := &retrieveResponseMsg{}
	return resp, c.call("Retrieve", req, resp)
}

func (c *client) perform(action string, ids ...int32) (*PerformResponseMsg, error) {
	req := &performRequestMsg{Options: &PerformOptions{}, Action: action}
	for _, id := range ids {
		req.Definitions.Definition = append(req.Definitions.Definition, newSend(id))
	}
	resp := &PerformResponseMsg{}
	return resp, c.call("Perform", req, resp)
}

// faultString reads the SOAP 1.1 fault out of gowsdl's *soap.HTTPError (or a parsed *soap.SOAPFault).
func faultString(err error) (string, bool) {
	var sf *soap.SOAPFault
	if errors.As(err, &sf) {
		return sf.Code + " " + sf.String, true
	}
	var he *soap.HTTPError
	if !errors.As(err, &he) {
		return "", false
	}
	var env struct {
		Body struct {
			Fault *struct {
				Code   string `xml:"faultcode"`
				String string `xml:"faultstring"`
			} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if xml.Unmarshal(he.ResponseBody, &env) != nil || env.Body.Fault == nil {
		return "", false
	}
	return env.Body.Fault.Code + " " + env.Body.Fault.String, true
}

type checker struct {
	label          string
	passed, failed int
}

func (c *checker) check(name string, ok bool, detail string, args ...any) bool {
	if ok {
		c.passed++
		fmt.Printf("ok   %s: %s\n", c.label, name)
	} else {
		c.failed++
		fmt.Printf("FAIL %s: %s: %s\n", c.label, name, fmt.Sprintf(detail, args...))
	}
	return ok
}

func (c *checker) errored(name string, err error) bool {
	if err != nil {
		c.check(name, false, "%T: %.500s", err, err.Error())
		return true
	}
	return false
}

func sameIDs(a, b []int32) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func sendsOf(r *retrieveResponseMsg) (ids []int32, statuses []string) {
	for _, s := range r.Results {
		if s.APIObject != nil {
			ids = append(ids, s.ID)
		}
		statuses = append(statuses, s.Status)
	}
	return ids, statuses
}

func allEqual(xs []string, want string) bool {
	for _, x := range xs {
		if x != want {
			return false
		}
	}
	return true
}

func main() {
	endpoint := flag.String("endpoint", "", "Service.asmx URL")
	user := flag.String("user", "", "username")
	password := flag.String("password", "", "password")
	digest := flag.Bool("digest", false, "PasswordDigest instead of PasswordText")
	label := flag.String("label", "go/"+wsdlName, "label for the output lines")
	flag.Parse()
	if *endpoint == "" || *user == "" || *password == "" {
		fmt.Fprintln(os.Stderr, "usage: go -endpoint URL -user U -password P [-digest] [-label L]")
		os.Exit(2)
	}
	mk := func(pw string) *client {
		return &client{soap: soap.NewClient(*endpoint, soap.WithRequestTimeout(30*time.Second)), user: *user, password: pw, digest: *digest}
	}
	c := &checker{label: *label}
	cl := mk(*password)
	c.check("load WSDL and build client", true, "")

	sendDate := time.Now().UTC().Add(2 * time.Hour).Truncate(time.Second)
	var ids []int32
	if cr, err := cl.create(sendDate, 2); !c.errored("Create two Sends", err) {
		var codes []string
		for _, r := range cr.Results {
			if r.Result != nil {
				codes = append(codes, r.StatusCode)
			}
			ids = append(ids, r.NewID)
		}
		c.check("Create two Sends", cr.OverallStatus == "OK" && len(codes) == 2 && allEqual(codes, "OK") &&
			len(ids) == 2 && ids[0] > 0 && ids[1] > 0 && ids[0] != ids[1],
			"OverallStatus=%q codes=%v ids=%v", cr.OverallStatus, codes, ids)
	}
	if len(ids) != 2 {
		ids = []int32{unknownID - 1, unknownID - 2}
	}

	if rr, err := cl.retrieve(simple(opIN, ids...)); !c.errored("Retrieve both (SimpleFilterPart ID IN)", err) {
		got, statuses := sendsOf(rr)
		c.check("Retrieve both (SimpleFilterPart ID IN)", rr.OverallStatus == "OK" && sameIDs(got, ids) && allEqual(statuses, "Scheduled"),
			"OverallStatus=%q ids=%v statuses=%v", rr.OverallStatus, got, statuses)
		ok := len(rr.Results) == 2
		var seen []string
		for _, s := range rr.Results {
			d := s.SendDate.ToGoTime()
			var email int32
			if s.Email != nil && s.Email.APIObject != nil {
				email = s.Email.ID
			}
			seen = append(seen, fmt.Sprintf("%s/%d", d.Format(time.RFC3339), email))
			ok = ok && d.Equal(sendDate) && email == emailID
		}
		c.check("Retrieve returns SendDate and Email.ID as created", ok,
			"want SendDate=%s Email.ID=%d, got %v", sendDate.Format(time.RFC3339), emailID, seen)
	}

	if pr, err := cl.perform("cancel", ids...); !c.errored("Perform cancel on both", err) {
		var codes []string
		for _, r := range pr.Results.Result {
			if r.Result != nil {
				codes = append(codes, r.StatusCode)
			}
		}
		c.check("Perform cancel on both", pr.OverallStatus == "OK" && len(codes) == 2 && allEqual(codes, "OK"),
			"OverallStatus=%q codes=%v", pr.OverallStatus, codes)
		c.check("Perform RequestID is a GUID", guidRE.MatchString(pr.RequestID), "RequestID=%q", pr.RequestID)
	}

	if pr, err := cl.perform("cancel", unknownID); !c.errored("Perform cancel on unknown ID", err) {
		ok := pr.OverallStatus == "Error" && len(pr.Results.Result) == 1 && pr.Results.Result[0].Result != nil &&
			pr.Results.Result[0].StatusCode == "Error" && pr.Results.Result[0].ErrorCode > 0
		c.check("Perform cancel on unknown ID", ok, "OverallStatus=%q results=%d", pr.OverallStatus, len(pr.Results.Result))
	}

	_, err := mk("wrong-password").perform("cancel", ids...)
	text, isFault := faultString(err)
	c.check("wrong password raises a fault", isFault && strings.Contains(text, "Login failed") && strings.Contains(text, "Security"),
		"err=%v (fault %q)", err, text)

	cf := complexFilter{typed("ComplexFilterPart"), simple(opEquals, ids[0]), logicOR, simple(opEquals, ids[1])}
	if rr, err := cl.retrieve(cf); !c.errored("Retrieve after cancel (ComplexFilterPart OR)", err) {
		got, statuses := sendsOf(rr)
		c.check("Retrieve after cancel (ComplexFilterPart OR)", rr.OverallStatus == "OK" && sameIDs(got, ids) && allEqual(statuses, "Canceled"),
			"OverallStatus=%q ids=%v statuses=%v", rr.OverallStatus, got, statuses)
	}

	fmt.Printf("RESULT pass=%d fail=%d\n", c.passed, c.failed)
	if c.failed > 0 {
		os.Exit(1)
	}
}
