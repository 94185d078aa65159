package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"gatehouse/server"
	"gatehouse/tokens"
)

// served is a `gatehouse serve` process started from the built binary.
type served struct {
	base, dataDir  string
	admin, adminPW string
}

var (
	listenLine   = regexp.MustCompile(`msg="gatehouse serving" listen=(\S+)`)
	passwordLine = regexp.MustCompile(`(?m)^\s*password:\s+(\S+)\s*$`)
)

// serveBinary runs the real binary on 127.0.0.1:0 with a temp data dir
// and learns its address from the log and the admin's one-time password
// from its first-start banner, as an operator would.
func serveBinary(t *testing.T, extra ...string) served {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--poll-interval", "1s", "--prune-every", "0"}, extra...)
	cmd := exec.Command(binary, args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		l, p := listenLine.FindStringSubmatch(out.String()), passwordLine.FindStringSubmatch(out.String())
		if l != nil && p != nil {
			return served{base: "http://" + l[1], dataDir: dir, admin: "admin@localhost", adminPW: p[1]}
		}
	}
	t.Fatalf("gatehouse serve did not come up:\n%s", out.String())
	return served{}
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// approveWith signs in through the console API and approves userCode.
func approveWith(t *testing.T, base, email, password, userCode string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := c.Post(base+"/console/api/login", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("login as %s: %v %v", email, err, resp)
		return
	}
	var sess struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	req, _ := http.NewRequest("POST", base+"/console/api/oauth/device/approve", strings.NewReader(`{"user_code":"`+userCode+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", sess.CSRF)
	req.Header.Set("Origin", base) // the public URL, as a browser would send it
	resp, err = c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("approve: %v %v", err, resp)
		return
	}
	resp.Body.Close()
}

// discover reads the RFC 8414 metadata document.
func discover(t *testing.T, issuer string) map[string]any {
	t.Helper()
	resp, err := http.Get(issuer + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil || resp.StatusCode != 200 {
		t.Fatalf("metadata: %d %v", resp.StatusCode, err)
	}
	if md["issuer"] != issuer {
		t.Fatalf("issuer %v, fetched from %s", md["issuer"], issuer)
	}
	return md
}

// TestOAuth2ClientFromDiscoveryOnly builds golang.org/x/oauth2's config
// from nothing but the issuer URL and a client id: every endpoint comes
// from the metadata document.
func TestOAuth2ClientFromDiscoveryOnly(t *testing.T) {
	s, _ := startServer(t)
	md := discover(t, s.URL())
	scopes := []string{}
	for _, sc := range md["scopes_supported"].([]any) {
		if sc == "full" {
			scopes = append(scopes, "full")
		}
	}
	cfg := &oauth2.Config{ClientID: server.DefaultClientID, Scopes: scopes, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: md["device_authorization_endpoint"].(string),
		TokenURL:      md["token_endpoint"].(string),
		AuthStyle:     oauth2.AuthStyleInParams, // public client: token_endpoint_auth_methods_supported is ["none"]
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	go func() {
		time.Sleep(500 * time.Millisecond)
		approveWith(t, s.URL(), email, password, da.UserCode)
	}()
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.Extra("scope") != "full" || bearerStatus(t, s.URL(), tok.AccessToken) != 200 {
		t.Fatalf("token %s… type %q scope %v", tokens.DisplayPrefix(tok.AccessToken), tok.TokenType, tok.Extra("scope"))
	}
	// Revocation, also found through discovery.
	resp, err := http.PostForm(md["revocation_endpoint"].(string), map[string][]string{"token": {tok.AccessToken}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", err, resp)
	}
	resp.Body.Close()
	if st := bearerStatus(t, s.URL(), tok.AccessToken); st != 401 {
		t.Fatalf("after revocation: %d", st)
	}
}

// TestOpenIDClientDeviceFlow runs scripts/oidc-client (openid-client 6,
// pinned in its lockfile) against the real binary: discovery, device
// authorization, polling, a protected resource and revocation. A person's
// approval is played through the console API when the script prints the
// user code.
func TestOpenIDClientDeviceFlow(t *testing.T) {
	node := needTool(t, "node")
	dir := filepath.Join(repoRoot, "scripts", "oidc-client")
	npmCI(t, dir)
	srv := serveBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "device-flow.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_URL="+srv.base)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, stdout, func(key, value string) {
		if key == "USER_CODE" {
			go approveWith(t, srv.base, srv.admin, srv.adminPW, value)
		}
	})
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node device-flow.mjs: %v\nstdout: %v\nstderr: %s", err, lines, stderr.String())
	}
	tok := lines["ACCESS_TOKEN"]
	if !strings.HasPrefix(tok, "dfoa_") || !strings.EqualFold(lines["TOKEN_TYPE"], "bearer") || lines["SCOPE"] != "full" ||
		lines["ME"] != srv.admin || lines["REVOKED"] != "" {
		t.Fatalf("script output: %v", redact(lines))
	}
	if _, ok := lines["REVOKED"]; !ok {
		t.Fatalf("the script did not revoke: %v", redact(lines))
	}
	if st := bearerStatus(t, srv.base, tok); st != 401 {
		t.Fatalf("token after openid-client revoked it: %d", st)
	}
}

// readLines reads "KEY value" lines until EOF, calling on for each.
func readLines(t *testing.T, r io.Reader, on func(key, value string)) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, _ := strings.Cut(sc.Text(), " ")
		out[key] = value
		on(key, value)
	}
	return out
}

