package console_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/partnerd/partnerd/store"
)

// TestBrowserKeyboard: on a 1366×768 laptop screen, with the keyboard
// only: the first Tab reaches the skip link, shown and outlined, and Enter
// moves to the content; a send is canceled from its red X with Enter (the
// dialog's Confirm has the focus), the change is announced in the live
// region and the focus stays in the row; a delete's confirmation page
// focuses its button; no page scrolls sideways.
func TestBrowserKeyboard(t *testing.T) {
	e := newEnv(t)
	e.apply("send alice id=100 senddate=+2h", "send alice id=101 senddate=+26h")
	aliceID := e.account("alice").ID
	ss := e.singleSend("alice")
	c := newChrome(t, e)
	c.do("a laptop screen", chromedp.EmulateViewport(1366, 768))
	c.signIn("alice", "alice-pw")
	is := func(what, expr string) {
		t.Helper()
		ok, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](expr))
		if err != nil || !ok {
			t.Errorf("%s: %s is not true (%v)", what, expr, err)
		}
	}

	// Skip link.
	c.do("Tab to the skip link",
		chromedp.Navigate(c.base+"/console/exchanges"),
		chromedp.WaitVisible(chromedp.CSS(`main table`)),
		chromedp.KeyEvent("\t"),
		c.poll(`document.activeElement.classList.contains("skip")`),
		c.shot("k1-skip.png"))
	is("the skip link shows", `document.activeElement.getBoundingClientRect().left >= 0`)
	is("the skip link is outlined", `getComputedStyle(document.activeElement).outlineStyle === "solid"`)
	c.do("follow it", chromedp.KeyEvent("\r"), c.poll(`document.activeElement.id === "main"`))

	// Cancel with the keyboard.
	c.do("open the cancel dialog with Enter",
		chromedp.Navigate(c.base+"/console/sends"),
		chromedp.WaitVisible(chromedp.CSS(`#send-100 a.x`)),
		chromedp.Focus(chromedp.CSS(`#send-100 a.x`)),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`dialog#confirm-cancel`)),
		c.shot("k2-dialog.png"))
	is("the dialog's Confirm has the focus", `document.activeElement.matches('dialog#confirm-cancel button[value="confirm"]')`)
	c.do("confirm with Enter", chromedp.KeyEvent("\r"),
		c.poll(`document.querySelector("#send-100 .status").textContent === "Canceled"`),
		c.poll(`document.getElementById("live").textContent === "Send 100 is now Canceled."`),
		c.shot("k3-canceled.png"))
	is("the focus stays in the row", `document.getElementById("send-100").contains(document.activeElement)`)
	if s := e.send(aliceID, 100); s.Status != store.StatusCanceled {
		t.Errorf("send 100 is %s", s.Status)
	}
	if s := e.send(aliceID, 101); s.Status != store.StatusScheduled {
		t.Errorf("send 101 is %s", s.Status)
	}

	// A confirmation page focuses its primary control.
	c.do("the Single Send's delete page",
		chromedp.Navigate(fmt.Sprintf("%s/console/singlesends/%d/%s/delete", c.base, aliceID, ss.ID)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-delete`)),
		c.shot("k4-delete.png"))
	is("the delete button has the focus", `document.activeElement.id === "confirm-delete"`)

	for _, p := range []string{"/console/sends", "/console/exchanges", "/console/exchanges/none", "/console/account",
		"/console/singlesends", "/console/campaigns", "/console/actions", "/console/chart"} {
		c.do("open "+p, chromedp.Navigate(c.base+p), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
		is(p+" fits 1366 pixels", `document.documentElement.scrollWidth <= window.innerWidth`)
	}
}
