package server_test

// Helpers for the SSO tests: a stand-in assertion consumer service (ACS)
// that shares Gatehouse's HS256 key, and a cookie-keeping browser that
// follows redirects through it.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"gatehouse/server"
	"gatehouse/tokens"
)

const (
	ssoKID    = "k1"
	ssoIssuer = "https://idp.example.test"
	ssoEmail  = "grace@corp.example.test"
)

var ssoKey = bytes.Repeat([]byte{0x5a}, tokens.MinJWSKeyLen)

// standInACS plays the organisation's ACS: POST /initiate verifies the
// signed state and answers {"url": base/login?state=...}; GET /login
// verifies it again and sends the browser to the state's idp_callback_url
// with a freshly signed subject assertion (or, with linkPage, shows a page
// with a link there, like an IdP consent screen).
type standInACS struct {
	t        *testing.T
	srv      *httptest.Server
	keys     *tokens.Keyset
	linkPage bool

	mu      sync.Mutex
	base    string // where /login is advertised; may name another host than srv
	now     func() time.Time
	email   string
	issuer  string
	states  []tokens.Claims
	rawLast string
	answer  func(w http.ResponseWriter, loginURL string) // nil: 200 {"url": loginURL}
}

func newStandInACS(t *testing.T) *standInACS {
	t.Helper()
	ks, err := tokens.NewKeyset(ssoKID, map[string][]byte{ssoKID: ssoKey})
	if err != nil {
		t.Fatal(err)
	}
	a := &standInACS{t: t, keys: ks, now: time.Now, email: ssoEmail, issuer: ssoIssuer}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /initiate", a.initiate)
	mux.HandleFunc("GET /login", a.login)
	a.srv = httptest.NewServer(mux)
	a.base = a.srv.URL
	t.Cleanup(a.srv.Close)
	return a
}

func (a *standInACS) initiate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SignedState string `json:"signed_state"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil || r.Header.Get("Content-Type") != "application/json" {
		a.t.Errorf("ACS: initiate body is not {\"signed_state\": ...} JSON: %v", err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	c, ok := a.verifyState(w, in.SignedState)
	if !ok {
		return
	}
	a.mu.Lock()
	a.states, a.rawLast = append(a.states, c), in.SignedState
	loginURL, answer := a.base+"/login?state="+url.QueryEscape(in.SignedState), a.answer
	a.mu.Unlock()
	if answer != nil {
		answer(w, loginURL)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"url": loginURL})
}

func (a *standInACS) login(w http.ResponseWriter, r *http.Request) {
	st, ok := a.verifyState(w, r.URL.Query().Get("state"))
	if !ok {
		return
	}
	a.mu.Lock()
	email, issuer := a.email, a.issuer
	a.mu.Unlock()
	assertion := a.assertion(st.UserCode, email, issuer)
	if st.Purpose != "" {
		assertion = a.purposeAssertion(st.Purpose, email, issuer) // devices_sso_test.go
	}
	target := st.CallbackURL + "?sso_assertion=" + url.QueryEscape(assertion)
	if !a.linkPage {
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>Corp IdP</title><p>Signed in as %s.</p><a id="continue" href="%s">Continue to Gatehouse</a>`,
		email, strings.ReplaceAll(target, "&", "&amp;"))
}

// verifyState checks a state envelope with the shared key, as a real ACS
// must; on failure it answers 400 and fails the test.
func (a *standInACS) verifyState(w http.ResponseWriter, state string) (tokens.Claims, bool) {
	c, err := a.keys.Verify(state, tokens.AudStateEnvelope, a.clock(), 10*time.Minute)
	if err == nil && (c.CallbackURL == "" || (c.UserCode == "") == (c.Purpose == "")) {
		err = fmt.Errorf("state lacks idp_callback_url, or has not exactly one of user_code and purpose: %+v", c)
	}
	if err != nil {
		a.t.Errorf("ACS: state envelope refused: %v", err)
		http.Error(w, "bad state", http.StatusBadRequest)
		return c, false
	}
	return c, true
}

func (a *standInACS) clock() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.now()
}

// assertion signs a fresh subject assertion (2-minute lifetime).
func (a *standInACS) assertion(userCode, email, issuer string) string {
	now := a.clock()
	return a.sign(a.keys, tokens.Claims{Audience: tokens.AudSubjectAssertion, IssuedAt: jwt.NewNumericDate(now),
		Expiry: jwt.NewNumericDate(now.Add(2 * time.Minute)), Nonce: randomNonce(a.t),
		UserCode: userCode, Email: email, SubjectIssuer: issuer})
}

// sign may run on the ACS's goroutine, so it reports with Errorf only.
func (a *standInACS) sign(ks *tokens.Keyset, c tokens.Claims) string {
	a.t.Helper()
	tok, err := ks.Sign(c)
	if err != nil {
		a.t.Errorf("sign: %v", err)
	}
	return tok
}

// lastState is the last state envelope the ACS received, raw and decoded.
func (a *standInACS) lastState() (string, tokens.Claims) {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.states) == 0 {
		a.t.Fatal("the ACS received no state envelope")
	}
	return a.rawLast, a.states[len(a.states)-1]
}

