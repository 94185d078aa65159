package server_test

// Hostile input that gets past authentication: every route that takes
// credentials receives malformed bodies and queries WITH valid credentials
// (signed-in session + X-CSRF-Token + Origin, SSO approval grant, SSO
// devices cookie, resource-server Basic, bearer), so the parsers behind the
// guards are what answers. Each body also names a live target (a pending
// user code, a live token id, a live token), so a parser that let anything
// through would show up as a state change. Each case runs on a fresh
// fixture per route and is compared against the store before and after it.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"gatehouse/server"
	"gatehouse/store"
)

// hostileFixture is one SSO-enabled server with every kind of credential
// and a live target for each state-changing route.
type hostileFixture struct {
	ts           *testServer
	ada, admin   *browser
	adaToken     string // ada's live dfoa_ token
	adaTokenID   string
	adminTokenID string // a live token of another subject (the admin)
	userCode     string // a pending code, also the SSO grant's code
	sso          *ssoBrowser
	ssoCSRF      string
	ssoDev       *ssoDevicesBrowser
	ssoTokenID   string // a live dfoe_ token of the SSO subject
	rsAuth       string // Basic credentials of a registered resource server
}

// noLimits turns every budget off, so a 429 can never stand in for the
// parser's answer.
func noLimits(c *server.Config) {
	c.Limits = server.DefaultLimits(c.DeviceCodeTTL, server.DefaultMaxPendingCodes)
	l := &c.Limits
	for _, f := range []*bool{&l.DeviceCode.Disabled, &l.GuessIP.Disabled, &l.GuessGlobal.Disabled, &l.ApproveAccount.Disabled,
		&l.ApproveSession.Disabled, &l.ApproveExternal.Disabled, &l.Bearer.Disabled, &l.SignInIP.Disabled,
		&l.SignInEmail.Disabled, &l.SSOInitiate.Disabled, &l.IntrospectAuth.Disabled} {
		*f = true
	}
}

func newHostileFixture(t *testing.T) *hostileFixture {
	t.Helper()
	ts, _, _ := startSSO(t, noLimits)
	f := &hostileFixture{ts: ts}
	f.ada = ts.signIn(testEmail, testPassword)
	f.admin = ts.signInAdmin()
	body := ts.approvedToken(f.ada, "laptop")
	f.adaToken, f.adaTokenID = body["access_token"].(string), body["token_id"].(string)
	f.adminTokenID = ts.approvedToken(f.admin, "admin-laptop")["token_id"].(string)
	f.ssoTokenID = ts.ssoToken("sso-laptop")["token_id"].(string)
	_, f.userCode = ts.startFlow("pending")
	f.sso = ts.ssoSignIn(f.userCode)
	f.ssoCSRF = f.sso.csrf()
	f.ssoDev = ts.ssoDevicesSignIn()
	f.rsAuth = basic("api", ts.addResource("api"))
	return f
}

// creds is how one route authenticates: a client (cookie jar) and headers.
type creds struct {
	client *http.Client
	hdr    map[string]string
}

func (f *hostileFixture) console(b *browser) creds {
	return creds{b.http, map[string]string{"X-CSRF-Token": b.csrf, "Origin": f.ts.URL}}
}

// authRoute is one route under test with its credentials and the parameter
// that names its live target ("" for a route that takes none).
type authRoute struct {
	method, path string
	creds        func(f *hostileFixture) creds // nil: the route takes none
	field        string
	target       func(f *hostileFixture) string
	// junkOK is the 200 body an RFC prescribes for a junk value of field
	// (introspection's {"active":false}, revocation's {}); "" if none.
	junkOK string
}

// expectation of one case.
type expect int

const (
	refused    expect = iota // 4xx JSON from the handler, past the credentials
	refusedAny               // 4xx JSON, from the router or the guard (methods, headers)
	harmless                 // any answer below 500; the route ignores the input
	pageError                // 302 to the page's error view
)

type authCase struct {
	name, method, path, ct, body string
	hdr                          map[string]string // merged over the credentials; "" sends the header empty
	want                         expect
	mayJunk                      bool // the route's junkOK answer is also right
}