func redact(lines map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range lines {
		if k == "ACCESS_TOKEN" {
			v = tokens.DisplayPrefix(v) + "…"
		}
		out[k] = v
	}
	return out
}

// needTool finds a program the test needs; in CI its absence fails.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed; .ci/run installs it", name)
	}
	t.Skipf("%s is not installed; CI runs this test", name)
	return ""
}

// npmCI installs the pinned packages when node_modules is absent.
func npmCI(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openid-client")); err == nil {
		return
	}
	npm := needTool(t, "npm")
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
}

// TestCurlWalkthrough runs the README's curl walk-through script against
// the real binary.
func TestCurlWalkthrough(t *testing.T) {
	needTool(t, "curl")
	srv := serveBinary(t)
	cmd := exec.Command("bash", filepath.Join(repoRoot, "scripts", "curl-walkthrough.sh"))
	cmd.Env = append(os.Environ(), "GATEHOUSE_URL="+srv.base, "GATEHOUSE_EMAIL="+srv.admin, "GATEHOUSE_PASSWORD="+srv.adminPW)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "walk-through complete") {
		t.Fatalf("curl-walkthrough.sh: %v\n%s", err, out)
	}
}

// TestSelftestCommand: `gatehouse selftest URL` passes against a real
// server and fails (exit 1) against something that is not one.
func TestSelftestCommand(t *testing.T) {
	srv := serveBinary(t)
	out, code := gatehouse(t, "", "selftest", srv.base)
	if code != 0 || !strings.Contains(out, "checks passed") || strings.Contains(out, "FAIL") {
		t.Fatalf("selftest against the server: exit %d\n%s", code, out)
	}
	out, code = gatehouse(t, "", "selftest", srv.base+"/nowhere")
	if code != 1 || !strings.Contains(out, "FAIL") {
		t.Fatalf("selftest against a wrong URL: exit %d\n%s", code, out)
	}
	// With an account, the decision checks run too (the password on stdin).
	out, code = gatehouse(t, srv.adminPW+"\n", "selftest", srv.base, "--approve-email", srv.admin, "--password-stdin")
	if code != 0 || !strings.Contains(out, "PASS  replay after success") || !strings.Contains(out, "PASS  denied code") ||
		!strings.Contains(out, "1 skipped") {
		t.Fatalf("selftest with an approver: exit %d\n%s", code, out)
	}
	if out, code = gatehouse(t, "", "selftest", srv.base, "--approve-email", srv.admin); code != 2 {
		t.Fatalf("selftest --approve-email without a password: exit %d, want 2\n%s", code, out)
	}
}

// TestResourceCommands: add prints a secret once that introspection
// accepts; list shows the name, never the secret; remove revokes it.
func TestResourceCommands(t *testing.T) {
	srv := serveBinary(t)
	out, code := gatehouse(t, "", "resource", "add", "--data-dir", srv.dataDir, "billing-api")
	m := regexp.MustCompile(`secret: (dfor_\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("resource add: exit %d\n%s", code, out)
	}
	secret := m[1]
	if out, code := gatehouse(t, "", "resource", "add", "--data-dir", srv.dataDir, "billing-api"); code != 4 {
		t.Fatalf("duplicate resource: exit %d (want 4)\n%s", code, out)
	}
	if out, _ := gatehouse(t, "", "resource", "list", "--data-dir", srv.dataDir); !strings.Contains(out, "billing-api") || strings.Contains(out, secret) {
		t.Fatalf("resource list:\n%s", out)
	}
	if st := introspectStatus(t, srv.base, "billing-api", secret); st != 200 {
		t.Fatalf("introspect with the printed secret: %d", st)
	}
	if out, code := gatehouse(t, "", "resource", "remove", "--data-dir", srv.dataDir, "billing-api"); code != 0 {
		t.Fatalf("resource remove: %d\n%s", code, out)
	}
	if st := introspectStatus(t, srv.base, "billing-api", secret); st != 401 {
		t.Fatalf("introspect after remove: %d, want 401", st)
	}
}

func introspectStatus(t *testing.T, base, name, secret string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/oauth/introspect", strings.NewReader("token=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(name, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestLoginPrintsAQRCode: `login --qr` draws the complete verification URI
// below the usual instructions.
func TestLoginPrintsAQRCode(t *testing.T) {
	s, _ := startServer(t)
	cmd := exec.Command(binary, "login", "--qr", "--server", s.URL(), "--config-dir", t.TempDir())
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if strings.Count(out.String(), "█") > 50 && strings.Contains(out.String(), "Waiting for approval") {
			break
		}
	}
	text := out.String()
	if !strings.Contains(text, "?user_code=") || strings.Count(text, "█") < 50 || !strings.ContainsAny(text, "▀▄") {
		t.Fatalf("login --qr printed no QR code:\n%s", text)
	}
	if w := strings.Index(text, "Waiting for approval"); w < strings.LastIndex(text, "█") {
		t.Fatalf("the QR code must come before the Waiting line:\n%s", text)
	}
}
