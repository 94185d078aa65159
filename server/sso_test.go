package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"gatehouse/server"
	"gatehouse/tokens"
)

func TestSSOEndToEnd(t *testing.T) {
	ts, acs, _ := startSSO(t)
	dc, uc := ts.startFlow("laptop")
	b := ts.ssoSignIn(uc)

	_, state := acs.lastState()
	if want := ts.URL + "/v1/device/sso-complete"; state.CallbackURL != want {
		t.Errorf("state idp_callback_url %q, want %q", state.CallbackURL, want)
	}
	if state.UserCode != normalized(t, uc) || state.Nonce == "" {
		t.Errorf("state user_code %q nonce %q, want %s and a nonce", state.UserCode, state.Nonce, normalized(t, uc))
	}
	if life := state.Expiry.Time().Sub(state.IssuedAt.Time()); life <= 0 || life > 10*time.Minute {
		t.Errorf("state lives %s, want a short positive lifetime", life)
	}

	st, ctx := b.context()
	if st != 200 || ctx["subject_email"] != ssoEmail || ctx["subject_issuer"] != ssoIssuer || ctx["user_code"] != uc ||
		ctx["csrf_token"] == "" || ctx["expires_at"] == nil {
		t.Fatalf("approval-context: %d %v", st, ctx)
	}
	if st, again := b.context(); st != 200 || again["csrf_token"] != ctx["csrf_token"] {
		t.Fatalf("approval-context is not repeatable (it must consume nothing): %d %v", st, again)
	}
	spent := b.grant()
	if st, out := b.resolve("approve", uc, map[string]string{"X-CSRF-Token": ctx["csrf_token"].(string)}); st != 200 || out["status"] != "approved" {
		t.Fatalf("approve-external: %d %v", st, out)
	}
	if b.grant() != "" {
		t.Error("the approval-grant cookie was not cleared after use")
	}

	ts.clock.Advance(6 * time.Second)
	st, tok := ts.poll(dc)
	access, _ := tok["access_token"].(string)
	if st != 200 || !strings.HasPrefix(access, "dfoe_") || tok["scope"] != "apps:run" || tok["subject_type"] != "external" ||
		tok["subject_email"] != ssoEmail || tok["subject_issuer"] != ssoIssuer {
		t.Fatalf("poll: %d %v, want a dfoe_ token for the external subject", st, tok)
	}
	if st, _, me := ts.me(access); st != 200 || me["subject_type"] != "external" || me["subject_email"] != ssoEmail || me["subject_issuer"] != ssoIssuer {
		t.Fatalf("/v1/me: %d %v", st, me)
	}

	st, _, out := ts.do("POST", "/v1/oauth/device/approve-external", "application/json", `{"user_code":"`+uc+`"}`,
		map[string]string{"Cookie": server.SSOGrantCookie + "=" + spent, "X-CSRF-Token": ctx["csrf_token"].(string), "Origin": ts.URL})
	if st != 401 || out["error"] != "session_already_consumed" {
		t.Fatalf("second approve with the same cookie: %d %v, want 401 session_already_consumed", st, out)
	}
}

func TestSSODenyExternal(t *testing.T) {
	ts, _, _ := startSSO(t)
	dc, uc := ts.startFlow("laptop")
	b := ts.ssoSignIn(uc)
	if st, out := b.resolve("deny", uc, map[string]string{"X-CSRF-Token": b.csrf()}); st != 200 || out["status"] != "denied" {
		t.Fatalf("deny-external: %d %v", st, out)
	}
	ts.clock.Advance(6 * time.Second)
	if st, body := ts.poll(dc); st != 400 || body["error"] != "access_denied" {
		t.Fatalf("poll after deny: %d %v", st, body)
	}
}

func TestSSORotatesPerSubjectClientAndLabel(t *testing.T) {
	ts, _, _ := startSSO(t)
	first := ts.ssoToken("laptop")
	second := ts.ssoToken("laptop")
	if first["token_id"] != second["token_id"] {
		t.Fatalf("token ids %v and %v, want the same id rotated in place", first["token_id"], second["token_id"])
	}
	if st, _, _ := ts.me(first["access_token"].(string)); st != 401 {
		t.Errorf("first token after rotation: %d, want 401", st)
	}
	if st, _, _ := ts.me(second["access_token"].(string)); st != 200 {
		t.Errorf("second token: %d, want 200", st)
	}
	if other := ts.ssoToken("desktop"); other["token_id"] == first["token_id"] {
		t.Error("another device label rotated the same token")
	}
}

