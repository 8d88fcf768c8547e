package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/store"
)

// Campaigns and Single Sends (the SendGrid face's marketing objects),
// changed through marketing.Service, the very service api/sendgrid
// calls: the console adds no rule of its own. An account session names
// only its own account in a path; another account's campaign or Single
// Send is unknown (404), as over REST.

// campaignPage is how many campaigns or Single Sends a page lists.
const campaignPage = 100

// marketingAccount is the account a campaigns or Single Sends page lists:
// the session's own, or for the operator ?account=NAME (no account: a
// page to pick one).
func (f *Face) marketingAccount(w http.ResponseWriter, r *http.Request, page string) (session, store.Account, bool) {
	s, _ := f.current(r)
	if f.cfg.Marketing == nil {
		f.fail(w, r, http.StatusNotFound, "This server does not serve campaigns or Single Sends.")
		return s, store.Account{}, false
	}
	if s.Operator() && r.URL.Query().Get("account") == "" {
		accts, err := f.cfg.Store.ListAccounts(r.Context())
		if err != nil {
			f.fail(w, r, http.StatusInternalServerError, "The accounts could not be read.")
			return s, store.Account{}, false
		}
		f.render(w, r, http.StatusOK, "pickaccount", map[string]any{"Accounts": accts, "Page": page})
		return s, store.Account{}, false
	}
	return f.accountOr404(w, r)
}

// marketingFail answers an error of marketing.Service: unknown → 404, a
// rule the object's status breaks → 409 with the service's own words, bad
// input → 400, anything else → 500.
func (f *Face) marketingFail(w http.ResponseWriter, r *http.Request, what string, err error) {
	switch {
	case errors.Is(err, marketing.ErrNotFound):
		f.fail(w, r, http.StatusNotFound, "No such "+what+".")
	case errors.Is(err, marketing.ErrInvalid):
		f.fail(w, r, http.StatusBadRequest, "The "+what+" was not changed: "+err.Error()+".")
	case errors.Is(err, marketing.ErrInProgress), errors.Is(err, marketing.ErrSent), errors.Is(err, marketing.ErrPaused),
		errors.Is(err, marketing.ErrCanceled), errors.Is(err, marketing.ErrNotScheduled), errors.Is(err, marketing.ErrTriggered),
		errors.Is(err, marketing.ErrSingleSendNotDraft), errors.Is(err, marketing.ErrPastSendAt):
		f.fail(w, r, http.StatusConflict, err.Error())
	default:
		f.cfg.Logger.Error("console: marketing", "what", what, "err", err)
		f.fail(w, r, http.StatusInternalServerError, "The "+what+" could not be changed.")
	}
}

// campaignsPage lists the account's campaigns, newest first, with the
// actions their status allows (unschedule while Scheduled; delete always).
func (f *Face) campaignsPage(w http.ResponseWriter, r *http.Request) {
	_, a, ok := f.marketingAccount(w, r, "campaigns")
	if !ok {
		return
	}
	offset := 0
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1<<30 {
			f.fail(w, r, http.StatusBadRequest, "offset must be a whole number of campaigns.")
			return
		}
		offset = n
	}
	cs, err := f.cfg.Marketing.Campaigns(r.Context(), a.ID, campaignPage+1, offset)
	if err != nil {
		f.marketingFail(w, r, "campaigns", err)
		return
	}
	data := map[string]any{"Account": a, "Campaigns": cs, "Now": f.now()}
	if len(cs) > campaignPage {
		data["Campaigns"] = cs[:campaignPage]
		data["Next"] = fmt.Sprintf("/console/campaigns?account=%s&offset=%d", urlQuery(a.Username), offset+campaignPage)
	}
	f.render(w, r, http.StatusOK, "campaigns", data)
}

func campaignID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// campaignConfirm asks before a delete: a delete stops a campaign in
// progress but loses the campaign itself (seed 001: "Be sure to clone the
// email first"), so the page offers the clone.
func (f *Face) campaignConfirm(w http.ResponseWriter, r *http.Request) {
	_, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	id, okID := campaignID(r)
	if !okID || f.cfg.Marketing == nil {
		f.fail(w, r, http.StatusNotFound, "No such campaign.")
		return
	}
	f.confirmDelete(w, r, a, "campaign", "Campaign", "campaigndelete", func(cloned string) (any, error) {
		if cloned == "" {
			return f.cfg.Marketing.Campaign(r.Context(), a.ID, id)
		}
		n, err := strconv.ParseInt(cloned, 10, 64)
		if err != nil {
			return nil, err
		}
		return f.cfg.Marketing.Campaign(r.Context(), a.ID, n)
	})
}

