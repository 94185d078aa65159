package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/server"
)

// TestSIGTERMDrainsThenRestartServesLiveTokens: SIGTERM stops new
// connections at once but answers the requests already in flight (a held
// poll, and a poll whose body is still arriving, which mints a token during
// the drain), writes the batched last-use times (so the store closes after
// HTTP and the admin socket), removes the socket and pid file and exits 0.
// A restart right after serves every live token, the one minted while
// draining included, and still refuses the revoked one.
func TestSIGTERMDrainsThenRestartServesLiveTokens(t *testing.T) {
	dir := t.TempDir()
	addOperator(t, dir)
	p := startServe(t, dir, "--poll-interval", "5s")
	defer p.kill()
	sess, err := p.signIn(opEmail, opPassword)
	if err != nil {
		t.Fatal(err)
	}
	var live []string
	for i := range 4 {
		r := p.startFlow(fmt.Sprintf("box-%d", i))
		p.resolve(sess, "approve", r.str("user_code"))
		tok := p.pollOnce(r.str("device_code"))
		if tok.status != 200 {
			t.Fatalf("mint: %d %v", tok.status, tok.body)
		}
		live = append(live, tok.str("access_token"))
	}
	revoked := live[3]
	live = live[:3]
	if r := p.revokeSelf(revoked); r.status != 200 {
		t.Fatalf("revoke: %d", r.status)
	}
	for _, tok := range live {
		if r := p.me(tok); r.status != 200 {
			t.Fatalf("me: %d", r.status)
		}
	}

	// In flight at SIGTERM: a held poll, and a poll of an approved code
	// whose body has not finished arriving.
	pending := p.startFlow("pending")
	held := make(chan reply, 1)
	go func() { held <- p.pollOnce(pending.str("device_code")) }()
	approved := p.startFlow("approved")
	if r := p.resolve(sess, "approve", approved.str("user_code")); r.status != 200 {
		t.Fatalf("approve: %d", r.status)
	}
	body := url.Values{"client_id": {server.DefaultClientID}, "device_code": {approved.str("device_code")},
		"grant_type": {server.DeviceGrantType}}.Encode()
	slow, err := net.Dial("tcp", strings.TrimPrefix(p.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "POST /v1/oauth/device/token HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		formType, len(body), body[:10])
	time.Sleep(300 * time.Millisecond) // both requests are now in their handlers

	sigterm := time.Now()
	if err := p.signalTerm(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-held:
		if r.err != nil || r.str("error") != "authorization_pending" {
			t.Errorf("held poll at SIGTERM: %v %d %v", r.err, r.status, r.body)
		}
		if d := time.Since(sigterm); d > 2*time.Second {
			t.Errorf("held poll answered %v after SIGTERM; it must not wait out its 5 s interval", d)
		}
	case <-time.After(5 * time.Second):
		t.Error("the held poll was not answered")
	}
	time.Sleep(200 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(p.base, "http://"), time.Second); err == nil {
		c.Close()
		t.Error("a new connection was accepted while draining")
	}
	fmt.Fprint(slow, body[10:]) // the rest arrives during the drain
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatalf("the in-flight poll was not answered: %v", err)
	}
	var minted map[string]any
	json.NewDecoder(resp.Body).Decode(&minted)
	resp.Body.Close()
	if resp.StatusCode != 200 || minted["access_token"] == nil {
		t.Fatalf("the in-flight poll of an approved code: %d %v", resp.StatusCode, minted)
	}
	live = append(live, minted["access_token"].(string))

	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("gatehouse serve did not exit after SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit %d after SIGTERM:\n%s", code, p.out.String())
	}
	for _, name := range []string{server.AdminSocketName, "gatehouse.pid"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s left behind after a clean stop: %v", name, err)
		}
	}
	if out, code := runCLI("", "check", "--file", filepath.Join(dir, "gatehouse.db")); code != 0 {
		t.Fatalf("check after SIGTERM: %d %s", code, out)
	}
	out, code := runCLI("", "tokens", "list", "--data-dir", dir, "--json")
	var rows []server.TokenInfo
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil {
		t.Fatalf("tokens list: %d %s", code, out)
	}
	used := 0
	for _, r := range rows {
		if !r.LastUsedAt.IsZero() {
			used++
		}
	}
	if used < 3 {
		t.Errorf("%d tokens have last_used_at after shutdown, want 3: the batched writes were lost (store closed before they were flushed?)", used)
	}

	p2 := startServe(t, dir)
	defer p2.kill()
	for i, tok := range live {
		if r := p2.me(tok); r.status != 200 {
			t.Errorf("after restart, live token %d answers %d", i, r.status)
		}
	}
	if r := p2.me(revoked); r.status != 401 {
		t.Errorf("after restart, the revoked token answers %d", r.status)
	}
	if r := p2.resolve(sess, "approve", pending.str("user_code")); r.status != 200 {
		t.Errorf("the code held at shutdown, approved after restart: %d %v", r.status, r.body)
	}
	if r := p2.pollOnce(pending.str("device_code")); r.status != 200 {
		t.Errorf("and polled: %d %v", r.status, r.body)
	}
}
