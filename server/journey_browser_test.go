package server_test

// The approval journey on /device, walked in headless Chromium at a phone
// and a desktop size: code entry, the sign-in hand-off and back, the
// chooser, authorize with the workspace picker or the single-workspace
// line, success, denied, invalid and expired codes, an already decided
// code, rate limiting, an expired sign-in, and /signin when already signed
// in. Each view gets a screenshot under testoutput/pages/ and the
// accessibility check from pagecheck_test.go. The SSO views are walked in
// journey_sso_browser_test.go.

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
		onFirstScreen(ctx, t, vp, "authorize", "#authorize-code", "#client-name", "#approve", "#deny")
		pageShot(ctx, t, vp, "authorize")
		checkAccessibility(ctx, t, vp, "authorize")
		wrapsOnlyAtBreaks(ctx, t, vp, "#authorize-code", "#account-email")
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
		noRepeatedHeading(ctx, t, vp, "#view-success")
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
		noRepeatedHeading(ctx, t, vp, "#view-denied")
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
		checkAccessibility(ctx, t, vp, "expired code")
		if said := visibleText(ctx, t, "#view-invalid"); !strings.Contains(said, "invalid or has expired") || !strings.Contains(said, "Start again in your terminal") {
			t.Errorf("%s: the view for an expired code reads:\n%s", vp, said)
		}
	}
}

func TestJourneyRateLimited(t *testing.T) {
	for _, vp := range viewports {
		ts := startServer(t, func(c *server.Config) {
			c.DeviceCodeTTL = 2 * time.Hour // the code outlives the wait
			c.Limits = server.DefaultLimits(c.DeviceCodeTTL, server.DefaultMaxPendingCodes)
			if err := c.Limits.Override("guess_ip=1/1h:1"); err != nil {
				t.Fatal(err)
			}
		})
		_, uc := ts.startFlow("laptop")
		ctx := newBrowserAt(t, vp)
		enterCode(ctx, t, ts, "BCDF-GHJK", "#view-invalid") // spends the one wrong guess
		enterCode(ctx, t, ts, uc, "#view-ratelimited")
		pageShot(ctx, t, vp, "ratelimited")
		checkAccessibility(ctx, t, vp, "rate limited")
		said := visibleText(ctx, t, "#view-ratelimited")
		for _, want := range []string{"Too many attempts, try again in 1 hour.", "may expire meanwhile", "start again in the terminal"} {
			if !strings.Contains(said, want) {
				t.Errorf("%s: the rate-limited view does not say %q:\n%s", vp, want, said)
			}
		}
		if strings.Contains(said, "60 minutes") {
			t.Errorf("%s: the rate-limited view says 60 minutes:\n%s", vp, said)
		}
		if disabled := run(ctx, t, "read the retry button", chromedp.JavascriptAttribute[bool](chromedp.CSS("#retry"), "disabled")); !disabled {
			t.Errorf("%s: Try again is enabled while the server says to wait", vp)
		}

		// An hour later Try again carries on with the same code: the chooser
		// names it, nobody retypes it.
		ts.clock.Advance(time.Hour)
		step(ctx, t, "wait out the hour, then try again",
			chromedp.Evaluate[chromedp.Void](`document.getElementById('retry').disabled = false`),
			chromedp.Click(chromedp.CSS("#retry")),
			chromedp.WaitVisible(chromedp.CSS("#view-signin")))
		if shown := visibleText(ctx, t, "#signin-code"); shown != uc {
			t.Errorf("%s: after Try again the sign-in view names %q, want %s", vp, shown, uc)
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
		step(ctx, t, "authorize with an expired session", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS("#view-session-expired")))
		pageShot(ctx, t, vp, "session-expired-local")
		checkAccessibility(ctx, t, vp, "local session expired")
		said := visibleText(ctx, t, "#view-session-expired")
		for _, want := range []string{"Your sign-in expired", "Your sign-in expired; nothing was approved.", uc} {
			if !strings.Contains(said, want) {
				t.Errorf("%s: the session-expired view does not say %q:\n%s", vp, want, said)
			}
		}
		if status := codeStatus(t, ts, uc); status != store.StatusPending {
			t.Errorf("%s: the code is %s after a refused approve", vp, status)
		}
		step(ctx, t, "sign in again", chromedp.Click(chromedp.CSS("#signin-again")), chromedp.WaitVisible(chromedp.CSS("#view-form")))
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
		// The title must not give the answer away before the pick.
		if title := run(ctx, t, "read the title", chromedp.Title()); strings.Contains(title, uc) {
			t.Errorf("%s: on the match view the tab title %q already names the code", vp, title)
		}
		pickCode(ctx, t, uc)
		if title := run(ctx, t, "read the title", chromedp.Title()); !strings.Contains(title, uc) {
			t.Errorf("%s: after the right pick the tab title %q does not name the code", vp, title)
		}
		step(ctx, t, "see the chooser", chromedp.WaitVisible(chromedp.CSS("#sso-link")))
		pageShot(ctx, t, vp, "chooser")
		checkAccessibility(ctx, t, vp, "chooser")
		if local := visibleText(ctx, t, "#signin-link"); local != "Sign in with a local account" {
			t.Errorf("%s: the local choice reads %q", vp, local)
		}

		// Back without a grant cookie, the tab still knows the code.
		step(ctx, t, "come back from SSO without a grant",
			chromedp.Navigate(ts.URL+"/device?sso_verified=1"),
			chromedp.WaitVisible(chromedp.CSS("#view-session-expired")))
		pageShot(ctx, t, vp, "session-expired-sso")
		checkAccessibility(ctx, t, vp, "SSO session expired")
		if said := visibleText(ctx, t, "#view-session-expired"); !strings.Contains(said, "nothing was approved") || !strings.Contains(said, uc) {
			t.Errorf("%s: the SSO session-expired view reads:\n%s", vp, said)
		}
		href := run(ctx, t, "read the SSO link", chromedp.JavascriptAttribute[string](chromedp.CSS("#sso-again"), "href"))
		if u, err := url.Parse(href); err != nil || u.Path != "/v1/oauth/device/sso-initiate" || normalized(t, u.Query().Get("user_code")) != normalized(t, uc) {
			t.Errorf("%s: Sign in with SSO again goes to %q, want sso-initiate for %s", vp, href, uc)
		}
	}
}