func bodyCases(r authRoute, v string) []authCase {
	F := r.field
	huge := strings.Repeat("a", 1<<20)
	deep := strings.Repeat(`{"a":`, 100) + `"x"` + strings.Repeat("}", 100)
	kv := func(val string) string { // the target as a JSON member, or nothing
		if F == "" {
			return `"x":"` + val + `"`
		}
		return `"` + F + `":"` + val + `"`
	}
	fv := "x=" + url.QueryEscape(v)
	if F != "" {
		fv = F + "=" + url.QueryEscape(v)
	}
	c := func(name, ct, body string) authCase {
		return authCase{name: name, method: r.method, path: r.path, ct: ct, body: body, want: refused}
	}
	cases := []authCase{
		c("wrong content type", "text/plain", fv),
		c("no content type", "", fv),
		c("unparsable content type", "application/json; ===", `{`+kv(v)+`}`),
		c("duplicated form parameter", form, fv+"&"+fv),
		c("duplicated JSON key", "application/json", `{`+kv(v)+`,`+kv(v)+`}`),
		c("1 MB form body", form, fv+"&pad="+huge),
		c("1 MB JSON body", "application/json", `{`+kv(v)+`,"pad":"`+huge+`"}`),
		c("100-level JSON nesting", "application/json", `{`+kv(v)+`,"n":`+deep+`}`),
		c("invalid UTF-8 in JSON", "application/json", "{"+kv(v)+",\"x2\":\"\xff\xfe\"}"),
		c("invalid UTF-8 in form", form, fv+"&x2=%ff%fe"),
		c("not JSON at all", "application/json", `{`+kv(v)+`,`),
		c("JSON array", "application/json", `[`+kv(v)[:strings.Index(kv(v), ":")]+`,"`+v+`"]`),
		c("trailing JSON value", "application/json", `{`+kv(v)+`}{`+kv(v)+`}`),
		c("JSON object as value", "application/json", `{"`+orX(F)+`":{"v":"`+v+`"}}`),
		c("JSON array as value", "application/json", `{"`+orX(F)+`":["`+v+`"]}`),
		{name: "GET on a POST route", method: "GET", path: r.path, want: refusedAny},
		{name: "PUT on a POST route", method: "PUT", path: r.path, ct: "application/json", body: `{` + kv(v) + `}`, want: refusedAny},
		{name: "DELETE on a POST route", method: "DELETE", path: r.path, want: refusedAny},
	}
	if F != "" {
		// A route without parameters rightly takes {} (logout, revoke-all);
		// one with a parameter must not act without it or on a mangled one.
		cases = append(cases,
			c("missing fields", "application/json", `{}`),
			c("null target", "application/json", `{"`+F+`":null}`),
			authCase{name: "NUL byte in the target (form)", method: r.method, path: r.path, ct: form, body: F + "=" + url.QueryEscape(v) + "%00", want: refused, mayJunk: true},
			authCase{name: "NUL byte in the target (JSON)", method: r.method, path: r.path, ct: "application/json", body: `{"` + F + `":"` + v + `\u0000"}`, want: refused, mayJunk: true},
			authCase{name: "5000-byte target", method: r.method, path: r.path, ct: form, body: F + "=" + strings.Repeat("A", 5000), want: refused, mayJunk: true},
			c("target in the query, not the body", "application/json", `{}`),
		)
		cases[len(cases)-1].path = r.path + "?" + F + "=" + url.QueryEscape(v)
	}
	return cases
}

func orX(s string) string {
	if s == "" {
		return "x"
	}
	return s
}

// headerCases send a well-formed request with one credential part wrong.
func headerCases(r authRoute, f *hostileFixture, v string) []authCase {
	F := orX(r.field)
	body := url.Values{F: {v}}.Encode()
	c := func(name string, hdr map[string]string) authCase {
		return authCase{name: name, method: r.method, path: r.path, ct: form, body: body, hdr: hdr, want: refusedAny}
	}
	switch {
	case r.creds == nil:
		return nil
	case strings.HasPrefix(r.path, "/v1/oauth/introspect"):
		return []authCase{
			c("wrong resource secret", map[string]string{"Authorization": basic("api", "wrong")}),
			c("unknown resource server", map[string]string{"Authorization": basic("nobody", "x")}),
			c("bearer instead of Basic", map[string]string{"Authorization": "Bearer " + f.adaToken}),
		}
	default: // cookie routes: CSRF and Origin
		return []authCase{
			c("missing X-CSRF-Token", map[string]string{"X-CSRF-Token": ""}),
			c("wrong X-CSRF-Token", map[string]string{"X-CSRF-Token": "x" + strings.Repeat("A", 42)}),
			c("no Origin or Referer", map[string]string{"Origin": ""}),
			c("forged Origin", map[string]string{"Origin": "https://evil.example"}),
			c("Origin null", map[string]string{"Origin": "null"}),
		}
	}
}

