package server_test

// Browser end-to-end tests: a real headless Chromium drives the embedded
// pages against a real server, the way a person approving a CLI sign-in
// does, while a goroutine polls the token endpoint the way the CLI does.
//
// They never skip in CI: with CI set and no browser found they fail.
// Screenshots of each view land in testoutput/browser/ (git-ignored).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"gatehouse/server"
	"gatehouse/store"
	"gatehouse/tokens"
)

const (
	browserTestTimeout = 60 * time.Second // a hung browser fails the test instead of blocking
	browserStepTimeout = 15 * time.Second // one user-visible step
	browserPollWait    = 10 * time.Second // how long the CLI may take to see a decision
	screenWidth        = 360
	screenHeight       = 740
	screenshotDir      = "testoutput/browser"
)

func TestBrowserApprove(t *testing.T) {
	ts := startBrowserServer(t)
	ctx := newBrowser(t)
	dc, uc := ts.startFlow("laptop")
	cli := pollLikeACLI(t, ts, dc)

	signInBrowser(ctx, ts)
	typeCodeAndContinue(ctx, t, ts, uc)

	shown := visibleText(ctx, t, "#view-authorize")
	for _, want := range []string{"Gatehouse CLI", "laptop", "127.0.0.1", testEmail} {
		if !strings.Contains(shown, want) {
			t.Errorf("authorize view does not show %q; it shows:\n%s", want, shown)
		}
	}
	if title := run(ctx, t, "read the tab title", chromedp.Title()); !strings.Contains(title, uc) {
		t.Errorf("tab title %q does not name the code %s", title, uc)
	}

	step(ctx, t, "authorize", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS("#view-success")))
	screenshot(ctx, t, "success")

	got := cli.wait(t)
	tok, _ := got["access_token"].(string)
	if !strings.HasPrefix(tok, "dfoa_") {
		t.Fatalf("the CLI got %v, want an account token (dfoa_)", got)
	}
	if st, _, me := ts.me(tok); st != 200 || me["subject_email"] != testEmail {
		t.Fatalf("/v1/me with the approved token: %d %v", st, me)
	}
}

func TestBrowserDeny(t *testing.T) {
	ts := startBrowserServer(t)
	ctx := newBrowser(t)
	dc, uc := ts.startFlow("laptop")
	cli := pollLikeACLI(t, ts, dc)

	signInBrowser(ctx, ts)
	typeCodeAndContinue(ctx, t, ts, uc)
	step(ctx, t, "deny", chromedp.Click(chromedp.CSS("#deny")), chromedp.WaitVisible(chromedp.CSS("#view-denied")))
	screenshot(ctx, t, "denied")

	if got := cli.wait(t); got["error"] != "access_denied" {
		t.Fatalf("the CLI got %v, want error access_denied", got)
	}
}

func TestBrowserPrefillNeverAutoApproves(t *testing.T) {
	ts := startBrowserServer(t)
	ctx := newBrowser(t)
	dc, uc := ts.startFlow("laptop")

	signInBrowser(ctx, ts)
	step(ctx, t, "open the verification_uri_complete",
		chromedp.Navigate(ts.URL+"/device?user_code="+url.QueryEscape(uc)),
		chromedp.WaitVisible(chromedp.CSS("#view-match")))
	screenshot(ctx, t, "match")
	pickCode(ctx, t, uc)
	step(ctx, t, "see the request", chromedp.WaitVisible(chromedp.CSS("#view-authorize")))
	screenshot(ctx, t, "authorize-prefilled")
	step(ctx, t, "linger on the authorize view", chromedp.Sleep(time.Second))

	if st, body := ts.poll(dc); st != 400 || body["error"] != "authorization_pending" {
		t.Fatalf("poll after opening the prefilled link: %d %v, want authorization_pending", st, body)
	}
	if status := codeStatus(t, ts, uc); status != store.StatusPending {
		t.Fatalf("code status %q after opening the prefilled link, want %q", status, store.StatusPending)
	}
	step(ctx, t, "still asking", chromedp.WaitVisible(chromedp.CSS("#approve")))
}

