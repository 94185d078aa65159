package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/server"
)

type hostileCase struct {
	name, method, path, ct, body string
	hdr                          map[string]string
}

// hostileCases are malformed requests that every route must answer with a
// 4xx JSON error (or its page), never a 500 and never a state change.
func hostileCases() []hostileCase {
	deep := strings.Repeat(`{"a":`, 100) + `"x"` + strings.Repeat("}", 100)
	huge := "client_id=" + strings.Repeat("a", 1<<20)
	cases := []hostileCase{}
	for _, path := range []string{"/v1/oauth/device/code", "/v1/oauth/device/token", "/console/api/login",
		"/console/api/oauth/device/approve", "/console/api/oauth/device/deny", "/console/api/logout",
		"/v1/oauth/revoke", "/v1/oauth/introspect"} {
		cases = append(cases,
			hostileCase{"wrong content type", "POST", path, "text/plain", "client_id=gatehouse-cli", nil},
			hostileCase{"no content type", "POST", path, "", "client_id=gatehouse-cli", nil},
			hostileCase{"duplicated form parameter", "POST", path, "application/x-www-form-urlencoded", "client_id=gatehouse-cli&client_id=gatehouse-cli&email=a&email=b", nil},
			hostileCase{"duplicated JSON key", "POST", path, "application/json", `{"client_id":"gatehouse-cli","client_id":"x","email":"a","email":"b"}`, nil},
			hostileCase{"missing fields", "POST", path, "application/json", `{}`, nil},
			hostileCase{"1 MB body", "POST", path, "application/x-www-form-urlencoded", huge, nil},
			hostileCase{"100-level JSON nesting", "POST", path, "application/json", deep, nil},
			hostileCase{"invalid UTF-8", "POST", path, "application/json", "{\"client_id\":\"\xff\xfe\"}", nil},
			hostileCase{"NUL bytes", "POST", path, "application/x-www-form-urlencoded", "client_id=gate%00house&device_label=a%00b", nil},
			hostileCase{"not JSON at all", "POST", path, "application/json", `{"client_id":`, nil},
			hostileCase{"JSON array", "POST", path, "application/json", `["client_id"]`, nil},
			hostileCase{"GET on a POST route", "GET", path, "", "", nil},
			hostileCase{"PUT on a POST route", "PUT", path, "application/json", `{}`, nil},
		)
	}
	for _, path := range []string{"/v1/oauth/device/lookup?user_code=%00%ff", "/v1/oauth/device/lookup?user_code=a&user_code=b",
		"/v1/oauth/device/lookup?user_code=" + strings.Repeat("B", 5000), "/v1/oauth/device/lookup?user_code=<script>",
		"/v1/oauth/device/lookup?%zz", "/v1/me", "/console/api/session", "/nope", "/v1/oauth/authorizations/self",
		"/v1/auth/verify", "/v1/auth/verify?scope=a&scope=b", "/v1/auth/verify?%zz"} {
		cases = append(cases, hostileCase{"query or missing credentials", "GET", path, "", "", nil})
	}
	for _, auth := range []string{"Bearer", "Bearer ", "Basic Zm9vOmJhcg==", "Bearer dfoa_short", "Bearer " + strings.Repeat("x", 5000),
		"Bearer dfoa_" + strings.Repeat("A", 43) + "!", "bearer dfoe_" + strings.Repeat("-", 43)} {
		cases = append(cases, hostileCase{"bad Authorization header", "GET", "/v1/me", "", "", map[string]string{"Authorization": auth}})
	}
	cases = append(cases,
		hostileCase{"approve with forged Origin", "POST", "/console/api/oauth/device/approve", "application/json", `{"user_code":"BCDFGHJK"}`,
			map[string]string{"Origin": "https://evil.example"}},
		hostileCase{"poll with a conflicting Basic client", "POST", "/v1/oauth/device/token", "application/x-www-form-urlencoded",
			"client_id=gatehouse-cli&device_code=x&grant_type=" + url.QueryEscape(server.DeviceGrantType),
			map[string]string{"Authorization": "Basic b3RoZXI6"}},
		hostileCase{"unsupported grant type", "POST", "/v1/oauth/device/token", "application/x-www-form-urlencoded",
			"client_id=gatehouse-cli&device_code=x&grant_type=password", nil},
		hostileCase{"device label with control characters", "POST", "/v1/oauth/device/code", "application/x-www-form-urlencoded",
			"client_id=gatehouse-cli&device_label=a%0d%0aSet-Cookie:x", nil},
		hostileCase{"unknown scope", "POST", "/v1/oauth/device/code", "application/x-www-form-urlencoded", "client_id=gatehouse-cli&scope=admin", nil},
		hostileCase{"asset path traversal", "GET", "/assets/../../etc/passwd", "", "", nil},
	)
	return cases
}