func hostileAuthRoutes() []authRoute {
	ada := func(f *hostileFixture) creds { return f.console(f.ada) }
	admin := func(f *hostileFixture) creds { return f.console(f.admin) }
	grant := func(f *hostileFixture) creds {
		return creds{f.sso.http, map[string]string{"X-CSRF-Token": f.ssoCSRF, "Origin": f.ts.URL}}
	}
	ssoDev := func(f *hostileFixture) creds {
		return creds{f.ssoDev.http, map[string]string{"X-CSRF-Token": f.ssoDev.csrf, "Origin": f.ts.URL}}
	}
	rs := func(f *hostileFixture) creds {
		return creds{http.DefaultClient, map[string]string{"Authorization": f.rsAuth}}
	}
	uc := func(f *hostileFixture) string { return f.userCode }
	adaID := func(f *hostileFixture) string { return f.adaTokenID }
	ssoID := func(f *hostileFixture) string { return f.ssoTokenID }
	tok := func(f *hostileFixture) string { return f.adaToken }
	none := func(*hostileFixture) string { return "x" }
	return []authRoute{
		{"POST", "/console/api/oauth/device/approve", ada, "user_code", uc, ""},
		{"POST", "/console/api/oauth/device/deny", ada, "user_code", uc, ""},
		{"POST", "/console/api/logout", ada, "", none, ""},
		{"POST", "/console/api/devices/revoke", ada, "token_id", adaID, ""},
		{"POST", "/console/api/devices/revoke-all", ada, "", none, ""},
		{"POST", "/console/api/admin/revoke", admin, "token_id", adaID, ""},
		{"POST", "/v1/oauth/device/approve-external", grant, "user_code", uc, ""},
		{"POST", "/v1/oauth/device/deny-external", grant, "user_code", uc, ""},
		{"POST", "/console/api/sso-devices/revoke", ssoDev, "token_id", ssoID, ""},
		{"POST", "/console/api/sso-devices/revoke-all", ssoDev, "", none, ""},
		{"POST", "/console/api/sso-devices/signout", ssoDev, "", none, ""},
		{"POST", "/v1/oauth/introspect", rs, "token", tok, `{"active":false}`},
		{"POST", "/v1/oauth/revoke", nil, "token", tok, `{}`},
	}
}

