package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/partnerd/partnerd/lifecycle"
	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/sending"
	"github.com/partnerd/partnerd/store"
)

// pageSize is the send list's default page; maxPageSize its largest.
const (
	pageSize    = 100
	maxPageSize = 500
	// maxBatchScan bounds the sends of one batch the list reads when it
	// is filtered by batch (the store pages sends by ID, not within a
	// batch).
	maxBatchScan = 10000
)

// dateForm is how the send-time filter is written in its fields (UTC).
const dateForm = "2006-01-02T15:04"

// sendFilter is what the send list shows: parsed from the query, and
// written back into the next page's link.
type sendFilter struct {
	Account  string // username; operator only
	Status   string
	Face     string // an origin, or faceUnknown
	Batch    string
	From, To string // dateForm, UTC
	After    int64  // the cursor: the last ID of the page before
	N        int

	accountID      int64
	origin         store.Origin
	from, to       time.Time
	hasFrom, hasTo bool
}

// faceUnknown is the face filter's value for sends whose origin was not
// recorded (store.OriginUnknown, written "" in the store).
const faceUnknown = "unknown"

// face is one choice of the face filter and the label of its column.
type face struct{ Value, Label string }

// faces are the face filter's choices, in store.Origins' order, and the
// labels the list shows for each origin.
var faces = func() []face {
	labels := map[store.Origin]string{
		store.OriginSOAP:       "SOAP Send",
		store.OriginDefinition: "Send definition",
		store.OriginREST:       "SendGrid mail/send",
		store.OriginCampaign:   "Campaign",
		store.OriginSingleSend: "Single Send",
	}
	var out []face
	for _, o := range store.Origins {
		out = append(out, face{string(o), labels[o]})
	}
	return append(out, face{faceUnknown, "—"})
}()

// faceLabel is how the list names a send's origin.
func faceLabel(o store.Origin) string {
	for _, f := range faces {
		if f.Value == string(o) {
			return f.Label
		}
	}
	return "—"
}

// statuses are the statuses the filter offers.
var statuses = []store.SendStatus{store.StatusScheduled, store.StatusPaused, store.StatusCanceled,
	store.StatusSending, store.StatusComplete, store.StatusExpired, store.StatusError}

// parseSendFilter reads the list's query. A bad value is the caller's
// error, answered 400 with what was wrong.
func (f *Face) parseSendFilter(r *http.Request, s session) (sendFilter, error) {
	q := r.URL.Query()
	sf := sendFilter{Account: strings.TrimSpace(q.Get("account")), Status: q.Get("status"), Batch: strings.TrimSpace(q.Get("batch")),
		Face: q.Get("face"), From: q.Get("from"), To: q.Get("to"), N: pageSize}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return sf, fmt.Errorf("after must be a send ID, not %q", v)
		}
		sf.After = n
	}
	if v := q.Get("n"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return sf, fmt.Errorf("n must be a page size from 1 to %d", maxPageSize)
		}
		sf.N = n
	}
	if sf.Status != "" && !slices.Contains(statuses, store.SendStatus(sf.Status)) {
		return sf, fmt.Errorf("unknown status %q", sf.Status)
	}
	switch {
	case sf.Face == faceUnknown:
		sf.origin = store.OriginUnknown
	case sf.Face != "" && !store.Origin(sf.Face).Valid():
		return sf, fmt.Errorf("unknown face %q", sf.Face)
	default:
		sf.origin = store.Origin(sf.Face)
	}
	var err error
	if sf.From != "" {
		if sf.from, err = time.Parse(dateForm, sf.From); err != nil {
			return sf, fmt.Errorf("from must be a time like 2026-01-15T12:00 (UTC)")
		}
		sf.hasFrom = true
	}
	if sf.To != "" {
		if sf.to, err = time.Parse(dateForm, sf.To); err != nil {
			return sf, fmt.Errorf("to must be a time like 2026-01-15T12:00 (UTC)")
		}
		sf.hasTo = true
	}
	if !s.Operator() {
		// An account sees its own sends whatever the query says.
		sf.Account, sf.accountID = s.AccountName, s.AccountID
	} else if sf.Account != "" {
		a, err := f.cfg.Store.AccountByUsername(r.Context(), sf.Account)
		if errors.Is(err, store.ErrNotFound) {
			return sf, fmt.Errorf("no account %q", sf.Account)
		}
		if err != nil {
			return sf, err
		}
		sf.accountID = a.ID
	}
	return sf, nil
}

