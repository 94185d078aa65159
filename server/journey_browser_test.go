package server_test

// The approval journey on /device, walked in headless Chromium at a phone
// and a desktop size: code entry, the sign-in hand-off and back, the
// chooser, authorize with the workspace picker, success, denied, invalid
// and expired codes, rate limiting and an expired sign-in. Each view gets a
// screenshot under testoutput/pages/ and the accessibility check from
// pages_test.go. These tests only read device.html and device.js.

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/server"
	"gatehouse/store"
)

func TestJourneyHandOffAuthorizeWithWorkspaceAndSuccess(t *testing.T) {
	for _, vp := range viewports {
		ts := startServer(t) // the fake clock: the CLI's poll is one call after the decision
		research := workspaceID(t, ts, "research")
		dc, uc := ts.startFlow("laptop")
		ctx := newBrowserAt(t, vp)
		console := watchConsole(ctx, t)
		watchLayoutShifts(ctx, t)

		step(ctx, t, "open /device", chromedp.Navigate(ts.URL+"/device"), chromedp.WaitVisible(chromedp.CSS("#view-enter")))
		checkAccessibility(ctx, t, vp, "code entry")
		typed := strings.ToLower(uc[:2] + " " + uc[2:4] + " - " + uc[5:]) // pasted sloppily: case, spaces, dashes
		step(ctx, t, "type the code", chromedp.SendKeys(chromedp.CSS("#user-code"), typed))
		pageShot(ctx, t, vp, "enter")
		step(ctx, t, "continue signed out", chromedp.Click(chromedp.CSS("#continue")), chromedp.WaitVisible(chromedp.CSS("#view-signin")))
		pageShot(ctx, t, vp, "signin-handoff")
		checkAccessibility(ctx, t, vp, "sign-in hand-off")
		if shown := visibleText(ctx, t, "#view-signin"); !strings.Contains(shown, uc) {
			t.Errorf("%s: the hand-off does not name the code %s:\n%s", vp, uc, shown)
		}
		if title := run(ctx, t, "read the title", chromedp.Title()); !strings.Contains(title, uc) {
			t.Errorf("%s: tab title %q does not name the code %s", vp, title, uc)
		}

		step(ctx, t, "follow the sign-in link", chromedp.Click(chromedp.CSS("#signin-link")), chromedp.WaitVisible(chromedp.CSS("#view-form")))
		pageShot(ctx, t, vp, "signin-form")
		checkAccessibility(ctx, t, vp, "sign-in form")
		step(ctx, t, "sign in",
			chromedp.SendKeys(chromedp.CSS("#email"), testEmail),
			chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
			chromedp.Click(chromedp.CSS("#signin-submit")),
			chromedp.WaitVisible(chromedp.CSS("#view-authorize")))
		if loc := location(ctx, t); loc.Path != "/device" || normalized(t, loc.Query().Get("user_code")) != normalized(t, uc) {
			t.Errorf("%s: back from signing in at %s, want /device?user_code=%s", vp, loc, normalized(t, uc))
		}
		noLayoutShift(ctx, t, vp)
		pageShot(ctx, t, vp, "authorize")
		checkAccessibility(ctx, t, vp, "authorize")
		shown := visibleText(ctx, t, "#view-authorize")
		for _, want := range []string{"Gatehouse CLI", "laptop", "127.0.0.1", "just now", testEmail, uc, "Workspace"} {
			if !strings.Contains(shown, want) {
				t.Errorf("%s: the authorize view does not show %q:\n%s", vp, want, shown)
			}
		}
		options := run(ctx, t, "read the workspaces", chromedp.Evaluate[[]string](
			`Array.prototype.map.call(document.querySelectorAll('#workspace option'), function (o) { return o.textContent; })`))
		// The order is not checked: memberships come back in workspace-id
		// order, and those ids are random.
		if !sameStrings(options, []string{"default", "research"}) {
			t.Errorf("%s: the workspace picker offers %v, want default and research", vp, options)
		}
		step(ctx, t, "pick research", chromedp.SetValue(chromedp.CSS("#workspace"), research))

		step(ctx, t, "authorize", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS("#view-success")))
		pageShot(ctx, t, vp, "success")
		checkAccessibility(ctx, t, vp, "success")
		if said := visibleText(ctx, t, "#view-success"); !strings.Contains(said, "Device approved") || !strings.Contains(said, "terminal") {
			t.Errorf("%s: the success view does not say what the terminal does next:\n%s", vp, said)
		}
		ts.clock.Advance(6 * time.Second)
		st, body := ts.poll(dc)
		if st != 200 || body["default_workspace_id"] != research {
			t.Fatalf("%s: the CLI got %d %v, want a token for workspace research (%s)", vp, st, body, research)
		}
		noConsoleTrouble(ctx, t, vp, console)
	}
}

