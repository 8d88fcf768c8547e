package partnerapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/xmlw"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// EmailSendDefinitions: Create, Retrieve and Delete as far as Perform start
// and Schedule need them, and Perform start itself. A definition names an
// Email and Lists (by ID, or inline: see readContent) and a sender; starting
// it creates a Send due at once, scheduling it a Send due at StartDateTime.

// readContent reads what a Send or EmailSendDefinition delivers as real
// mail, in the Partner API's own types: the Email's Subject, HTMLBody and
// TextBody, and the EmailAddress (and SubscriberKey) of each Subscribers
// entry of each List. lists are the List elements (Send.List, or
// EmailSendDefinition.SendDefinitionList/List).
func readContent(email *etree.Element, lists []*etree.Element) store.SendContent {
	var c store.SendContent
	if email != nil && !soap.IsNil(email) {
		c.Subject, _ = text(email, "Subject")
		c.HTMLBody, _ = text(email, "HTMLBody")
		c.TextBody, _ = text(email, "TextBody")
	}
	for _, l := range lists {
		listID, _, _ := intField(l, "ID")
		for _, sub := range soap.Children(l, "Subscribers") {
			addr, _ := text(sub, "EmailAddress")
			if addr == "" {
				continue
			}
			key, _ := text(sub, "SubscriberKey")
			c.Recipients = append(c.Recipients, store.Recipient{Address: addr, SubscriberKey: key, ListID: listID})
		}
	}
	return c
}

// sendContent reads the inline content of a Send being created.
func sendContent(el *etree.Element) store.SendContent {
	return readContent(soap.Child(el, "Email"), soap.Children(el, "List"))
}

// esdLists returns the List elements of an EmailSendDefinition's
// SendDefinitionLists.
func esdLists(el *etree.Element) []*etree.Element {
	var out []*etree.Element
	for _, sdl := range soap.Children(el, "SendDefinitionList") {
		if l := soap.Child(sdl, "List"); l != nil && !soap.IsNil(l) {
			out = append(out, l)
		}
	}
	return out
}

// readESD reads an EmailSendDefinition as a client sent it.
func readESD(el *etree.Element) (store.EmailSendDefinition, sending.Key, error) {
	var d store.EmailSendDefinition
	k, err := readSendKey(el)
	if err != nil {
		return d, k, err
	}
	d.ObjectID, d.CustomerKey = k.ObjectID, k.CustomerKey
	d.Name, _ = text(el, "Name")
	d.Description, _ = text(el, "Description")
	if sc := soap.Child(el, "SendClassification"); sc != nil && !soap.IsNil(sc) {
		if d.SendClassification, _ = text(sc, "CustomerKey"); d.SendClassification == "" {
			d.SendClassification, _ = text(sc, "ObjectID")
		}
	}
	d.FromName, d.FromAddress = senderOf(el)
	if email := soap.Child(el, "Email"); email != nil && !soap.IsNil(email) {
		if d.EmailID, _, err = intField(email, "ID"); err != nil {
			return d, k, err
		}
	}
	lists := esdLists(el)
	for _, l := range lists {
		id, ok, err := intField(l, "ID")
		if err != nil {
			return d, k, err
		}
		if ok {
			d.ListIDs = append(d.ListIDs, id)
		}
	}
	d.EmailSubject, _ = text(el, "EmailSubject")
	d.Content = readContent(soap.Child(el, "Email"), lists)
	return d, k, nil
}

// senderOf reads SenderProfile.FromName/FromAddress, falling back to the
// deprecated SendDefinition.FromName/FromAddress.
func senderOf(el *etree.Element) (name, address string) {
	if sp := soap.Child(el, "SenderProfile"); sp != nil && !soap.IsNil(sp) {
		name, _ = text(sp, "FromName")
		address, _ = text(sp, "FromAddress")
	}
	if name == "" {
		name, _ = text(el, "FromName")
	}
	if address == "" {
		address, _ = text(el, "FromAddress")
	}
	return name, address
}