func TestSSOCompleteSetsTheGrantCookie(t *testing.T) {
	ts, acs, _ := startSSO(t)
	_, uc := ts.startFlow("laptop")
	resp := ts.complete(acs.assertion(normalized(t, uc), ssoEmail, ssoIssuer))
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/device?sso_verified=1" {
		t.Fatalf("sso-complete: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := grantCookie(resp)
	if c == nil || c.Path != "/v1/oauth/device" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 300 || c.Secure {
		t.Fatalf("grant cookie %+v, want Path=/v1/oauth/device HttpOnly SameSite=Lax Max-Age=300 and not Secure over http", c)
	}
	checkAntiFraming(t, resp)
}

func TestSSOUsesThePublicURLNeverTheHostHeader(t *testing.T) {
	const public = "https://gatehouse.example.test"
	ts, acs, _ := startSSO(t, func(c *server.Config) { c.PublicURL = public })
	ts.URL = "http://" + ts.Addr()
	_, uc := ts.startFlow("laptop")
	resp := ts.get(noRedirects, "/v1/oauth/device/sso-initiate?user_code="+uc, map[string]string{"Host": "evil.example"})
	if resp.StatusCode != 302 {
		t.Fatalf("sso-initiate: %d", resp.StatusCode)
	}
	if _, st := acs.lastState(); st.CallbackURL != public+"/v1/device/sso-complete" {
		t.Errorf("idp_callback_url %q, want it built from the public URL", st.CallbackURL)
	}
	resp = ts.complete(acs.assertion(normalized(t, uc), ssoEmail, ssoIssuer))
	if c := grantCookie(resp); c == nil || !c.Secure {
		t.Fatalf("grant cookie %+v, want Secure under an https public URL", c)
	}
}

func TestSSOInitiate(t *testing.T) {
	ts, acs, _ := startSSO(t)
	_, uc := ts.startFlow("laptop")
	resp := ts.get(noRedirects, "/v1/oauth/device/sso-initiate?user_code="+url.QueryEscape(uc), nil)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || loc == nil || loc.Host != strings.TrimPrefix(acs.srv.URL, "http://") || loc.Path != "/login" {
		t.Fatalf("sso-initiate: %d Location %q, want 302 to the ACS login URL", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c := grantCookie(resp); c == nil || c.MaxAge >= 0 {
		t.Errorf("sso-initiate does not clear an older grant cookie: %+v", c)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
	}
	checkAntiFraming(t, resp)

	for _, tc := range []struct{ name, query, want string }{
		{"unknown code", "user_code=BCDF-GHJK", "expired_or_unknown"},
		{"malformed code", "user_code=nope", "invalid_request"},
		{"no code", "", "invalid_request"},
		{"code given twice", "user_code=" + uc + "&user_code=" + uc, "invalid_request"},
	} {
		st, _, body := ts.do("GET", "/v1/oauth/device/sso-initiate?"+tc.query, "", "", nil)
		if st < 400 || st >= 500 || body["error"] != tc.want {
			t.Errorf("%s: %d %v, want %s", tc.name, st, body, tc.want)
		}
	}
}

func TestSSOInitiateACSFailures(t *testing.T) {
	slowClient := func(c *server.Config) { c.SSO.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond} }
	ts, acs, _ := startSSO(t, slowClient)
	jsonAnswer := func(body string) func(w http.ResponseWriter, _ string) {
		return func(w http.ResponseWriter, _ string) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(body))
		}
	}
	cases := []struct {
		name   string
		answer func(w http.ResponseWriter, loginURL string)
	}{
		{"ACS answers 500", func(w http.ResponseWriter, _ string) { http.Error(w, "down", 500) }},
		{"ACS answers a redirect", func(w http.ResponseWriter, u string) { w.Header().Set("Location", u); w.WriteHeader(307) }},
		{"body is not JSON", jsonAnswer(`<html>`)},
		{"url missing", jsonAnswer(`{}`)},
		{"url is javascript:", jsonAnswer(`{"url":"javascript:alert(1)"}`)},
		{"url is relative", jsonAnswer(`{"url":"/login"}`)},
		{"url is protocol-relative", jsonAnswer(`{"url":"//evil.example/login"}`)},
		{"url has a newline", jsonAnswer(`{"url":"https://idp.example.test/\nSet-Cookie: x=1"}`)},
		{"body is huge", jsonAnswer(`{"url":"https://idp.example.test/` + strings.Repeat("a", 20<<10) + `"}`)},
		{"ACS too slow", func(w http.ResponseWriter, _ string) { time.Sleep(time.Second) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			acs.set(func(a *standInACS) { a.answer = tc.answer })
			_, uc := ts.startFlow("laptop")
			st, hdr, body := ts.do("GET", "/v1/oauth/device/sso-initiate?user_code="+uc, "", "", nil)
			if st != 502 || body["error"] != "sso_unavailable" {
				t.Fatalf("%d %v, want 502 sso_unavailable", st, body)
			}
			if hdr.Get("Location") != "" || hdr.Get("X-Frame-Options") != "DENY" {
				t.Errorf("headers %v", hdr)
			}
			resp := http.Response{Header: hdr}
			if c := grantCookie(&resp); c == nil || c.MaxAge >= 0 {
				t.Errorf("a failed hand-off leaves an older grant cookie in place: %+v", c)
			}
		})
	}
}