func TestJourneyDeny(t *testing.T) {
	for _, vp := range viewports {
		ts := startServer(t)
		dc, uc := ts.startFlow("build-box")
		ctx := newBrowserAt(t, vp)
		signInBrowser(ctx, ts)
		darkMode(ctx, t)
		enterCode(ctx, t, ts, uc, "#view-authorize")
		pageShot(ctx, t, vp, "authorize-dark")
		checkAccessibility(ctx, t, vp, "authorize, dark")
		step(ctx, t, "deny", chromedp.Click(chromedp.CSS("#deny")), chromedp.WaitVisible(chromedp.CSS("#view-denied")))
		pageShot(ctx, t, vp, "denied")
		checkAccessibility(ctx, t, vp, "denied")
		if said := visibleText(ctx, t, "#view-denied"); !strings.Contains(said, "denied") || !strings.Contains(said, "terminal") {
			t.Errorf("%s: the denied view does not say what the terminal does next:\n%s", vp, said)
		}
		ts.clock.Advance(6 * time.Second)
		if st, body := ts.poll(dc); st != 400 || body["error"] != "access_denied" {
			t.Fatalf("%s: the CLI got %d %v, want access_denied", vp, st, body)
		}
	}
}

func TestJourneyMalformedInvalidAndExpiredCodes(t *testing.T) {
	for _, vp := range viewports {
		ts := startServer(t)
		ctx := newBrowserAt(t, vp)

		step(ctx, t, "type something that is no code",
			chromedp.Navigate(ts.URL+"/device"),
			chromedp.WaitVisible(chromedp.CSS("#view-enter")),
			chromedp.SendKeys(chromedp.CSS("#user-code"), "hello"),
			chromedp.Click(chromedp.CSS("#continue")),
			chromedp.WaitVisible(chromedp.CSS("#user-code-error")))
		pageShot(ctx, t, vp, "malformed")
		checkAccessibility(ctx, t, vp, "malformed code")
		if msg := visibleText(ctx, t, "#user-code-error"); !strings.Contains(msg, "8 letters") {
			t.Errorf("%s: the field error reads %q", vp, msg)
		}
		if inv := run(ctx, t, "read aria-invalid", chromedp.JavascriptAttribute[string](chromedp.CSS("#user-code"), "ariaInvalid")); inv != "true" {
			t.Errorf("%s: the code field is not marked aria-invalid (%q)", vp, inv)
		}

		enterCode(ctx, t, ts, "BCDF-GHJK", "#view-invalid") // well-formed, never issued
		pageShot(ctx, t, vp, "invalid")
		checkAccessibility(ctx, t, vp, "invalid code")
		if said := visibleText(ctx, t, "#view-invalid"); !strings.Contains(said, "invalid or has expired") {
			t.Errorf("%s: the invalid view reads:\n%s", vp, said)
		}
		step(ctx, t, "enter a different code", chromedp.Click(chromedp.CSS("#restart-invalid")), chromedp.WaitVisible(chromedp.CSS("#view-enter")))

		_, uc := ts.startFlow("laptop")
		ts.clock.Advance(16 * time.Minute) // past the 15-minute code lifetime
		enterCode(ctx, t, ts, uc, "#view-invalid")
		pageShot(ctx, t, vp, "expired")
	}
}

func TestJourneyRateLimited(t *testing.T) {
	for _, vp := range viewports {
		ts := startServer(t, func(c *server.Config) {
			c.Limits = server.DefaultLimits(c.DeviceCodeTTL, server.DefaultMaxPendingCodes)
			if err := c.Limits.Override("guess_ip=1/1h:1"); err != nil {
				t.Fatal(err)
			}
		})
		ctx := newBrowserAt(t, vp)
		enterCode(ctx, t, ts, "BCDF-GHJK", "#view-invalid") // spends the one wrong guess
		enterCode(ctx, t, ts, "BCDF-GHJL", "#view-ratelimited")
		pageShot(ctx, t, vp, "ratelimited")
		checkAccessibility(ctx, t, vp, "rate limited")
		if said := visibleText(ctx, t, "#view-ratelimited"); !strings.Contains(said, "Too many attempts, try again in") {
			t.Errorf("%s: the rate-limited view reads:\n%s", vp, said)
		}
		if disabled := run(ctx, t, "read the retry button", chromedp.JavascriptAttribute[bool](chromedp.CSS("#retry"), "disabled")); !disabled {
			t.Errorf("%s: Try again is enabled while the server says to wait", vp)
		}
	}
}