// writeESD writes d as an element named tag with xsi:type
// EmailSendDefinition, in the schema's element order (APIObject,
// InteractionBaseObject, SendDefinition, EmailSendDefinition).
func writeESD(w *xmlw.Writer, tag string, d *store.EmailSendDefinition, clientID int64, props map[string]bool) {
	want := func(p string) bool { return props == nil || props[strings.ToLower(p)] }
	w.Start(tag, "xsi:type", "EmailSendDefinition")
	if want("Client.ID") {
		w.Start("Client")
		w.Int("ID", clientID)
		w.End("Client")
	}
	if want("CreatedDate") {
		w.Time("CreatedDate", d.CreatedDate)
	}
	if want("ModifiedDate") {
		w.Time("ModifiedDate", d.ModifiedDate)
	}
	if want("ID") {
		w.Int("ID", d.ID)
	}
	if want("ObjectID") {
		w.Elem("ObjectID", d.ObjectID)
	}
	if want("CustomerKey") {
		w.Elem("CustomerKey", d.CustomerKey)
	}
	if want("Name") && d.Name != "" {
		w.Elem("Name", d.Name)
	}
	if want("Description") && d.Description != "" {
		w.Elem("Description", d.Description)
	}
	if want("SendClassification.CustomerKey") && d.SendClassification != "" {
		w.Start("SendClassification")
		w.Elem("CustomerKey", d.SendClassification)
		w.End("SendClassification")
	}
	if want("SenderProfile") && (d.FromName != "" || d.FromAddress != "") {
		w.Start("SenderProfile")
		if d.FromName != "" {
			w.Elem("FromName", d.FromName)
		}
		if d.FromAddress != "" {
			w.Elem("FromAddress", d.FromAddress)
		}
		w.End("SenderProfile")
	}
	if want("SendDefinitionList") {
		for _, id := range d.ListIDs {
			w.Start("SendDefinitionList")
			w.Start("List")
			w.Int("ID", id)
			w.End("List")
			w.Elem("SendDefinitionListType", "SourceList")
			w.Elem("DataSourceTypeID", "List")
			w.End("SendDefinitionList")
		}
	}
	if want("Email.ID") {
		w.Start("Email")
		w.Int("ID", d.EmailID)
		w.End("Email")
	}
	if want("EmailSubject") && d.EmailSubject != "" {
		w.Elem("EmailSubject", d.EmailSubject)
	}
	w.End(tag)
}

// esdProperties are the properties Retrieve serves on EmailSendDefinition.
var esdProperties = []string{"Client.ID", "CreatedDate", "ModifiedDate", "ID", "ObjectID", "CustomerKey", "Name",
	"Description", "SendClassification.CustomerKey", "SenderProfile", "SendDefinitionList", "Email.ID", "EmailSubject"}

// writeDefinitionKey echoes the keys a client named a definition by, as
// the Object of a failed Result.
func writeDefinitionKey(w *xmlw.Writer, k sending.Key) {
	w.Start("Object", "xsi:type", "EmailSendDefinition")
	if k.ObjectID != "" {
		w.Elem("ObjectID", k.ObjectID)
	}
	if k.CustomerKey != "" {
		w.Elem("CustomerKey", k.CustomerKey)
	}
	w.End("Object")
}

