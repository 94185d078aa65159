package server_test

// The SSO journey in headless Chromium, reusing browser_test.go's harness.
// The stand-in ACS is served as http://localhost:PORT while Gatehouse is
// http://127.0.0.1:PORT, so the return to sso-complete is a cross-site
// navigation: the journey only ends on the SSO authorize view if the
// SameSite=Lax approval-grant cookie survives it.

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/server"
)

func TestBrowserSSOApprove(t *testing.T) {
	ts, _ := startBrowserSSO(t)
	ctx := newBrowser(t)
	console := watchConsole(ctx, t)
	dc, uc := ts.startFlow("laptop")
	cli := pollLikeACLI(t, ts, dc)

	step(ctx, t, "open the verification_uri_complete signed out",
		chromedp.Navigate(ts.URL+"/device?user_code="+url.QueryEscape(uc)))
	pickCode(ctx, t, uc)
	step(ctx, t, "see the chooser",
		chromedp.WaitVisible(chromedp.CSS("#view-signin")),
		chromedp.WaitVisible(chromedp.CSS("#sso-link")))
	screenshot(ctx, t, "chooser")
	if local := visibleText(ctx, t, "#signin-link"); local != "Sign in with a local account" {
		t.Errorf("the local choice reads %q", local)
	}

	step(ctx, t, "choose SSO", chromedp.Click(chromedp.CSS("#sso-link")), chromedp.WaitVisible(chromedp.CSS("#continue")))
	screenshot(ctx, t, "idp")
	if loc := location(ctx, t); loc.Hostname() != "localhost" {
		t.Fatalf("the identity provider page is at %s, want another site (localhost)", loc)
	}

	step(ctx, t, "come back from the identity provider",
		chromedp.Click(chromedp.CSS("#continue")),
		chromedp.WaitVisible(chromedp.CSS("#view-sso-authorize")))
	screenshot(ctx, t, "sso-authorize")
	if loc := location(ctx, t); loc.Host != strings.TrimPrefix(ts.URL, "http://") || loc.Path != "/device" || loc.RawQuery != "sso_verified=1" {
		t.Errorf("landed on %s, want %s/device?sso_verified=1", loc, ts.URL)
	}
	shown := visibleText(ctx, t, "#view-sso-authorize")
	for _, want := range []string{ssoEmail, ssoIssuer, uc, "Gatehouse CLI", "laptop", "127.0.0.1"} {
		if !strings.Contains(shown, want) {
			t.Errorf("SSO authorize view does not show %q; it shows:\n%s", want, shown)
		}
	}

	step(ctx, t, "authorize", chromedp.Click(chromedp.CSS("#sso-approve")), chromedp.WaitVisible(chromedp.CSS("#view-success")))
	screenshot(ctx, t, "success")
	got := cli.wait(t)
	tok, _ := got["access_token"].(string)
	if !strings.HasPrefix(tok, "dfoe_") || got["subject_email"] != ssoEmail {
		t.Fatalf("the CLI got %v, want an external token (dfoe_) for %s", got, ssoEmail)
	}
	if st, _, me := ts.me(tok); st != 200 || me["subject_type"] != "external" || me["subject_issuer"] != ssoIssuer {
		t.Fatalf("/v1/me with the SSO token: %d %v", st, me)
	}

	step(ctx, t, "reload after approving", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#view-enter")))
	for _, e := range console.all(ctx, t) {
		if strings.Contains(e.text, "Content Security Policy") || strings.Contains(e.text, "CSP violation") {
			t.Errorf("CSP violation on the way: %s", e)
		}
	}
}

// TestBrowserSSODirectLinkAsksToMatch: a link straight to sso-initiate
// skips the /device page, so the person is asked to match the code on the
// way back, before they can authorize.
func TestBrowserSSODirectLinkAsksToMatch(t *testing.T) {
	ts, _ := startBrowserSSO(t)
	ctx := newBrowser(t)
	dc, uc := ts.startFlow("laptop")

	step(ctx, t, "follow a link straight to SSO",
		chromedp.Navigate(ts.URL+"/v1/oauth/device/sso-initiate?user_code="+url.QueryEscape(uc)),
		chromedp.WaitVisible(chromedp.CSS("#continue")))
	step(ctx, t, "come back from the identity provider",
		chromedp.Click(chromedp.CSS("#continue")),
		chromedp.WaitVisible(chromedp.CSS("#view-match")))
	screenshot(ctx, t, "sso-match")
	step(ctx, t, "none of these", chromedp.Click(chromedp.CSS("#match-none")), chromedp.WaitVisible(chromedp.CSS("#enter-notice")))
	if st, body := ts.poll(dc); st != 400 || body["error"] != "authorization_pending" {
		t.Fatalf("poll after a refused match: %d %v, want authorization_pending", st, body)
	}

	// Typing the code proves the person has it; the grant still stands.
	step(ctx, t, "type the code",
		chromedp.SendKeys(chromedp.CSS("#user-code"), uc),
		chromedp.Click(chromedp.CSS("#continue")),
		chromedp.WaitVisible(chromedp.CSS("#view-sso-authorize")))
	if shown := visibleText(ctx, t, "#view-sso-authorize"); !strings.Contains(shown, ssoEmail) || !strings.Contains(shown, uc) {
		t.Errorf("SSO authorize view after typing the code:\n%s", shown)
	}
}

func TestBrowserSSOReturnWithoutAGrant(t *testing.T) {
	ts, _ := startBrowserSSO(t)
	ctx := newBrowser(t)
	step(ctx, t, "come back with no grant cookie",
		chromedp.Navigate(ts.URL+"/device?sso_verified=1"),
		chromedp.WaitVisible(chromedp.CSS("#view-session-expired")))
	screenshot(ctx, t, "session-expired")

	step(ctx, t, "come back refused",
		chromedp.Navigate(ts.URL+"/device?sso_error=local_account"),
		chromedp.WaitVisible(chromedp.CSS("#view-refused")))
	screenshot(ctx, t, "refused")
	if shown := visibleText(ctx, t, "#view-refused"); !strings.Contains(shown, "local Gatehouse account") || !strings.Contains(shown, "local_account") {
		t.Errorf("the refusal reads:\n%s", shown)
	}
	if loc := location(ctx, t); loc.RawQuery != "" {
		t.Errorf("the error word stays in the address bar: %s", loc)
	}
}

// startBrowserSSO is startBrowserServer with SSO on; the ACS shows a page
// with a link back, served under the name localhost.
func startBrowserSSO(t *testing.T) (*testServer, *standInACS) {
	t.Helper()
	ts, acs, _ := startSSO(t, realClock, func(c *server.Config) { c.PollInterval = time.Second })
	acs.set(func(a *standInACS) {
		a.base = strings.Replace(a.srv.URL, "127.0.0.1", "localhost", 1)
		a.linkPage = true
	})
	return ts, acs
}

func location(ctx context.Context, t *testing.T) *url.URL {
	t.Helper()
	loc := run(ctx, t, "read the location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("location %q: %v", loc, err)
	}
	return u
}
