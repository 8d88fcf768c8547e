package console_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/partnerd/partnerd/store"
)

// chromium is Debian's browser, which .ci/run installs; the browser test
// is skipped, saying so, where it is missing.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (apt-get install -y chromium; .ci/run installs it): the console's browser test is skipped")
	return ""
}

// TestBrowserCancel drives the real console in headless Chromium: sign in,
// click the red X of a scheduled send, confirm, and see Canceled without
// a reload; the store agrees, and the browser reported no CSP violation.
// Screenshots of each step are written to the folder the test logs.
func TestBrowserCancel(t *testing.T) {
	e := newEnv(t)
	e.apply("send alice id=100 senddate=+2h customerkey=spring-sale email=Spring", "send alice id=101 senddate=+26h",
		"send alice id=102 senddate=+1h status=Paused", "send bob id=200 senddate=+2h")
	c := newChrome(t, e)
	ctx, base, shot, poll := c.ctx, c.base, c.shot, c.poll
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	fail := func(step string, err error) {
		t.Helper()
		c.mu.Lock()
		defer c.mu.Unlock()
		t.Fatalf("%s: %v\nbrowser console: %q", step, err, c.console)
	}
	err := chromedp.Do(ctx,
		chromedp.WaitVisible(css(`#signin-account input[name=username]`)),
		shot("1-signin.png"),
		chromedp.SendKeys(css(`#signin-account input[name=username]`), "alice"),
		chromedp.SendKeys(css(`#signin-account input[name=password]`), "alice-pw"),
		chromedp.Click(css(`#signin-account button[type=submit]`)),
		chromedp.WaitVisible(css(`table.sends #send-100 a.x`)),
		shot("2-sends.png"),
		chromedp.Click(css(`#send-100 a.x`)),
		chromedp.WaitVisible(css(`dialog#confirm-cancel`)),
		shot("3-confirm.png"),
	)
	if err != nil {
		fail("sign in and open the confirmation", err)
	}
	dialogText, err := chromedp.Run(ctx, chromedp.Text(css(`dialog#confirm-cancel p`)))
	if err != nil {
		fail("read the confirmation", err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(css(`dialog#confirm-cancel button[value=confirm]`)),
		poll(`document.querySelector("#send-100 .status").textContent === "Canceled"`),
		shot("4-canceled.png"),
	)
	if err != nil {
		fail("confirm", err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(css(`#send-100 .status`)))
	if err != nil {
		fail("read the status", err)
	}
	if status != "Canceled" || !strings.Contains(dialogText, "Cancel send 100") {
		t.Errorf("status %q after confirming %q", status, dialogText)
	}
	if s := e.send(e.account("alice").ID, 100); s.Status != store.StatusCanceled {
		t.Errorf("stored status %s", s.Status)
	}
	if s := e.send(e.account("alice").ID, 101); s.Status != store.StatusScheduled {
		t.Errorf("the other send is %s", s.Status)
	}
	// The page was not reloaded: the X is gone from the row, the others
	// keep theirs.
	xs, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#send-100 a.x").length + 10*document.querySelectorAll("#send-101 a.x").length`))
	if err != nil {
		fail("count the X's", err)
	}
	if xs != 10 {
		t.Errorf("red X's: %d (want none on 100, one on 101)", xs)
	}
	// The actions and exchanges pages render too.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/console/actions"),
		chromedp.WaitVisible(css(`main table`)),
		shot("5-actions.png"),
		chromedp.Navigate(base+"/console/exchanges"),
		chromedp.WaitVisible(css(`main table`)),
		shot("6-exchanges.png"),
		chromedp.Navigate(base+"/console/chart"),
		chromedp.WaitVisible(css(`svg.chart`)),
		shot("7-chart.png"),
		chromedp.Navigate(base+"/console/account"),
		chromedp.WaitVisible(css(`table.keys`)),
		shot("8-account.png"),
	)
	if err != nil {
		fail("the other pages", err)
	}
}
