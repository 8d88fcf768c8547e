// Package dispatch is partnerd's dispatcher: the worker that, when each
// Send's SendDate comes, sends it (Scheduled → Sending → Complete), discards
// it if it was canceled (it stays Canceled), and expires sends paused too
// long past their SendDate (Paused → Expired).
//
// Exactly once. A due send is first claimed — moved to Sending under a
// lease, in its own transaction — then delivered, then completed: the
// outbox entry and the move to Complete commit together. A dispatcher that
// dies between claim and completion leaves the send Sending; once the lease
// runs out, the next pass (of this process after a restart, or of another
// process) claims it again and delivers it. The outbox's uniqueness on the
// send is the last guard: whoever completes second changes nothing. Capture
// into the outbox is therefore exactly-once; real mail over SMTP is
// at-least-once across a crash between the relay's acceptance and the
// commit, with a Message-ID fixed per send so that a resent copy is
// recognisable.
//
// Consistency with cancel. Perform and the dispatcher both change a send
// only inside store transactions, and the dispatcher claims only sends that
// are Scheduled when it claims them. A cancel that commits first leaves the
// send Canceled, which is never claimed; a claim that commits first leaves
// it Sending, which lifecycle refuses to cancel. The cancel cutoff
// (lifecycle.Policy.InsideCutoff) refuses cancels near the SendDate before
// either can happen, so clients see the refusal early rather than a race.
//
// Time. Every time comes from the injected clock. With the system clock,
// Run polls: it sleeps until the next SendDate, at most PollInterval. With
// a manual clock, Follow runs every due send synchronously at each move of
// the clock, before the move returns.
package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/store"
)

// Deliverer delivers one claimed send. e comes filled in from the send
// (recipients, subject, Message-ID, Transport "outbox"); a Deliverer that
// sends real mail sets e.Transport and may adjust the rest. An error whose
// Permanent method returns true fails the send (status Error); any other
// error leaves it claimed, to be tried again once its lease runs out.
type Deliverer interface {
	Deliver(ctx context.Context, s *store.ClaimedSend, e *store.OutboxEntry) error
}

// External is implemented by Deliverers whose delivery leaves the process
// (SMTP). Their sends are completed one by one, right after each is
// delivered, so that a crash re-delivers as little as possible; captured
// sends are completed a batch at a time.
type External interface{ External() bool }

// Config configures a Dispatcher. Store and Clock are required.
type Config struct {
	Store  store.Queue
	Clock  clock.Clock
	Policy lifecycle.Policy
	// Deliverer is nil for capture only: each send is recorded in the
	// outbox and nothing leaves the process.
	Deliverer Deliverer
	// Owner names this dispatcher in its claims; default a random ID.
	Owner string
	// Lease is how long a claim holds before another pass may take the
	// send again (default 1 minute): the longest a crash delays a send.
	Lease time.Duration
	// BatchSize is how many sends one claim takes (default 500).
	BatchSize int
	// PollInterval is the longest Run sleeps between passes (default 1s).
	PollInterval time.Duration
	// MaxAttempts: a send whose delivery failed this many times is
	// moved to Error (default 5).
	MaxAttempts int
	Logger      *slog.Logger
}

// Stats counts what passes did.
type Stats struct {
	Passes    int64
	Completed int64 // delivered and recorded in the outbox
	Discarded int64 // canceled sends reached their SendDate
	Expired   int64 // paused sends expired
	Failed    int64 // moved to Error
	Retried   int64 // delivery failed, left for another attempt
	Errors    int64 // passes that failed (store errors)
	LastError string
}

func (s *Stats) add(o Stats) {
	s.Passes += o.Passes
	s.Completed += o.Completed
	s.Discarded += o.Discarded
	s.Expired += o.Expired
	s.Failed += o.Failed
	s.Retried += o.Retried
	s.Errors += o.Errors
	if o.LastError != "" {
		s.LastError = o.LastError
	}
}

// Dispatcher runs due sends. Create it with New.
type Dispatcher struct {
	cfg Config
	// passMu serializes passes in this process: the poller and a manual
	// clock's move never dispatch at once (it would be safe, claims being
	// exclusive, but a move must see its own pass finish).
	passMu sync.Mutex
	kick   chan struct{}

	statsMu sync.Mutex
	stats   Stats
}