// Every kind of refused assertion sends the browser to the device page with
// a fixed code word and sets no grant.
func TestSSORefusesForgedSwappedExpiredAndReplayedTokens(t *testing.T) {
	ts, acs, _ := startSSO(t)
	_, uc := ts.startFlow("laptop")
	code := normalized(t, uc)
	now := ts.clock.Now()
	stateTok, grantTok := artifacts(t, ts, acs, uc)
	claims := func(edit func(c *tokens.Claims)) tokens.Claims {
		c := tokens.Claims{Audience: tokens.AudSubjectAssertion, IssuedAt: jwt.NewNumericDate(now),
			Expiry: jwt.NewNumericDate(now.Add(2 * time.Minute)), Nonce: randomNonce(t), UserCode: code,
			Email: ssoEmail, SubjectIssuer: ssoIssuer}
		edit(&c)
		return c
	}
	other := mustKeyset(t, "k9", ssoKey)
	wrongKey := mustKeyset(t, ssoKID, []byte(strings.Repeat("x", 32)))
	cases := []struct{ name, token, want string }{
		{"state envelope offered as an assertion", stateTok, "invalid_assertion"},
		{"approval-grant cookie offered as an assertion", grantTok, "invalid_assertion"},
		{"wrong issuer", acs.assertion(code, ssoEmail, "https://evil-idp.example.test"), "issuer_not_allowed"},
		{"empty issuer", acs.assertion(code, ssoEmail, ""), "issuer_not_allowed"},
		{"no email", acs.assertion(code, "", ssoIssuer), "missing_email"},
		{"email is not an address", acs.assertion(code, "grace", ssoIssuer), "missing_email"},
		{"expired", acs.sign(acs.keys, claims(func(c *tokens.Claims) {
			c.IssuedAt, c.Expiry = jwt.NewNumericDate(now.Add(-3*time.Minute)), jwt.NewNumericDate(now.Add(-time.Minute))
		})), "assertion_expired"},
		{"lifetime over 5 minutes", acs.sign(acs.keys, claims(func(c *tokens.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(time.Hour)) })), "invalid_assertion"},
		{"issued in the future", acs.sign(acs.keys, claims(func(c *tokens.Claims) {
			c.IssuedAt, c.Expiry = jwt.NewNumericDate(now.Add(5*time.Minute)), jwt.NewNumericDate(now.Add(6*time.Minute))
		})), "invalid_assertion"},
		{"unknown kid", acs.sign(other, claims(func(*tokens.Claims) {})), "invalid_assertion"},
		{"known kid, wrong key", acs.sign(wrongKey, claims(func(*tokens.Claims) {})), "invalid_assertion"},
		{"tampered payload", tamper(t, acs.assertion(code, ssoEmail, ssoIssuer)), "invalid_assertion"},
		{"alg none", unsigned(t, acs.assertion(code, ssoEmail, ssoIssuer)), "invalid_assertion"},
		{"unknown user code", acs.assertion("BCDFGHJK", ssoEmail, ssoIssuer), "code_expired"},
		{"empty", "", "invalid_assertion"},
		{"garbage", "not.a.jws", "invalid_assertion"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := ts.complete(tc.token)
			if want := "/device?sso_error=" + tc.want; resp.StatusCode != 302 || resp.Header.Get("Location") != want {
				t.Fatalf("%d Location %q, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
			}
			if c := grantCookie(resp); c == nil || c.MaxAge >= 0 {
				t.Fatalf("a refused assertion left grant cookie %+v, want it cleared", c)
			}
		})
	}
}