// getCases are the GET routes (and DELETE by id): query, path and header
// abuse with valid credentials, plus the operations endpoints.
func getCases(f *hostileFixture) []authCase {
	bearer := map[string]string{"Authorization": "Bearer " + f.adaToken}
	cases := []authCase{}
	add := func(want expect, method, path string, hdr map[string]string, names ...string) {
		name := "query or path"
		if len(names) > 0 {
			name = names[0]
		}
		cases = append(cases, authCase{name: name, method: method, path: path, hdr: hdr, want: want})
	}
	// Admin reads with the admin session: query parameters are parsed.
	for _, q := range []string{"email=a&email=b", "client=a&client=b", "issuer=a&issuer=b", "email=" + strings.Repeat("e", 255),
		"client=" + strings.Repeat("c", 255), "%zz", "email=%zz"} {
		add(refused, "GET", "/console/api/admin/tokens?"+q, nil)
	}
	for _, q := range []string{"limit=0", "limit=-1", "limit=1001", "limit=1e3", "limit=99999999999999999999", "limit=abc",
		"limit=1&limit=2", "limit=%00", "limit=1%00", "limit=%ff", "%zz", "limit=%205"} {
		add(refused, "GET", "/console/api/admin/audit?"+q, nil)
	}
	for _, q := range []string{"email=%00", "email=%ff%fe", "client=<script>"} {
		add(harmless, "GET", "/console/api/admin/tokens?"+q, nil)
	}
	for _, p := range []string{"/console/api/devices", "/console/api/admin/tokens", "/console/api/admin/audit", "/console/api/admin/stats",
		"/console/api/admin/daily", "/console/api/sso-devices"} {
		add(refusedAny, "GET", p, map[string]string{"Origin": "https://evil.example"}, "forged Origin on a read")
		add(refusedAny, "POST", p, nil, "POST on a GET route")
		add(refusedAny, "DELETE", p, nil, "DELETE on a GET route")
		add(harmless, "GET", p+"?%zz&a=%00&b=%ff", nil, "ignored junk query")
	}
	add(refusedAny, "POST", "/console/api/session", nil, "POST on a GET route")
	add(refusedAny, "POST", "/v1/oauth/device/approval-context", nil, "POST on a GET route")
	add(harmless, "GET", "/v1/oauth/device/approval-context?user_code=BCDFGHJK&user_code=%00", nil, "ignored junk query")

	// SSO hand-off: no credentials; the query is all there is.
	for _, q := range []string{"user_code=%00%ff", "user_code=a&user_code=b", "user_code=" + strings.Repeat("B", 5000), "user_code=<script>",
		"%zz", "", "purpose=bogus", "purpose=devices&purpose=devices", "purpose=%00", "user_code=BCDFGHJK", "purpose=" + strings.Repeat("p", 5000)} {
		add(refusedAny, "GET", "/v1/oauth/device/sso-initiate?"+q, nil, "sso-initiate query")
	}
	for _, q := range []string{"sso_assertion=junk", "sso_assertion=%00", "sso_assertion=" + strings.Repeat("e", 5000), "sso_assertion=a&sso_assertion=b",
		"%zz", "", "sso_assertion=eyJhbGciOiJub25lIn0.e30.", "sso_assertion=%ff%fe.%ff.%ff"} {
		add(pageError, "GET", "/v1/device/sso-complete?"+q, nil, "sso-complete query")
	}
	add(refusedAny, "POST", "/v1/device/sso-complete?sso_assertion=junk", nil, "POST on a GET route")
	add(refusedAny, "POST", "/v1/oauth/device/sso-initiate?user_code="+f.userCode, nil, "POST on a GET route")

	// Bearer routes with a valid bearer.
	for _, p := range []string{"/v1/me", "/v1/oauth/authorizations", "/v1/auth/verify"} {
		add(refusedAny, "POST", p, bearer, "POST on a GET route")
		add(refusedAny, "PUT", p, bearer, "PUT on a GET route")
	}
	for _, q := range []string{"scope=a&scope=b", "%zz", "scope=%00", "scope=%ff", "scope=" + strings.Repeat("s", 5000)} {
		add(refused, "GET", "/v1/auth/verify?"+q, bearer)
	}
	add(refusedAny, "DELETE", "/v1/oauth/authorizations/self%2f", bearer, "DELETE self/ (no such route)")
	for _, id := range []string{"%00", "%ff%fe", strings.Repeat("i", 5000), "SELF", "self%00", "self%20", "%2e%2e",
		url.PathEscape(f.adminTokenID), url.PathEscape(f.ssoTokenID), url.PathEscape(f.adaTokenID) + "%00"} {
		add(refused, "DELETE", "/v1/oauth/authorizations/"+id, bearer, "DELETE another or a mangled id")
	}
	del := authCase{name: "DELETE a mangled id with a body naming self", method: "DELETE", path: "/v1/oauth/authorizations/nope",
		ct: "application/json", body: `{"id":"self","token_id":"` + f.adaTokenID + `"}`, hdr: bearer, want: refused}
	cases = append(cases, del)
	add(refusedAny, "DELETE", "/v1/oauth/authorizations/", bearer, "DELETE with an empty id")
	add(refusedAny, "DELETE", "/v1/oauth/authorizations/self/x", bearer, "DELETE below an id")
	add(refusedAny, "POST", "/v1/oauth/authorizations/self", bearer, "POST on a DELETE route")
	add(refusedAny, "DELETE", "/v1/oauth/authorizations/self", map[string]string{"Authorization": "Basic " + f.adaToken}, "DELETE self with Basic")
	add(refusedAny, "DELETE", "/v1/oauth/authorizations/self", map[string]string{"Authorization": "Bearer " + f.adaToken + "x"}, "DELETE self with a bad bearer")

	// Operations.
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
			add(refusedAny, m, p, nil, m+" on an operations route")
		}
		add(harmless, "GET", p+"?%zz&a=%00&verbose=1&verbose=2", map[string]string{"X-Forwarded-For": "%00", "Accept": "\xff"}, "junk query and headers")
	}
	return cases
}

