package server_test

// My devices for SSO subjects (devices_sso.go): the SSO branch with purpose
// "devices" sets a devices cookie that lists and revokes only the tokens of
// its (subject email, subject issuer).

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"gatehouse/server"
	"gatehouse/store"
	"gatehouse/tokens"
)

const (
	pathSSODevices       = "/console/api/sso-devices"
	pathSSORevoke1       = pathSSODevices + "/revoke"
	pathSSORevokeAll     = pathSSODevices + "/revoke-all"
	pathSSODevicesLogout = pathSSODevices + "/signout"
	otherIssuer          = "https://other-idp.example.test" // on the allow-list too
)

func TestSSODevicesSignInThroughTheACS(t *testing.T) {
	ts, acs, _ := startSSO(t)
	b := ts.ssoDevicesSignIn()
	_, state := acs.lastState()
	if state.Purpose != "devices" || state.UserCode != "" || state.CallbackURL != ts.URL+"/v1/device/sso-complete" || state.Nonce == "" {
		t.Errorf("devices state envelope %+v, want purpose devices, no user_code, the sso-complete callback and a nonce", state)
	}
	st, body := b.list()
	if st != 200 || body["subject_email"] != ssoEmail || body["subject_issuer"] != ssoIssuer || body["csrf_token"] == "" || body["expires_at"] == nil {
		t.Fatalf("GET %s: %d %v", pathSSODevices, st, body)
	}
	if devices := listOf(t, body, "devices"); len(devices) != 0 {
		t.Errorf("a subject with no tokens lists %v", devices)
	}
}

