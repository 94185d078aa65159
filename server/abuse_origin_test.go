package server_test

import (
	"net/http"
	"strings"
	"testing"

	"gatehouse/server"
)

// sendsOrigin makes a test client behave like a browser on the public URL:
// every request that is not GET or HEAD carries Origin, unless the test set
// Origin or Referer itself (an empty value sends none).
type sendsOrigin struct{ origin string }

func (o sendsOrigin) RoundTrip(r *http.Request) (*http.Response, error) {
	_, hasOrigin := r.Header["Origin"]
	_, hasReferer := r.Header["Referer"]
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !hasOrigin && !hasReferer {
		r = r.Clone(r.Context())
		r.Header.Set("Origin", o.origin)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestCookiePOSTNeedsOriginOrReferer: a session-cookie POST with the right
// CSRF token is still refused when it says nowhere where it came from; a
// same-origin Referer or Origin lets it through.
func TestCookiePOSTNeedsOriginOrReferer(t *testing.T) {
	ts := startServer(t)
	ada := ts.signIn(testEmail, testPassword)
	cases := []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"neither Origin nor Referer", map[string]string{"Origin": ""}, http.StatusForbidden},
		{"Origin null", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"another site's Origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"another site's Referer", map[string]string{"Referer": "https://evil.example/device"}, http.StatusForbidden},
		{"same-origin Referer", map[string]string{"Referer": ts.URL + "/device?user_code=x"}, http.StatusOK},
		{"same Origin", map[string]string{"Origin": ts.URL}, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, uc := ts.startFlow("laptop")
			hdr := map[string]string{"X-CSRF-Token": ada.csrf}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			st, _, out := doWith(t, ada.http, "POST", ts.URL+"/console/api/oauth/device/approve", "application/json",
				`{"user_code":"`+uc+`"}`, hdr)
			if st != tc.want {
				t.Fatalf("approve with %s: %d %v, want %d", tc.name, st, out, tc.want)
			}
			if tc.want == http.StatusForbidden && out["error"] != "csrf_failed" {
				t.Fatalf("approve with %s: %v, want csrf_failed", tc.name, out)
			}
		})
	}
}

// TestLogoutRefusesAMalformedBody: the page sends no body; a body that is
// sent must parse, or the session survives.
func TestLogoutRefusesAMalformedBody(t *testing.T) {
	ts := startServer(t)
	ada := ts.signIn(testEmail, testPassword)
	for _, bad := range []struct{ ct, body string }{
		{"text/plain", "x"}, {"", "junk"}, {"application/json", `{"a":"1","a":"2"}`}, {"application/json", `[`},
	} {
		st, _, out := doWith(t, ada.http, "POST", ts.URL+"/console/api/logout", bad.ct, bad.body, map[string]string{"X-CSRF-Token": ada.csrf})
		if st != http.StatusBadRequest {
			t.Fatalf("logout with %q body %q: %d %v, want 400", bad.ct, bad.body, st, out)
		}
	}
	if st, _, _ := doWith(t, ada.http, "GET", ts.URL+"/console/api/session", "", "", nil); st != 200 {
		t.Fatalf("a refused logout ended the session: /console/api/session %d", st)
	}
	if st, _, out := doWith(t, ada.http, "POST", ts.URL+"/console/api/logout", "", "", map[string]string{"X-CSRF-Token": ada.csrf}); st != 200 {
		t.Fatalf("logout as the page sends it (no body): %d %v", st, out)
	}
	if st, _, _ := doWith(t, ada.http, "GET", ts.URL+"/console/api/session", "", "", nil); st != 401 {
		t.Fatalf("after logout /console/api/session answered %d, want 401", st)
	}
}

// TestSessionCookieIsSecureUnderHTTPS: the sign-in cookie is Secure when the
// public URL is https or a trusted proxy says the request was; a spoofed
// X-Forwarded-Proto from an untrusted peer changes nothing.
func TestSessionCookieIsSecureUnderHTTPS(t *testing.T) {
	cases := []struct {
		name       string
		publicURL  string
		trusted    string
		hdr        map[string]string
		wantSecure bool
	}{
		{"https public URL", "https://gatehouse.example", "", nil, true},
		{"trusted proxy says https", "", "127.0.0.0/8", map[string]string{"X-Forwarded-Proto": "https"}, true},
		{"untrusted peer says https", "", "", map[string]string{"X-Forwarded-Proto": "https"}, false},
		{"plain http", "", "", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, func(c *server.Config) {
				c.PublicURL = tc.publicURL
				c.TrustedProxies = mustPrefixes(t, tc.trusted)
			})
			base := "http://" + ts.Addr() // the listener itself, whatever the public URL says
			for _, path := range []string{"/console/api/login", "/console/api/logout"} {
				c := sessionCookieOf(t, base, ts.URL, path, tc.hdr)
				if c.Secure != tc.wantSecure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
					t.Fatalf("%s cookie: Secure=%v HttpOnly=%v SameSite=%v; want Secure=%v, HttpOnly, SameSite=Lax",
						path, c.Secure, c.HttpOnly, c.SameSite, tc.wantSecure)
				}
			}
		})
	}
}

// sessionCookieOf signs in (and, for the logout path, signs out again) and
// returns the session cookie that answer set.
func sessionCookieOf(t *testing.T, base, origin, path string, hdr map[string]string) *http.Cookie {
	t.Helper()
	send := func(p, body string, extra map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", base+p, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", origin)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		for k, v := range extra {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d", p, resp.StatusCode)
		}
		return resp
	}
	resp := send("/console/api/login", `{"email":"`+testEmail+`","password":"`+testPassword+`"}`, nil)
	c := findCookie(t, resp)
	if path == "/console/api/logout" {
		csrf := csrfOf(t, base, c)
		c = findCookie(t, send(path, `{}`, map[string]string{"Cookie": c.Name + "=" + c.Value, "X-CSRF-Token": csrf}))
	}
	return c
}

func findCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == server.SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", server.SessionCookie, resp.Header)
	return nil
}

func csrfOf(t *testing.T, base string, c *http.Cookie) string {
	t.Helper()
	st, _, out := doWith(t, http.DefaultClient, "GET", base+"/console/api/session", "", "", map[string]string{"Cookie": c.Name + "=" + c.Value})
	tok, _ := out["csrf_token"].(string)
	if st != 200 || tok == "" {
		t.Fatalf("session: %d %v", st, out)
	}
	return tok
}