// stateDump is every bucket's contents, with token rows read through the
// store and their usage stamps (batched bookkeeping, not state a request
// may not touch) left out.
func stateDump(t *testing.T, ts *testServer) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := ts.Store().DB().View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if string(name) == "tokens" {
				return nil
			}
			h := sha256.New()
			var walk func(b *bolt.Bucket) error
			walk = func(b *bolt.Bucket) error {
				return b.ForEach(func(k, v []byte) error {
					if string(name) == "meta" && string(k) == "ready_probe" {
						return nil // /readyz proves the file writable on every call
					}
					fmt.Fprintf(h, "%q=%q;", k, v)
					if v == nil {
						return walk(b.Bucket(k))
					}
					return nil
				})
			}
			if err := walk(b); err != nil {
				return err
			}
			out[string(name)] = hex.EncodeToString(h.Sum(nil))[:16]
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ts.Store().ListTokens(store.TokenFilter{IncludeDead: true})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range rows {
		lines = append(lines, fmt.Sprintf("%s %s exp=%s rot=%s rev=%s %s", r.ID, r.Hash, r.ExpiresAt, r.RotatedAt, r.RevokedAt, r.RevokedReason))
	}
	sort.Strings(lines)
	out["tokens"] = strings.Join(lines, "\n")
	return out
}

func diffState(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, k)
		}
	}
	sort.Strings(d)
	return d
}

