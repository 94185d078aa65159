package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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
		resp, body := fetchPage(t, ts.URL+path)
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
		resp, body := fetchPage(t, ts.URL+"/assets/"+asset)
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

func fetchPage(t *testing.T, url string) (*http.Response, string) {
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
		if n := countNodes(ctx, t, "#device-list > li"); n != 2 {
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
		if n := countNodes(ctx, t, "#device-list > li"); n != 0 {
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
		if n := countNodes(ctx, t, "#tokens-body tr"); n != 3 {
			t.Errorf("%s: %d live tokens listed, want 3", vp, n)
		}
		if s := visibleText(ctx, t, "#stat-accounts"); s != "4" { // the bootstrap admin, root, ada and grace
			t.Errorf("%s: accounts stat reads %q, want 4", vp, s)
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

		step(ctx, t, "clear the filters",
			chromedp.Click(chromedp.CSS("#filter-clear")),
			chromedp.Poll[chromedp.Void](`document.querySelectorAll('#tokens-body tr').length === 3`))
		if v := run(ctx, t, "read the email filter", chromedp.Value(chromedp.CSS("#filter-email"))); v != "" {
			t.Errorf("%s: Clear left the email filter at %q", vp, v)
		}
		step(ctx, t, "filter by client instead",
			chromedp.SetValue(chromedp.CSS("#filter-client"), deployClient),
			chromedp.Click(chromedp.CSS("#filter-apply")),
			chromedp.Poll[chromedp.Void](`document.querySelectorAll('#tokens-body tr').length === 1`))
		if n := countNodes(ctx, t, `#tokens-body tr[data-token-id="`+bot+`"]`); n != 1 {
			t.Errorf("%s: filtered by client %s, the bot's token is not the row shown", vp, deployClient)
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
		if n := countNodes(ctx, t, "#tokens-body tr"); n != 0 {
			t.Errorf("%s: a member's page holds %d token rows", vp, n)
		}

		ts.signInAdmin() // creates the admin account
		step(ctx, t, "sign in as someone else",
			chromedp.Click(chromedp.CSS("#forbidden-signout")),
			chromedp.WaitVisible(chromedp.CSS("#view-signin")),
			chromedp.Click(chromedp.CSS("#signin-link")),
			chromedp.WaitVisible(chromedp.CSS("#view-form")),
			chromedp.SendKeys(chromedp.CSS("#email"), adminEmail),
			chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
			chromedp.Click(chromedp.CSS("#signin-submit")),
			chromedp.WaitVisible(chromedp.CSS("#view-admin")))
		if who := visibleText(ctx, t, "#account-email"); who != adminEmail {
			t.Errorf("%s: after switching accounts the admin view names %q", vp, who)
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
