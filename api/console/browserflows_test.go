package console_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/partnerd/partnerd/dispatch"
	"github.com/partnerd/partnerd/marketing"
	"github.com/partnerd/partnerd/store"
)

// chrome is one headless Chromium on the env's console, set up as
// TestBrowserCancel's: a fresh user-data dir, the flags of the issue,
// screenshots to a folder the test logs, and what the page logs kept.
type chrome struct {
	t       *testing.T
	ctx     context.Context
	base    string
	shots   string
	mu      sync.Mutex
	console []string
}

func newChrome(t *testing.T, e *env) *chrome {
	exe := chromium(t)
	if testing.Short() {
		t.Skip("the browser test is skipped in -short")
	}
	shots, err := os.MkdirTemp("", "partnerd-console-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	c := &chrome{t: t, base: e.srv.URL, shots: shots}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	listen := func(ev any) {
		var line string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			line = fmt.Sprintf("%s: %s", ev.Type, strings.Join(parts, " "))
		case *runtime.EventExceptionThrown:
			line = fmt.Sprintf("exception: %s %+v", ev.ExceptionDetails.Text, ev.ExceptionDetails.Exception)
		default:
			return
		}
		c.mu.Lock()
		c.console = append(c.console, line)
		c.mu.Unlock()
	}
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithListener(listen))
	t.Cleanup(cancelCtx)
	// The first run starts the browser and must not be bounded (the bound
	// would stop the browser); the steps after it are bounded, for a
	// browser that hangs, not as a timing the test relies on.
	if err := chromedp.Do(ctx, chromedp.Navigate(c.base+"/console/")); err != nil {
		t.Fatalf("browser: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancelTimeout)
	c.ctx = ctx
	t.Cleanup(c.checkConsole)
	return c
}

// shot writes a screenshot. A page just navigated to may not be laid out
// yet ("0 width" on a loaded machine): it is tried again until it is.
func (c *chrome) shot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			buf, err := chromedp.FullScreenshot(100)(ctx, t)
			if err == nil {
				return os.WriteFile(filepath.Join(c.shots, name), buf, 0o644)
			}
			if ctx.Err() != nil {
				return fmt.Errorf("screenshot %s: %w (last: %v)", name, ctx.Err(), err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// poll waits until expr is true, across navigations: a form posted by a
// click reloads the page, and an evaluation in the page that goes away
// fails and is tried again. Bounded by the test's own timeout.
func (c *chrome) poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			ok, err := chromedp.Evaluate[bool](expr)(ctx, t)
			if err == nil && ok {
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("waiting for %s: %w (last: %v)", expr, ctx.Err(), err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// do runs steps, failing the test with the browser's console on error.
func (c *chrome) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, actions...); err != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.t.Fatalf("%s: %v\nbrowser console: %q", step, err, c.console)
	}
}

func (c *chrome) text(sel string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		c.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (c *chrome) signIn(user, pw string) {
	c.t.Helper()
	c.do("sign in as "+user,
		chromedp.Navigate(c.base+"/console/signin"),
		chromedp.WaitVisible(chromedp.CSS(`#signin-account input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`#signin-account input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`#signin-account input[name=password]`), pw),
		chromedp.Click(chromedp.CSS(`#signin-account button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.sends`)),
	)
}

// checkConsole fails the test on a CSP violation or a script error.
func (c *chrome) checkConsole() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.console {
		if strings.Contains(l, "Content Security Policy") || strings.HasPrefix(l, "exception") || strings.HasPrefix(l, "error") {
			c.t.Errorf("browser console: %s", l)
		}
	}
}

// TestBrowserBatch: pause a batch from its bar, see its sends Paused; resume
// it, see them Scheduled again.
func TestBrowserBatch(t *testing.T) {
	e := newEnv(t)
	e.apply("send alice id=100 senddate=+2h", "send bob id=200 senddate=+2h")
	id := e.account("alice").ID
	batch := e.send(id, 100).BatchID
	c := newChrome(t, e)
	c.signIn("alice", "alice-pw")
	c.do("pause the batch",
		chromedp.Navigate(c.base+"/console/sends?batch="+batch),
		chromedp.WaitVisible(chromedp.CSS(`#batch`)),
		c.shot("batch-1-before.png"),
		chromedp.Click(chromedp.CSS(`#batch form[action$="/pause"] button`)),
		c.poll(`document.querySelector("#batch .hold") && document.querySelector("#batch .hold").textContent === "pause"`),
		c.poll(`document.querySelector("#send-100 .status").textContent === "Paused"`),
		c.shot("batch-2-paused.png"),
	)
	if s := e.send(id, 100); s.Status != store.StatusPaused {
		t.Errorf("stored after pause: %s", s.Status)
	}
	c.do("resume the batch",
		chromedp.Click(chromedp.CSS(`#batch form[action$="/resume"] button`)),
		c.poll(`document.querySelector("#batch .hold").textContent === "no hold"`),
		c.poll(`document.querySelector("#send-100 .status").textContent === "Scheduled"`),
		c.shot("batch-3-resumed.png"),
	)
	if s := e.send(id, 100); s.Status != store.StatusScheduled {
		t.Errorf("stored after resume: %s", s.Status)
	}
	if s := e.send(e.account("bob").ID, 200); s.Status != store.StatusScheduled {
		t.Errorf("bob's send: %s", s.Status)
	}
	// Live status: the page stays open while the send completes (as the
	// dispatcher would record it); its row changes without a reload.
	c.do("mark the page", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`window.notReloaded = true`)(ctx, t)
		return err
	}))
	ctx := context.Background()
	err := e.fix.Store.Update(ctx, func(tx store.Tx) error {
		s, err := tx.SendByKey(ctx, id, store.SendKey{ID: 100})
		if err != nil {
			return err
		}
		s.Status, s.SentDate = store.StatusComplete, e.fix.Clock.Now()
		return tx.UpdateSendFrom(ctx, s, store.StatusScheduled)
	})
	if err != nil {
		t.Fatal(err)
	}
	c.do("see it complete",
		c.poll(`document.querySelector("#send-100 .status").textContent === "Complete" && window.notReloaded === true`),
		c.shot("batch-4-live-complete.png"),
	)
}

// TestBrowserDeleteCampaign: a campaign in progress (one chunk delivered,
// two to go) is deleted through its confirmation, which warns to clone
// first; when its time comes a dispatcher pass sends nothing more, and the
// outbox holds only the chunk that went before.
func TestBrowserDeleteCampaign(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.account("alice").ID
	camp := e.campaign("alice", 3, at("2026-01-15T13:00:00Z"))
	// One chunk goes out early, as a dispatcher would deliver it: the
	// campaign is In Progress.
	var chunks []store.Send
	e.fix.Store.View(ctx, func(tx store.Tx) error {
		chunks, _ = tx.FindSends(ctx, id, store.SendQuery{Limit: 10})
		return nil
	})
	if len(chunks) != 3 {
		t.Fatalf("%d chunks, want 3", len(chunks))
	}
	d := dispatch.New(dispatch.Config{Store: e.fix.Store, Clock: e.fix.Clock, Policy: e.fix.Policy})
	first := chunks[0]
	e.fix.Store.Update(ctx, func(tx store.Tx) error {
		first.SendDate = e.fix.Clock.Now()
		return tx.UpdateSendFrom(ctx, first, store.StatusScheduled)
	})
	if st, err := d.RunDue(ctx); err != nil || st.Completed != 1 {
		t.Fatalf("the first chunk: %+v %v", st, err)
	}
	if c, _ := e.marketingOf().Campaign(ctx, id, camp.ID); c.Status != marketing.CampaignInProgress {
		t.Fatalf("campaign %s, want In Progress", c.Status)
	}
	before, _ := e.fix.Store.Outbox(ctx, store.OutboxQuery{AccountID: id})

	c := newChrome(t, e)
	c.signIn("alice", "alice-pw")
	c.do("open the campaign's delete",
		chromedp.Navigate(c.base+"/console/campaigns"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#campaign-%d`, camp.ID))),
		c.shot("campaign-1-list.png"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#campaign-%d a.danger`, camp.ID))),
		chromedp.WaitVisible(chromedp.CSS(`#clone-first`)),
		c.shot("campaign-2-confirm.png"),
	)
	warning := c.text(`#clone-first`)
	if !strings.Contains(warning, "Clone first") {
		t.Errorf("the confirmation's warning: %q", warning)
	}
	c.do("clone first",
		chromedp.Click(chromedp.CSS(`#clone`)),
		chromedp.WaitVisible(chromedp.CSS(`#cloned`)),
		c.shot("campaign-2b-cloned.png"),
	)
	if cloned := c.text(`#cloned`); !strings.Contains(cloned, "Copy of") {
		t.Errorf("the clone's note: %q", cloned)
	}
	c.do("delete",
		chromedp.Click(chromedp.CSS(`#confirm-delete`)),
		c.poll(`document.querySelector("table.campaigns") !== null`),
		c.poll(fmt.Sprintf(`document.querySelector("#campaign-%d") === null`, camp.ID)),
		c.shot("campaign-3-deleted.png"),
	)
	// The campaign's time comes: nothing more goes out.
	e.fix.Clock.Set(at("2026-01-15T13:30:00Z"))
	if st, err := d.RunDue(ctx); err != nil || st.Completed != 0 {
		t.Errorf("a pass after the delete: %+v %v", st, err)
	}
	after, _ := e.fix.Store.Outbox(ctx, store.OutboxQuery{AccountID: id})
	if len(after) != len(before) || len(before) != 1 {
		t.Errorf("outbox: %d entries before the delete, %d after the pass (want 1 and 1)", len(before), len(after))
	}
	c.do("the outbox", chromedp.Navigate(c.base+"/console/outbox"), chromedp.WaitVisible(chromedp.CSS(`main`)), c.shot("campaign-4-outbox.png"))
}

// TestBrowserExchangeAndKey: a REST call's exchange is opened by its
// RequestID and downloaded as a golden case; an API key is rotated (a new
// one created, the old one revoked) and the old one is refused over REST.
func TestBrowserExchangeAndKey(t *testing.T) {
	e := newEnv(t)
	id := e.account("alice").ID
	c := newChrome(t, e)
	c.signIn("alice", "alice-pw")

	// Rotate a key: create "ci", then "ci-2", revoke "ci".
	newKey := func(name string) string {
		c.do("create key "+name,
			chromedp.Navigate(c.base+"/console/account"),
			chromedp.WaitVisible(chromedp.CSS(`form[action$="/keys"] input[name=name]`)),
			chromedp.SendKeys(chromedp.CSS(`form[action$="/keys"] input[name=name]`), name),
			chromedp.Click(chromedp.CSS(`form[action$="/keys"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`#new-secret`)),
		)
		return strings.TrimSpace(c.text(`#new-secret`))
	}
	old := newKey("ci")
	if got := e.rest(old, "/v3/api_keys"); got != 200 {
		t.Fatalf("the first key over REST: HTTP %d", got)
	}
	fresh := newKey("ci-2")
	oldID := strings.Split(old, ".")[1]
	c.do("revoke the old key",
		c.shot("key-1-created.png"),
		chromedp.Navigate(c.base+"/console/account"),
		chromedp.WaitVisible(chromedp.CSS(`#key-`+oldID)),
		chromedp.Click(chromedp.CSS(`#key-`+oldID+` button.danger`)),
		c.poll(fmt.Sprintf(`document.querySelector("#key-%s") === null`, oldID)),
		c.shot("key-2-revoked.png"),
	)
	if got := e.rest(old, "/v3/api_keys"); got != 401 {
		t.Errorf("the revoked key over REST: HTTP %d, want 401", got)
	}
	if got := e.rest(fresh, "/v3/api_keys"); got != 200 {
		t.Errorf("the new key over REST: HTTP %d", got)
	}

	// The exchange of that last call, by its RequestID.
	logs, err := e.fix.Store.RecentRequests(context.Background(), 10)
	if err != nil || len(logs) == 0 {
		t.Fatalf("request log: %v %d", err, len(logs))
	}
	rid := logs[0].RequestID
	if logs[0].AccountID != id {
		t.Fatalf("the newest exchange is not alice's: %+v", logs[0])
	}
	downloads, yes := t.TempDir(), true
	progress := chromedp.Events(c.ctx, cdpbrowser.DownloadProgress)
	c.do("open the exchange",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &yes})
			return err
		}),
		chromedp.Navigate(c.base+"/console/exchanges"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=id]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=id]`), rid),
		chromedp.Submit(chromedp.CSS(`input[name=id]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[download]`)),
		c.shot("exchange-1.png"),
		chromedp.Click(chromedp.CSS(`a[download]`)),
	)
	// The download lands in the folder, named by its GUID.
	var got []byte
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCompleted {
			if got, err = os.ReadFile(filepath.Join(downloads, ev.GUID)); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if !strings.Contains(string(got), "/v3/api_keys") || strings.Contains(string(got), fresh) {
		t.Errorf("the downloaded golden case (the call, its key masked):\n%s", got)
	}
}