func TestBrowserSignInHandOff(t *testing.T) {
	ts := startBrowserServer(t)
	ctx := newBrowser(t)
	_, uc := ts.startFlow("laptop")
	letters := normalized(t, uc)

	step(ctx, t, "open the verification_uri_complete signed out",
		chromedp.Navigate(ts.URL+"/device?user_code="+url.QueryEscape(uc)))
	pickCode(ctx, t, uc)
	step(ctx, t, "asked to sign in", chromedp.WaitVisible(chromedp.CSS("#view-signin")))
	screenshot(ctx, t, "signin-needed")
	if shown := visibleText(ctx, t, "#signin-code"); shown != uc {
		t.Errorf("sign-in view names code %q, want %q", shown, uc)
	}
	href := run(ctx, t, "read the sign-in link", chromedp.JavascriptAttribute[string](chromedp.CSS("#signin-link"), "href"))
	if next := signinNext(t, ts, href); next != "/device?user_code="+letters {
		t.Fatalf("sign-in link %q comes back to %q, want /device?user_code=%s", href, next, letters)
	}

	step(ctx, t, "follow the sign-in link",
		chromedp.Click(chromedp.CSS("#signin-link")),
		chromedp.WaitVisible(chromedp.CSS("#view-form")))
	submitSignIn(ctx, ts)
	step(ctx, t, "come back to the same request", chromedp.WaitVisible(chromedp.CSS("#view-authorize")))
	screenshot(ctx, t, "authorize-after-signin")

	loc := run(ctx, t, "read the location", chromedp.Location())
	if u, err := url.Parse(loc); err != nil || u.Path != "/device" || normalized(t, u.Query().Get("user_code")) != letters {
		t.Errorf("landed on %q, want /device?user_code=%s", loc, letters)
	}
	if shown := visibleText(ctx, t, "#authorize-code"); shown != uc {
		t.Errorf("authorize view shows code %q, want %q", shown, uc)
	}
	if typed := run(ctx, t, "read the code field", chromedp.Value(chromedp.CSS("#user-code"))); typed != uc {
		t.Errorf("code field holds %q, want it pre-filled with %q", typed, uc)
	}
}

// TestBrowserNumberMatching: a link with a code in it is not enough to
// approve. The page offers three codes; only the terminal's goes on, and a
// wrong pick (or "none of these") drops the link's code for good in this
// browser, so the person has to type it.
func TestBrowserNumberMatching(t *testing.T) {
	ts := startBrowserServer(t)
	ctx := newBrowser(t)
	signInBrowser(ctx, ts)

	for _, wrong := range []string{"a decoy", "none of these"} {
		dc, uc := ts.startFlow("laptop")
		link := ts.URL + "/device?user_code=" + url.QueryEscape(uc)
		step(ctx, t, "open the link ("+wrong+")", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#view-match")))
		choices := run(ctx, t, "read the choices", chromedp.Evaluate[[]string](
			`Array.prototype.map.call(document.querySelectorAll('#match-choices button'), function (b) { return b.textContent; })`))
		if len(choices) != 3 {
			t.Fatalf("the match view offers %q, want three codes", choices)
		}
		seen := map[string]bool{}
		for _, c := range choices {
			if _, err := tokens.NormalizeUserCode(c); err != nil || len(c) != 9 || c[4] != '-' {
				t.Errorf("choice %q is not shaped like a user code", c)
			}
			seen[c] = true
		}
		if len(seen) != 3 || !seen[uc] {
			t.Fatalf("choices %q: want three different codes, one of them %s", choices, uc)
		}
		if shown := visibleText(ctx, t, "#view-match"); strings.Contains(shown, "Authorize") {
			t.Errorf("the match view already offers to authorize:\n%s", shown)
		}

		if wrong == "a decoy" {
			var decoy string
			for _, c := range choices {
				if c != uc {
					decoy = c
				}
			}
			step(ctx, t, "pick a decoy", chromedp.Click(chromedp.CSS(`#match-choices button[data-code="`+decoy+`"]`)))
		} else {
			step(ctx, t, "none of these", chromedp.Click(chromedp.CSS("#match-none")))
		}
		step(ctx, t, "sent to type the code", chromedp.WaitVisible(chromedp.CSS("#enter-notice")), chromedp.WaitVisible(chromedp.CSS("#view-enter")))
		screenshot(ctx, t, "match-failed")
		if typed := run(ctx, t, "read the code field", chromedp.Value(chromedp.CSS("#user-code"))); typed != "" {
			t.Errorf("after a failed match the code field holds %q, want it empty", typed)
		}
		if loc := location(ctx, t); loc.RawQuery != "" {
			t.Errorf("after a failed match the address is %s, want no code in it", loc)
		}

		step(ctx, t, "open the same link again",
			chromedp.Navigate(link),
			chromedp.WaitVisible(chromedp.CSS("#enter-notice")),
			chromedp.WaitVisible(chromedp.CSS("#view-enter")))
		if st, body := ts.poll(dc); st != 400 || body["error"] != "authorization_pending" {
			t.Fatalf("poll after a failed match: %d %v, want authorization_pending", st, body)
		}

		typeCodeAndContinue(ctx, t, ts, uc)
		step(ctx, t, "typing the code goes on", chromedp.WaitVisible(chromedp.CSS("#approve")))
		if notice := run(ctx, t, "is the notice hidden", chromedp.Evaluate[bool](`document.getElementById('enter-notice').hidden`)); !notice {
			t.Errorf("the failed-match notice is still shown after typing the code")
		}
	}
}

func TestBrowserNoCSPViolations(t *testing.T) {
	ts := startBrowserServer(t)
	ctx := newBrowser(t)
	console := watchConsole(ctx, t)
	dc, uc := ts.startFlow("laptop")
	cli := pollLikeACLI(t, ts, dc)

	signInBrowser(ctx, ts)
	typeCodeAndContinue(ctx, t, ts, uc)
	step(ctx, t, "authorize", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS("#view-success")))
	if got := cli.wait(t); got["access_token"] == nil {
		t.Fatalf("the CLI got %v, want a token", got)
	}

	for _, m := range console.unexpected(ctx, t) {
		t.Errorf("page wrote to the console: %s", m)
	}
	console.mustSeeAViolation(ctx, t)
}

