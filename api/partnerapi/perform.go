// Package partnerapi implements the Partner API operations on scheduled sends —
// Perform (cancel, pause, resume, start), Create, Retrieve, Delete,
// Schedule, VersionInfo and GetSystemStatus. Each operation decodes the
// request body handed to it by package soap into the send service's Go
// types (package sending, which holds the rules and the transactions),
// calls it, and encodes the outcome as the response body, mapping the
// service's errors to ErrorCodes (codes.go); it knows nothing of HTTP or
// SQL.
package partnerapi

import (
	"time"

	"github.com/partnerd/partnerd/api/soap"
	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/internal/ids"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// MaxPageSize is the most objects one Retrieve answer carries; more come with
// OverallStatus MoreDataAvailable and a ContinueRequest, as the real service
// pages at 2,500.
const MaxPageSize = 2500

// Service serves the operations for one store.
type Service struct {
	Store  store.Store
	Clock  clock.Clock
	Policy lifecycle.Policy
	// PageSize overrides MaxPageSize when positive (tests use small pages).
	PageSize int
	// CursorTTL is how long a ContinueRequest stays valid (default 1 hour).
	CursorTTL time.Duration
	// Version is reported by VersionInfo.
	Version string
	// OnDue, when set, is called after a commit that left a send due now
	// (resumed past its SendDate, or created without a future one).
	OnDue func()
	// IDs draws the ObjectIDs and batch IDs of what it creates (nil:
	// random).
	IDs ids.Source
}

// sending is the send service over this Service's store, clock and policy.
// It is built per call, a value on the stack, so that a test or the server
// may change a field of Service at any time before a call.
func (s *Service) sending() sending.Service {
	return sending.Service{Store: s.Store, Clock: s.Clock, Policy: s.Policy, OnDue: s.OnDue, IDs: s.IDs}
}

// due reports a send that became due to the dispatcher.
func (s *Service) due() {
	if s.OnDue != nil {
		s.OnDue()
	}
}

// Register registers every operation with h.
func (s *Service) Register(h *soap.Handler) {
	h.Handle("Perform", s.Perform)
	h.Handle("Create", s.Create)
	h.Handle("Retrieve", s.Retrieve)
	h.Handle("Delete", s.Delete)
	h.Handle("Schedule", s.Schedule)
	h.Handle("VersionInfo", s.VersionInfo)
	h.Handle("GetSystemStatus", s.GetSystemStatus)
}

func (s *Service) pageSize() int {
	if s.PageSize > 0 && s.PageSize < MaxPageSize {
		return s.PageSize
	}
	return MaxPageSize
}

func (s *Service) cursorTTL() time.Duration {
	if s.CursorTTL > 0 {
		return s.CursorTTL
	}
	return time.Hour
}
