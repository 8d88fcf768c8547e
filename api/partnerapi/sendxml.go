package partnerapi

import (
	"strings"

	"github.com/partnerd/partnerd/internal/xmlw"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// sendProperty is one Retrieve property of a Send. sendProperties lists them
// in the element order of the Send type (APIObject's fields, then Send's), so
// writing the selected ones in list order is always schema-valid.
type sendProperty struct {
	name  string // as requested in RetrieveRequest.Properties
	write func(w *xmlw.Writer, s *store.Send, clientID int64)
}

func zeroInt(name string) func(*xmlw.Writer, *store.Send, int64) {
	return func(w *xmlw.Writer, _ *store.Send, _ int64) { w.Int(name, 0) }
}

var sendProperties = []sendProperty{
	{"Client.ID", func(w *xmlw.Writer, _ *store.Send, mid int64) {
		w.Start("Client")
		w.Int("ID", mid)
		w.End("Client")
	}},
	{"CreatedDate", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Time("CreatedDate", s.CreatedDate) }},
	{"ModifiedDate", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Time("ModifiedDate", s.ModifiedDate) }},
	{"ID", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Int("ID", s.ID) }},
	{"ObjectID", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Elem("ObjectID", s.ObjectID) }},
	{"CustomerKey", func(w *xmlw.Writer, s *store.Send, _ int64) {
		if s.CustomerKey != "" {
			w.Elem("CustomerKey", s.CustomerKey)
		}
	}},
	{"Email.ID", func(w *xmlw.Writer, s *store.Send, _ int64) {
		w.Start("Email")
		w.Int("ID", s.EmailID)
		w.End("Email")
	}},
	{"List.ID", func(w *xmlw.Writer, s *store.Send, _ int64) {
		for _, id := range s.ListIDs {
			w.Start("List")
			w.Int("ID", id)
			w.End("List")
		}
	}},
	{"SendDate", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Time("SendDate", s.SendDate) }},
	{"FromAddress", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Elem("FromAddress", s.FromAddress) }},
	{"FromName", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Elem("FromName", s.FromName) }},
	// partnerd does not track bounces, clicks or opens: the counters
	// exist so that Retrieve calls written for the real service (the docs'
	// sample asks for all of them) keep working, and they read 0.
	{"Duplicates", zeroInt("Duplicates")},
	{"InvalidAddresses", zeroInt("InvalidAddresses")},
	{"ExistingUndeliverables", zeroInt("ExistingUndeliverables")},
	{"ExistingUnsubscribes", zeroInt("ExistingUnsubscribes")},
	{"HardBounces", zeroInt("HardBounces")},
	{"SoftBounces", zeroInt("SoftBounces")},
	{"OtherBounces", zeroInt("OtherBounces")},
	{"ForwardedEmails", zeroInt("ForwardedEmails")},
	{"UniqueClicks", zeroInt("UniqueClicks")},
	{"UniqueOpens", zeroInt("UniqueOpens")},
	{"NumberSent", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Int("NumberSent", s.NumberSent) }},
	{"NumberDelivered", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Int("NumberDelivered", s.NumberSent) }},
	{"Unsubscribes", zeroInt("Unsubscribes")},
	{"MissingAddresses", zeroInt("MissingAddresses")},
	{"Subject", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Elem("Subject", s.Subject) }},
	{"PreviewURL", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Elem("PreviewURL", "") }},
	{"SentDate", func(w *xmlw.Writer, s *store.Send, _ int64) {
		if s.SentDate.IsZero() {
			w.Nil("SentDate")
		} else {
			w.Time("SentDate", s.SentDate)
		}
	}},
	{"EmailName", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Elem("EmailName", s.EmailName) }},
	{"Status", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Elem("Status", string(s.Status)) }},
	{"IsMultipart", func(w *xmlw.Writer, s *store.Send, _ int64) { w.Bool("IsMultipart", false) }},
	{"NumberTargeted", zeroInt("NumberTargeted")},
	{"NumberErrored", zeroInt("NumberErrored")},
	{"NumberExcluded", zeroInt("NumberExcluded")},
}

// propertyIndex maps lower-cased property names to their place in
// sendProperties; property names are matched without regard to case, as the
// real service does.
var propertyIndex = func() map[string]int {
	m := make(map[string]int, len(sendProperties))
	for i, p := range sendProperties {
		m[strings.ToLower(p.name)] = i
	}
	// Aliases clients use for the same columns.
	m["email.name"] = m["emailname"]
	m["client.clientid"] = m["client.id"]
	return m
}()

// propSet is a selection of sendProperties by index.
type propSet []bool

// echoAlways and echoIfSet are what a Perform or Create result echoes of a
// Send: its identity, schedule and status always, its texts when set.
var (
	echoAlways = selectProps("Client.ID", "CreatedDate", "ModifiedDate", "ID", "ObjectID", "CustomerKey",
		"Email.ID", "List.ID", "SendDate", "NumberSent", "SentDate", "Status")
	echoWithTexts = selectProps("Client.ID", "CreatedDate", "ModifiedDate", "ID", "ObjectID", "CustomerKey",
		"Email.ID", "List.ID", "SendDate", "FromAddress", "FromName", "NumberSent", "Subject", "SentDate", "EmailName", "Status")
)

// echoProps returns the properties to echo of s: the empty texts are left
// out rather than written as empty elements.
func echoProps(s *store.Send) propSet {
	if s.FromAddress == "" && s.FromName == "" && s.Subject == "" && s.EmailName == "" {
		return echoAlways
	}
	ps := make(propSet, len(sendProperties))
	copy(ps, echoWithTexts)
	for name, empty := range map[string]bool{"fromaddress": s.FromAddress == "", "fromname": s.FromName == "", "subject": s.Subject == "", "emailname": s.EmailName == ""} {
		if empty {
			ps[propertyIndex[name]] = false
		}
	}
	return ps
}

func selectProps(names ...string) propSet {
	ps := make(propSet, len(sendProperties))
	for _, n := range names {
		ps[propertyIndex[strings.ToLower(n)]] = true
	}
	return ps
}

// writeSend writes s as an element named tag with xsi:type="Send", holding
// the selected properties in schema order.
func writeSend(w *xmlw.Writer, tag string, s *store.Send, clientID int64, props propSet) {
	w.Start(tag, "xsi:type", "Send")
	for i, p := range sendProperties {
		if props[i] {
			p.write(w, s, clientID)
		}
	}
	w.End(tag)
}

// writeSendKey echoes the keys a client gave for a Send that was not found.
func writeSendKey(w *xmlw.Writer, tag string, k sending.Key) {
	w.Start(tag, "xsi:type", "Send")
	if k.HasID {
		w.Int("ID", k.ID)
	}
	if k.ObjectID != "" {
		w.Elem("ObjectID", k.ObjectID)
	}
	if k.CustomerKey != "" {
		w.Elem("CustomerKey", k.CustomerKey)
	}
	w.End(tag)
}
