package perform

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/partnerd/partnerd/internal/xmlw"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/soap"
	"github.com/partnerd/partnerd/store"
)

type createResult struct {
	typ     string
	in      sendInput
	content store.SendContent // inline Email body and List subscribers (esd.go)
	send    *store.Send
	err     error
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
		r.in = in
		r.content = sendContent(o)
		switch {
		case in.invalid != nil:
			r.err = in.invalid
		case !in.hasEmail && !hasBody(r.content):
			r.err = coded(CodeEmailRequired, "An email ID, Partner Key, or body must be specified")
		case len(in.listIDs) == 0 && len(r.content.Recipients) == 0:
			r.err = coded(CodeListRequired, "A list must be specified")
		case in.key.HasID:
			r.err = coded(CodeCannotPerformOnType, "ID is assigned by the server and cannot be given on Create")
		}
	}
	if len(objs) == 0 {
		results = append(results, createResult{err: coded(CodeNoObject, "No object specified at 0-based index 0")})
	}

	accountID := req.Principal.AccountID
	nowDue := false
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		now := s.Clock.Now()
		nowDue = false
		for i := range results {
			r := &results[i]
			if r.err != nil {
				continue
			}
			in := r.in
			send := &store.Send{
				AccountID:   accountID,
				ObjectID:    in.key.ObjectID,
				CustomerKey: in.key.CustomerKey,
				EmailID:     in.emailID,
				EmailName:   in.emailName,
				Subject:     in.subject,
				FromName:    in.fromName,
				FromAddress: in.fromAddress,
				ListIDs:     in.listIDs,
				SendDate:    in.sendDate,
				Status:      store.StatusScheduled,
				CreatedDate: now, ModifiedDate: now, StatusChangedAt: now,
			}
			if _, err := uuid.Parse(send.ObjectID); err != nil {
				send.ObjectID = uuid.NewString()
			}
			if !in.hasSendDate {
				// A Send without a SendDate goes out at once.
				send.SendDate = now
			}
			if err := tx.InsertSend(ctx, send); err != nil {
				if errors.Is(err, store.ErrExists) {
					// A key is already used in the account: refused
					// as the real service refuses it ("Name already
					// exists"). A Create retried after a timeout
					// lands here, and the client finds its first
					// send by the key.
					r.err, err = keyTaken(ctx, tx, accountID, in.key)
					if err != nil {
						return err
					}
					continue
				}
				return err
			}
			if !r.content.IsZero() {
				if err := tx.SetSendContent(ctx, accountID, send.ID, r.content); err != nil {
					return err
				}
			}
			r.send = send
			if !send.SendDate.After(now) {
				nowDue = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	if nowDue {
		s.due()
	}

	w := &xmlw.Writer{}
	failed := 0
	w.Start("CreateResponse", "xmlns", soap.NSPartnerAPI)
	for i := range results {
		r := &results[i]
		w.Start("Results")
		if writeResultHead(w, i, r.err, "Created Send") {
			failed++
			w.Int("NewID", 0)
		} else {
			w.Int("NewID", r.send.ID)
			w.Elem("NewObjectID", r.send.ObjectID)
			writeSend(w, "Object", r.send, req.Principal.ClientID, echoProps(r.send))
		}
		w.End("Results")
	}
	w.Elem("RequestID", req.RequestID)
	status := overall(len(results), failed)
	w.Elem("OverallStatus", status)
	w.End("CreateResponse")
	return &soap.Response{Body: w.Buf, Status: status}, nil
}

// keyTaken says which of a Send's keys is already used in the account.
func keyTaken(ctx context.Context, tx store.Tx, accountID int64, k sending.Key) (taken, err error) {
	if k.CustomerKey != "" {
		_, err = tx.SendByKey(ctx, accountID, store.SendKey{CustomerKey: k.CustomerKey})
		switch {
		case err == nil:
			return coded(CodeNameExists, "A Send with CustomerKey %s already exists", soap.QuoteInput(k.CustomerKey)), nil
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return coded(CodeNameExists, "A Send with ObjectID %s already exists", soap.QuoteInput(k.ObjectID)), nil
}

func typeName(t string) string {
	if t == "" {
		return "APIObject"
	}
	return t
}