func TestSSODevicesCookie(t *testing.T) {
	ts, acs, _ := startSSO(t)
	resp := ts.complete(acs.purposeAssertion("devices", ssoEmail, ssoIssuer))
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/account/devices?sso_verified=1" {
		t.Fatalf("sso-complete for devices: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := devicesCookie(resp)
	if c == nil || c.Path != pathSSODevices || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 600 || c.Secure {
		t.Fatalf("devices cookie %+v, want Path=%s HttpOnly SameSite=Lax Max-Age=600, not Secure over http", c, pathSSODevices)
	}
	if grantCookie(resp) != nil {
		t.Error("a devices sign-in touched the approval-grant cookie")
	}
	checkAntiFraming(t, resp)
}

func TestSSODevicesSecureUnderAnHTTPSPublicURL(t *testing.T) {
	ts, acs, _ := startSSO(t, func(c *server.Config) { c.PublicURL = "https://gatehouse.example.test" })
	ts.URL = "http://" + ts.Addr()
	if c := devicesCookie(ts.complete(acs.purposeAssertion("devices", ssoEmail, ssoIssuer))); c == nil || !c.Secure {
		t.Fatalf("devices cookie %+v, want Secure", c)
	}
}

// The subject sees its own dfoe_ tokens only: not the local account that
// shares its email, and not the same email at another issuer.
func TestSSODevicesListsOnlyTheSubjectsOwnTokens(t *testing.T) {
	ts, acs, _ := startSSO(t)
	w := seedSameEmail(t, ts, acs)
	st, body := ts.ssoDevicesSignIn().list()
	if st != 200 {
		t.Fatalf("GET %s: %d %v", pathSSODevices, st, body)
	}
	devices := listOf(t, body, "devices")
	if got, want := strings.Join(idsOf(devices), ","), tokenID(w.desktop)+","+tokenID(w.laptop); got != want {
		t.Fatalf("devices %s, want %s (own, newest first); not %s (local account) or %s (other issuer)",
			got, want, tokenID(w.local), tokenID(w.otherIdP))
	}
	for _, d := range devices {
		if p, _ := d["prefix"].(string); !strings.HasPrefix(p, "dfoe_") || d["client_name"] != "Gatehouse CLI" {
			t.Errorf("device %v: want a dfoe_ prefix and the client's name", d)
		}
	}
}

func TestSSODevicesRevokeOneOwnOnly(t *testing.T) {
	ts, acs, _ := startSSO(t)
	w := seedSameEmail(t, ts, acs)
	b := ts.ssoDevicesSignIn()
	for name, id := range map[string]string{"the local account's (same email)": tokenID(w.local),
		"the other issuer's (same email)": tokenID(w.otherIdP), "an unknown": "tok_doesnotexist"} {
		if st, out := b.post(pathSSORevoke1, `{"token_id":"`+id+`"}`, nil); st != 404 || out["error"] != "not_found" {
			t.Errorf("revoking %s token: %d %v, want 404 not_found", name, st, out)
		}
	}
	st, out := b.post(pathSSORevoke1, `{"token_id":"`+tokenID(w.laptop)+`"}`, nil)
	if st != 200 || out["revoked"] != true {
		t.Fatalf("revoking own laptop: %d %v", st, out)
	}
	if st, _, _ := ts.me(w.laptop["access_token"].(string)); st != http.StatusUnauthorized {
		t.Fatalf("revoked token: /v1/me %d, want 401", st)
	}
	for name, tok := range map[string]map[string]any{"own desktop": w.desktop, "local account": w.local, "other issuer": w.otherIdP} {
		if st, _, _ := ts.me(tok["access_token"].(string)); st != 200 {
			t.Errorf("%s token after revoking the laptop: /v1/me %d, want 200", name, st)
		}
	}
	if row, _ := ts.Store().TokenByID(tokenID(w.laptop)); row.RevokedReason != "revoked by holder" {
		t.Errorf("revoked reason %q", row.RevokedReason)
	}
	if _, body := b.list(); strings.Join(idsOf(listOf(t, body, "devices")), ",") != tokenID(w.desktop) {
		t.Errorf("after revoking the laptop the list is %v", body["devices"])
	}
}

func TestSSODevicesRevokeAllOwnOnly(t *testing.T) {
	ts, acs, _ := startSSO(t)
	w := seedSameEmail(t, ts, acs)
	b := ts.ssoDevicesSignIn()
	if st, out := b.post(pathSSORevokeAll, `{}`, nil); st != 200 || out["revoked"] != float64(2) {
		t.Fatalf("revoke-all: %d %v, want 2", st, out)
	}
	for name, tc := range map[string]struct {
		tok  map[string]any
		want int
	}{"own laptop": {w.laptop, 401}, "own desktop": {w.desktop, 401}, "local account": {w.local, 200}, "other issuer": {w.otherIdP, 200}} {
		if st, _, _ := ts.me(tc.tok["access_token"].(string)); st != tc.want {
			t.Errorf("%s token after revoke-all: /v1/me %d, want %d", name, st, tc.want)
		}
	}
}

func TestSSODevicesNeedCSRFAndOrigin(t *testing.T) {
	ts, acs, _ := startSSO(t)
	w := seedSameEmail(t, ts, acs)
	b := ts.ssoDevicesSignIn()
	body := `{"token_id":"` + tokenID(w.laptop) + `"}`
	for _, path := range []string{pathSSORevoke1, pathSSORevokeAll, pathSSODevicesLogout} {
		for name, hdr := range map[string]map[string]string{
			"no X-CSRF-Token":        {"X-CSRF-Token": ""},
			"wrong X-CSRF-Token":     {"X-CSRF-Token": "x" + b.csrf},
			"another site's Origin":  {"Origin": "https://evil.example"},
			"another site's Referer": {"Origin": "", "Referer": "https://evil.example/page"},
			"no Origin or Referer":   {"Origin": ""},
		} {
			if st, out := b.post(path, body, hdr); st != http.StatusForbidden || out["error"] != "csrf_failed" {
				t.Errorf("%s with %s: %d %v, want 403 csrf_failed", path, name, st, out)
			}
		}
	}
	if st, _, out := doWith(t, b.http, "GET", ts.URL+pathSSODevices, "", "", map[string]string{"Origin": "https://evil.example"}); st != 403 {
		t.Errorf("cross-site read: %d %v, want 403", st, out)
	}
	if st, _, _ := ts.me(w.laptop["access_token"].(string)); st != 200 {
		t.Fatalf("a refused revoke still revoked the token: /v1/me %d", st)
	}
	if st, _ := b.list(); st != 200 {
		t.Fatalf("a refused sign-out still signed out: %d", st)
	}
}

// Only a devices cookie opens the devices API: the other envelopes, a
// local session, a foreign key, an expired or overlong one are all 401;
// and the devices cookie opens nothing else.
func TestSSODevicesCookieRefusesOtherKinds(t *testing.T) {
	ts, acs, _ := startSSO(t)
	_, uc := ts.startFlow("laptop")
	stateTok, grantTok := artifacts(t, ts, acs, uc)
	now := ts.clock.Now()
	devices := func(ks *tokens.Keyset, issuer string, life time.Duration) string {
		return acs.sign(ks, tokens.Claims{Audience: tokens.AudDevicesSession, IssuedAt: jwt.NewNumericDate(now),
			Expiry: jwt.NewNumericDate(now.Add(life)), Nonce: "n", Email: ssoEmail, SubjectIssuer: issuer, CSRFToken: "c"})
	}
	for name, cookie := range map[string]string{
		"approval-grant cookie":           grantTok,
		"state envelope":                  stateTok,
		"subject assertion":               acs.purposeAssertion("devices", ssoEmail, ssoIssuer),
		"devices cookie under an unknown": devices(mustKeyset(t, "k9", ssoKey), ssoIssuer, time.Minute),
		"devices cookie for local issuer": devices(acs.keys, store.LocalIssuer, time.Minute),
		"devices cookie living a day":     devices(acs.keys, ssoIssuer, 24*time.Hour),
		"garbage":                         "x",
	} {
		expectNoDevicesSession(t, ts, name, cookie)
	}
	ada := ts.signIn(testEmail, testPassword)
	if st, out := ada.getJSON(pathSSODevices); st != 401 {
		t.Errorf("a local session on the SSO devices API: %d %v, want 401", st, out)
	}

	good := devicesCookie(ts.complete(acs.purposeAssertion("devices", ssoEmail, ssoIssuer))).Value
	hdr := map[string]string{"Cookie": server.SSOGrantCookie + "=" + good}
	if st, _, out := ts.do("GET", "/v1/oauth/device/approval-context", "", "", hdr); st != 401 {
		t.Errorf("devices cookie as the approval grant: %d %v, want 401", st, out)
	}
	if loc := ts.complete(good).Header.Get("Location"); loc != "/device?sso_error=invalid_assertion" {
		t.Errorf("devices cookie as an assertion: Location %q, want invalid_assertion", loc)
	}
	ts.clock.Advance(601 * time.Second)
	expectNoDevicesSession(t, ts, "devices cookie past its 10 minutes", good)
}

func expectNoDevicesSession(t *testing.T, ts *testServer, name, cookie string) {
	t.Helper()
	hdr := map[string]string{"Cookie": server.SSODevicesCookie + "=" + cookie, "X-CSRF-Token": "c"}
	if st, _, body := ts.do("GET", pathSSODevices, "", "", hdr); st != 401 || body["error"] != "unauthenticated" {
		t.Errorf("%s: GET %s %d %v, want 401 unauthenticated", name, pathSSODevices, st, body)
	}
	for _, path := range []string{pathSSORevoke1, pathSSORevokeAll} {
		if st, _, body := ts.do("POST", path, "application/json", `{"token_id":"x"}`, hdr); st != 401 {
			t.Errorf("%s: POST %s %d %v, want 401", name, path, st, body)
		}
	}
}

// The assertion nonce is single-use for a devices sign-in as for a code's.
func TestSSODevicesAssertionIsSingleUse(t *testing.T) {
	ts, acs, cfg := startSSO(t)
	a := acs.purposeAssertion("devices", ssoEmail, ssoIssuer)
	if loc := ts.complete(a).Header.Get("Location"); loc != "/account/devices?sso_verified=1" {
		t.Fatalf("first use: Location %q", loc)
	}
	replay := ts.complete(a)
	if loc := replay.Header.Get("Location"); loc != "/account/devices?sso_error=assertion_replayed" {
		t.Fatalf("replay: Location %q, want /account/devices?sso_error=assertion_replayed", loc)
	}
	if c := devicesCookie(replay); c == nil || c.MaxAge >= 0 {
		t.Errorf("a replay left devices cookie %+v, want it cleared", c)
	}
	ts = restart(t, ts, cfg)
	if loc := ts.complete(a).Header.Get("Location"); loc != "/account/devices?sso_error=assertion_replayed" {
		t.Fatalf("replay after restart: Location %q", loc)
	}
}

func TestSSODevicesAssertionShapes(t *testing.T) {
	ts, acs, _ := startSSO(t)
	_, uc := ts.startFlow("laptop")
	now := ts.clock.Now()
	both := acs.sign(acs.keys, tokens.Claims{Audience: tokens.AudSubjectAssertion, IssuedAt: jwt.NewNumericDate(now),
		Expiry: jwt.NewNumericDate(now.Add(time.Minute)), Nonce: "n1", Purpose: "devices", UserCode: normalized(t, uc),
		Email: ssoEmail, SubjectIssuer: ssoIssuer})
	for _, tc := range []struct{ name, assertion, want string }{
		{"purpose and a user_code", both, "/account/devices?sso_error=invalid_assertion"},
		{"an unknown purpose", acs.purposeAssertion("admin", ssoEmail, ssoIssuer), "/device?sso_error=invalid_assertion"},
		{"an issuer off the allow-list", acs.purposeAssertion("devices", ssoEmail, "https://evil.example"), "/account/devices?sso_error=issuer_not_allowed"},
		{"no email", acs.purposeAssertion("devices", "", ssoIssuer), "/account/devices?sso_error=missing_email"},
	} {
		resp := ts.complete(tc.assertion)
		if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || loc != tc.want || (devicesCookie(resp) != nil && devicesCookie(resp).MaxAge >= 0) {
			t.Errorf("%s: %d Location %q, want 302 to %s and no devices cookie", tc.name, resp.StatusCode, loc, tc.want)
		}
	}
}

func TestSSODevicesInitiate(t *testing.T) {
	ts, _, _ := startSSO(t)
	if resp := ts.get(noRedirects, "/v1/oauth/device/sso-initiate?purpose=devices", nil); resp.StatusCode != 302 || grantCookie(resp) != nil {
		t.Errorf("sso-initiate?purpose=devices: %d, want 302 leaving the grant cookie alone", resp.StatusCode)
	}
	for _, q := range []string{"purpose=admin", "purpose=devices&purpose=devices", "purpose=devices&user_code=BCDF-GHJK"} {
		if st, _, body := ts.do("GET", "/v1/oauth/device/sso-initiate?"+q, "", "", nil); st != 400 || body["error"] != "invalid_request" {
			t.Errorf("sso-initiate?%s: %d %v, want 400 invalid_request", q, st, body)
		}
	}
}

func TestSSODevicesSignOut(t *testing.T) {
	ts, _, _ := startSSO(t)
	b := ts.ssoDevicesSignIn()
	if st, out := b.post(pathSSODevicesLogout, `{}`, nil); st != 200 || out["status"] != "signed_out" {
		t.Fatalf("sign out: %d %v", st, out)
	}
	if st, body := b.list(); st != 401 {
		t.Fatalf("after signing out: %d %v, want 401", st, body)
	}
}

func TestSSODevicesRoutesAre404WhenOff(t *testing.T) {
	ts := startServer(t)
	_, _, unknown := ts.do("GET", "/v1/no-such-route", "", "", nil)
	for _, rt := range []struct{ method, path string }{{"GET", pathSSODevices}, {"POST", pathSSORevoke1},
		{"POST", pathSSORevokeAll}, {"POST", pathSSODevicesLogout}, {"GET", "/v1/oauth/device/sso-initiate?purpose=devices"}} {
		if st, _, body := ts.do(rt.method, rt.path, "application/json", `{}`, nil); st != 404 || body["error"] != unknown["error"] {
			t.Errorf("%s %s with SSO off: %d %v, want the unknown-route 404", rt.method, rt.path, st, body)
		}
	}
}

// ---- helpers ----

// sameEmail is one SSO subject's tokens next to tokens of the same email
// that belong to someone else.
type sameEmail struct {
	laptop, desktop map[string]any // the subject's (ssoEmail at ssoIssuer)
	local           map[string]any // the local account ssoEmail
	otherIdP        map[string]any // ssoEmail at otherIssuer
}

func seedSameEmail(t *testing.T, ts *testServer, acs *standInACS) sameEmail {
	t.Helper()
	if _, err := server.CreateAccount(ts.Store(), ssoEmail, "Grace", "member", testPassword, []string{"default"}, cheapArgon2, ts.clock.Now()); err != nil {
		t.Fatal(err)
	}
	var w sameEmail
	w.local = ts.approvedToken(ts.signIn(ssoEmail, testPassword), "laptop")
	w.laptop = ts.ssoToken("laptop")
	ts.clock.Advance(time.Minute)
	w.desktop = ts.ssoToken("desktop")
	acs.set(func(a *standInACS) { a.issuer = otherIssuer })
	w.otherIdP = ts.ssoToken("laptop")
	acs.set(func(a *standInACS) { a.issuer = ssoIssuer })
	return w
}

// purposeAssertion is the stand-in ACS's answer to a state that names a
// purpose instead of a user_code: the purpose echoed, no user_code.
func (a *standInACS) purposeAssertion(purpose, email, issuer string) string {
	now := a.clock()
	return a.sign(a.keys, tokens.Claims{Audience: tokens.AudSubjectAssertion, IssuedAt: jwt.NewNumericDate(now),
		Expiry: jwt.NewNumericDate(now.Add(2 * time.Minute)), Nonce: randomNonce(a.t),
		Purpose: purpose, Email: email, SubjectIssuer: issuer})
}

// ssoDevicesBrowser is a cookie-keeping client signed in to My devices
// through SSO.
type ssoDevicesBrowser struct {
	ts   *testServer
	http *http.Client
	csrf string
}

// ssoDevicesSignIn follows sso-initiate?purpose=devices through the ACS and
// back, and checks it lands on /account/devices?sso_verified=1.
func (ts *testServer) ssoDevicesSignIn() *ssoDevicesBrowser {
	ts.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &ssoDevicesBrowser{ts: ts, http: &http.Client{Jar: jar}}
	resp, err := b.http.Get(ts.URL + "/v1/oauth/device/sso-initiate?purpose=devices")
	if err != nil {
		ts.t.Fatalf("sso-initiate: %v", err)
	}
	resp.Body.Close()
	if got := resp.Request.URL; resp.StatusCode != 200 || got.Path != "/account/devices" || got.RawQuery != "sso_verified=1" {
		ts.t.Fatalf("SSO devices sign-in ended at %d %s, want 200 /account/devices?sso_verified=1", resp.StatusCode, got)
	}
	u, _ := url.Parse(ts.URL + pathSSODevices)
	if len(jar.Cookies(u)) != 1 {
		ts.t.Fatalf("cookies for %s after the SSO sign-in: %v, want the devices cookie", pathSSODevices, jar.Cookies(u))
	}
	st, body := b.list()
	b.csrf, _ = body["csrf_token"].(string)
	if st != 200 || b.csrf == "" {
		ts.t.Fatalf("GET %s after signing in: %d %v", pathSSODevices, st, body)
	}
	return b
}

func (b *ssoDevicesBrowser) list() (int, map[string]any) {
	b.ts.t.Helper()
	st, _, out := doWith(b.ts.t, b.http, "GET", b.ts.URL+pathSSODevices, "", "", nil)
	return st, out
}

// post sends a JSON body with the cookie, CSRF token and Origin, as the
// page's fetch does; hdr adds or overrides headers (an empty value removes
// one).
func (b *ssoDevicesBrowser) post(path, body string, hdr map[string]string) (int, map[string]any) {
	b.ts.t.Helper()
	h := map[string]string{"X-CSRF-Token": b.csrf, "Origin": b.ts.URL}
	for k, v := range hdr {
		h[k] = v
	}
	for k, v := range h {
		if v == "" {
			delete(h, k)
		}
	}
	st, _, out := doWith(b.ts.t, b.http, "POST", b.ts.URL+path, "application/json", body, h)
	return st, out
}

// devicesCookie returns the devices cookie a response sets, or nil.
func devicesCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == server.SSODevicesCookie {
			return c
		}
	}
	return nil
}