// storeFilter is the filter's status, face and send time as a
// store.Filter. The face is an equality on the origin, which the store's
// (account, origin, id) index serves with the ID order of the page.
func (sf sendFilter) storeFilter() store.Filter {
	var conds []store.Filter
	if sf.Face != "" {
		conds = append(conds, &store.Cond{Field: store.FieldOrigin, Op: store.OpEquals, Values: []any{string(sf.origin)}})
	}
	if sf.Status != "" {
		conds = append(conds, &store.Cond{Field: store.FieldStatus, Op: store.OpEquals, Values: []any{sf.Status}})
	}
	if sf.hasFrom {
		conds = append(conds, &store.Cond{Field: store.FieldSendDate, Op: store.OpGreaterThanOrEqual, Values: []any{sf.from}})
	}
	if sf.hasTo {
		conds = append(conds, &store.Cond{Field: store.FieldSendDate, Op: store.OpLessThan, Values: []any{sf.to}})
	}
	var f store.Filter
	for _, c := range conds {
		if f == nil {
			f = c
		} else {
			f = &store.And{Left: f, Right: c}
		}
	}
	return f
}

// matches is the filter applied to a send read by batch.
func (sf sendFilter) matches(s store.Send) bool {
	return (sf.Status == "" || string(s.Status) == sf.Status) && (sf.Face == "" || s.Origin == sf.origin) &&
		(!sf.hasFrom || !s.SendDate.Before(sf.from)) && (!sf.hasTo || s.SendDate.Before(sf.to)) && s.ID > sf.After
}

// query is the filter as a list URL's query, with a cursor.
func (sf sendFilter) query(after int64) string {
	v := url.Values{}
	for k, x := range map[string]string{"account": sf.Account, "status": sf.Status, "face": sf.Face, "batch": sf.Batch, "from": sf.From, "to": sf.To} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if sf.N != pageSize {
		v.Set("n", strconv.Itoa(sf.N))
	}
	if after > 0 {
		v.Set("after", strconv.FormatInt(after, 10))
	}
	return v.Encode()
}

// sendRow is one row of the list.
type sendRow struct {
	store.Send
	Account string
	Face    string // the origin's label
	Actions []string
	// Owner is the campaign or Single Send a send was created for (nil
	// for every other origin, or when the console serves no marketing).
	Owner *sendOwner
}

// sendOwner is the campaign or Single Send of a send, with the actions
// its status allows: what the campaigns and Single Sends pages offer,
// through their own handlers.
type sendOwner struct {
	Kind       store.Origin // OriginCampaign or OriginSingleSend
	AccountID  int64
	ID         string
	Name       string
	Status     string // "" when it no longer exists
	Page       string // the list it is on
	Unschedule bool
	Delete     bool
}

// ownerOf reads the campaign or Single Send a send names through the
// marketing service (the very reads its pages make); nil for a send of
// another origin.
func (f *Face) ownerOf(r *http.Request, s session, accountName string, x store.Send) *sendOwner {
	if f.cfg.Marketing == nil || x.OriginID == "" || (x.Origin != store.OriginCampaign && x.Origin != store.OriginSingleSend) {
		return nil
	}
	a := store.Account{ID: x.AccountID, Username: accountName}
	o := &sendOwner{Kind: x.Origin, AccountID: x.AccountID, ID: x.OriginID}
	var err error
	if x.Origin == store.OriginCampaign {
		o.Page = marketingURL(s, a, "campaigns")
		id, perr := strconv.ParseInt(x.OriginID, 10, 64)
		if perr != nil {
			return nil
		}
		var c marketing.Campaign
		if c, err = f.cfg.Marketing.Campaign(r.Context(), x.AccountID, id); err == nil {
			// As the campaigns page: unschedule while Scheduled, delete always.
			o.Name, o.Status = c.Title, string(c.Status)
			o.Unschedule, o.Delete = c.Status == marketing.CampaignScheduled, true
		}
	} else {
		o.Page = marketingURL(s, a, "singlesends")
		var ss marketing.SingleSend
		if ss, err = f.cfg.Marketing.SingleSend(r.Context(), x.AccountID, x.OriginID); err == nil {
			// As the Single Sends page: unschedule while scheduled,
			// delete always (its page asks first).
			o.Name, o.Status = ss.Name, string(ss.Status)
			o.Unschedule, o.Delete = ss.Status == marketing.SingleSendScheduled, true
		}
	}
	if err != nil && !errors.Is(err, marketing.ErrNotFound) {
		f.cfg.Logger.Error("console: owner of a send", "send", x.ID, "err", err)
	}
	return o
}