// artifacts returns a real state envelope and a real grant cookie value.
func artifacts(t *testing.T, ts *testServer, acs *standInACS, userCode string) (string, string) {
	t.Helper()
	ts.get(noRedirects, "/v1/oauth/device/sso-initiate?user_code="+url.QueryEscape(userCode), nil)
	state, _ := acs.lastState()
	c := grantCookie(ts.complete(acs.assertion(normalized(t, userCode), ssoEmail, ssoIssuer)))
	if c == nil || c.Value == "" {
		t.Fatal("no grant cookie from a good assertion")
	}
	return state, c.Value
}

// A grant cookie must be a grant: the other two kinds, a foreign key and an
// expired grant are all 401 at every cookie endpoint.
func TestSSOGrantCookieRefusesOtherKinds(t *testing.T) {
	ts, acs, _ := startSSO(t)
	_, uc := ts.startFlow("laptop")
	code := normalized(t, uc)
	stateTok, grantTok := artifacts(t, ts, acs, uc)
	now := ts.clock.Now()
	foreign := acs.sign(mustKeyset(t, "k9", ssoKey), tokens.Claims{Audience: tokens.AudApprovalGrant,
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute)), Nonce: "n",
		UserCode: code, Email: ssoEmail, SubjectIssuer: ssoIssuer, CSRFToken: "c"})
	cases := []struct{ name, cookie string }{
		{"subject assertion as the cookie", acs.assertion(code, ssoEmail, ssoIssuer)},
		{"state envelope as the cookie", stateTok},
		{"grant under an unknown kid", foreign},
		{"garbage", "x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expectNoGrant(t, ts, tc.cookie, "c")
		})
	}
	t.Run("grant past its 5 minutes", func(t *testing.T) {
		ts.clock.Advance(301 * time.Second)
		expectNoGrant(t, ts, grantTok, "")
	})
}

func expectNoGrant(t *testing.T, ts *testServer, cookie, csrf string) {
	t.Helper()
	hdr := map[string]string{"Cookie": server.SSOGrantCookie + "=" + cookie, "X-CSRF-Token": csrf}
	if st, _, body := ts.do("GET", "/v1/oauth/device/approval-context", "", "", hdr); st != 401 || body["error"] != "sso_session_expired" {
		t.Errorf("approval-context: %d %v, want 401", st, body)
	}
	for _, action := range []string{"approve", "deny"} {
		st, _, body := ts.do("POST", "/v1/oauth/device/"+action+"-external", "application/json", `{"user_code":"BCDFGHJK"}`, hdr)
		if st != 401 || body["error"] != "sso_session_expired" {
			t.Errorf("%s-external: %d %v, want 401", action, st, body)
		}
	}
}

