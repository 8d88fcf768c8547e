package partnerapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/xmlw"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

type createResult struct {
	typ  string
	in   sending.NewSend
	def  sending.NewDefinition
	send *store.Send
	made *store.EmailSendDefinition
	err  error
}

// Create serves CreateRequest for Send and EmailSendDefinition objects,
// each object by its own type: a request may hold both. Each type's
// objects are created in one transaction; an object that fails validation
// gets an Error result and the others are still created.
func (s *Service) Create(ctx context.Context, req *soap.Request) (*soap.Response, error) {
	objs := soap.Children(req.Body, "Objects")
	results := make([]createResult, len(objs))
	var news []sending.NewSend
	var defs []sending.NewDefinition
	for i, o := range objs {
		r := &results[i]
		r.typ = sendIfUntyped(objectType(o))
		if soap.IsNil(o) {
			r.err = coded(CodeNoObject, "No object specified at 0-based index %d", i)
			continue
		}
		switch r.typ {
		case "Send":
			in, err := readSend(o)
			if err != nil {
				return nil, err
			}
			// A key or date that cannot be kept is told before anything
			// the service checks; the service checks keys again for
			// other faces.
			if r.err = in.invalid; r.err == nil {
				in.Content = sendContent(o)
				in.Origin = store.OriginSOAP
				news = append(news, in.NewSend)
			}
		case "EmailSendDefinition":
			d, k, err := readESD(o)
			if err != nil {
				return nil, err
			}
			defs = append(defs, sending.NewDefinition{EmailSendDefinition: d, IDGiven: k.HasID})
		default:
			r.err = coded(CodeCannotPerformOnType, "Cannot perform Create on objects of type %s", typeName(r.typ))
		}
	}
	if len(objs) == 0 {
		results = append(results, createResult{err: coded(CodeNoObject, "No object specified at 0-based index 0")})
	}

	svc := s.sending()
	if len(news) > 0 {
		outs, err := svc.Create(ctx, req.Principal.AccountID, news)
		if err != nil {
			return nil, fmt.Errorf("create: %w", err)
		}
		fillPending(results, func(r *createResult) bool { return r.err == nil && r.typ == "Send" }, outs, func(r *createResult, o *sending.Created) {
			if r.err = wordKeyTaken(o.Err); r.err == nil {
				r.send = &o.Send
			}
		})
	}
	if len(defs) > 0 {
		outs, err := svc.CreateDefinitions(ctx, req.Principal.AccountID, defs)
		if err != nil {
			return nil, fmt.Errorf("create email send definitions: %w", err)
		}
		fillPending(results, func(r *createResult) bool { return r.err == nil && r.typ == "EmailSendDefinition" }, outs, func(r *createResult, o *sending.DefinitionOutcome) {
			if r.err = wordKeyTaken(o.Err); r.err == nil {
				r.made = &o.Definition
			}
		})
	}

	resp := newResults(&xmlw.Writer{}, "CreateResponse")
	w := resp.w
	for i := range results {
		r := &results[i]
		switch {
		case resp.begin(r.err, "Created "+r.typ):
			w.Int("NewID", 0)
		case r.made != nil:
			w.Int("NewID", r.made.ID)
			w.Elem("NewObjectID", r.made.ObjectID)
			writeESD(w, "Object", r.made, req.Principal.ClientID, nil)
		default:
			w.Int("NewID", r.send.ID)
			w.Elem("NewObjectID", r.send.ObjectID)
			writeSend(w, "Object", r.send, req.Principal.ClientID, echoProps(r.send))
		}
		resp.end()
	}
	return resp.finish(req.RequestID), nil
}

// wordKeyTaken words the service's KeyTakenError as the real service's
// "Name already exists" (ErrorCode 1), the key quoted as input is echoed;
// any other err is returned as it is.
func wordKeyTaken(err error) error {
	var kt *sending.KeyTakenError
	if errors.As(err, &kt) {
		article := "A"
		if kt.Object == "EmailSendDefinition" {
			article = "An"
		}
		return coded(CodeNameExists, "%s %s with %s %s already exists", article, kt.Object, kt.Field, soap.QuoteInput(kt.Value))
	}
	return err
}

func typeName(t string) string {
	if t == "" {
		return "APIObject"
	}
	return t
}