// findSends reads one page (n+1 rows, to know whether there is a next)
// by keyset paging on the send ID: every page costs the same however deep
// it is. The operator's list without an account merges every account's
// page, which the store keeps per account; IDs are unique across
// accounts, so the merge is by ID.
func (f *Face) findSends(r *http.Request, sf sendFilter) ([]store.Send, error) {
	ctx := r.Context()
	accounts := []int64{sf.accountID}
	if sf.accountID == 0 {
		all, err := f.cfg.Store.ListAccounts(ctx)
		if err != nil {
			return nil, err
		}
		accounts = accounts[:0]
		for _, a := range all {
			accounts = append(accounts, a.ID)
		}
	}
	var out []store.Send
	err := f.cfg.Store.View(ctx, func(tx store.Tx) error {
		for _, id := range accounts {
			var page []store.Send
			var err error
			if sf.Batch != "" {
				var batch []store.Send
				batch, err = tx.SendsOfBatch(ctx, id, sf.Batch, maxBatchScan)
				for _, s := range batch {
					if sf.matches(s) && len(page) <= sf.N {
						page = append(page, s)
					}
				}
			} else {
				page, err = tx.FindSends(ctx, id, store.SendQuery{Filter: sf.storeFilter(), AfterID: sf.After, Limit: sf.N + 1})
			}
			if err != nil {
				return err
			}
			out = append(out, page...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(accounts) > 1 {
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	}
	if len(out) > sf.N+1 {
		out = out[:sf.N+1]
	}
	return out, nil
}

// allowedActions are the actions a send's status allows now: each action
// tried on a copy by lifecycle's own rule (Policy.Apply, with the held
// limit left to the real call), so the console never restates a rule. A
// send of a campaign or Single Send is one chunk of it: the list offers
// its owner's actions instead, so that it is stopped whole.
func (f *Face) allowedActions(s store.Send, now time.Time) []string {
	if s.Origin == store.OriginCampaign || s.Origin == store.OriginSingleSend {
		return nil
	}
	var out []string
	for _, a := range []lifecycle.Action{lifecycle.Cancel, lifecycle.Pause, lifecycle.Resume} {
		c := s
		if changed, err := f.cfg.Policy.Apply(&c, a, now, func() (int, error) { return 0, nil }); err == nil && changed {
			out = append(out, string(a))
		}
	}
	return out
}

func (f *Face) sendsPage(w http.ResponseWriter, r *http.Request) {
	s, _ := f.current(r)
	sf, err := f.parseSendFilter(r, s)
	if err != nil {
		f.fail(w, r, http.StatusBadRequest, "Bad filter: "+err.Error()+".")
		return
	}
	sends, err := f.findSends(r, sf)
	if err != nil {
		f.cfg.Logger.Error("console: listing sends", "err", err)
		f.fail(w, r, http.StatusInternalServerError, "The sends could not be read.")
		return
	}
	next := ""
	if len(sends) > sf.N {
		sends = sends[:sf.N]
		next = "/console/sends?" + sf.query(sends[len(sends)-1].ID)
	}
	names, err := f.accountNames(r, s)
	if err != nil {
		f.fail(w, r, http.StatusInternalServerError, "The accounts could not be read.")
		return
	}
	now := f.now()
	rows := make([]sendRow, len(sends))
	// A campaign's sends are many rows of one owner: read each once.
	owners := map[string]*sendOwner{}
	for i, x := range sends {
		rows[i] = sendRow{Send: x, Account: names[x.AccountID], Face: faceLabel(x.Origin), Actions: f.allowedActions(x, now)}
		if x.OriginID != "" {
			k := fmt.Sprint(x.AccountID, x.Origin, x.OriginID)
			o, ok := owners[k]
			if !ok {
				o = f.ownerOf(r, s, names[x.AccountID], x)
				owners[k] = o
			}
			rows[i].Owner = o
		}
	}
	first := ""
	if sf.After > 0 {
		first = "/console/sends?" + sf.query(0)
	}
	data := map[string]any{"Rows": rows, "Filter": sf, "Statuses": statuses, "Faces": faces, "Next": next, "First": first, "Now": now,
		"Here": "/console/sends?" + sf.query(sf.After)}
	if sf.Batch != "" {
		// The batch's own hold and actions, above its sends. Batch IDs are
		// unique across accounts: the operator's rows name its account.
		acct := sf.accountID
		if acct == 0 && len(rows) > 0 {
			acct = rows[0].AccountID
		}
		if acct != 0 {
			if b, err := f.cfg.Sends.Batch(r.Context(), acct, sf.Batch); err == nil {
				data["Batch"] = b
			}
		}
	}
	f.render(w, r, http.StatusOK, "sends", data)
}

// accountNames maps account IDs to usernames for the rows' Account column.
func (f *Face) accountNames(r *http.Request, s session) (map[int64]string, error) {
	if !s.Operator() {
		return map[int64]string{s.AccountID: s.AccountName}, nil
	}
	all, err := f.cfg.Store.ListAccounts(r.Context())
	if err != nil {
		return nil, err
	}
	m := make(map[int64]string, len(all))
	for _, a := range all {
		m[a.ID] = a.Username
	}
	return m, nil
}

// actionTarget reads /console/sends/{account}/{id}/{action}: an account
// session may name only its own account (another is answered as unknown,
// as the service answers another account's send).
func (f *Face) actionTarget(r *http.Request, s session) (accountID, sendID int64, action lifecycle.Action, err error) {
	accountID, err1 := strconv.ParseInt(r.PathValue("account"), 10, 64)
	sendID, err2 := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err1 != nil || err2 != nil || accountID <= 0 || sendID <= 0 {
		return 0, 0, "", errNoSend
	}
	if !s.Operator() && accountID != s.AccountID {
		return 0, 0, "", errNoSend
	}
	switch a := lifecycle.Action(r.PathValue("action")); a {
	case lifecycle.Cancel, lifecycle.Pause, lifecycle.Resume:
		return accountID, sendID, a, nil
	}
	return 0, 0, "", errNoAction
}

var (
	errNoSend   = errors.New("No such send.")
	errNoAction = errors.New("No such action: a send may be canceled, paused or resumed.")
)

// confirmPage asks before an action, for a browser without the script
// (which asks in a dialog instead).
func (f *Face) confirmPage(w http.ResponseWriter, r *http.Request) {
	s, _ := f.current(r)
	accountID, sendID, action, err := f.actionTarget(r, s)
	if err != nil {
		f.fail(w, r, http.StatusNotFound, err.Error())
		return
	}
	var send store.Send
	err = f.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		var err error
		send, err = tx.SendByKey(r.Context(), accountID, store.SendKey{ID: sendID})
		return err
	})
	if err != nil {
		f.fail(w, r, http.StatusNotFound, errNoSend.Error())
		return
	}
	f.render(w, r, http.StatusOK, "confirm", map[string]any{"Send": send, "Action": string(action), "AccountID": accountID})
}

// act cancels, pauses or resumes one send through the send service, records
// it as an operator action, and answers the send's new status (JSON to the
// script, back to the list otherwise).
func (f *Face) act(w http.ResponseWriter, r *http.Request) {
	s, _ := f.current(r)
	accountID, sendID, action, err := f.actionTarget(r, s)
	if err != nil {
		f.fail(w, r, http.StatusNotFound, err.Error())
		return
	}
	outs, err := f.cfg.Sends.Act(r.Context(), accountID, action, []sending.Key{{ID: sendID, HasID: true}})
	if err != nil {
		f.cfg.Logger.Error("console: send action", "err", err)
		f.fail(w, r, http.StatusInternalServerError, "The action could not be stored.")
		return
	}
	o := outs[0]
	if o.Err != nil {
		status := http.StatusConflict
		if errors.Is(o.Err, sending.ErrNotFound) {
			status = http.StatusNotFound
		}
		f.fail(w, r, status, o.Err.Error())
		return
	}
	f.record(r.Context(), s, string(action), accountID, "", fmt.Sprintf("send %d: now %s", sendID, o.Send.Status), 1)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"id": o.Send.ID, "status": o.Send.Status, "actions": f.allowedActions(o.Send, f.now())})
		return
	}
	http.Redirect(w, r, backTo(r, "/console/sends"), http.StatusSeeOther)
}

// backTo is where an action's form asks to return (its back field: a
// console page, such as the send list it was sent from), or def.
func backTo(r *http.Request, def string) string {
	if ref := r.PostForm.Get("back"); ref != "" {
		return safeNext(ref)
	}
	return def
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func sortStrings(s []string) []string { sort.Strings(s); return s }