// confirmDelete renders the delete confirmation page of a campaign or
// Single Send (the only action that asks first), holding it under key:
// load("") finds the one to delete, load(cloned) the copy that "Clone
// first" just made, named in the page when it is found.
func (f *Face) confirmDelete(w http.ResponseWriter, r *http.Request, a store.Account, what, key, page string, load func(cloned string) (any, error)) {
	if !f.deleteAsks(w, r) {
		return
	}
	obj, err := load("")
	if err != nil {
		f.marketingFail(w, r, what, err)
		return
	}
	data := withBack(r, map[string]any{"Account": a, key: obj})
	if cloned := r.URL.Query().Get("cloned"); cloned != "" && len(cloned) <= 64 {
		if clone, err := load(cloned); err == nil {
			data["Clone"] = clone
		}
	}
	f.render(w, r, http.StatusOK, page, data)
}

// cloneConfirmURL is the delete confirmation at path again, naming the
// copy just made (cloned) and keeping where the form came from (back).
func cloneConfirmURL(r *http.Request, path, cloned string) string {
	q := url.Values{"cloned": {cloned}}
	if back := r.PostForm.Get("back"); back != "" {
		q.Set("back", safeNext(back))
	}
	return path + "?" + q.Encode()
}

// deleteAsks reports whether the confirmation page asked for is a
// delete's, the only action that asks first; if not, it has answered 404.
func (f *Face) deleteAsks(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("action") != "delete" {
		f.fail(w, r, http.StatusNotFound, "No such page: only a delete asks first.")
		return false
	}
	return true
}

// withBack adds to a confirmation page's data the page that asked for it
// (the send list), to return to after the action or on "Keep it".
func withBack(r *http.Request, data map[string]any) map[string]any {
	if back := r.URL.Query().Get("back"); back != "" {
		data["Back"] = safeNext(back)
	}
	return data
}

