package lifecycle

import (
	"errors"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

// TestApplyHold: the status each send takes under each hold of its batch.
func TestApplyHold(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := Policy{CancelCutoff: 10 * time.Minute, HeldLimit: 2, PauseExpiry: 72 * time.Hour}
	tests := []struct {
		name      string
		status    store.SendStatus
		due       time.Duration
		discarded bool
		hold      store.Hold
		want      store.SendStatus
	}{
		{"pause scheduled", store.StatusScheduled, time.Hour, false, store.HoldPause, store.StatusPaused},
		{"pause canceled still queued", store.StatusCanceled, time.Hour, false, store.HoldPause, store.StatusPaused},
		{"pause canceled past its time", store.StatusCanceled, -time.Hour, false, store.HoldPause, store.StatusCanceled},
		{"pause canceled and flushed", store.StatusCanceled, time.Hour, true, store.HoldPause, store.StatusCanceled},
		{"pause complete", store.StatusComplete, -time.Hour, false, store.HoldPause, store.StatusComplete},
		{"cancel scheduled", store.StatusScheduled, time.Hour, false, store.HoldCancel, store.StatusCanceled},
		{"cancel paused past its time", store.StatusPaused, -time.Hour, false, store.HoldCancel, store.StatusCanceled},
		{"cancel sending", store.StatusSending, 0, false, store.HoldCancel, store.StatusSending},
		{"cancel expired", store.StatusExpired, -100 * time.Hour, false, store.HoldCancel, store.StatusExpired},
		{"release paused ahead", store.StatusPaused, time.Hour, false, store.HoldNone, store.StatusScheduled},
		{"release paused past its time", store.StatusPaused, -time.Hour, false, store.HoldNone, store.StatusScheduled},
		{"release paused at the expiry", store.StatusPaused, -72 * time.Hour, false, store.HoldNone, store.StatusScheduled},
		{"release paused past the expiry", store.StatusPaused, -72*time.Hour - time.Second, false, store.HoldNone, store.StatusExpired},
		{"release canceled ahead", store.StatusCanceled, time.Minute, false, store.HoldNone, store.StatusScheduled},
		{"release canceled at its time", store.StatusCanceled, 0, false, store.HoldNone, store.StatusCanceled},
		{"release canceled and flushed", store.StatusCanceled, time.Hour, true, store.HoldNone, store.StatusCanceled},
		{"release complete", store.StatusComplete, -time.Hour, false, store.HoldNone, store.StatusComplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := store.Send{Status: tt.status, SendDate: now.Add(tt.due), Discarded: tt.discarded}
			changed := p.ApplyHold(&s, tt.hold, now)
			if s.Status != tt.want || changed != (tt.status != tt.want) {
				t.Fatalf("ApplyHold = %s (changed %v), want %s", s.Status, changed, tt.want)
			}
			if changed && (!s.StatusChangedAt.Equal(now) || !s.ModifiedDate.Equal(now)) {
				t.Errorf("changed at %v / modified %v, want %v", s.StatusChangedAt, s.ModifiedDate, now)
			}
		})
	}
}

// TestHoldBlocked: a hold is refused while a send of the batch is inside
// the cutoff or going out; other statuses never block it.
func TestHoldBlocked(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := Policy{CancelCutoff: 10 * time.Minute}
	tests := []struct {
		status store.SendStatus
		due    time.Duration
		zero   bool // no SendDate
		err    error
	}{
		{store.StatusScheduled, time.Hour, false, nil},
		{store.StatusScheduled, 10*time.Minute + time.Second, false, nil},
		{store.StatusScheduled, 10 * time.Minute, false, ErrInsideCutoff},
		{store.StatusScheduled, -time.Hour, false, ErrInsideCutoff},
		{store.StatusScheduled, 0, true, nil}, // never dispatched
		{store.StatusSending, time.Hour, false, ErrInsideCutoff},
		{store.StatusPaused, time.Minute, false, nil},
		{store.StatusCanceled, time.Minute, false, nil},
		{store.StatusComplete, -time.Hour, false, nil},
		{store.StatusExpired, -time.Hour, false, nil},
		{store.StatusError, -time.Hour, false, nil},
	}
	for _, tt := range tests {
		s := store.Send{Status: tt.status, SendDate: now.Add(tt.due)}
		if tt.zero {
			s.SendDate = time.Time{}
		}
		if err := p.HoldBlocked(s, now); !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
			t.Errorf("%s due in %v: %v, want %v", tt.status, tt.due, err, tt.err)
		}
	}
}

// TestStatusUnderHold: a new send of a held batch starts held.
func TestStatusUnderHold(t *testing.T) {
	for h, want := range map[store.Hold]store.SendStatus{
		store.HoldNone: store.StatusScheduled, store.HoldPause: store.StatusPaused, store.HoldCancel: store.StatusCanceled,
	} {
		if got := StatusUnderHold(h); got != want {
			t.Errorf("StatusUnderHold(%q) = %s, want %s", h, got, want)
		}
	}
}
