package partnerapi

import (
	"strings"

	"github.com/beevik/etree"
	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/xmlw"
)

// A partnerd account is one business unit, its own enterprise: the
// Retrieve of ObjectType BusinessUnit answers exactly that unit. It is
// served because FuelSDK-CSharp's constructor retrieves BusinessUnit
// (Properties ID and Client.EnterpriseID, then reads
// results[0].Client.EnterpriseID) before anything else, and throws when the
// answer is a fault.

// businessUnitAccountType is the AccountType answered: the schema requires
// one (Account.AccountType, minOccurs 1), and the unit retrieved is a
// business unit.
const businessUnitAccountType = "BUSINESS_UNIT"

// buProperty is one Retrieve property of a BusinessUnit. buProperties
// lists them in the element order of the BusinessUnit type (APIObject's
// fields, then Account's), so writing the selected ones in list order is
// always schema-valid.
type buProperty struct {
	name  string // as requested, lower case
	write func(w *xmlw.Writer, p *soap.Principal, sel map[string]bool)
}

var buProperties = []buProperty{
	{"client", func(w *xmlw.Writer, p *soap.Principal, sel map[string]bool) {
		w.Start("Client")
		if sel["client.id"] {
			w.Int("ID", p.ClientID)
		}
		if sel["client.enterpriseid"] {
			w.Int("EnterpriseID", p.ClientID)
		}
		w.End("Client")
	}},
	{"id", func(w *xmlw.Writer, p *soap.Principal, _ map[string]bool) { w.Int("ID", p.ClientID) }},
	// AccountType is always written (see businessUnitAccountType).
	{"accounttype", func(w *xmlw.Writer, _ *soap.Principal, _ map[string]bool) {
		w.Elem("AccountType", businessUnitAccountType)
	}},
	{"name", func(w *xmlw.Writer, p *soap.Principal, _ map[string]bool) { w.Elem("Name", p.Username) }},
}

// buRequestable maps the properties a Retrieve may name (lower case) to
// the buProperties entry that writes them.
var buRequestable = map[string]string{
	"id":                  "id",
	"name":                "name",
	"accounttype":         "accounttype",
	"client.id":           "client",
	"client.clientid":     "client",
	"client.enterpriseid": "client",
}

// retrieveBusinessUnit answers a Retrieve of ObjectType BusinessUnit with
// the caller's own business unit: ID and Client.ID its client ID (MID),
// Client.EnterpriseID the same MID (the account is its own enterprise),
// Name the account's name.
func (s *Service) retrieveBusinessUnit(req *soap.Request, rr *etree.Element) *soap.Response {
	sel, err := readBusinessUnitQuery(rr)
	status := "OK"
	if err != nil {
		status = "Error: " + err.Error()
	}
	return retrieveResponse(&xmlw.Writer{}, req.RequestID, status, err != nil, func(w *xmlw.Writer) {
		if err != nil {
			return
		}
		w.Start("Results", "xsi:type", "BusinessUnit")
		for _, p := range buProperties {
			if sel[p.name] || p.name == "accounttype" {
				p.write(w, &req.Principal, sel)
			}
		}
		w.End("Results")
	})
}

// readBusinessUnitQuery returns the selected properties, both as asked
// (client.id …) and as buProperties names (client …). A Filter is
// refused: there is one business unit to retrieve, the caller's own.
func readBusinessUnitQuery(rr *etree.Element) (map[string]bool, error) {
	sel := map[string]bool{}
	var unknown []string
	for _, p := range soap.Children(rr, "Properties") {
		name := strings.TrimSpace(p.Text())
		prop, ok := buRequestable[strings.ToLower(name)]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		sel[prop] = true
		if prop == "client" {
			// Client.ClientID is an alias of Client.ID, as on Send.
			if l := strings.ToLower(name); l == "client.enterpriseid" {
				sel[l] = true
			} else {
				sel["client.id"] = true
			}
		}
	}
	if len(unknown) > 0 {
		return nil, retrieveErr("The Request Property(s) %s do not match with the fields of BusinessUnit retrieve (use ID, Name, AccountType, Client.ID or Client.EnterpriseID)", strings.Join(unknown, ", "))
	}
	if len(sel) == 0 {
		return nil, retrieveErr("No Properties were requested: name at least one property of BusinessUnit to retrieve")
	}
	if f := soap.Child(rr, "Filter"); f != nil && !soap.IsNil(f) && len(f.ChildElements()) > 0 {
		return nil, retrieveErr("A Retrieve of BusinessUnit takes no Filter: a partnerd account has one business unit, its own")
	}
	return sel, nil
}