func TestHostileInputGets4xxJSONAndChangesNothing(t *testing.T) {
	ts := startServer(t)
	before := snapshot(t, ts)
	for _, tc := range hostileCases() {
		t.Run(tc.method+" "+shorten(tc.path)+" "+tc.name, func(t *testing.T) {
			st, h, _ := doWith(t, http.DefaultClient, tc.method, ts.URL+tc.path, tc.ct, tc.body, tc.hdr)
			if st < 400 || st > 499 {
				t.Fatalf("status %d, want 4xx", st)
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q, want application/json", ct)
			}
			if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("security headers missing: %v", h)
			}
		})
	}
	if after := snapshot(t, ts); after != before {
		t.Fatalf("hostile input changed state:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot summarises state that hostile input must not change.
func snapshot(t *testing.T, ts *testServer) string {
	t.Helper()
	st, err := ts.Store().Stats()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("tokens=%d codes=%d accounts=%d sessions=%d", st.Tokens, st.DeviceCodes, st.Accounts, st.Sessions)
}

func shorten(s string) string {
	if len(s) > 48 {
		return s[:48] + "…"
	}
	return s
}

func TestSecurityHeadersOnPagesAndAPI(t *testing.T) {
	ts := startServer(t)
	for _, path := range []string{"/device", "/signin", "/v1/oauth/device/lookup?user_code=x", "/nope", "/assets/app.css"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(csp, "frame-ancestors 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, h)
		}
		if strings.HasPrefix(h.Get("Content-Type"), "text/html") && (!strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline")) {
			t.Errorf("%s: page CSP %q is not strict", path, csp)
		}
	}
}

// TestBruteForceIsLimitedPerAddress: wrong codes from one address run out
// their budget (429 + Retry-After); a right code in between does not
// refill it; spoofed forwarding headers from an untrusted peer do not help.
// The global guess budget is off, so only the per-address one can stop it.
func TestBruteForceIsLimitedPerAddress(t *testing.T) {
	ts := startServer(t, limitsWith(func(l *server.Limits) { l.GuessGlobal.Disabled = true }))
	burst := server.DefaultLimits(15*time.Minute, server.DefaultMaxPendingCodes).GuessIP.Burst
	_, uc := ts.startFlow("laptop")
	wrong := func(i int, hdr map[string]string) int {
		st, _, _ := ts.do("GET", fmt.Sprintf("/v1/oauth/device/lookup?user_code=BBBB%04d", i), "", "", hdr)
		return st
	}
	limited := -1
	for i := 0; i < 100; i++ {
		if i == 10 {
			if st, _, _ := ts.do("GET", "/v1/oauth/device/lookup?user_code="+uc, "", "", nil); st != 200 {
				t.Fatalf("right code: %d", st)
			}
		}
		spoof := map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i), "Forwarded": fmt.Sprintf("for=203.0.113.%d", i)}
		if st := wrong(i, spoof); st == http.StatusTooManyRequests {
			limited = i
			break
		}
	}
	if limited != burst {
		t.Fatalf("wrong codes were limited after %d tries; want exactly the per-address burst of %d", limited, burst)
	}
	st, h, body := ts.do("GET", "/v1/oauth/device/lookup?user_code="+uc, "", "", nil)
	if st != 429 || h.Get("Retry-After") == "" || body["error"] != "rate_limited" {
		t.Fatalf("after the budget, even a right code waits: %d %v %v", st, h, body)
	}
	ts.clock.Advance(10 * time.Minute)
	if st, _, _ := ts.do("GET", "/v1/oauth/device/lookup?user_code="+uc, "", "", nil); st != 200 {
		t.Fatalf("budget must refill with time: %d", st)
	}
}

func TestTrustedProxyForwardedAddressIsUsed(t *testing.T) {
	ts := startServer(t, func(c *server.Config) {
		c.TrustedProxies = mustPrefixes(t, "127.0.0.0/8")
	})
	_, _, body := ts.do("POST", "/v1/oauth/device/code", form, "client_id=gatehouse-cli",
		map[string]string{"X-Forwarded-For": "198.51.100.7, 127.0.0.1"})
	uc := body["user_code"].(string)
	_, _, look := ts.do("GET", "/v1/oauth/device/lookup?user_code="+uc, "", "", nil)
	if look["requester_ip"] != "198.51.100.7" {
		t.Fatalf("requester_ip %v, want the forwarded client", look["requester_ip"])
	}
}

// TestPollIsNeverRateLimited: 50 devices behind one NAT address polling
// at the interval never see 429 (polls are paced per code, not per IP).
func TestPollIsNeverRateLimited(t *testing.T) {
	ts := startServer(t)
	codes := make([]string, 50)
	for i := range codes {
		codes[i], _ = ts.startFlow(fmt.Sprintf("device-%d", i))
	}
	for round := 0; round < 5; round++ {
		for _, dc := range codes {
			if st, body := ts.poll(dc); st == 429 || body["error"] != "authorization_pending" {
				t.Fatalf("round %d: %d %v", round, st, body)
			}
		}
		ts.clock.Advance(5 * time.Second)
	}
}

func TestSignInFailuresAreLimited(t *testing.T) {
	ts := startServer(t)
	var st int
	for i := 0; i < 15; i++ {
		st, _, _ = ts.do("POST", "/console/api/login", "application/json", `{"email":"`+testEmail+`","password":"wrong"}`, nil)
		if st == 429 {
			break
		}
	}
	if st != 429 {
		t.Fatalf("repeated wrong passwords for one email: last status %d, want 429", st)
	}
}