// ---- Server and CLI ----

// startBrowserServer runs the real server on the real clock, so the page's
// "requested ... ago" is sane, with a short poll interval.
func startBrowserServer(t *testing.T) *testServer {
	t.Helper()
	return startServer(t, realClock, func(c *server.Config) { c.PollInterval = time.Second })
}

// cliPoller is a background poll loop; its answer arrives on done.
type cliPoller struct {
	done chan map[string]any
	errs chan error
}

// pollLikeACLI polls the token endpoint in the background the way a CLI
// does: once per interval, raising the interval on slow_down, until the
// answer is a token or an error other than authorization_pending. The
// goroutine never touches t, and it is stopped and waited for on cleanup.
func pollLikeACLI(t *testing.T, ts *testServer, deviceCode string) *cliPoller {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &cliPoller{done: make(chan map[string]any, 1), errs: make(chan error, 1)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		body, err := pollUntilDecided(ctx, ts.URL, deviceCode, time.Second)
		if err != nil {
			p.errs <- err
			return
		}
		p.done <- body
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return p
}

func pollUntilDecided(ctx context.Context, baseURL, deviceCode string, interval time.Duration) (map[string]any, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(interval):
		}
		body, err := pollOnce(ctx, baseURL, deviceCode)
		if err != nil {
			return nil, err
		}
		switch body["error"] {
		case "authorization_pending":
		case "slow_down":
			interval = slowDownInterval(body, interval)
		default:
			return body, nil
		}
	}
}

func slowDownInterval(body map[string]any, current time.Duration) time.Duration {
	if secs, ok := body["interval"].(float64); ok && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	return current + 5*time.Second // RFC 8628 §3.5
}

func pollOnce(ctx context.Context, baseURL, deviceCode string) (map[string]any, error) {
	v := url.Values{"client_id": {server.DefaultClientID}, "device_code": {deviceCode}, "grant_type": {server.DeviceGrantType}}
	req, err := http.NewRequestWithContext(ctx, "POST", baseURL+"/v1/oauth/device/token", strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", form)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("poll answered %d with a body that is not JSON: %w", resp.StatusCode, err)
	}
	return body, nil
}

// wait returns the CLI's final answer, failing if it takes longer than a CLI
// user would wait after the browser said "approved".
func (p *cliPoller) wait(t *testing.T) map[string]any {
	t.Helper()
	select {
	case body := <-p.done:
		return body
	case err := <-p.errs:
		t.Fatalf("the CLI's poll loop failed: %v", err)
	case <-time.After(browserPollWait):
		t.Fatalf("the CLI saw no decision within %s", browserPollWait)
	}
	return nil
}

