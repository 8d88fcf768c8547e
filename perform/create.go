package perform

import (
	"context"
	"errors"
	"fmt"

	"github.com/partnerd/partnerd/internal/xmlw"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/soap"
	"github.com/partnerd/partnerd/store"
)

type createResult struct {
	typ  string
	in   sending.NewSend
	send *store.Send
	err  error
}

// Create serves CreateRequest for Send objects. Every object is created in
// one transaction; an object that fails validation gets an Error result and
// the others are still created.
func (s *Service) Create(ctx context.Context, req *soap.Request) (*soap.Response, error) {
	objs := soap.Children(req.Body, "Objects")
	if allOfType(objs, "EmailSendDefinition") {
		return s.createESDs(ctx, req, objs)
	}
	results := make([]createResult, len(objs))
	for i, o := range objs {
		r := &results[i]
		r.typ = sendIfUntyped(objectType(o))
		if soap.IsNil(o) {
			r.err = coded(CodeNoObject, "No object specified at 0-based index %d", i)
			continue
		}
		if r.typ != "Send" {
			r.err = coded(CodeCannotPerformOnType, "Cannot perform Create on objects of type %s", typeName(r.typ))
			continue
		}
		in, err := readSend(o)
		if err != nil {
			return nil, err
		}
		// A key or date that cannot be kept is told before anything the
		// service checks; the service checks keys again for other faces.
		r.err = in.invalid
		r.in = in.NewSend
		r.in.Content = sendContent(o)
	}
	if len(objs) == 0 {
		results = append(results, createResult{err: coded(CodeNoObject, "No object specified at 0-based index 0")})
	}

	var news []sending.NewSend
	for i := range results {
		if results[i].err == nil {
			news = append(news, results[i].in)
		}
	}
	if len(news) > 0 {
		svc := s.sending()
		outs, err := svc.Create(ctx, req.Principal.AccountID, news)
		if err != nil {
			return nil, fmt.Errorf("create: %w", err)
		}
		j := 0
		for i := range results {
			r := &results[i]
			if r.err != nil {
				continue
			}
			o := &outs[j]
			j++
			if r.err = wordKeyTaken(o.Err); r.err == nil {
				r.send = &o.Send
			}
		}
	}

	resp := newResults(&xmlw.Writer{}, "CreateResponse")
	w := resp.w
	for i := range results {
		r := &results[i]
		if resp.begin(r.err, "Created Send") {
			w.Int("NewID", 0)
		} else {
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