func (a *standInACS) set(f func(a *standInACS)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

func randomNonce(t *testing.T) string {
	n, err := tokens.RandomString(16)
	if err != nil {
		t.Error(err)
	}
	return n
}

// withSSO turns SSO on against the stand-in ACS.
func withSSO(acs *standInACS) func(*server.Config) {
	return func(c *server.Config) {
		c.SSO = server.SSOConfig{ACSURL: acs.srv.URL + "/initiate", Keys: map[string][]byte{ssoKID: ssoKey},
			Issuers: []string{"https://other-idp.example.test", ssoIssuer}}
	}
}

// startSSO starts a server with SSO on and a stand-in ACS on its clock. It
// also returns the config the server started with, for restarts.
func startSSO(t *testing.T, mods ...func(*server.Config)) (*testServer, *standInACS, *server.Config) {
	t.Helper()
	acs := newStandInACS(t)
	var cfg server.Config
	capture := func(c *server.Config) { cfg = *c }
	all := append(append([]func(*server.Config){withSSO(acs)}, mods...), capture)
	ts := startServer(t, all...)
	acs.set(func(a *standInACS) { a.now = cfg.Now }) // the fake clock, or time.Now with realClock
	return ts, acs, &cfg
}

// restart closes ts and starts a new server on the same data dir and clock.
func restart(t *testing.T, ts *testServer, cfg *server.Config) *testServer {
	t.Helper()
	if err := ts.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s, err := server.Start(*cfg)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return &testServer{Server: s, t: t, URL: s.URL(), clock: ts.clock}
}

// noRedirects is a client that shows each redirect instead of following it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get does one GET without following redirects.
func (ts *testServer) get(c *http.Client, path string, hdr map[string]string) *http.Response {
	ts.t.Helper()
	req, err := http.NewRequest("GET", ts.URL+path, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if h := hdr["Host"]; h != "" {
		req.Host = h
	}
	resp, err := c.Do(req)
	if err != nil {
		ts.t.Fatalf("GET %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// complete presents an assertion to sso-complete and returns the response.
func (ts *testServer) complete(assertion string) *http.Response {
	ts.t.Helper()
	return ts.get(noRedirects, "/v1/device/sso-complete?sso_assertion="+url.QueryEscape(assertion), nil)
}

// grantCookie returns the approval-grant cookie a response sets, or nil.
func grantCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == server.SSOGrantCookie {
			return c
		}
	}
	return nil
}

// ssoBrowser is a cookie-keeping client that went through the SSO branch.
type ssoBrowser struct {
	ts   *testServer
	http *http.Client
	jar  *cookiejar.Jar
}

// ssoSignIn follows sso-initiate through the ACS and back, and checks it
// lands on /device?sso_verified=1 holding the grant cookie.
func (ts *testServer) ssoSignIn(userCode string) *ssoBrowser {
	ts.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &ssoBrowser{ts: ts, http: &http.Client{Jar: jar, Transport: sendsOrigin{origin: ts.URL}}, jar: jar}
	resp, err := b.http.Get(ts.URL + "/v1/oauth/device/sso-initiate?user_code=" + url.QueryEscape(userCode))
	if err != nil {
		ts.t.Fatalf("sso-initiate: %v", err)
	}
	resp.Body.Close()
	if got := resp.Request.URL; resp.StatusCode != 200 || got.Path != "/device" || got.RawQuery != "sso_verified=1" {
		ts.t.Fatalf("SSO journey ended at %d %s, want 200 /device?sso_verified=1", resp.StatusCode, got)
	}
	if b.grant() == "" {
		ts.t.Fatal("no approval-grant cookie after the SSO journey")
	}
	return b
}

// grant is the current approval-grant cookie value in the jar.
func (b *ssoBrowser) grant() string {
	u, _ := url.Parse(b.ts.URL + "/v1/oauth/device/approval-context")
	for _, c := range b.jar.Cookies(u) {
		if c.Name == server.SSOGrantCookie {
			return c.Value
		}
	}
	return ""
}

func (b *ssoBrowser) context() (int, map[string]any) {
	b.ts.t.Helper()
	st, _, body := doWith(b.ts.t, b.http, "GET", b.ts.URL+"/v1/oauth/device/approval-context", "", "", nil)
	return st, body
}

// csrf reads the CSRF token from approval-context.
func (b *ssoBrowser) csrf() string {
	b.ts.t.Helper()
	st, body := b.context()
	tok, _ := body["csrf_token"].(string)
	if st != 200 || tok == "" {
		b.ts.t.Fatalf("approval-context: %d %v", st, body)
	}
	return tok
}

// resolve posts approve-external or deny-external with extra headers.
func (b *ssoBrowser) resolve(action, userCode string, hdr map[string]string) (int, map[string]any) {
	b.ts.t.Helper()
	body, _ := json.Marshal(map[string]string{"user_code": userCode})
	st, _, out := doWith(b.ts.t, b.http, "POST", b.ts.URL+"/v1/oauth/device/"+action+"-external", "application/json", string(body), hdr)
	return st, out
}

// ssoToken runs a whole SSO flow for label and returns the poll's body.
func (ts *testServer) ssoToken(label string) map[string]any {
	ts.t.Helper()
	dc, uc := ts.startFlow(label)
	b := ts.ssoSignIn(uc)
	if st, out := b.resolve("approve", uc, map[string]string{"X-CSRF-Token": b.csrf()}); st != 200 || out["status"] != "approved" {
		ts.t.Fatalf("approve-external: %d %v", st, out)
	}
	ts.clock.Advance(6 * time.Second)
	st, body := ts.poll(dc)
	if st != 200 {
		ts.t.Fatalf("poll after SSO approve: %d %v", st, body)
	}
	return body
}