// A code that was decided elsewhere (another tab, another person) while
// this one showed the question gets its own view, not a generic error.
func TestJourneyAlreadyDecided(t *testing.T) {
	for _, vp := range viewports {
		ts := startServer(t)
		_, uc := ts.startFlow("laptop")
		ctx := newBrowserAt(t, vp)
		signInBrowser(ctx, ts)
		enterCode(ctx, t, ts, uc, "#view-authorize")
		ts.signIn(testEmail, testPassword).approve(uc) // the other tab
		step(ctx, t, "deny what was already approved", chromedp.Click(chromedp.CSS("#deny")), chromedp.WaitVisible(chromedp.CSS("#view-decided")))
		pageShot(ctx, t, vp, "already-decided")
		checkAccessibility(ctx, t, vp, "already decided")
		said := visibleText(ctx, t, "#view-decided")
		for _, want := range []string{"Already decided", uc, "already approved or denied", "start again there"} {
			if !strings.Contains(said, want) {
				t.Errorf("%s: the already-decided view does not say %q:\n%s", vp, want, said)
			}
		}
		if status := codeStatus(t, ts, uc); status != store.StatusApproved {
			t.Errorf("%s: the code is %s, want it still approved", vp, status)
		}
	}
}

// An account in one workspace sees which, as a line instead of a picker.
func TestJourneySingleWorkspace(t *testing.T) {
	const solo = "solo@example.com"
	for _, vp := range viewports {
		ts := startServer(t)
		if _, err := server.CreateAccount(ts.Store(), solo, "Solo", "member", testPassword, []string{"default"}, cheapArgon2, ts.clock.Now()); err != nil {
			t.Fatal(err)
		}
		_, uc := ts.startFlow("laptop")
		ctx := newBrowserAt(t, vp)
		step(ctx, t, "open the code's page signed out",
			chromedp.Navigate(ts.URL+"/device"), chromedp.WaitVisible(chromedp.CSS("#view-enter")),
			chromedp.SendKeys(chromedp.CSS("#user-code"), uc), chromedp.Click(chromedp.CSS("#continue")),
			chromedp.WaitVisible(chromedp.CSS("#view-signin")), chromedp.Click(chromedp.CSS("#signin-link")),
			chromedp.WaitVisible(chromedp.CSS("#view-form")),
			chromedp.SendKeys(chromedp.CSS("#email"), solo), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
			chromedp.Click(chromedp.CSS("#signin-submit")), chromedp.WaitVisible(chromedp.CSS("#view-authorize")))
		onFirstScreen(ctx, t, vp, "authorize, one workspace", "#authorize-code", "#client-name", "#approve", "#deny")
		pageShot(ctx, t, vp, "authorize-one-workspace")
		checkAccessibility(ctx, t, vp, "authorize, one workspace")
		if line := visibleText(ctx, t, "#workspace-single"); line != "Workspace: default" {
			t.Errorf("%s: the workspace line reads %q", vp, line)
		}
		if n := countNodes(ctx, t, "#workspace-choice:not([hidden])"); n != 0 {
			t.Errorf("%s: one workspace, yet the picker is shown", vp)
		}
	}
}

// /signin while signed in says so, with the way on and a way out.
func TestJourneySignInPageWhenSignedIn(t *testing.T) {
	for _, vp := range viewports {
		ts := startServer(t)
		ctx := newBrowserAt(t, vp)
		signInBrowser(ctx, ts)
		step(ctx, t, "open /signin again", chromedp.Navigate(ts.URL+"/signin"), chromedp.WaitVisible(chromedp.CSS("#view-signed-in")))
		pageShot(ctx, t, vp, "already-signed-in")
		checkAccessibility(ctx, t, vp, "already signed in")
		said := visibleText(ctx, t, "#view-signed-in")
		for _, want := range []string{"You are signed in", testEmail, "Continue", "Sign out"} {
			if !strings.Contains(said, want) {
				t.Errorf("%s: the signed-in view does not say %q:\n%s", vp, want, said)
			}
		}
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