// runAuthCase sends c with cr (nil: no credentials) and checks the answer.
// It reports whether the request was acted on (a 2xx where a refusal was
// due, or a state change), which may have spent the fixture.
func runAuthCase(t *testing.T, f *hostileFixture, c authCase, cr *creds, junkOK string) (actedOn bool) {
	t.Helper()
	client, hdr := http.DefaultClient, map[string]string{}
	if cr != nil {
		client = cr.client
		for k, v := range cr.hdr {
			hdr[k] = v
		}
	}
	for k, v := range c.hdr {
		hdr[k] = v
	}
	before := stateDump(t, f.ts)
	st, h, body := doRaw(t, client, c.method, f.ts.URL+c.path, c.ct, c.body, hdr)
	if d := diffState(before, stateDump(t, f.ts)); len(d) > 0 {
		actedOn = true
		t.Errorf("state changed in %v (answer %d %v)", d, st, body)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("security headers missing: %v", h)
	}
	if st >= 500 {
		t.Fatalf("status %d %v", st, body)
	}
	switch c.want {
	case harmless:
		return actedOn
	case pageError:
		if loc := h.Get("Location"); st != http.StatusFound || !strings.HasPrefix(loc, "/device?sso_error=") {
			t.Fatalf("answer %d Location %q, want 302 to the device page's error view", st, loc)
		}
		return actedOn
	}
	if c.mayJunk && junkOK != "" && st == 200 {
		if got := canonJSON(body); got != junkOK {
			t.Fatalf("200 %s, want 4xx or exactly %s", got, junkOK)
		}
		return actedOn
	}
	if st < 400 || st > 499 {
		t.Errorf("status %d %v, want 4xx", st, body)
		return st < 300
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	if c.method != "HEAD" && (body == nil || body["error"] == nil) {
		t.Fatalf("4xx without an error code: %v", body)
	}
	if c.want != refused {
		return actedOn
	}
	if guardErrors[fmt.Sprint(body["error"])] {
		t.Fatalf("answer %d %v came from a guard, not the parser", st, body)
	}
	if cr == nil {
		return actedOn
	}
	// The credentials must have been accepted: the same request without
	// them must get another answer (else the parser was never reached).
	anon := map[string]string{}
	for k, v := range c.hdr {
		anon[k] = v
	}
	if c.method != "GET" && c.method != "HEAD" {
		anon["Origin"] = f.ts.URL
	}
	delete(anon, "Authorization")
	delete(anon, "X-CSRF-Token")
	ast, _, abody := doRaw(t, http.DefaultClient, c.method, f.ts.URL+c.path, c.ct, c.body, anon)
	if ast == st && fmt.Sprint(abody["error"]) == fmt.Sprint(body["error"]) {
		t.Fatalf("answer %d %v is the same without credentials (%d %v): the credentials were not accepted", st, body, ast, abody)
	}
	return actedOn
}

// guardErrors are the codes of the answers given before a handler reads its
// input: credentials, CSRF and Origin, role, method, budgets.
var guardErrors = map[string]bool{"unauthenticated": true, "csrf_failed": true, "sso_session_expired": true,
	"session_already_consumed": true, "invalid_client": true, "invalid_token": true, "forbidden": true,
	"method_not_allowed": true, "rate_limited": true}

// doRaw is doWith without following redirects.
func doRaw(t *testing.T, c *http.Client, method, u, ct, body string, hdr map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return doWith(t, &nc, method, u, ct, body, hdr)
}

func canonJSON(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%q:%v", k, m[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TestHostileInputWithCredentials: malformed bodies reach the parsers of
// every authenticated POST route (and the revocation endpoint) with a live
// target named; each answer is a 4xx JSON error given past the
// credentials, and nothing in the store changes.
func TestHostileInputWithCredentials(t *testing.T) {
	for _, r := range hostileAuthRoutes() {
		t.Run(r.method+" "+strings.ReplaceAll(strings.TrimPrefix(r.path, "/"), "/", "."), func(t *testing.T) {
			f := newHostileFixture(t)
			var cr *creds
			if r.creds != nil {
				c := r.creds(f)
				cr = &c
			}
			v := r.target(f)
			cases := append(bodyCases(r, v), headerCases(r, f, v)...)
			for i, c := range cases {
				var acted bool
				t.Run(c.method+" "+c.name, func(t *testing.T) { acted = runAuthCase(t, f, c, cr, r.junkOK) })
				if acted {
					// The session, grant or target may be gone: later cases
					// would test nothing.
					t.Fatalf("%q was acted on; the %d cases after it were not run", c.name, len(cases)-i-1)
				}
			}
			// The fixture is still whole: the credentials and the target
			// survived every case (a positive control for the refusals).
			if r.creds != nil && strings.HasPrefix(r.path, "/console/api/") && !strings.Contains(r.path, "sso-devices") {
				if st, _, body := doWith(t, cr.client, "GET", f.ts.URL+"/console/api/session", "", "", nil); st != 200 {
					t.Errorf("session after the cases: %d %v", st, body)
				}
			}
			if st, _, _ := f.ts.me(f.adaToken); st != 200 {
				t.Errorf("ada's token after the cases: %d", st)
			}
		})
	}
}

// TestHostileQueriesWithCredentials: GET (and DELETE-by-id) routes with
// valid credentials, the SSO hand-off routes, and the operations
// endpoints get malformed queries, paths, methods and headers.
func TestHostileQueriesWithCredentials(t *testing.T) {
	f := newHostileFixture(t)
	ssoDevCreds := &creds{f.ssoDev.http, nil}
	adminCreds := &creds{f.admin.http, nil}
	grantCreds := &creds{f.sso.http, nil}
	for _, c := range getCases(f) {
		t.Run(c.method+" "+shorten(c.path)+" "+c.name, func(t *testing.T) {
			cr := &creds{http.DefaultClient, nil}
			switch {
			case strings.HasPrefix(c.path, "/console/api/sso-devices"):
				cr = ssoDevCreds
			case strings.HasPrefix(c.path, "/console/api/"):
				cr = adminCreds
			case strings.HasPrefix(c.path, "/v1/oauth/device/approval-context"):
				cr = grantCreds
			case c.hdr["Authorization"] != "":
				cr = &creds{http.DefaultClient, map[string]string{}}
			case c.want == refused:
				t.Fatal("a refused case needs credentials")
			default:
				cr = nil
			}
			if runAuthCase(t, f, c, cr, "") {
				t.Error("acted on")
			}
		})
	}
}