func normalized(t *testing.T, code string) string {
	t.Helper()
	n, err := tokens.NormalizeUserCode(code)
	if err != nil {
		t.Fatalf("user code %q: %v", code, err)
	}
	return n
}

func codeStatus(t *testing.T, ts *testServer, userCode string) string {
	t.Helper()
	dc, err := ts.Store().DeviceCodeByUserCode(normalized(t, userCode))
	if err != nil {
		t.Fatalf("device code for %s: %v", userCode, err)
	}
	return dc.Status
}

// signinNext is where a /signin?next=... link sends the browser afterwards.
func signinNext(t *testing.T, ts *testServer, href string) string {
	t.Helper()
	u, err := url.Parse(href)
	if err != nil || u.Scheme+"://"+u.Host != ts.URL || u.Path != "/signin" {
		t.Fatalf("sign-in link %q is not %s/signin?next=...", href, ts.URL)
	}
	return u.Query().Get("next")
}

// ---- Browser ----

// newBrowser starts a fresh headless Chromium with its own profile and one
// 360x740 tab, and returns that tab's context. Everything run on it ends
// within browserTestTimeout.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browserPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(screenWidth, screenHeight),
	}
	timeout, cancelTimeout := context.WithTimeout(context.Background(), browserTestTimeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(timeout, opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc(); cancelTimeout() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(screenWidth, screenHeight)); err != nil {
		t.Fatalf("starting %s: %v", browserPath(t), err)
	}
	return ctx
}

// browserPath finds Chromium or Chrome. Without one the test skips locally
// but fails in CI, where browser tests must always run.
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium, chromium-browser or google-chrome on PATH; browser tests must run in CI")
	}
	t.Skip("no chromium, chromium-browser or google-chrome on PATH; apt-get install chromium to run browser tests")
	return ""
}

// signInBrowser signs the browser in with the test account through /signin
// and waits until it lands on /device.
func signInBrowser(ctx context.Context, ts *testServer) {
	ts.t.Helper()
	step(ctx, ts.t, "open /signin", chromedp.Navigate(ts.URL+"/signin"), chromedp.WaitVisible(chromedp.CSS("#view-form")))
	submitSignIn(ctx, ts)
	step(ctx, ts.t, "land on /device after signing in", chromedp.WaitVisible(chromedp.CSS("#view-enter")))
}

// submitSignIn fills in and submits the sign-in form already on screen.
func submitSignIn(ctx context.Context, ts *testServer) {
	ts.t.Helper()
	step(ctx, ts.t, "fill in the sign-in form",
		chromedp.SendKeys(chromedp.CSS("#email"), testEmail),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword))
	screenshot(ctx, ts.t, "signin")
	step(ctx, ts.t, "submit the sign-in form", chromedp.Click(chromedp.CSS("#signin-submit")))
}

// typeCodeAndContinue types the code as a hurried person might, lower case
// and without its dash, and waits for the authorize view.
// pickCode answers the number-matching view by choosing userCode
// (formatted, as the terminal shows it).
func pickCode(ctx context.Context, t *testing.T, userCode string) {
	t.Helper()
	step(ctx, t, "pick the terminal's code "+userCode,
		chromedp.WaitVisible(chromedp.CSS("#view-match")),
		chromedp.Click(chromedp.CSS(`#match-choices button[data-code="`+userCode+`"]`)))
}

func typeCodeAndContinue(ctx context.Context, t *testing.T, ts *testServer, userCode string) {
	t.Helper()
	typed := strings.ToLower(strings.ReplaceAll(userCode, "-", ""))
	step(ctx, t, "open /device and type the code",
		chromedp.Navigate(ts.URL+"/device"),
		chromedp.WaitVisible(chromedp.CSS("#view-enter")),
		chromedp.SendKeys(chromedp.CSS("#user-code"), typed))
	screenshot(ctx, t, "enter")
	step(ctx, t, "continue to the authorize view",
		chromedp.Click(chromedp.CSS("#continue")),
		chromedp.WaitVisible(chromedp.CSS("#view-authorize")))
	screenshot(ctx, t, "authorize")
}

// step runs one user-visible step with its own deadline; on failure it says
// which step and what the page was showing.
func step(ctx context.Context, t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserStepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v\npage at %s", what, err, pageState(ctx))
	}
}

