package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/server"
	"gatehouse/tokens"
)

func TestPollOutcomes(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(ts *testServer, b *browser, dc, uc string) string // returns the device code to poll
		status int
		want   string
	}{
		{"pending code answers authorization_pending", func(ts *testServer, b *browser, dc, uc string) string { return dc }, 400, "authorization_pending"},
		{"denied code answers access_denied", func(ts *testServer, b *browser, dc, uc string) string {
			if st, _ := b.resolve("deny", uc, nil); st != 200 {
				t.Fatalf("deny: %d", st)
			}
			return dc
		}, 400, "access_denied"},
		{"pending code past expiry answers expired_token", func(ts *testServer, b *browser, dc, uc string) string {
			ts.clock.Advance(16 * time.Minute)
			return dc
		}, 400, "expired_token"},
		{"approved code past expiry answers expired_token", func(ts *testServer, b *browser, dc, uc string) string {
			b.approve(uc)
			ts.clock.Advance(16 * time.Minute)
			return dc
		}, 400, "expired_token"},
		{"denied code past expiry answers expired_token", func(ts *testServer, b *browser, dc, uc string) string {
			b.resolve("deny", uc, nil)
			ts.clock.Advance(16 * time.Minute)
			return dc
		}, 400, "expired_token"},
		{"unknown code answers invalid_grant", func(ts *testServer, b *browser, dc, uc string) string { return "not-a-code" }, 400, "invalid_grant"},
		{"code used once answers invalid_grant", func(ts *testServer, b *browser, dc, uc string) string {
			b.approve(uc)
			if st, body := ts.poll(dc); st != 200 {
				t.Fatalf("first poll: %d %v", st, body)
			}
			ts.clock.Advance(6 * time.Second)
			return dc
		}, 400, "invalid_grant"},
		{"approved code answers the token", func(ts *testServer, b *browser, dc, uc string) string { b.approve(uc); return dc }, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t)
			b := ts.signIn(testEmail, testPassword)
			dc, uc := ts.startFlow("laptop")
			code := tc.setup(ts, b, dc, uc)
			st, body := ts.poll(code)
			if st != tc.status {
				t.Fatalf("status %d, want %d (%v)", st, tc.status, body)
			}
			if tc.want != "" && body["error"] != tc.want {
				t.Fatalf("error %v, want %s", body["error"], tc.want)
			}
			if tc.want == "" {
				checkTokenResponse(t, body)
			}
		})
	}
}

func checkTokenResponse(t *testing.T, body map[string]any) {
	t.Helper()
	tok, _ := body["access_token"].(string)
	if k := mustKind(t, tok); k.Prefix != "dfoa_" {
		t.Fatalf("kind %v, want account", k.Name)
	}
	for _, f := range []string{"token_type", "expires_in", "scope", "token", "expires_at", "token_id", "subject_type",
		"account", "workspaces", "default_workspace_id", "subject_email", "subject_issuer"} {
		if _, ok := body[f]; !ok {
			t.Errorf("token response lacks %q", f)
		}
	}
	if body["token_type"] != "Bearer" || body["scope"] != "full" || body["token"] != tok || body["subject_email"] != testEmail {
		t.Errorf("token response fields wrong: %v", body)
	}
}

func TestPollFromAnotherClientIsInvalidGrant(t *testing.T) {
	ts := startServer(t)
	if err := ts.Store().PutClient(clientRow("other-cli")); err != nil {
		t.Fatal(err)
	}
	b := ts.signIn(testEmail, testPassword)
	dc, uc := ts.startFlow("laptop")
	b.approve(uc)
	v := url.Values{"client_id": {"other-cli"}, "device_code": {dc}, "grant_type": {server.DeviceGrantType}}
	st, _, body := ts.do("POST", "/v1/oauth/device/token", form, v.Encode(), nil)
	if st != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("other client's poll: %d %v", st, body)
	}
	if st, body := ts.poll(dc); st != 200 {
		t.Fatalf("the right client must still get its token: %d %v", st, body)
	}
}

func TestPollPacing(t *testing.T) {
	ts := startServer(t)
	dc, _ := ts.startFlow("laptop")
	expect := func(step, want string, wantInterval float64) {
		t.Helper()
		_, body := ts.poll(dc)
		if body["error"] != want {
			t.Fatalf("%s: got %v, want %s", step, body, want)
		}
		if wantInterval > 0 && body["interval"] != wantInterval {
			t.Fatalf("%s: interval %v, want %v", step, body["interval"], wantInterval)
		}
	}
	expect("first poll is never slowed", "authorization_pending", 0)
	ts.clock.Advance(5 * time.Millisecond)
	expect("x/oauth2's paired second request is tolerated", "authorization_pending", 0)
	ts.clock.Advance(5 * time.Millisecond)
	expect("a third request in the same tick is too fast", "slow_down", 10)
	expect("another is slowed further", "slow_down", 15)
	ts.clock.Advance(15 * time.Second)
	expect("at the raised interval the client is not slowed", "authorization_pending", 0)
	for i := 0; i < 5; i++ {
		ts.clock.Advance(15 * time.Second)
		expect("polling at the interval never slows", "authorization_pending", 0)
	}
}