// New returns a dispatcher for cfg, with defaults filled in.
func New(cfg Config) *Dispatcher {
	if cfg.Owner == "" {
		b := make([]byte, 6)
		rand.Read(b)
		cfg.Owner = "dispatch-" + hex.EncodeToString(b)
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{cfg: cfg, kick: make(chan struct{}, 1)}
}

// Stats returns the totals of every pass so far.
func (d *Dispatcher) Stats() Stats {
	d.statsMu.Lock()
	defer d.statsMu.Unlock()
	return d.stats
}

// RunDue runs one pass at the clock's current time: it expires sends paused
// too long, discards canceled sends that are due, and claims, delivers and
// completes every due send, batch after batch, until none is left. It
// returns what this pass did.
func (d *Dispatcher) RunDue(ctx context.Context) (Stats, error) {
	d.passMu.Lock()
	defer d.passMu.Unlock()
	st := Stats{Passes: 1}
	err := d.pass(ctx, &st)
	if err != nil {
		st.Errors, st.LastError = 1, err.Error()
	}
	d.statsMu.Lock()
	d.stats.add(st)
	d.statsMu.Unlock()
	return st, err
}

func (d *Dispatcher) pass(ctx context.Context, st *Stats) error {
	q, now := d.cfg.Store, d.cfg.Clock.Now()
	if before, ok := d.cfg.Policy.PausedExpireBefore(now); ok {
		n, err := q.ExpirePausedSends(ctx, before, now)
		if err != nil {
			return fmt.Errorf("dispatch: %w", err)
		}
		st.Expired += int64(n)
	}
	n, err := q.DiscardCanceledSends(ctx, now)
	if err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	st.Discarded += int64(n)

	for {
		// Read afresh for every batch: a lease must run from when its
		// claim is made, or a long pass would hand out leases that have
		// already run out and let another dispatcher take sends still
		// being delivered.
		now := d.cfg.Clock.Now()
		claimed, err := q.ClaimDueSends(ctx, store.Claim{Now: now, Owner: d.cfg.Owner,
			LeaseUntil: now.Add(d.cfg.Lease), Limit: d.cfg.BatchSize})
		if err != nil {
			return fmt.Errorf("dispatch: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		if err := d.deliver(ctx, claimed, st); err != nil {
			return err
		}
		if len(claimed) < d.cfg.BatchSize {
			return nil
		}
	}
}

// deliver delivers and completes one claimed batch.
func (d *Dispatcher) deliver(ctx context.Context, claimed []store.ClaimedSend, st *Stats) error {
	external := false
	if x, ok := d.cfg.Deliverer.(External); ok {
		external = x.External()
	}
	entries := make([]store.OutboxEntry, 0, len(claimed))
	complete := func(es []store.OutboxEntry) error {
		n, err := d.cfg.Store.CompleteSends(ctx, es)
		if err != nil {
			return fmt.Errorf("dispatch: %w", err)
		}
		st.Completed += int64(n)
		return nil
	}
	for i := range claimed {
		cs := &claimed[i]
		e := Entry(cs, d.cfg.Clock.Now())
		if d.cfg.Deliverer != nil {
			if err := d.cfg.Deliverer.Deliver(ctx, cs, &e); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if isPermanent(err) || cs.Attempt >= d.cfg.MaxAttempts {
					d.cfg.Logger.Error("send failed", "send_id", cs.ID, "attempt", cs.Attempt, "err", err)
					if err := d.cfg.Store.FailSend(ctx, cs.ID, d.cfg.Clock.Now()); err != nil && !errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("dispatch: %w", err)
					}
					st.Failed++
					continue
				}
				// Left Sending: the claim's lease runs out and a later
				// pass tries again.
				d.cfg.Logger.Warn("send delivery failed; will retry", "send_id", cs.ID, "attempt", cs.Attempt, "retry_after", d.cfg.Lease, "err", err)
				st.Retried++
				continue
			}
		}
		if external {
			if err := complete([]store.OutboxEntry{e}); err != nil {
				return err
			}
			continue
		}
		entries = append(entries, e)
	}
	if len(entries) > 0 {
		return complete(entries)
	}
	return nil
}

func isPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// Entry is the outbox entry of a claimed send delivered at: its subject
// (the inline Email's, else the Send's), sender, the distinct addresses of
// its recipients (NumberSent counts them), its bodies, and a Message-ID
// that stays the same on every attempt.
func Entry(cs *store.ClaimedSend, at time.Time) store.OutboxEntry {
	subject := cs.Content.Subject
	if subject == "" {
		subject = cs.Subject
	}
	var to []string
	seen := map[string]bool{}
	for _, r := range cs.Content.Recipients {
		a := strings.TrimSpace(r.Address)
		if a == "" || seen[strings.ToLower(a)] {
			continue
		}
		seen[strings.ToLower(a)] = true
		to = append(to, a)
	}
	return store.OutboxEntry{
		SendID: cs.ID, AccountID: cs.AccountID, ObjectID: cs.ObjectID,
		Subject: subject, FromName: cs.FromName, FromAddress: cs.FromAddress,
		Recipients: to, HTMLBody: cs.Content.HTMLBody, TextBody: cs.Content.TextBody,
		NumberSent: int64(len(to)), Transport: "outbox",
		MessageID: fmt.Sprintf("<send-%d.%s@partnerd>", cs.ID, cs.ObjectID),
		Attempt:   cs.Attempt, DeliveredAt: at,
	}
}

// Kick wakes Run for a pass now rather than at its next poll (after a send
// is resumed past its SendDate, or created due at once).
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run runs passes until ctx ends: at once, then whenever the next
// scheduled SendDate comes, at most PollInterval apart (new sends and
// resumed ones are found by the next poll), or when kicked. A failed pass
// is logged and retried at the next poll. It is meant for the system
// clock; with a manual clock use Follow.
func (d *Dispatcher) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		case <-d.kick:
		}
		if _, err := d.RunDue(ctx); err != nil && ctx.Err() == nil {
			d.cfg.Logger.Error("dispatch pass failed", "err", err)
		}
		timer.Reset(d.wait(ctx))
	}
}

// wait is how long Run sleeps: until the next SendDate, within
// [1ms, PollInterval].
func (d *Dispatcher) wait(ctx context.Context) time.Duration {
	w := d.cfg.PollInterval
	next, ok, err := d.cfg.Store.NextDueSend(ctx)
	if err == nil && ok {
		if until := next.Sub(d.cfg.Clock.Now()); until < w {
			w = max(until, time.Millisecond)
		}
	}
	return w
}

// Follow makes every move of m run a pass, synchronously, before the move
// returns (clock.Manual.OnChange): what --clock manual and the tests use
// to step through time. Errors are logged and counted in Stats.
func (d *Dispatcher) Follow(ctx context.Context, m *clock.Manual) {
	m.OnChange(func(time.Time) {
		if _, err := d.RunDue(ctx); err != nil && ctx.Err() == nil {
			d.cfg.Logger.Error("dispatch pass failed", "err", err)
		}
	})
}