// run is step for an action that returns a value.
func run[T any](ctx context.Context, t *testing.T, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserStepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("%s: %v\npage at %s", what, err, pageState(ctx))
	}
	return v
}

// visibleText is the rendered text (innerText) of the first match of sel.
func visibleText(ctx context.Context, t *testing.T, sel string) string {
	t.Helper()
	return strings.TrimSpace(run(ctx, t, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// pageState describes the page for a failure message, best effort.
func pageState(ctx context.Context) string {
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	state, err := chromedp.Run(sctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return state
}

// screenshot saves the viewport as testoutput/browser/<test>-<view>.png.
func screenshot(ctx context.Context, t *testing.T, view string) {
	t.Helper()
	png := run(ctx, t, "screenshot "+view, chromedp.CaptureScreenshot())
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(screenshotDir, t.Name()+"-"+view+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ---- Console and CSP ----

// reportCSPViolations makes every page in the tab write each CSP violation
// to the console, on top of what Chromium itself logs for one.
const reportCSPViolations = `document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI);
});`

// consoleWatch collects everything a page writes to the console: calls of
// the console API, uncaught exceptions, and browser log entries (where
// Chromium reports CSP violations).
type consoleWatch struct {
	mu   sync.Mutex
	msgs []consoleEntry
}

type consoleEntry struct {
	kind, source, level, text, url string
}

func (e consoleEntry) String() string {
	return fmt.Sprintf("%s/%s/%s %q at %s", e.kind, e.source, e.level, e.text, e.url)
}

func watchConsole(ctx context.Context, t *testing.T) *consoleWatch {
	t.Helper()
	w := &consoleWatch{}
	if err := chromedp.Listen(ctx, w.record); err != nil {
		t.Fatalf("listening to the console: %v", err)
	}
	step(ctx, t, "report CSP violations", chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: reportCSPViolations})
		return err
	}))
	return w
}

// record runs on chromedp's reader goroutine, so it only appends.
func (w *consoleWatch) record(ev any) {
	var e consoleEntry
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		e = consoleEntry{kind: "console", level: string(ev.Type), text: argsText(ev.Args)}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		e = consoleEntry{kind: "exception", text: exceptionText(d), url: d.URL}
	case *log.EventEntryAdded:
		en := ev.Entry
		e = consoleEntry{kind: "log", source: string(en.Source), level: string(en.Level), text: en.Text, url: en.URL}
	default:
		return
	}
	w.mu.Lock()
	w.msgs = append(w.msgs, e)
	w.mu.Unlock()
}

func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		if a.Description != "" {
			parts = append(parts, a.Description)
		} else {
			parts = append(parts, string(a.Value))
		}
	}
	return strings.Join(parts, " ")
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Text + " " + d.Exception.Description
	}
	return d.Text
}

// all returns what was written so far. A round trip to the tab first makes
// sure every event sent before it has been recorded.
func (w *consoleWatch) all(ctx context.Context, t *testing.T) []consoleEntry {
	t.Helper()
	run(ctx, t, "flush console events", chromedp.Evaluate[int](`1`))
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]consoleEntry(nil), w.msgs...)
}

// unexpected is every console entry except the signed-out session probe:
// /signin asks GET /console/api/session first and, not yet signed in, gets
// the 401 it expects, which Chromium logs as a failed resource load.
func (w *consoleWatch) unexpected(ctx context.Context, t *testing.T) []consoleEntry {
	t.Helper()
	var out []consoleEntry
	for _, e := range w.all(ctx, t) {
		expected := e.kind == "log" && e.source == "network" && strings.HasSuffix(e.url, "/console/api/session") &&
			strings.Contains(e.text, "401")
		if !expected {
			out = append(out, e)
		}
	}
	return out
}

// mustSeeAViolation proves the watch is live: an off-origin image breaks
// img-src, and the violation must show up.
func (w *consoleWatch) mustSeeAViolation(ctx context.Context, t *testing.T) {
	t.Helper()
	step(ctx, t, "break the CSP on purpose", chromedp.Evaluate[chromedp.Void](
		`(function () { var i = document.createElement('img'); i.src = 'https://csp-canary.invalid/x.png'; document.body.appendChild(i); })()`))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range w.all(ctx, t) {
			if strings.Contains(e.text, "csp-canary.invalid") {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("a deliberate CSP violation was not seen: the console watch is not working")
}
