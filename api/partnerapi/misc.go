package partnerapi

import (
	"context"
	"fmt"
	"time"

	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/xmlw"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// Delete serves DeleteRequest, each object by its own type.
// EmailSendDefinitions can be deleted; a Send is stopped with Perform
// cancel, never deleted, so that its history stays queryable: every other
// object gets a Result with ErrorCode 5.
func (s *Service) Delete(ctx context.Context, req *soap.Request) (*soap.Response, error) {
	objs := soap.Children(req.Body, "Objects")
	types := make([]string, max(len(objs), 1)) // no object is answered as one APIObject
	keys := make([]sending.Key, len(types))
	var defKeys []sending.Key
	for i, o := range objs {
		if types[i] = objectType(o); types[i] == "EmailSendDefinition" {
			k, err := readSendKey(o)
			if err != nil {
				return nil, err
			}
			keys[i] = k
			defKeys = append(defKeys, k)
		}
	}
	var deleted []sending.DefinitionOutcome
	if len(defKeys) > 0 {
		svc := s.sending()
		var err error
		if deleted, err = svc.DeleteDefinitions(ctx, req.Principal.AccountID, defKeys); err != nil {
			return nil, fmt.Errorf("delete email send definitions: %w", err)
		}
	}
	resp := newResults(&xmlw.Writer{}, "DeleteResponse")
	w := resp.w
	for i, typ := range types {
		if typ == "EmailSendDefinition" {
			r := &deleted[0]
			deleted = deleted[1:]
			if resp.begin(r.Err, "EmailSendDefinition deleted") {
				writeDefinitionKey(w, keys[i])
			} else {
				writeESD(w, "Object", &r.Definition, req.Principal.ClientID, map[string]bool{"id": true, "objectid": true, "customerkey": true})
			}
			resp.end()
			continue
		}
		msg := "Cannot perform Delete on objects of type " + typeName(typ)
		if typ == "Send" {
			msg += ": stop a Send with Perform Action cancel"
		}
		resp.begin(coded(CodeCannotPerformOnType, "%s", msg), "")
		if typ != "" {
			w.Empty("Object", "xsi:type", typ)
		} else {
			w.Empty("Object")
		}
		resp.end()
	}
	return resp.finish(req.RequestID), nil
}

// versionDate is the date of the Partner API version partnerd mirrors (the
// reference WSDL's last change).
var versionDate = time.Date(2017, 11, 6, 0, 0, 0, 0, time.UTC)

// VersionInfo serves VersionInfoRequestMsg.
func (s *Service) VersionInfo(ctx context.Context, req *soap.Request) (*soap.Response, error) {
	history := false
	if v, ok := text(req.Body, "IncludeVersionHistory"); ok {
		b, err := parseBool(v)
		if err != nil {
			return nil, badRequest("IncludeVersionHistory: %v", err)
		}
		history = b
	}
	version := s.Version
	if version == "" {
		version = "dev"
	}
	w := &xmlw.Writer{}
	w.Start("VersionInfoResponseMsg", "xmlns", soap.NSPartnerAPI)
	w.Start("VersionInfo")
	w.Elem("Version", "1.0")
	w.Time("VersionDate", versionDate)
	w.Elem("Notes", "partnerd "+version+": Partner API scheduled sends (Perform, Create, Retrieve, Delete, Schedule, VersionInfo, GetSystemStatus)")
	if history {
		w.Start("VersionHistory")
		w.Elem("Version", "1.0")
		w.Time("VersionDate", versionDate)
		w.Elem("Notes", "etframework.wsdl of 2017-11-06")
		w.End("VersionHistory")
	}
	w.End("VersionInfo")
	w.Elem("RequestID", req.RequestID)
	w.End("VersionInfoResponseMsg")
	return &soap.Response{Body: w.Buf, Status: "OK"}, nil
}

// GetSystemStatus serves SystemStatusRequestMsg: OK when the store answers,
// UnplannedOutage when it does not.
func (s *Service) GetSystemStatus(ctx context.Context, req *soap.Request) (*soap.Response, error) {
	status, msg := "OK", "System Status Retrieved"
	if err := s.Store.View(ctx, func(store.Tx) error { return nil }); err != nil {
		status, msg = "UnplannedOutage", "The store is not available"
	}
	w := &xmlw.Writer{}
	w.Start("SystemStatusResponseMsg", "xmlns", soap.NSPartnerAPI)
	w.Start("Results")
	w.Start("Result")
	w.Elem("StatusCode", "OK")
	w.Elem("StatusMessage", msg)
	w.Elem("SystemStatus", status)
	w.End("Result")
	w.End("Results")
	w.Elem("OverallStatus", "OK")
	w.Empty("OverallStatusMessage")
	w.Elem("RequestID", req.RequestID)
	w.End("SystemStatusResponseMsg")
	return &soap.Response{Body: w.Buf, Status: "OK"}, nil
}
