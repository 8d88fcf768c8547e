package console

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/partnerd/partnerd/internal/clock"
	"github.com/partnerd/partnerd/store"
)

// The chart's window: the 72 hours in which a pause or cancel still counts
// (a send paused longer past its SendDate expires), by the hour.
const (
	chartHours = 72
	// chartScan bounds the sends the chart reads.
	chartScan = 500000
)

// hourBar is one hour of the chart: its sends by what will become of them.
type hourBar struct {
	Start                       time.Time
	Scheduled, Paused, Canceled int
	// X, and the heights and tops of the stacked bars, in SVG units.
	X                      int
	HS, HP, HC, YS, YP, YC int
	Label                  string
}

// chartPage draws the sends due in the next 72 hours, per hour: the
// scheduled ones, the paused and the canceled marked, and the cancel
// cutoff (before it, a cancel or pause is refused).
func (f *Face) chartPage(w http.ResponseWriter, r *http.Request) {
	s, _ := f.current(r)
	now := f.now()
	start := now.Truncate(time.Hour)
	end := start.Add(chartHours * time.Hour)
	var accounts []int64
	if s.Operator() {
		all, err := f.cfg.Store.ListAccounts(r.Context())
		if err != nil {
			f.fail(w, r, http.StatusInternalServerError, "The accounts could not be read.")
			return
		}
		for _, a := range all {
			accounts = append(accounts, a.ID)
		}
	} else {
		accounts = []int64{s.AccountID}
	}
	bars := make([]hourBar, chartHours)
	filter := &store.And{
		Left:  &store.Cond{Field: store.FieldSendDate, Op: store.OpBetween, Values: []any{start, end.Add(-time.Microsecond)}},
		Right: &store.Cond{Field: store.FieldStatus, Op: store.OpIn, Values: []any{string(store.StatusScheduled), string(store.StatusPaused), string(store.StatusCanceled)}},
	}
	read, capped := 0, false
	err := f.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		for _, id := range accounts {
			sends, err := tx.FindSends(r.Context(), id, store.SendQuery{Filter: filter, Limit: chartScan - read + 1})
			if err != nil {
				return err
			}
			if read+len(sends) > chartScan {
				sends, capped = sends[:chartScan-read], true
			}
			read += len(sends)
			for _, x := range sends {
				h := int(x.SendDate.Sub(start) / time.Hour)
				if h < 0 || h >= chartHours {
					continue
				}
				switch x.Status {
				case store.StatusScheduled:
					bars[h].Scheduled++
				case store.StatusPaused:
					bars[h].Paused++
				case store.StatusCanceled:
					bars[h].Canceled++
				}
			}
			if capped {
				break
			}
		}
		return nil
	})
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The sends could not be read.")
		return
	}
	const width, height, left, barW = 72 * 12, 200, 40, 10
	peak := 1
	for _, b := range bars {
		peak = max(peak, b.Scheduled+b.Paused+b.Canceled)
	}
	scale := func(n int) int { return n * height / peak }
	for i := range bars {
		b := &bars[i]
		b.Start = start.Add(time.Duration(i) * time.Hour)
		b.X = left + i*12
		b.HS, b.HP, b.HC = scale(b.Scheduled), scale(b.Paused), scale(b.Canceled)
		b.YS = height - b.HS
		b.YP = b.YS - b.HP
		b.YC = b.YP - b.HC
		if i%6 == 0 {
			b.Label = b.Start.UTC().Format("02 15h")
		}
	}
	cutoff := now.Add(f.cfg.Policy.CancelCutoff)
	cutoffX := left + int(cutoff.Sub(start)*12/time.Hour)
	f.render(w, r, http.StatusOK, "chart", map[string]any{"Bars": bars, "Peak": peak, "Now": now, "Cutoff": cutoff,
		"CutoffX": cutoffX, "Width": width + left, "Height": height, "Capped": capped, "Read": read})
}

// clockPage shows the server's clock and, under --clock manual, moves it
// (the operator only: it is every account's time). A move runs what it
// made due before it answers, as the admin API's does.
func (f *Face) clockPage(w http.ResponseWriter, r *http.Request) {
	_, manual := f.cfg.Clock.(*clock.Manual)
	f.render(w, r, http.StatusOK, "clock", map[string]any{"Now": f.now(), "Manual": manual})
}

func (f *Face) moveClock(w http.ResponseWriter, r *http.Request) {
	s, _ := f.current(r)
	m, ok := f.cfg.Clock.(*clock.Manual)
	if !ok {
		f.fail(w, r, http.StatusConflict, "The clock is the system's: start partnerd with --clock manual to move it.")
		return
	}
	if !s.Operator() {
		f.fail(w, r, http.StatusForbidden, "Only the operator moves the clock: it is every account's.")
		return
	}
	set, adv := strings.TrimSpace(r.PostForm.Get("set")), strings.TrimSpace(r.PostForm.Get("advance"))
	var to time.Time
	switch {
	case (set == "") == (adv == ""):
		f.fail(w, r, http.StatusBadRequest, "Give a time to set the clock to, or a duration to advance it by.")
		return
	case set != "":
		t, err := time.Parse(dateForm, set)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, set); err != nil {
				f.fail(w, r, http.StatusBadRequest, "The time must read like 2026-01-15T12:00 (UTC).")
				return
			}
		}
		to = t
	default:
		d, err := time.ParseDuration(adv)
		if err != nil {
			f.fail(w, r, http.StatusBadRequest, "The duration must read like 90m or 2h.")
			return
		}
		to = m.Now().Add(d)
	}
	from := m.Now()
	m.Set(to)
	f.record(r.Context(), s, "clock", 0, "", fmt.Sprintf("clock moved from %s to %s", from.Format(time.RFC3339), to.UTC().Format(time.RFC3339)), 0)
	http.Redirect(w, r, "/console/clock", http.StatusSeeOther)
}