func TestPollingAtTheIntervalIsNeverSlowed(t *testing.T) {
	ts := startServer(t)
	dc, _ := ts.startFlow("laptop")
	for i := 0; i < 20; i++ {
		// A ticker-driven client with jitter: sometimes a little early.
		ts.clock.Advance(5*time.Second - time.Duration(i%3)*200*time.Millisecond)
		if _, body := ts.poll(dc); body["error"] != "authorization_pending" {
			t.Fatalf("poll %d: %v", i, body)
		}
		ts.clock.Advance(3 * time.Millisecond) // x/oauth2's second request
		if _, body := ts.poll(dc); body["error"] != "authorization_pending" {
			t.Fatalf("paired poll %d: %v", i, body)
		}
	}
}

func TestConcurrentPollsYieldExactlyOneToken(t *testing.T) {
	ts := startServer(t)
	b := ts.signIn(testEmail, testPassword)
	dc, uc := ts.startFlow("laptop")
	b.approve(uc)
	const n = 50
	var wg sync.WaitGroup
	results := make(chan map[string]any, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, body := ts.poll(dc)
			results <- body
		}()
	}
	wg.Wait()
	close(results)
	tokensIssued, other := 0, map[string]int{}
	for body := range results {
		if _, ok := body["access_token"]; ok {
			tokensIssued++
			continue
		}
		other[body["error"].(string)]++
	}
	if tokensIssued != 1 {
		t.Fatalf("%d tokens issued for one code, want exactly 1 (others: %v)", tokensIssued, other)
	}
	for code := range other {
		if code != "invalid_grant" && code != "slow_down" {
			t.Fatalf("losing polls got %v; want invalid_grant or slow_down", other)
		}
	}
	rows, err := ts.Store().ListTokens(storeFilterAll(ts))
	if err != nil || len(rows) != 1 {
		t.Fatalf("token rows: %d, %v", len(rows), err)
	}
}

func TestDeviceCodeAnswer(t *testing.T) {
	ts := startServer(t)
	st, h, body := ts.do("POST", "/v1/oauth/device/code", "application/json", `{"client_id":"gatehouse-cli","device_label":"ci runner"}`, nil)
	if st != 200 {
		t.Fatalf("%d %v", st, body)
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("headers: %v", h)
	}
	uc := body["user_code"].(string)
	if _, err := tokens.NormalizeUserCode(uc); err != nil || len(uc) != 9 || uc[4] != '-' {
		t.Fatalf("user_code %q", uc)
	}
	if body["verification_uri"] != ts.URL+"/device" || body["verification_uri_complete"] != ts.URL+"/device?user_code="+uc {
		t.Fatalf("verification uris: %v", body)
	}
	if body["expires_in"] != float64(900) || body["interval"] != float64(5) {
		t.Fatalf("expires_in/interval: %v", body)
	}
	if dc := body["device_code"].(string); len(dc) < 22 {
		t.Fatalf("device_code too short: %d", len(dc))
	}
}

func TestUnregisteredClientIsInvalidClient(t *testing.T) {
	ts := startServer(t)
	st, _, body := ts.do("POST", "/v1/oauth/device/code", form, "client_id=nobody", nil)
	if st != 400 || body["error"] != "invalid_client" {
		t.Fatalf("%d %v", st, body)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/v1/oauth/device/token", strings.NewReader("grant_type="+url.QueryEscape(server.DeviceGrantType)+"&device_code=x"))
	req.Header.Set("Content-Type", form)
	req.SetBasicAuth("nobody", "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("Basic-authenticated unknown client: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestLookup(t *testing.T) {
	ts := startServer(t)
	_, uc := ts.startFlow("build box")
	ts.clock.Advance(42 * time.Second)
	typed := strings.ToLower(strings.ReplaceAll(uc, "-", ""))
	st, _, body := ts.do("GET", "/v1/oauth/device/lookup?user_code="+typed, "", "", nil)
	if st != 200 || body["valid"] != true || body["user_code"] != uc || body["device_label"] != "build box" ||
		body["client_name"] != "Gatehouse CLI" || body["age_seconds"] != float64(42) || body["expires_in_remaining"] != float64(858) ||
		body["requester_ip"] != "127.0.0.1" {
		t.Fatalf("lookup: %d %v", st, body)
	}
	ts.clock.Advance(15 * time.Minute)
	if st, _, body := ts.do("GET", "/v1/oauth/device/lookup?user_code="+typed, "", "", nil); st != 404 || body["valid"] != false {
		t.Fatalf("expired lookup: %d %v", st, body)
	}
	if st, _, body := ts.do("GET", "/v1/oauth/device/lookup?user_code=AEIOU", "", "", nil); st != 400 || body["valid"] != false {
		t.Fatalf("malformed lookup: %d %v", st, body)
	}
}
