package auth

import (
	"context"
	"log/slog"
	"time"

	"github.com/partnerd/partnerd/store"
)

// SharedThrottle is a LoginThrottle whose counts every process sharing a
// store.LoginLog sees: each process keeps a MemoryThrottle, which alone
// answers Allow (no query on the login path), and replicates into it the
// outcomes the others record. A failure costs one insert, which the log
// notifies to the other processes as it commits; a success is recorded
// only when it makes a pair known to this process, at most once a day per
// pair, so the steady stream of good logins writes nothing.
//
// What stays per process: the admission rate of an account under attack
// (one password check per Window/Failures for sources without a recent
// login) is charged by Allow, locally, so N processes admit up to N times
// that rate; the counts that put the account under attack, and the pair
// and source limits, are shared.
type SharedThrottle struct {
	local  *MemoryThrottle
	log    store.LoginLog
	window time.Duration
	now    func() time.Time
	logger *slog.Logger
}

var _ LoginThrottle = (*SharedThrottle)(nil)

// NewSharedThrottle returns a throttle with the limits of c sharing its
// counts through log. Follow must run for the other processes' outcomes
// to count here.
func NewSharedThrottle(c ThrottleConfig, log store.LoginLog, logger *slog.Logger) *SharedThrottle {
	if logger == nil {
		logger = slog.Default()
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &SharedThrottle{local: NewMemoryThrottle(c), log: log, window: c.Window, now: now, logger: logger}
}

// Allow asks the local counts, which include the other processes'.
func (s *SharedThrottle) Allow(ctx context.Context, remote, subject string) error {
	return s.local.Allow(ctx, remote, subject)
}

// Done counts the outcome here and records it for the others.
func (s *SharedThrottle) Done(ctx context.Context, remote, subject string, err error) {
	if s.local.pairs == nil { // no limits: nothing to share
		return
	}
	var e store.LoginEvent
	switch {
	case err == nil && subject != "":
		if s.local.known.Has(pairKey(SourceKey(remote), accountKey(subject))) {
			s.local.Done(ctx, remote, subject, err) // refreshes the pair here only
			return
		}
		e = store.LoginEvent{Remote: remote, Subject: subject}
	case err != nil && IsGuess(err):
		e = store.LoginEvent{Remote: remote, Subject: subject, Failed: true}
	default:
		s.local.Done(ctx, remote, subject, err)
		return
	}
	s.local.Done(ctx, remote, subject, err)
	e.At = s.now()
	// Recorded even when the request was cancelled: the guess was made.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if rerr := s.log.RecordLogin(rctx, e); rerr != nil {
		s.logger.Warn("login throttle: recording a login for the other instances failed; it counts on this one only", "err", rerr)
	}
}

// Follow applies the other processes' outcomes until ctx ends: first
// those of the last window (successes of the last KnownSourceTTL), then
// each as it is recorded. A failure read at start counts from now, not
// from when it happened: for at most one window longer than where it was
// made, erring on the side of refusing.
func (s *SharedThrottle) Follow(ctx context.Context) {
	if s.local.pairs == nil {
		return
	}
	err := s.log.FollowLogins(ctx, s.now().Add(-KnownSourceTTL), func(e store.LoginEvent) {
		if e.Failed {
			if s.now().Sub(e.At) > s.window {
				return
			}
			acct, src := accountKey(e.Subject), SourceKey(e.Remote)
			s.local.pairs.Charge(pairKey(src, acct))
			s.local.sources.Charge(src)
			s.local.accounts.Charge(acct)
			return
		}
		s.local.known.Add(pairKey(SourceKey(e.Remote), accountKey(e.Subject)))
	})
	if err != nil && ctx.Err() == nil {
		s.logger.Error("login throttle: following the other instances stopped", "err", err)
	}
}
