package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gatehouse/server"
)

// The reliability tests (torture_test.go, faults_test.go, shutdown_test.go,
// soak_test.go) drive the real binary as an operator would: `gatehouse
// serve` as a child process on a temp data dir, HTTP for clients and the
// console API, and the CLI through the admin socket. This file holds what
// they share.

const (
	opEmail    = "ops@example.com"
	opPassword = "torture test password"
)

// serveProc is one running `gatehouse serve`.
type serveProc struct {
	cmd    *exec.Cmd
	dir    string
	base   string
	out    *syncBuffer
	exited chan struct{}
	http   *http.Client
}

// syncBuffer collects a child's output while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// serveArgs are the flags every reliability test runs with: a 1s poll
// interval, long-lived codes (long local runs must not see them expire),
// and no budgets the harness would trip by being fast.
func serveArgs(dir string, port int, extra ...string) []string {
	args := []string{"serve", "--data-dir", dir, "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--poll-interval", "1s", "--device-code-ttl", "24h",
		"--limit", "device_code=off", "--limit", "approve_account=off", "--limit", "approve_session=off",
		"--limit", "guess_ip=off", "--limit", "guess_global=off"}
	return append(args, extra...)
}

// startServe runs `gatehouse serve` and waits until it answers HTTP.
func startServe(t testing.TB, dir string, extra ...string) *serveProc {
	t.Helper()
	p, err := launchServe(dir, freePort(t), nil, extra...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.waitReady(15 * time.Second); err != nil {
		p.kill()
		t.Fatalf("%v\n%s", err, p.out.String())
	}
	return p
}

// launchServe starts the process without waiting; env adds to the
// environment.
func launchServe(dir string, port int, env []string, extra ...string) (*serveProc, error) {
	p := &serveProc{dir: dir, base: fmt.Sprintf("http://127.0.0.1:%d", port), out: &syncBuffer{}, exited: make(chan struct{}),
		http: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
	p.cmd = exec.Command(binary, serveArgs(dir, port, extra...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	return p, nil
}

// waitReady polls until the server answers any HTTP request (/healthz, or
// a 404 where there is none): then the listener and the admin socket are
// both being served.
func (p *serveProc) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("gatehouse serve exited during start-up: %v", p.cmd.ProcessState)
		default:
		}
		if resp, err := c.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("gatehouse serve not ready after %v", limit)
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serveProc) kill() {
	p.cmd.Process.Kill()
	<-p.exited
	p.http.CloseIdleConnections()
}

// alive reports whether the process still runs.
func (p *serveProc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// cli runs the gatehouse binary with a deadline and returns its combined
// output and exit code (-1 when it could not run or timed out).
func runCLI(stdin string, args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee) && ee.Exited():
		return string(out), ee.ExitCode()
	}
	return string(out) + err.Error(), -1
}

// addOperator creates the account the harness approves with, before the
// first start (the file is opened directly; no server runs yet). Only serve
// creates a data directory, so it makes dir first, as an operator would.
func addOperator(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, code := runCLI(opPassword+"\n", "user", "add", "--data-dir", dir, "--email", opEmail, "--name", "Ops", "--password-stdin")
	if code != 0 {
		t.Fatalf("user add: %d %s", code, out)
	}
}

// reply is a decoded HTTP answer; err is set when no answer came (the
// server died, or the connection broke): the outcome is then unknown.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	err    error
}

func (r reply) str(k string) string { s, _ := r.body[k].(string); return s }

func do(c *http.Client, method, u, contentType, body string, hdr map[string]string) reply {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return reply{err: err}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{err: err}
	}
	out := reply{status: resp.StatusCode, header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if jerr := json.Unmarshal(raw, &out.body); jerr != nil {
			out.err = fmt.Errorf("%s %s: answered %d with a body that is not JSON: %q", method, u, resp.StatusCode, raw)
		}
	}
	return out
}

const formType = "application/x-www-form-urlencoded"

// startFlow asks for a device code.
func (p *serveProc) startFlow(label string) reply {
	v := url.Values{"client_id": {server.DefaultClientID}, "device_label": {label}}
	return do(p.http, "POST", p.base+"/v1/oauth/device/code", formType, v.Encode(), nil)
}

// pollOnce polls a device code once.
func (p *serveProc) pollOnce(deviceCode string) reply {
	v := url.Values{"client_id": {server.DefaultClientID}, "device_code": {deviceCode}, "grant_type": {server.DeviceGrantType}}
	return do(p.http, "POST", p.base+"/v1/oauth/device/token", formType, v.Encode(), nil)
}

// me checks a bearer token.
func (p *serveProc) me(token string) reply {
	return do(p.http, "GET", p.base+"/v1/me", "", "", map[string]string{"Authorization": "Bearer " + token})
}

// revokeSelf revokes the presented token.
func (p *serveProc) revokeSelf(token string) reply {
	return do(p.http, "DELETE", p.base+"/v1/oauth/authorizations/self", "", "", map[string]string{"Authorization": "Bearer " + token})
}

// console is a signed-in console session: its cookie and CSRF token live
// in the data file, so one sign-in serves every restart.
type console struct {
	cookie, csrf string
}

func (p *serveProc) signIn(email, password string) (console, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, _ := http.NewRequest("POST", p.base+"/console/api/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return console{}, err
	}
	defer resp.Body.Close()
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	for _, c := range resp.Cookies() {
		if c.Name == server.SessionCookie {
			return console{cookie: c.Value, csrf: out.CSRF}, nil
		}
	}
	return console{}, fmt.Errorf("sign-in answered %d without a session", resp.StatusCode)
}

// resolve approves ("approve") or denies ("deny") a user code.
func (p *serveProc) resolve(c console, action, userCode string) reply {
	body, _ := json.Marshal(map[string]string{"user_code": userCode})
	return do(p.http, "POST", p.base+"/console/api/oauth/device/"+action, "application/json", string(body),
		map[string]string{"X-CSRF-Token": c.csrf, "Origin": p.base, "Cookie": server.SessionCookie + "=" + c.cookie})
}

// fileBytes reads a file, or nil when it is absent.
func fileBytes(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return b
}

// copyDataDir copies the data file (and key, when present) of src into a
// fresh directory.
func copyDataDir(t testing.TB, dbFile, keyFile string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gatehouse.db"), fileBytes(t, dbFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if keyFile != "" {
		if err := os.WriteFile(filepath.Join(dir, server.KeyFileName), fileBytes(t, keyFile), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// rssKB reads a process's resident set size.
func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var n int
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:")), "%d", &n)
			return n
		}
	}
	return 0
}

// signalTerm asks the server to shut down.
func (p *serveProc) signalTerm() error { return p.cmd.Process.Signal(syscall.SIGTERM) }
