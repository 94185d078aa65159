package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/server"
	"gatehouse/tokens"
)

// clock is an injected, settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testServer is a real Gatehouse on 127.0.0.1:0 with a temp data dir.
type testServer struct {
	*server.Server
	t     *testing.T
	URL   string
	clock *clock
}

const (
	testEmail    = "ada@example.com"
	testPassword = "correct horse battery"
)

// startServer starts a server with a fake clock (unless realClock) and one
// member account (testEmail) besides the bootstrap admin.
func startServer(t *testing.T, mods ...func(*server.Config)) *testServer {
	t.Helper()
	c := newClock()
	cfg := server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), DeviceCodeTTL: 15 * time.Minute,
		PollInterval: 5 * time.Second, TokenTTLDays: 14, ExternalTTLDays: 14, Now: c.Now, PasswordCost: cheapArgon2}
	for _, m := range mods {
		m(&cfg)
	}
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if _, err := server.CreateAccount(s.Store(), testEmail, "Ada", "member", testPassword, []string{"default", "research"}, cheapArgon2, c.Now()); err != nil {
		t.Fatalf("create account: %v", err)
	}
	return &testServer{Server: s, t: t, URL: s.URL(), clock: c}
}

// cheapArgon2 keeps tests fast; production uses tokens.DefaultArgon2.
var cheapArgon2 = tokens.Argon2Params{Memory: 1024, Time: 1, Threads: 1}

func realClock(c *server.Config) { c.Now = time.Now }

// do sends a request and returns status, headers and decoded JSON body.
func (ts *testServer) do(method, path, contentType, body string, hdr map[string]string) (int, http.Header, map[string]any) {
	ts.t.Helper()
	return doWith(ts.t, http.DefaultClient, method, ts.URL+path, contentType, body, hdr)
}

func doWith(t *testing.T, c *http.Client, method, url, contentType, body string, hdr map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, url, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

const form = "application/x-www-form-urlencoded"

// startFlow asks for a device code and returns device_code and user_code.
func (ts *testServer) startFlow(label string) (string, string) {
	ts.t.Helper()
	v := url.Values{"client_id": {server.DefaultClientID}, "device_label": {label}}
	st, _, body := ts.do("POST", "/v1/oauth/device/code", form, v.Encode(), nil)
	if st != 200 {
		ts.t.Fatalf("device/code: %d %v", st, body)
	}
	return body["device_code"].(string), body["user_code"].(string)
}

// poll polls once and returns status and body.
func (ts *testServer) poll(deviceCode string) (int, map[string]any) {
	ts.t.Helper()
	v := url.Values{"client_id": {server.DefaultClientID}, "device_code": {deviceCode}, "grant_type": {server.DeviceGrantType}}
	st, _, body := ts.do("POST", "/v1/oauth/device/token", form, v.Encode(), nil)
	return st, body
}

// browser is a signed-in console session.
type browser struct {
	ts   *testServer
	http *http.Client
	csrf string
	sess map[string]any
}

func (ts *testServer) signIn(email, password string) *browser {
	ts.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{ts: ts, http: &http.Client{Jar: jar, Transport: sendsOrigin{origin: ts.URL}}}
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	st, _, out := doWith(ts.t, b.http, "POST", ts.URL+"/console/api/login", "application/json", string(body), nil)
	if st != 200 {
		ts.t.Fatalf("login %s: %d %v", email, st, out)
	}
	b.csrf, b.sess = out["csrf_token"].(string), out
	return b
}

// resolve approves or denies a code; returns status and body.
func (b *browser) resolve(action, userCode string, extra map[string]string) (int, map[string]any) {
	b.ts.t.Helper()
	in := map[string]string{"user_code": userCode}
	for k, v := range extra {
		in[k] = v
	}
	body, _ := json.Marshal(in)
	st, _, out := doWith(b.ts.t, b.http, "POST", b.ts.URL+"/console/api/oauth/device/"+action, "application/json", string(body),
		map[string]string{"X-CSRF-Token": b.csrf})
	return st, out
}

func (b *browser) approve(userCode string) {
	b.ts.t.Helper()
	if st, out := b.resolve("approve", userCode, nil); st != 200 || out["status"] != "approved" {
		b.ts.t.Fatalf("approve: %d %v", st, out)
	}
}

// me calls /v1/me with a token.
func (ts *testServer) me(token string) (int, http.Header, map[string]any) {
	ts.t.Helper()
	return ts.do("GET", "/v1/me", "", "", map[string]string{"Authorization": "Bearer " + token})
}

// approvedToken runs a whole flow and returns the poll's body.
func (ts *testServer) approvedToken(b *browser, label string) map[string]any {
	ts.t.Helper()
	dc, uc := ts.startFlow(label)
	b.approve(uc)
	ts.clock.Advance(6 * time.Second)
	st, body := ts.poll(dc)
	if st != 200 {
		ts.t.Fatalf("poll after approve: %d %v", st, body)
	}
	return body
}

func mustKind(t *testing.T, token string) tokens.Kind {
	t.Helper()
	k, err := tokens.KindOf(token)
	if err != nil {
		t.Fatalf("token %q: %v", tokens.DisplayPrefix(token), err)
	}
	return k
}