// A local sign-in that expires on the authorize view sends the person back
// through sign-in to the same request, which still needs their click.
func TestJourneySignInExpiresBeforeTheDecision(t *testing.T) {
	for _, vp := range viewports {
		ts := startServer(t, func(c *server.Config) { c.DeviceCodeTTL = 24 * time.Hour })
		dc, uc := ts.startFlow("laptop")
		ctx := newBrowserAt(t, vp)
		signInBrowser(ctx, ts)
		enterCode(ctx, t, ts, uc, "#view-authorize")
		ts.clock.Advance(13 * time.Hour) // sessions last 12 hours, this code 24
		step(ctx, t, "authorize with an expired session", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS("#view-signin")))
		pageShot(ctx, t, vp, "session-expired-local")
		checkAccessibility(ctx, t, vp, "local session expired")
		if status := codeStatus(t, ts, uc); status != store.StatusPending {
			t.Errorf("%s: the code is %s after a refused approve", vp, status)
		}
		step(ctx, t, "sign in again", chromedp.Click(chromedp.CSS("#signin-link")), chromedp.WaitVisible(chromedp.CSS("#view-form")))
		submitSignIn(ctx, ts)
		step(ctx, t, "back on the same request", chromedp.WaitVisible(chromedp.CSS("#view-authorize")))
		if shown := visibleText(ctx, t, "#authorize-code"); shown != uc {
			t.Errorf("%s: back from signing in again, the authorize view shows %q, want %s", vp, shown, uc)
		}
		step(ctx, t, "authorize", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS("#view-success")))
		ts.clock.Advance(6 * time.Second)
		if st, body := ts.poll(dc); st != 200 {
			t.Fatalf("%s: the CLI got %d %v after the second sign-in", vp, st, body)
		}
	}
}

func TestJourneySSOChooserAndExpiredGrant(t *testing.T) {
	for _, vp := range viewports {
		ts, _, _ := startSSO(t)
		_, uc := ts.startFlow("laptop")
		ctx := newBrowserAt(t, vp)
		step(ctx, t, "open the link signed out",
			chromedp.Navigate(ts.URL+"/device?user_code="+url.QueryEscape(uc)),
			chromedp.WaitVisible(chromedp.CSS("#view-match")))
		pageShot(ctx, t, vp, "match")
		checkAccessibility(ctx, t, vp, "number matching")
		pickCode(ctx, t, uc)
		step(ctx, t, "see the chooser", chromedp.WaitVisible(chromedp.CSS("#sso-link")))
		pageShot(ctx, t, vp, "chooser")
		checkAccessibility(ctx, t, vp, "chooser")
		if local := visibleText(ctx, t, "#signin-link"); local != "Sign in with a local account" {
			t.Errorf("%s: the local choice reads %q", vp, local)
		}

		step(ctx, t, "come back from SSO without a grant",
			chromedp.Navigate(ts.URL+"/device?sso_verified=1"),
			chromedp.WaitVisible(chromedp.CSS("#view-session-expired")))
		pageShot(ctx, t, vp, "session-expired-sso")
		checkAccessibility(ctx, t, vp, "SSO session expired")
	}
}

// enterCode opens /device, types code and continues to view.
func enterCode(ctx context.Context, t *testing.T, ts *testServer, code, view string) {
	t.Helper()
	step(ctx, t, "enter code "+code,
		chromedp.Navigate(ts.URL+"/device"),
		chromedp.WaitVisible(chromedp.CSS("#view-enter")),
		chromedp.SendKeys(chromedp.CSS("#user-code"), code),
		chromedp.Click(chromedp.CSS("#continue")),
		chromedp.WaitVisible(chromedp.CSS(view)))
}

// workspaceID is the id of the test account's workspace named name.
func workspaceID(t *testing.T, ts *testServer, name string) string {
	t.Helper()
	a, err := ts.Store().AccountByEmail(testEmail)
	if err != nil {
		t.Fatal(err)
	}
	_, ms, err := ts.Store().AccountByID(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Workspace.Name == name {
			return m.Workspace.ID
		}
	}
	t.Fatalf("%s has no workspace %q", testEmail, name)
	return ""
}