// campaignAct unschedules or deletes a campaign.
func (f *Face) campaignAct(w http.ResponseWriter, r *http.Request) {
	s, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	id, okID := campaignID(r)
	if !okID || f.cfg.Marketing == nil {
		f.fail(w, r, http.StatusNotFound, "No such campaign.")
		return
	}
	ctx := r.Context()
	action := r.PathValue("action")
	var (
		err   error
		clone marketing.Campaign
	)
	detail := fmt.Sprintf("campaign %d", id)
	switch action {
	case "unschedule":
		err = f.cfg.Marketing.UnscheduleCampaign(ctx, a.ID, id)
	case "delete":
		err = f.cfg.Marketing.DeleteCampaign(ctx, a.ID, id)
	case "clone":
		clone, err = f.cfg.Marketing.CloneCampaign(ctx, a.ID, id)
		detail += fmt.Sprintf(" cloned as campaign %d", clone.ID)
	default:
		f.fail(w, r, http.StatusNotFound, "No such action: a campaign may be unscheduled, cloned or deleted.")
		return
	}
	if err != nil {
		f.marketingFail(w, r, "campaign", err)
		return
	}
	f.record(ctx, s, "campaign-"+action, a.ID, "", detail, 1)
	if wantsJSON(r) {
		out := map[string]any{"campaign": id, "done": action}
		if action == "clone" {
			out["clone"] = clone.ID
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if action == "clone" {
		// Back to the delete it was asked from, the clone named there.
		http.Redirect(w, r, cloneConfirmURL(r, fmt.Sprintf("/console/campaigns/%d/%d/delete", a.ID, id), strconv.FormatInt(clone.ID, 10)), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, backTo(r, marketingURL(s, a, "campaigns")), http.StatusSeeOther)
}

func marketingURL(s session, a store.Account, page string) string {
	if s.Operator() {
		return "/console/" + page + "?account=" + urlQuery(a.Username)
	}
	return "/console/" + page
}

// singleSendsPage lists the account's Single Sends, in creation order.
func (f *Face) singleSendsPage(w http.ResponseWriter, r *http.Request) {
	_, a, ok := f.marketingAccount(w, r, "singlesends")
	if !ok {
		return
	}
	page, err := f.cfg.Marketing.SingleSends(r.Context(), a.ID, campaignPage, r.URL.Query().Get("page_token"))
	if err != nil {
		f.marketingFail(w, r, "Single Sends", err)
		return
	}
	data := map[string]any{"Account": a, "SingleSends": page.Result, "Now": f.now(),
		"Soon": f.now().Add(time.Hour).UTC().Format(dateForm)}
	if page.NextToken != "" {
		data["Next"] = "/console/singlesends?account=" + urlQuery(a.Username) + "&page_token=" + urlQuery(page.NextToken)
	}
	f.render(w, r, http.StatusOK, "singlesends", data)
}

// singleSendID reads the {id} of a path: "" when it cannot name one (or
// the server serves no Single Sends).
func (f *Face) singleSendID(r *http.Request) string {
	id := r.PathValue("id")
	if f.cfg.Marketing == nil || len(id) > 64 {
		return ""
	}
	return id
}

// singleSendConfirm asks before a delete, which loses the Single Send for
// good: the page says so, and offers "Duplicate first" (SendGrid's
// DuplicateSingleSend) and, while it is scheduled, the unschedule instead.
func (f *Face) singleSendConfirm(w http.ResponseWriter, r *http.Request) {
	_, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	id := f.singleSendID(r)
	if id == "" {
		f.fail(w, r, http.StatusNotFound, "No such Single Send.")
		return
	}
	f.confirmDelete(w, r, a, "Single Send", "SingleSend", "singlesenddelete", func(cloned string) (any, error) {
		if cloned == "" {
			return f.cfg.Marketing.SingleSend(r.Context(), a.ID, id)
		}
		return f.cfg.Marketing.SingleSend(r.Context(), a.ID, cloned)
	})
}

// singleSendAct schedules (at send_at, a UTC time of the form),
// unschedules or deletes a Single Send.
func (f *Face) singleSendAct(w http.ResponseWriter, r *http.Request) {
	s, a, ok := f.accountOr404(w, r)
	if !ok {
		return
	}
	id := f.singleSendID(r)
	if id == "" {
		f.fail(w, r, http.StatusNotFound, "No such Single Send.")
		return
	}
	ctx := r.Context()
	action := r.PathValue("action")
	var (
		out    marketing.SingleSendSchedule
		err    error
		detail string
	)
	switch action {
	case "schedule":
		v := strings.TrimSpace(r.PostForm.Get("send_at"))
		at, perr := time.Parse(dateForm, v)
		if perr != nil {
			if at, perr = time.Parse(time.RFC3339, v); perr != nil {
				f.fail(w, r, http.StatusBadRequest, "send_at must be a time like 2026-01-15T12:00 (UTC).")
				return
			}
		}
		out, err = f.cfg.Marketing.ScheduleSingleSend(ctx, a.ID, id, at.UTC())
		detail = "single send " + id + " scheduled at " + at.UTC().Format(time.RFC3339)
	case "unschedule":
		out, err = f.cfg.Marketing.UnscheduleSingleSend(ctx, a.ID, id)
		detail = "single send " + id + " unscheduled"
	case "duplicate":
		var dup marketing.SingleSend
		if dup, err = f.cfg.Marketing.DuplicateSingleSend(ctx, a.ID, id, ""); err == nil {
			f.record(ctx, s, "singlesend-duplicate", a.ID, "", fmt.Sprintf("single send %s duplicated as %s", id, dup.ID), 1)
			if wantsJSON(r) {
				writeJSON(w, http.StatusOK, map[string]any{"id": id, "duplicate": dup.ID})
				return
			}
			http.Redirect(w, r, cloneConfirmURL(r, fmt.Sprintf("/console/singlesends/%d/%s/delete", a.ID, id), dup.ID), http.StatusSeeOther)
			return
		}
	case "delete":
		var ss marketing.SingleSend
		if ss, err = f.cfg.Marketing.SingleSend(ctx, a.ID, id); err == nil {
			err = f.cfg.Marketing.DeleteSingleSend(ctx, a.ID, id)
			detail = fmt.Sprintf("single send %s (%q, %s) deleted", id, ss.Name, ss.Status)
			out.Status = "deleted"
		}
	default:
		f.fail(w, r, http.StatusNotFound, "No such action: a Single Send may be scheduled, unscheduled, duplicated or deleted.")
		return
	}
	if err != nil {
		f.marketingFail(w, r, "Single Send", err)
		return
	}
	f.record(ctx, s, "singlesend-"+action, a.ID, "", detail, 1)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": out.Status, "send_at": out.SendAt})
		return
	}
	http.Redirect(w, r, backTo(r, marketingURL(s, a, "singlesends")), http.StatusSeeOther)
}