func TestSSOAssertionIsSingleUseAcrossRestarts(t *testing.T) {
	ts, acs, cfg := startSSO(t)
	_, uc := ts.startFlow("laptop")
	a := acs.assertion(normalized(t, uc), ssoEmail, ssoIssuer)
	if resp := ts.complete(a); resp.Header.Get("Location") != "/device?sso_verified=1" {
		t.Fatalf("first use: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := ts.complete(a); resp.Header.Get("Location") != "/device?sso_error=assertion_replayed" {
		t.Fatalf("replay: %d %q, want assertion_replayed", resp.StatusCode, resp.Header.Get("Location"))
	}
	ts = restart(t, ts, cfg)
	if resp := ts.complete(a); resp.Header.Get("Location") != "/device?sso_error=assertion_replayed" {
		t.Fatalf("replay after restart: %d %q, want assertion_replayed", resp.StatusCode, resp.Header.Get("Location"))
	}
	if fresh := ts.complete(acs.assertion(normalized(t, uc), ssoEmail, ssoIssuer)); fresh.Header.Get("Location") != "/device?sso_verified=1" {
		t.Fatalf("a fresh assertion after restart: %q", fresh.Header.Get("Location"))
	}
}

// The checks run in order: cookie, rate limit, Origin, CSRF, body code; and
// nothing before the nonce claim burns the grant.
func TestSSOApproveExternalChecks(t *testing.T) {
	ts, _, _ := startSSO(t)
	dc, uc := ts.startFlow("laptop")
	_, otherCode := ts.startFlow("desktop")
	b := ts.ssoSignIn(uc)
	csrf := b.csrf()
	cases := []struct {
		name   string
		code   string
		hdr    map[string]string
		status int
		want   string
	}{
		{"no CSRF header", uc, nil, 403, "csrf_failed"},
		{"wrong CSRF header", uc, map[string]string{"X-CSRF-Token": csrf + "x"}, 403, "csrf_failed"},
		{"cross-site Origin", uc, map[string]string{"X-CSRF-Token": csrf, "Origin": "https://evil.example"}, 403, "csrf_failed"},
		{"neither Origin nor Referer", uc, map[string]string{"X-CSRF-Token": csrf, "Origin": ""}, 403, "csrf_failed"},
		{"another code in the body", otherCode, map[string]string{"X-CSRF-Token": csrf}, 400, "invalid_request"},
	}
	for _, tc := range cases {
		st, body := b.resolve("approve", tc.code, tc.hdr)
		if st != tc.status || body["error"] != tc.want {
			t.Errorf("%s: %d %v, want %d %s", tc.name, st, body, tc.status, tc.want)
		}
	}
	if status := codeStatus(t, ts, otherCode); status != "pending" {
		t.Errorf("the other code is %s", status)
	}
	hdr := map[string]string{"X-CSRF-Token": csrf, "Origin": ts.URL}
	if st, body := b.resolve("approve", uc, hdr); st != 200 {
		t.Fatalf("approve after refused attempts: %d %v (a refused attempt burnt the grant?)", st, body)
	}
	ts.clock.Advance(6 * time.Second)
	if st, body := ts.poll(dc); st != 200 {
		t.Fatalf("poll: %d %v", st, body)
	}
}

func TestSSOApproveExternalIsRateLimitedPerSubjectBeforeCSRF(t *testing.T) {
	ts, _, _ := startSSO(t, tinyLimits("approve_external"))
	_, uc := ts.startFlow("laptop")
	b := ts.ssoSignIn(uc)
	if st, body := b.resolve("approve", uc, nil); st != 403 {
		t.Fatalf("first try without CSRF: %d %v, want 403", st, body)
	}
	if st, body := b.resolve("approve", uc, map[string]string{"X-CSRF-Token": b.csrf()}); st != 429 {
		t.Fatalf("second try: %d %v, want 429", st, body)
	}
}

func TestSSORejectLocalEmail(t *testing.T) {
	for _, reject := range []bool{false, true} {
		ts, acs, _ := startSSO(t, func(c *server.Config) { c.SSO.RejectLocalEmail = reject })
		_, uc := ts.startFlow("laptop")
		want := "/device?sso_verified=1"
		if reject {
			want = "/device?sso_error=local_account"
		}
		// testEmail is a local account; the IdP may spell it in another case.
		if got := ts.complete(acs.assertion(normalized(t, uc), strings.ToUpper(testEmail), ssoIssuer)).Header.Get("Location"); got != want {
			t.Errorf("reject=%v, local email: Location %q, want %q", reject, got, want)
		}
		if got := ts.complete(acs.assertion(normalized(t, uc), ssoEmail, ssoIssuer)).Header.Get("Location"); got != "/device?sso_verified=1" {
			t.Errorf("reject=%v, SSO-only email: Location %q", reject, got)
		}
	}
}

func TestLookupSaysWhetherSSOIsOn(t *testing.T) {
	for _, on := range []bool{false, true} {
		var ts *testServer
		if on {
			ts, _, _ = startSSO(t)
		} else {
			ts = startServer(t)
		}
		_, uc := ts.startFlow("laptop")
		if st, _, body := ts.do("GET", "/v1/oauth/device/lookup?user_code="+uc, "", "", nil); st != 200 || body["sso"] != on {
			t.Errorf("SSO on=%v: lookup %d sso=%v", on, st, body["sso"])
		}
	}
}

var ssoRoutes = []struct{ method, path string }{
	{"GET", "/v1/oauth/device/sso-initiate?user_code=BCDF-GHJK"},
	{"GET", "/v1/device/sso-complete?sso_assertion=x"},
	{"GET", "/v1/oauth/device/approval-context"},
	{"POST", "/v1/oauth/device/approve-external"},
	{"POST", "/v1/oauth/device/deny-external"},
}

// With SSO off the routes do not exist: the same bare 404 as an unknown
// path, for any method, without spending any budget.
func TestSSORoutesAre404WhenOff(t *testing.T) {
	ts := startServer(t, tinyLimits("device_code", "guess_ip", "guess_global", "approve_external", "bearer", "signin_ip"))
	_, _, unknown := ts.do("GET", "/v1/no-such-route", "", "", nil)
	for _, rt := range ssoRoutes {
		for _, method := range []string{rt.method, "PUT"} {
			for range 5 {
				st, hdr, body := ts.do(method, rt.path, "application/json", `{"user_code":"BCDF-GHJK"}`, nil)
				if st != 404 || body["error"] != unknown["error"] || body["error_description"] != unknown["error_description"] {
					t.Fatalf("%s %s with SSO off: %d %v, want the unknown-route 404 %v", method, rt.path, st, body, unknown)
				}
				if hdr.Get("Set-Cookie") != "" || hdr.Get("X-Frame-Options") != "DENY" {
					t.Fatalf("%s %s with SSO off: headers %v", method, rt.path, hdr)
				}
			}
		}
	}
	// The one-request budgets are untouched: a flow starts and a bad
	// lookup is judged (404), not refused (429).
	_, _ = ts.startFlow("laptop")
	if st, _, body := ts.do("GET", "/v1/oauth/device/lookup?user_code=BCDF-GHJK", "", "", nil); st != 404 {
		t.Fatalf("lookup after the SSO requests: %d %v, want 404 (budget untouched)", st, body)
	}
}

// ---- helpers ----

// tinyLimits sets each named limit to one request per hour.
func tinyLimits(names ...string) func(*server.Config) {
	return func(c *server.Config) {
		c.Limits = server.DefaultLimits(c.DeviceCodeTTL, server.DefaultMaxPendingCodes)
		for _, n := range names {
			if err := c.Limits.Override(n + "=1/1h:1"); err != nil {
				panic(err)
			}
		}
	}
}

func mustKeyset(t *testing.T, kid string, key []byte) *tokens.Keyset {
	t.Helper()
	ks, err := tokens.NewKeyset(kid, map[string][]byte{kid: key})
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// tamper flips one claim in the payload and keeps the old signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	payload := mustB64(t, parts[1])
	parts[1] = b64url(strings.Replace(payload, ssoEmail, "admin@corp.example.test", 1))
	return strings.Join(parts, ".")
}

// unsigned re-heads a token with alg none and drops the signature.
func unsigned(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	return b64url(`{"alg":"none","kid":"`+ssoKID+`"}`) + "." + parts[1] + "."
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func mustB64(t *testing.T, seg string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkAntiFraming(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("missing anti-framing headers: %v", resp.Header)
	}
}

// The state envelope never outlives the code it is for: with codes shorter
// than the envelope's own lifetime, exp is the code's expiry.
func TestSSOStateExpiresWithItsCode(t *testing.T) {
	ts, acs, _ := startSSO(t, func(c *server.Config) { c.DeviceCodeTTL = 2 * time.Minute })
	_, uc := ts.startFlow("laptop")
	if resp := ts.get(noRedirects, "/v1/oauth/device/sso-initiate?user_code="+url.QueryEscape(uc), nil); resp.StatusCode != 302 {
		t.Fatalf("sso-initiate: %d", resp.StatusCode)
	}
	_, st := acs.lastState()
	if st.Expiry == nil || st.IssuedAt == nil {
		t.Fatalf("state without exp/iat: %+v", st)
	}
	if got := st.Expiry.Time().Sub(st.IssuedAt.Time()); got != 2*time.Minute {
		t.Errorf("state lives %v, want the code's remaining 2m0s", got)
	}
}

// A spent approval-grant cookie stays spent after a restart: its nonce is
// claimed in bbolt, not in memory. (Presented for the same, now approved,
// code: a forgotten nonce would answer 409 already_resolved instead.)
func TestSSOGrantIsSingleUseAcrossRestarts(t *testing.T) {
	ts, _, cfg := startSSO(t)
	_, uc := ts.startFlow("laptop")
	b := ts.ssoSignIn(uc)
	grant, csrf := b.grant(), b.csrf()
	if st, out := b.resolve("approve", uc, map[string]string{"X-CSRF-Token": csrf}); st != 200 {
		t.Fatalf("approve-external: %d %v", st, out)
	}
	ts = restart(t, ts, cfg)
	body, _ := json.Marshal(map[string]string{"user_code": uc})
	st, _, out := ts.do("POST", "/v1/oauth/device/approve-external", "application/json", string(body),
		map[string]string{"Cookie": server.SSOGrantCookie + "=" + grant, "X-CSRF-Token": csrf, "Origin": ts.URL})
	if st != 401 || out["error"] != "session_already_consumed" {
		t.Fatalf("spent grant after restart: %d %v, want 401 session_already_consumed", st, out)
	}
}
