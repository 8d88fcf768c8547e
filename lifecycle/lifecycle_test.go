package lifecycle

import (
	"errors"
	"testing"
	"time"

	"github.com/partnerd/partnerd/store"
)

func TestApply(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := Policy{CancelCutoff: 10 * time.Minute, HeldLimit: 2, PauseExpiry: 72 * time.Hour}
	tests := []struct {
		name    string
		status  store.SendStatus
		due     time.Duration // SendDate relative to now
		action  Action
		held    int
		policy  *Policy
		want    store.SendStatus
		changed bool
		err     error
	}{
		{"cancel scheduled", store.StatusScheduled, time.Hour, Cancel, 0, nil, store.StatusCanceled, true, nil},
		{"cancel just outside cutoff", store.StatusScheduled, 10*time.Minute + time.Second, Cancel, 0, nil, store.StatusCanceled, true, nil},
		{"cancel at cutoff", store.StatusScheduled, 10 * time.Minute, Cancel, 0, nil, store.StatusScheduled, false, ErrInsideCutoff},
		{"cancel inside cutoff", store.StatusScheduled, 9 * time.Minute, Cancel, 0, nil, store.StatusScheduled, false, ErrInsideCutoff},
		{"cancel with zero cutoff just before", store.StatusScheduled, time.Second, Cancel, 0, &Policy{}, store.StatusCanceled, true, nil},
		{"cancel with zero cutoff at send time", store.StatusScheduled, 0, Cancel, 0, &Policy{}, store.StatusScheduled, false, ErrInsideCutoff},
		{"cancel canceled is idempotent", store.StatusCanceled, time.Hour, Cancel, 5, nil, store.StatusCanceled, false, nil},
		{"cancel paused past its time", store.StatusPaused, -time.Hour, Cancel, 5, nil, store.StatusCanceled, true, nil},
		{"cancel complete", store.StatusComplete, -time.Hour, Cancel, 0, nil, store.StatusComplete, false, ErrNotActionable},
		{"cancel sending", store.StatusSending, 0, Cancel, 0, nil, store.StatusSending, false, ErrNotActionable},
		{"cancel expired", store.StatusExpired, -100 * time.Hour, Cancel, 0, nil, store.StatusExpired, false, ErrNotActionable},
		{"cancel at held limit", store.StatusScheduled, time.Hour, Cancel, 2, nil, store.StatusScheduled, false, ErrHeldLimit},
		{"cancel held limit off", store.StatusScheduled, time.Hour, Cancel, 1000, &Policy{CancelCutoff: time.Minute}, store.StatusCanceled, true, nil},
		{"pause scheduled", store.StatusScheduled, time.Hour, Pause, 1, nil, store.StatusPaused, true, nil},
		{"pause inside cutoff", store.StatusScheduled, time.Minute, Pause, 0, nil, store.StatusScheduled, false, ErrInsideCutoff},
		{"pause paused", store.StatusPaused, time.Hour, Pause, 2, nil, store.StatusPaused, false, nil},
		{"pause canceled", store.StatusCanceled, time.Hour, Pause, 0, nil, store.StatusCanceled, false, ErrNotActionable},
		{"pause at held limit", store.StatusScheduled, time.Hour, Pause, 2, nil, store.StatusScheduled, false, ErrHeldLimit},
		{"resume paused", store.StatusPaused, time.Hour, Resume, 0, nil, store.StatusScheduled, true, nil},
		{"resume paused past time", store.StatusPaused, -71 * time.Hour, Resume, 0, nil, store.StatusScheduled, true, nil},
		{"resume paused too long", store.StatusPaused, -73 * time.Hour, Resume, 0, nil, store.StatusPaused, false, ErrNotActionable},
		{"resume scheduled", store.StatusScheduled, time.Hour, Resume, 0, nil, store.StatusScheduled, false, nil},
		{"resume canceled", store.StatusCanceled, time.Hour, Resume, 0, nil, store.StatusCanceled, false, ErrNotActionable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := p
			if tt.policy != nil {
				pol = *tt.policy
			}
			s := store.Send{ID: 1, Status: tt.status, SendDate: now.Add(tt.due)}
			changed, err := pol.Apply(&s, tt.action, now, func() (int, error) { return tt.held, nil })
			if !errors.Is(err, tt.err) || (err != nil) != (tt.err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if changed != tt.changed || s.Status != tt.want {
				t.Errorf("changed %v status %s, want %v %s", changed, s.Status, tt.changed, tt.want)
			}
			if changed && (!s.StatusChangedAt.Equal(now) || !s.ModifiedDate.Equal(now)) {
				t.Errorf("a change must stamp StatusChangedAt and ModifiedDate")
			}
		})
	}
}

func TestApplyHeldCountError(t *testing.T) {
	boom := errors.New("store down")
	s := store.Send{Status: store.StatusScheduled, SendDate: time.Now().Add(time.Hour)}
	if _, err := DefaultPolicy.Apply(&s, Pause, time.Now(), func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the store's error", err)
	}
}

// TestCancelSendWithoutSendDate: partnerd stored .NET's DateTime.MinValue
// as no SendDate (issue 10); such a send is never dispatched, and every
// cancel of it answered 7092. It can now be canceled, without counting
// against the held limit.
func TestCancelSendWithoutSendDate(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := store.Send{Status: store.StatusScheduled}
	held := func() (int, error) { return 1000, nil }
	changed, err := DefaultPolicy.Apply(&s, Cancel, now, held)
	if err != nil || !changed || s.Status != store.StatusCanceled {
		t.Errorf("cancel of a send without SendDate = %v, %v, %s; want Canceled", changed, err, s.Status)
	}
}