// retrieveESDs serves Retrieve with ObjectType EmailSendDefinition: the
// properties in esdProperties, filtered by a Simple or ComplexFilterPart on
// the fields in definitionFilter. The store evaluates the filter, with the
// engine that filters sends (one set of rules for case, like and dates).
// Accounts hold few definitions, so there is no paging.
func (s *Service) retrieveESDs(ctx context.Context, req *soap.Request, rr *etree.Element) (*soap.Response, error) {
	var defs []store.EmailSendDefinition
	props, filter, rerr := readESDQuery(rr)
	if rerr == nil {
		err := s.Store.View(ctx, func(tx store.Tx) error {
			var err error
			defs, err = tx.FindEmailSendDefinitions(ctx, req.Principal.AccountID, filter)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("retrieve email send definitions: %w", err)
		}
	}
	status := "OK"
	if rerr != nil {
		status = "Error: " + rerr.Error()
	}
	return retrieveResponse(&xmlw.Writer{}, req.RequestID, status, rerr != nil, func(w *xmlw.Writer) {
		for i := range defs {
			writeESD(w, "Results", &defs[i], req.Principal.ClientID, props)
		}
	}), nil
}

// definitionFilter is what a Retrieve of EmailSendDefinitions may filter
// on: the fields of store.DefinitionFields, typed as on Send.
var definitionFilter = filterSchema{
	object: "EmailSendDefinition",
	fields: map[string]filterField{
		"id":           filterFields["id"],
		"objectid":     filterFields["objectid"],
		"customerkey":  filterFields["customerkey"],
		"name":         {store.FieldName, kindString},
		"createddate":  filterFields["createddate"],
		"modifieddate": filterFields["modifieddate"],
	},
	hint: " (use ID, ObjectID, CustomerKey, Name, CreatedDate or ModifiedDate)",
}

func readESDQuery(rr *etree.Element) (map[string]bool, store.Filter, error) {
	known := map[string]string{}
	for _, p := range esdProperties {
		known[strings.ToLower(p)] = p
	}
	props := map[string]bool{}
	var unknown []string
	for _, p := range soap.Children(rr, "Properties") {
		name := strings.ToLower(strings.TrimSpace(p.Text()))
		if strings.HasPrefix(name, "senderprofile.") {
			name = "senderprofile"
		}
		if name == "sendclassification.objectid" {
			name = "sendclassification.customerkey"
		}
		if _, ok := known[name]; !ok {
			unknown = append(unknown, strings.TrimSpace(p.Text()))
			continue
		}
		props[name] = true
	}
	if len(unknown) > 0 {
		return nil, nil, retrieveErr("The Request Property(s) %s do not match with the fields of EmailSendDefinition retrieve", strings.Join(unknown, ", "))
	}
	if len(props) == 0 {
		return nil, nil, retrieveErr("No Properties were requested: name at least one property of EmailSendDefinition to retrieve")
	}
	var filter store.Filter
	if f := soap.Child(rr, "Filter"); f != nil && !soap.IsNil(f) && len(f.ChildElements()) > 0 {
		n, err := readFilter(f)
		if err == nil {
			filter, err = toStoreFilterOf(definitionFilter, n)
		}
		if err != nil {
			var re *retrieveError
			if errors.As(err, &re) {
				return nil, nil, err
			}
			return nil, nil, asRetrieveErr(err)
		}
	}
	return props, filter, nil
}

// writeStartResult writes the Result of an EmailSendDefinition started
// by Perform, as the reference's sample answers it ("EmailSendDefinition
// performed", Task ID the new Send's ID — its JobID — and
// InteractionObjectID the Send's ObjectID).
func writeStartResult(resp *resultsResponse, r *performResult, clientID int64) {
	w := resp.w
	if resp.begin(r.err, "EmailSendDefinition performed") {
		writeDefinitionKey(w, r.key)
		w.Start("Task")
		w.Elem("StatusCode", "Error")
		w.Elem("StatusMessage", r.err.Error())
		w.Int("ErrorCode", int64(codeOf(r.err)))
		w.End("Task")
	} else {
		echo := r.started.Definition
		echo.FromName, echo.FromAddress = r.started.Send.FromName, r.started.Send.FromAddress
		writeESD(w, "Object", &echo, clientID,
			map[string]bool{"objectid": true, "customerkey": true, "name": true, "senderprofile": true})
		w.Start("Task")
		w.Elem("StatusCode", "OK")
		w.Elem("StatusMessage", "OK")
		w.Elem("ID", fmt.Sprint(r.started.Send.ID))
		w.Elem("InteractionObjectID", r.started.Send.ObjectID)
		w.End("Task")
	}
	resp.end()
}
