package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"gatehouse/store"
)

// The console pages are served like /device and /signin: HTML under the
// strict page CSP, never framed, and only with their own assets.
func TestConsolePagesAreServedUnderThePageCSP(t *testing.T) {
	ts := startServer(t)
	for path, wants := range map[string][]string{
		"/account/devices": {"<title>My devices", "/assets/devices.js", "/assets/console.css", `id="view-loading"`},
		"/admin":           {"<title>Admin", "/assets/admin.js", "/assets/console.css", `id="chart-svg"`},
	} {
		resp, body := fetch(t, ts.URL+path)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("GET %s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, d := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: CSP %q allows inline code", path, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: anti-framing headers missing: %v", path, resp.Header)
		}
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: page lacks %q", path, w)
			}
		}
	}
}

func TestConsoleAssetsAreServed(t *testing.T) {
	ts := startServer(t)
	for asset, ctype := range map[string]string{
		"console.css": "text/css", "console.js": "text/javascript", "devices.js": "text/javascript", "admin.js": "text/javascript",
	} {
		resp, body := fetch(t, ts.URL+"/assets/"+asset)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || len(body) == 0 {
			t.Errorf("GET /assets/%s: %d %q, %d bytes", asset, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
}

// The pages themselves are public (they hold no data); what they show is
// decided by the API, which is tested in console_*_test.go.
func TestConsolePagesOnlyAnswerGET(t *testing.T) {
	ts := startServer(t)
	for _, path := range []string{"/account/devices", "/admin"} {
		if st, _, _ := ts.do("POST", path, form, "", nil); st != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d, want 405", path, st)
		}
	}
}

func fetch(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// ---- Browser walks of the console pages ----
//
// A real headless Chromium walks My devices and the admin view at a phone
// and a desktop size (reusing browser_test.go's harness), asserts what is
// shown and what the server did, checks accessibility and layout shift,
// and saves a full-page screenshot per view under testoutput/pages/.

func TestBrowserMyDevices(t *testing.T) {
	for _, vp := range viewports {
		ts := startBrowserServer(t)
		ada := ts.signIn(testEmail, testPassword)
		laptop := ts.approvedToken(ada, "laptop")
		build := ts.approvedToken(ada, "build-server")
		grace := otherMembersToken(t, ts)

		ctx := newBrowserAt(t, vp)
		console := watchConsole(ctx, t)
		watchLayoutShifts(ctx, t)
		signInThrough(ctx, t, ts, "/account/devices", testEmail, "#view-list")
		pageShot(ctx, t, vp, "list")
		noLayoutShift(ctx, t, vp)
		checkAccessibility(ctx, t, vp, "My devices")
		shown := visibleText(ctx, t, "#view-list")
		for _, want := range []string{testEmail, "2 devices signed in as you", "laptop", "build-server", "Gatehouse CLI", "never"} {
			if !strings.Contains(shown, want) {
				t.Errorf("%s: My devices does not show %q; it shows:\n%s", vp, want, shown)
			}
		}
		if strings.Contains(shown, "grace-laptop") {
			t.Errorf("%s: My devices shows another account's device", vp)
		}
		if n := count(ctx, t, "#device-list > li"); n != 2 {
			t.Fatalf("%s: %d devices listed, want 2", vp, n)
		}
		if admin := run(ctx, t, "is the admin link shown", chromedp.Evaluate[bool](`getComputedStyle(document.getElementById('nav-admin')).visibility !== 'hidden'`)); admin {
			t.Errorf("%s: a member sees the Admin link", vp)
		}

		step(ctx, t, "revoke the laptop",
			chromedp.Click(chromedp.CSS(`#device-list > li[data-token-id="`+tokenID(laptop)+`"] .revoke`)),
			chromedp.WaitNotPresent(chromedp.CSS(`#device-list > li[data-token-id="`+tokenID(laptop)+`"]`)))
		pageShot(ctx, t, vp, "revoked-one")
		if status := visibleText(ctx, t, "#list-status"); !strings.Contains(status, "Revoked laptop") {
			t.Errorf("%s: status after revoking reads %q", vp, status)
		}
		if st, _, _ := ts.me(laptop["access_token"].(string)); st != http.StatusUnauthorized {
			t.Errorf("%s: the revoked laptop token still works: /v1/me %d", vp, st)
		}
		if focused := activeElement(ctx, t); !strings.Contains(focused, "Revoke build-server") {
			t.Errorf("%s: focus after revoking is on %s, want the next Revoke button", vp, focused)
		}

		step(ctx, t, "ask to revoke all",
			chromedp.Click(chromedp.CSS("#revoke-all")),
			chromedp.WaitVisible(chromedp.CSS("#confirm-all")))
		pageShot(ctx, t, vp, "confirm-revoke-all")
		if confirm := visibleText(ctx, t, "#confirm-all"); !strings.Contains(confirm, "Revoke the only device?") {
			t.Errorf("%s: the confirm step reads %q", vp, confirm)
		}
		if st, _, _ := ts.me(build["access_token"].(string)); st != 200 {
			t.Fatalf("%s: asking to revoke all revoked already: /v1/me %d", vp, st)
		}
		checkAccessibility(ctx, t, vp, "My devices, confirming")
		step(ctx, t, "confirm revoke all",
			chromedp.Click(chromedp.CSS("#confirm-all-yes")),
			chromedp.WaitVisible(chromedp.CSS("#empty")))
		pageShot(ctx, t, vp, "empty")
		if status := visibleText(ctx, t, "#list-status"); !strings.Contains(status, "Revoked 1 device") {
			t.Errorf("%s: status after revoking all reads %q", vp, status)
		}
		if n := count(ctx, t, "#device-list > li"); n != 0 {
			t.Errorf("%s: %d devices listed after revoking all", vp, n)
		}
		if st, _, _ := ts.me(build["access_token"].(string)); st != http.StatusUnauthorized {
			t.Errorf("%s: revoke all left build-server working: /v1/me %d", vp, st)
		}
		if row, _ := ts.Store().TokenByID(grace); !row.Live(time.Now()) {
			t.Errorf("%s: revoke all reached another account's token", vp)
		}
		noConsoleTrouble(ctx, t, vp, console)
	}
}

func TestBrowserMyDevicesSignedOutAndDark(t *testing.T) {
	for _, vp := range viewports {
		ts := startBrowserServer(t)
		ada := ts.signIn(testEmail, testPassword)
		ts.approvedToken(ada, "laptop")
		ctx := newBrowserAt(t, vp)
		step(ctx, t, "open My devices signed out",
			chromedp.Navigate(ts.URL+"/account/devices"),
			chromedp.WaitVisible(chromedp.CSS("#view-signin")))
		pageShot(ctx, t, vp, "signed-out")
		checkAccessibility(ctx, t, vp, "My devices, signed out")
		href := run(ctx, t, "read the sign-in link", chromedp.JavascriptAttribute[string](chromedp.CSS("#signin-link"), "href"))
		if next := signinNext(t, ts, href); next != "/account/devices" {
			t.Errorf("%s: sign-in link comes back to %q", vp, next)
		}
		darkMode(ctx, t)
		signInThrough(ctx, t, ts, "/account/devices", testEmail, "#view-list")
		pageShot(ctx, t, vp, "dark")
		checkAccessibility(ctx, t, vp, "My devices, dark")
	}
}

func TestBrowserAdmin(t *testing.T) {
	for _, vp := range viewports {
		ts := startBrowserServer(t)
		ts.signInAdmin() // creates the admin account
		ada := ts.signIn(testEmail, testPassword)
		ts.approvedToken(ada, "laptop")
		bot := ts.approvedTokenFor(ada, deployClient, "ci-runner")
		otherMembersToken(t, ts)
		busy := seedChartDays(t, ts)

		ctx := newBrowserAt(t, vp)
		console := watchConsole(ctx, t)
		watchLayoutShifts(ctx, t)
		signInThrough(ctx, t, ts, "/admin", adminEmail, "#view-admin")
		step(ctx, t, "wait for the chart", chromedp.WaitVisible(chromedp.CSS("#chart-svg g.day")))
		pageShot(ctx, t, vp, "overview")
		noLayoutShift(ctx, t, vp)
		checkAccessibility(ctx, t, vp, "Admin")

		if admin := run(ctx, t, "is the admin link shown", chromedp.Evaluate[bool](`getComputedStyle(document.getElementById('nav-admin')).visibility !== 'hidden'`)); !admin {
			t.Errorf("%s: an admin does not see the Admin link", vp)
		}
		if n := count(ctx, t, "#tokens-body tr"); n != 3 {
			t.Errorf("%s: %d live tokens listed, want 3", vp, n)
		}
		if s := visibleText(ctx, t, "#stat-accounts"); s != "3" {
			t.Errorf("%s: accounts stat reads %q, want 3", vp, s)
		}
		if s := visibleText(ctx, t, "#stat-file-bytes"); !strings.Contains(s, "KiB") && !strings.Contains(s, "MiB") {
			t.Errorf("%s: file size reads %q", vp, s)
		}
		audit := visibleText(ctx, t, "#audit-body")
		for _, want := range []string{"device.approved", "token.minted", testEmail, deployClient} {
			if !strings.Contains(audit, want) {
				t.Errorf("%s: the audit list lacks %q:\n%s", vp, want, audit)
			}
		}
		checkChart(ctx, t, vp, busy)

		step(ctx, t, "filter by email",
			chromedp.SendKeys(chromedp.CSS("#filter-email"), otherEmail),
			chromedp.Click(chromedp.CSS("#filter-apply")),
			chromedp.Poll[chromedp.Void](`document.querySelectorAll('#tokens-body tr').length === 1`))
		pageShot(ctx, t, vp, "filtered-by-email")
		if rows := visibleText(ctx, t, "#tokens-body"); !strings.Contains(rows, otherEmail) || strings.Contains(rows, testEmail) {
			t.Errorf("%s: filtered by %s, the table shows:\n%s", vp, otherEmail, rows)
		}

		step(ctx, t, "filter by client instead",
			chromedp.Clear(chromedp.CSS("#filter-email")),
			chromedp.SetValue(chromedp.CSS("#filter-client"), deployClient),
			chromedp.Click(chromedp.CSS("#filter-apply")),
			chromedp.WaitVisible(chromedp.CSS(`#tokens-body tr[data-token-id="`+bot+`"]`)))
		if n := count(ctx, t, "#tokens-body tr"); n != 1 {
			t.Errorf("%s: %d rows for client %s, want 1", vp, n, deployClient)
		}
		pageShot(ctx, t, vp, "filtered-by-client")

		step(ctx, t, "revoke the bot's token",
			chromedp.Click(chromedp.CSS(`#tokens-body tr[data-token-id="`+bot+`"] .revoke`)),
			chromedp.WaitVisible(chromedp.CSS("#tokens-empty")),
			chromedp.Poll[chromedp.Void](`document.querySelector('#audit-body tr .type').textContent === 'token.revoked'`))
		pageShot(ctx, t, vp, "revoked")
		if status := visibleText(ctx, t, "#admin-status"); !strings.Contains(status, "Revoked the token of "+testEmail+" on ci-runner") {
			t.Errorf("%s: status after revoking reads %q", vp, status)
		}
		if row, _ := ts.Store().TokenByID(bot); row.Live(time.Now()) || row.RevokedReason != "admin" {
			t.Errorf("%s: the bot's token after an admin revoke: %+v", vp, row)
		}
		if first := visibleText(ctx, t, "#audit-body tr:first-child"); !strings.Contains(first, adminEmail) {
			t.Errorf("%s: newest audit event does not name the admin: %q", vp, first)
		}
		noConsoleTrouble(ctx, t, vp, console)
	}
}

func TestBrowserAdminRefusesMembers(t *testing.T) {
	for _, vp := range viewports {
		ts := startBrowserServer(t)
		ctx := newBrowserAt(t, vp)
		signInThrough(ctx, t, ts, "/admin", testEmail, "#view-forbidden")
		pageShot(ctx, t, vp, "not-allowed")
		checkAccessibility(ctx, t, vp, "Admin, not allowed")
		if shown := visibleText(ctx, t, "#view-forbidden"); !strings.Contains(shown, "Not allowed") || !strings.Contains(shown, testEmail) {
			t.Errorf("%s: the not-allowed view reads:\n%s", vp, shown)
		}
		if n := count(ctx, t, "#tokens-body tr"); n != 0 {
			t.Errorf("%s: a member's page holds %d token rows", vp, n)
		}
	}
}

// seedChartDays records approvals, denials and mints on a few past days
// and returns the number of days (of 30) that have any.
func seedChartDays(t *testing.T, ts *testServer) int {
	t.Helper()
	now := time.Now()
	for _, s := range []struct {
		daysAgo int
		typ     string
		n       int
	}{{2, "device.approved", 3}, {2, "token.minted", 3}, {2, "device.denied", 1}, {9, "device.denied", 2}, {20, "token.rotated", 1}} {
		for range s.n {
			if err := ts.Store().RecordEvent(store.Event{At: now.AddDate(0, 0, -s.daysAgo), Type: s.typ}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return 4 // today (the flows above), 2, 9 and 20 days ago
}

// checkChart asserts one bar group per day, bars with height on the days
// with data, and the counts the page drew.
func checkChart(ctx context.Context, t *testing.T, vp viewport, busy int) {
	t.Helper()
	var chart struct {
		Days, WithData, TallBars int
		Counts                   map[string][3]int
		Width                    float64
	}
	raw := run(ctx, t, "read the chart", chromedp.Evaluate[string](`JSON.stringify((function () {
  var svg = document.getElementById('chart-svg');
  var days = svg.querySelectorAll('g.day');
  var counts = {};
  var tall = 0;
  days.forEach(function (g) {
    var n = function (sel) { var e = g.querySelector(sel); return e ? Number(e.getAttribute('data-count')) : 0; };
    counts[g.getAttribute('data-day')] = [n('rect.approved'), n('rect.denied'), n('circle.minted-dot')];
    g.querySelectorAll('rect.bar').forEach(function (r) { if (Number(r.getAttribute('height')) > 0) { tall++; } });
  });
  return { Days: days.length, WithData: svg.querySelectorAll('g.day.has-data').length, TallBars: tall,
    Counts: counts, Width: svg.getBoundingClientRect().width };
})())`))
	if err := json.Unmarshal([]byte(raw), &chart); err != nil {
		t.Fatalf("chart: %v", err)
	}
	if chart.Days != 30 || chart.WithData != busy {
		t.Errorf("%s: chart has %d day groups (%d with data), want 30 (%d with data)", vp, chart.Days, chart.WithData, busy)
	}
	if chart.TallBars < 3 {
		t.Errorf("%s: only %d bars have any height", vp, chart.TallBars)
	}
	day := func(ago int) string { return time.Now().UTC().AddDate(0, 0, -ago).Format(store.DayKeyLayout) }
	for ago, want := range map[int][3]int{2: {3, 1, 3}, 9: {0, 2, 0}, 20: {0, 0, 1}} {
		if got := chart.Counts[day(ago)]; got != want {
			t.Errorf("%s: chart for %s draws approved, denied, minted = %v, want %v", vp, day(ago), got, want)
		}
	}
	if chart.Width < float64(vp.width)/2 || chart.Width > float64(vp.width) {
		t.Errorf("%s: chart is %.0f px wide", vp, chart.Width)
	}
}

// ---- Page checks shared with journey_browser_test.go ----

// viewport is one screen size every page is walked at.
type viewport struct {
	name          string
	width, height int64
}

func (v viewport) String() string { return v.name }

var viewports = []viewport{{"phone-360x740", 360, 740}, {"desktop-1280x800", 1280, 800}}

const pageShotDir = "testoutput/pages"

// newBrowserAt is newBrowser with the tab resized to vp.
func newBrowserAt(t *testing.T, vp viewport) context.Context {
	t.Helper()
	ctx := newBrowser(t)
	step(ctx, t, "resize to "+vp.name, chromedp.EmulateViewport(vp.width, vp.height))
	return ctx
}

// pageShot saves a full-page screenshot as testoutput/pages/<test>-<size>-<view>.png.
func pageShot(ctx context.Context, t *testing.T, vp viewport, view string) {
	t.Helper()
	png := run(ctx, t, "screenshot "+view, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(pageShotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name() + "-" + vp.name + "-" + view)
	if err := os.WriteFile(filepath.Join(pageShotDir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// signInThrough opens path signed out, follows its sign-in link, signs in
// as email and waits to be back on path showing view.
func signInThrough(ctx context.Context, t *testing.T, ts *testServer, path, email, view string) {
	t.Helper()
	step(ctx, t, "open "+path+" signed out",
		chromedp.Navigate(ts.URL+path),
		chromedp.WaitVisible(chromedp.CSS("#view-signin")),
		chromedp.Click(chromedp.CSS("#signin-link")),
		chromedp.WaitVisible(chromedp.CSS("#view-form")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS(view)))
	if loc := location(ctx, t); loc.Path != path {
		t.Fatalf("signed in and landed on %s, want %s", loc, path)
	}
}

func count(ctx context.Context, t *testing.T, sel string) int {
	t.Helper()
	return run(ctx, t, "count "+sel, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
}

// activeElement describes the focused element: tag, id and accessible text.
func activeElement(ctx context.Context, t *testing.T) string {
	t.Helper()
	return run(ctx, t, "read the focus", chromedp.Evaluate[string](`(function (e) {
  return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' "' + (e.getAttribute('aria-label') || e.textContent || '').trim().slice(0, 60) + '"';
})(document.activeElement)`))
}

// darkMode makes the tab prefer a dark colour scheme from now on.
func darkMode(ctx context.Context, t *testing.T) {
	t.Helper()
	step(ctx, t, "prefer dark", chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}))
}

// noConsoleTrouble fails on CSP violations and script errors. Refused API
// calls (401 signed out, 403 not an admin) are expected network log lines.
func noConsoleTrouble(ctx context.Context, t *testing.T, vp viewport, w *consoleWatch) {
	t.Helper()
	for _, e := range w.all(ctx, t) {
		if e.kind == "exception" || strings.Contains(e.text, "Content Security Policy") || strings.Contains(e.text, "CSP violation") ||
			(e.kind == "console" && e.level == "error") {
			t.Errorf("%s: %s", vp, e)
		}
	}
}

// watchLayoutShifts records layout shifts not caused by input, on every
// page the tab opens from now on.
func watchLayoutShifts(ctx context.Context, t *testing.T) {
	t.Helper()
	step(ctx, t, "watch layout shifts", chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
window.__layoutShift = 0;
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { if (!e.hadRecentInput) { window.__layoutShift += e.value; } });
}).observe({ type: 'layout-shift', buffered: true });`})
		return err
	}))
}

// noLayoutShift asserts the page settled without moving anything: the
// cumulative layout shift since it loaded is (near) zero.
func noLayoutShift(ctx context.Context, t *testing.T, vp viewport) {
	t.Helper()
	step(ctx, t, "let the page settle", chromedp.Sleep(300*time.Millisecond))
	if cls := run(ctx, t, "read the layout shift", chromedp.Evaluate[float64](`window.__layoutShift || 0`)); cls > 0.01 {
		t.Errorf("%s: the page moved while loading: cumulative layout shift %.3f", vp, cls)
	}
}

// checkAccessibility checks the page as it is now: every visible input and
// select is labelled and every control has a name; Tab reaches every
// focusable control in document order with a visible focus ring; and text
// contrast meets WCAG AA (4.5:1, 3:1 for large text), body text included.
func checkAccessibility(ctx context.Context, t *testing.T, vp viewport, what string) {
	t.Helper()
	var res struct {
		Unlabelled []string
		Contrast   []string
		BodyRatio  float64
		Focusables []string
	}
	raw := run(ctx, t, "inspect "+what, chromedp.Evaluate[string](a11yScript))
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatalf("%s: %s: %v", vp, what, err)
	}
	for _, u := range res.Unlabelled {
		t.Errorf("%s: %s: %s", vp, what, u)
	}
	for _, c := range res.Contrast {
		t.Errorf("%s: %s: low contrast: %s", vp, what, c)
	}
	if res.BodyRatio < 4.5 {
		t.Errorf("%s: %s: body text contrast %.2f:1, want at least 4.5:1", vp, what, res.BodyRatio)
	}
	checkTabOrder(ctx, t, vp, what, res.Focusables)
}

// checkTabOrder presses Tab from the top of the page once per focusable
// control (plus one) and checks each got focus, in document order, visibly.
func checkTabOrder(ctx context.Context, t *testing.T, vp viewport, what string, focusables []string) {
	t.Helper()
	if len(focusables) == 0 {
		t.Errorf("%s: %s: nothing on the page can take focus", vp, what)
		return
	}
	step(ctx, t, "focus the top of the page", chromedp.Evaluate[chromedp.Void](`(function () {
  if (document.activeElement) { document.activeElement.blur(); }
  document.body.setAttribute('tabindex', '-1');
  document.body.focus();
  document.body.removeAttribute('tabindex');
})()`))
	var got []int
	for range len(focusables) {
		step(ctx, t, "press Tab", chromedp.KeyEvent(kb.Tab))
		var at struct {
			Index   int
			Desc    string
			Visible bool
		}
		raw := run(ctx, t, "read the focus", chromedp.Evaluate[string](`JSON.stringify((function (e) {
  var cs = getComputedStyle(e);
  var ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== 'none';
  return { Index: window.__focusables.indexOf(e), Desc: window.__describe(e), Visible: ring };
})(document.activeElement))`))
		if err := json.Unmarshal([]byte(raw), &at); err != nil {
			t.Fatal(err)
		}
		if !at.Visible {
			t.Errorf("%s: %s: focus on %s shows no focus ring", vp, what, at.Desc)
		}
		got = append(got, at.Index)
		if at.Index < 0 {
			t.Errorf("%s: %s: Tab %d landed on %s, which is not a visible control", vp, what, len(got), at.Desc)
		}
	}
	for i, idx := range got {
		if idx != i {
			t.Errorf("%s: %s: Tab order %v, want each control in document order:\n  %s", vp, what, got, strings.Join(focusables, "\n  "))
			return
		}
	}
}

// a11yScript inspects the page and leaves window.__focusables (the
// visible, enabled, tabbable controls in document order) for checkTabOrder.
const a11yScript = `JSON.stringify((function () {
  function rendered(el) {
    return el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  }
  function describe(el) {
    var name = (el.getAttribute('aria-label') || el.textContent || el.value || '').trim().replace(/\s+/g, ' ').slice(0, 50);
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') + (name ? ' "' + name + '"' : '');
  }
  window.__describe = describe;

  var unlabelled = [];
  document.querySelectorAll('input, select, textarea').forEach(function (el) {
    if (el.type === 'hidden' || !rendered(el)) { return; }
    if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) {
      unlabelled.push('no label: ' + describe(el));
    }
  });
  document.querySelectorAll('a[href], button, summary').forEach(function (el) {
    if (rendered(el) && !(el.getAttribute('aria-label') || el.textContent.trim())) {
      unlabelled.push('no accessible name: ' + describe(el));
    }
  });

  var tabbable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  window.__focusables = Array.prototype.filter.call(document.querySelectorAll(tabbable), function (el) {
    var ti = el.getAttribute('tabindex');
    return !el.disabled && !(ti !== null && Number(ti) < 0) && rendered(el);
  });

  function rgba(s) {
    var m = /rgba?\(([^)]+)\)/.exec(s || '');
    if (!m) { return null; }
    var p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  }
  function over(top, under) {
    return { r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
      b: top.b * top.a + under.b * (1 - top.a), a: 1 };
  }
  function background(el) {
    var layers = [];
    for (var n = el; n && n.nodeType === 1; n = n.parentElement) {
      var c = rgba(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) { break; } }
    }
    var bg = { r: 255, g: 255, b: 255, a: 1 };
    for (var i = layers.length - 1; i >= 0; i--) { bg = over(layers[i], bg); }
    return bg;
  }
  function lum(c) {
    function ch(v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }
    return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
  }
  function ratio(a, b) {
    var x = lum(a), y = lum(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }
  function opacity(el) {
    var o = 1;
    for (var n = el; n && n.nodeType === 1; n = n.parentElement) { o *= Number(getComputedStyle(n).opacity); }
    return o;
  }
  var contrast = [];
  var seen = 0;
  document.querySelectorAll('body *').forEach(function (el) {
    var own = Array.prototype.some.call(el.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); });
    if (!own || !rendered(el) || opacity(el) < 1 || el.closest('noscript, template, title, desc')) { return; }
    var cs = getComputedStyle(el);
    var fg = rgba(el instanceof SVGElement ? cs.fill : cs.color);
    if (!fg) { return; }
    var bg = background(el instanceof SVGElement ? el.ownerSVGElement.parentElement : el);
    var r = ratio(over(fg, bg), bg);
    var size = parseFloat(cs.fontSize);
    var large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
    seen++;
    if (r < (large ? 3 : 4.5)) {
      contrast.push(describe(el) + ' ' + r.toFixed(2) + ':1');
    }
  });
  var body = getComputedStyle(document.body);
  return {
    Unlabelled: unlabelled,
    Contrast: contrast,
    BodyRatio: ratio(rgba(body.color), background(document.body)),
    Focusables: window.__focusables.map(describe),
    Checked: seen
  };
})())`
