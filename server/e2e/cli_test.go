package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"gatehouse/server"
	"gatehouse/tokens"
)

// binary is the real gatehouse command, built once for the CLI tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gatehouse")
	if out, err := exec.Command("go", "build", "-o", binary, "gatehouse").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build gatehouse: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var cheap = tokens.Argon2Params{Memory: 1024, Time: 1, Threads: 1}

const (
	email    = "grace@example.com"
	password = "a long enough password"
)

// startServer runs a real server on 127.0.0.1:0 with a temp data dir and the
// real clock, plus one account.
func startServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := server.Start(server.Config{Listen: "127.0.0.1:0", DataDir: dir, DeviceCodeTTL: 10 * time.Minute,
		PollInterval: time.Second, TokenTTLDays: 14, ExternalTTLDays: 14, PasswordCost: cheap})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := server.CreateAccount(s.Store(), email, "Grace", "member", password, []string{"default"}, cheap, time.Now()); err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// gatehouse runs the CLI binary and returns its combined output and exit code.
func gatehouse(t *testing.T, stdin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return string(out), code
}

// approveAs signs in through the console API and approves userCode.
func approveAs(t *testing.T, base, userCode string) {
	t.Helper()
	if err := approve(base, userCode); err != nil {
		t.Fatal(err)
	}
}

// approve signs in as the bootstrap admin and approves userCode through the
// console API. It returns its failure, so a goroutine can report it.
func approve(base, userCode string) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := c.Post(base+"/console/api/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	var sess struct {
		CSRF string `json:"csrf_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil {
		return fmt.Errorf("login: %s %v", resp.Status, err)
	}
	req, _ := http.NewRequest("POST", base+"/console/api/oauth/device/approve", strings.NewReader(`{"user_code":"`+userCode+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", sess.CSRF)
	req.Header.Set("Origin", base) // the public URL, as a browser would send it
	resp, err = c.Do(req)
	if err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("approve: %s", resp.Status)
	}
	return nil
}

func bearerStatus(t *testing.T, base, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestOAuth2ClientCompletesFlowAndCLIRevokes is the core journey: a stock
// golang.org/x/oauth2 client (default auth style, so two requests per tick)
// completes the flow, /v1/me knows the token, and `gatehouse revoke` through
// the running server's admin socket kills it at once.
func TestOAuth2ClientCompletesFlowAndCLIRevokes(t *testing.T) {
	s, dir := startServer(t)
	base := s.URL()
	cfg := &oauth2.Config{ClientID: server.DefaultClientID, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: base + "/v1/oauth/device/code", TokenURL: base + "/v1/oauth/device/token"}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	approved := make(chan error, 1)
	go func() {
		time.Sleep(1500 * time.Millisecond) // let the client see authorization_pending first
		approved <- approve(base, da.UserCode)
	}()
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if aerr := <-approved; aerr != nil {
		t.Fatal(aerr)
	}
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	if !strings.HasPrefix(tok.AccessToken, "dfoa_") || tok.TokenType != "Bearer" {
		t.Fatalf("token %s… type %q", tokens.DisplayPrefix(tok.AccessToken), tok.TokenType)
	}
	if st := bearerStatus(t, base, tok.AccessToken); st != 200 {
		t.Fatalf("/v1/me with fresh token: %d", st)
	}
	tokenID, _ := tok.Extra("token_id").(string)
	out, code := gatehouse(t, "", "revoke", "--data-dir", dir, "--token-id", tokenID)
	if code != 0 || !strings.Contains(out, "revoked "+tokenID) {
		t.Fatalf("gatehouse revoke: exit %d: %s", code, out)
	}
	if st := bearerStatus(t, base, tok.AccessToken); st != 401 {
		t.Fatalf("/v1/me after revoke: %d, want 401", st)
	}
	out, code = gatehouse(t, "", "revoke", "--data-dir", dir, "--token-id", tokenID)
	if code != 0 || !strings.Contains(out, "1 already revoked") || !strings.Contains(out, tokenID+" already revoked") {
		t.Fatalf("revoking twice must not be an error: exit %d: %s", code, out)
	}
	// A revoked row's hash is cleared, so by value it is "no live token".
	if out, code = gatehouse(t, "", "revoke", "--data-dir", dir, "--token", tok.AccessToken); code != 3 || !strings.Contains(out, "no live token has that value") {
		t.Fatalf("revoke --token of a revoked token: exit %d (want 3): %s", code, out)
	}
	if out, code = gatehouse(t, "", "revoke", "--data-dir", dir, "--email", "nobody@example.com"); code != 0 || !strings.Contains(out, "0 revoked") {
		t.Fatalf("revoke --email matching nothing: exit %d (want 0): %s", code, out)
	}
	if out, code = gatehouse(t, "", "revoke", "--data-dir", dir, "--token-id", "tok_nope"); code != 3 {
		t.Fatalf("unknown id: exit %d (want 3): %s", code, out)
	}
}

// TestCLILoginWhoamiLogout drives the reference client binary against the
// server while a person approves.
func TestCLILoginWhoamiLogout(t *testing.T) {
	s, _ := startServer(t)
	base := s.URL()
	cfgDir := t.TempDir()
	cmd := exec.Command(binary, "login", "--server", base, "--config-dir", cfgDir, "--device-label", "ci")
	var out syncBuffer // written by exec's copying goroutine while we read it
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	code := waitForCode(t, &out)
	approveAs(t, base, code)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Logged in to "+base+" as "+email) || !strings.Contains(out.String(), "the code expires in 10 minutes") {
		t.Fatalf("login output: %s", out.String())
	}
	fi, err := os.Stat(filepath.Join(cfgDir, "credentials.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	if o, c := gatehouse(t, "", "whoami", "--server", base, "--config-dir", cfgDir); c != 0 || !strings.Contains(o, email) {
		t.Fatalf("whoami: %d %s", c, o)
	}
	if o, c := gatehouse(t, "", "logout", "--server", base, "--config-dir", cfgDir); c != 0 || !strings.Contains(o, "revoked token tok_") {
		t.Fatalf("logout: %d %s", c, o)
	}
	if o, c := gatehouse(t, "", "whoami", "--server", base, "--config-dir", cfgDir); c == 0 || !strings.Contains(o, "run gatehouse login --server "+base) {
		t.Fatalf("whoami after logout must fail naming the command to run: %s", o)
	}
}

// waitForCode reads the user code the login command prints.
func waitForCode(t *testing.T, out *syncBuffer) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(out.String(), "\n") {
			if i := strings.Index(line, "one-time code: "); i >= 0 {
				return strings.TrimSpace(line[i+len("one-time code: "):])
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("login printed no code: %s", out.String())
	return ""
}

// TestCLIAdminCommandsWithoutServer works on the file directly, and a second
// serve on the same data dir fails fast naming the first.
func TestCLIAdminCommandsWithoutServer(t *testing.T) {
	dir := t.TempDir()
	if o, c := gatehouse(t, "pw-from-stdin-123\n", "user", "add", "--data-dir", dir, "--email", "linus@example.com", "--name", "Linus", "--password-stdin"); c != 0 {
		t.Fatalf("user add: %d %s", c, o)
	}
	if o, c := gatehouse(t, "", "user", "add", "--data-dir", dir, "--email", "LINUS@example.com", "--name", "Again"); c != 4 || !strings.Contains(o, "account LINUS@example.com already exists") {
		t.Fatalf("duplicate user: exit %d (want 4, naming the account): %s", c, o)
	}
	if o, c := gatehouse(t, "", "user", "disable", "--data-dir", dir, "--email", "nobody@example.com"); c != 3 || !strings.Contains(o, "no account nobody@example.com") {
		t.Fatalf("disable an unknown account: exit %d (want 3, naming it): %s", c, o)
	}
	if o, c := gatehouse(t, "", "client", "add", "--data-dir", dir, "mytool", "--name", "My Tool"); c != 0 {
		t.Fatalf("client add: %d %s", c, o)
	}
	if o, c := gatehouse(t, "", "client", "add", "--data-dir", dir, "mytool"); c != 4 || !strings.Contains(o, "client mytool already exists") {
		t.Fatalf("duplicate client: exit %d (want 4, naming it): %s", c, o)
	}
	if o, c := gatehouse(t, "", "client", "remove", "--data-dir", dir, "nope"); c != 3 || !strings.Contains(o, "no client nope") {
		t.Fatalf("remove an unknown client: exit %d (want 3, naming it): %s", c, o)
	}
	if o, c := gatehouse(t, "", "client", "list", "--data-dir", dir); c != 0 || !strings.Contains(o, "My Tool") {
		t.Fatalf("client list: %d %s", c, o)
	}
	if o, c := gatehouse(t, "", "prune", "--data-dir", dir, "--dry-run"); c != 0 || !strings.Contains(o, "would delete") {
		t.Fatalf("prune: %d %s", c, o)
	}
}

// TestCLIReadCommandsLeaveTheFileAlone: with no server running, the commands
// that only read open the file read-only: the file stays byte for byte the
// same and the directory keeps its mode, so checking a backup or listing a
// copy never changes it.
func TestCLIReadCommandsLeaveTheFileAlone(t *testing.T) {
	dir := t.TempDir()
	if o, c := gatehouse(t, "pw-from-stdin-123\n", "user", "add", "--data-dir", dir, "--email", "ro@example.com", "--name", "RO", "--password-stdin"); c != 0 {
		t.Fatalf("user add: %d %s", c, o)
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "gatehouse.db")
	before := sha256.Sum256(fileBytes(t, db))
	for _, args := range [][]string{
		{"check", "--data-dir", dir}, {"tokens", "list", "--data-dir", dir}, {"audit", "--data-dir", dir},
		{"user", "list", "--data-dir", dir}, {"client", "list", "--data-dir", dir},
	} {
		if o, c := gatehouse(t, "", args...); c != 0 {
			t.Fatalf("%v: exit %d: %s", args, c, o)
		}
		if sha256.Sum256(fileBytes(t, db)) != before {
			t.Fatalf("%v changed the data file", args)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("data dir mode after read commands: %v %v, want 0750 untouched", fi.Mode().Perm(), err)
	}
	if o, c := gatehouse(t, "", "tokens", "list", "--data-dir", filepath.Join(dir, "nope")); c != 3 || !strings.Contains(o, "no data directory at") {
		t.Errorf("tokens list on a missing dir: exit %d: %s", c, o)
	}
	if o, c := gatehouse(t, "", "tokens", "list", "--data-dir", t.TempDir()); c != 3 || !strings.Contains(o, "no Gatehouse data file") {
		t.Errorf("tokens list on an empty dir: exit %d: %s", c, o)
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); err == nil {
		t.Error("tokens list created the data dir it was pointed at")
	}
}

func TestSecondServeFailsFastNamingTheFirst(t *testing.T) {
	_, dir := startServer(t)
	start := time.Now()
	o, c := gatehouse(t, "", "serve", "--data-dir", dir, "--listen", "127.0.0.1:0")
	if c == 0 || time.Since(start) > 10*time.Second {
		t.Fatalf("second serve: exit %d after %v: %s", c, time.Since(start), o)
	}
	if !strings.Contains(o, fmt.Sprintf("pid %d", os.Getpid())) || !strings.Contains(o, "already serving this data directory") || strings.Contains(o, "admin socket") {
		t.Fatalf("second serve must say a server runs there, naming its pid %d: %s", os.Getpid(), o)
	}
}

// mintDirect runs a whole flow through HTTP with the console API and returns
// the token (no client-side waiting: the poll comes right after approval).
func mintDirect(t *testing.T, base, label string) string {
	t.Helper()
	resp, err := http.PostForm(base+"/v1/oauth/device/code", map[string][]string{"client_id": {"gatehouse-cli"}, "device_label": {label}})
	if err != nil {
		t.Fatal(err)
	}
	var da struct{ DeviceCode, UserCode string }
	var raw map[string]any
	json.NewDecoder(resp.Body).Decode(&raw)
	resp.Body.Close()
	da.DeviceCode, da.UserCode = raw["device_code"].(string), raw["user_code"].(string)
	approveAs(t, base, da.UserCode)
	resp, err = http.PostForm(base+"/v1/oauth/device/token", map[string][]string{"client_id": {"gatehouse-cli"},
		"device_code": {da.DeviceCode}, "grant_type": {server.DeviceGrantType}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok map[string]any
	json.NewDecoder(resp.Body).Decode(&tok)
	at, _ := tok["access_token"].(string)
	if at == "" {
		t.Fatalf("no token: %v", tok)
	}
	if tok["expires_in"] != float64(14*24*3600) { // rounded, not truncated to 1209599
		t.Fatalf("expires_in %v, want %d", tok["expires_in"], 14*24*3600)
	}
	return at
}

// TestAdminCommandsThroughTheSocket: while serving, a backup taken during a
// write load passes check and holds every token live when it began; the
// listing, audit and prune commands answer through the socket.
func TestAdminCommandsThroughTheSocket(t *testing.T) {
	s, dir := startServer(t)
	base := s.URL()
	var before []string
	for i := 0; i < 3; i++ {
		before = append(before, mintDirect(t, base, fmt.Sprintf("pre-%d", i)))
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // write load: flows keep starting during the backup
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				http.PostForm(base+"/v1/oauth/device/code", map[string][]string{"client_id": {"gatehouse-cli"}})
			}
		}
	}()
	backup := filepath.Join(t.TempDir(), "copy.db")
	out, code := gatehouse(t, "", "backup", "--data-dir", dir, backup)
	close(stop)
	<-done
	if code != 0 {
		t.Fatalf("backup: %d %s", code, out)
	}
	if out, code := gatehouse(t, "", "check", "--file", backup); code != 0 {
		t.Fatalf("check backup: %d %s", code, out)
	}
	// The copy opens as a data dir and knows every token live at the start.
	restored := t.TempDir()
	copyFile(t, backup, filepath.Join(restored, "gatehouse.db"))
	copyFile(t, filepath.Join(dir, server.KeyFileName), filepath.Join(restored, server.KeyFileName))
	s2, err := server.Start(server.Config{Listen: "127.0.0.1:0", DataDir: restored, DeviceCodeTTL: 10 * time.Minute,
		PollInterval: time.Second, TokenTTLDays: 14, ExternalTTLDays: 14, PasswordCost: cheap})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, tok := range before {
		if st := bearerStatus(t, s2.URL(), tok); st != 200 {
			t.Fatalf("restored backup refuses a token live before the backup: %d", st)
		}
	}
	for _, args := range [][]string{
		{"tokens", "list", "--data-dir", dir, "--json"},
		{"user", "list", "--data-dir", dir},
		{"audit", "--data-dir", dir, "--since", "1h"},
		{"prune", "--data-dir", dir},
		{"check", "--data-dir", dir},
	} {
		if out, code := gatehouse(t, "", args...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, out)
		}
	}
	out, _ = gatehouse(t, "", "tokens", "list", "--data-dir", dir, "--json")
	if strings.Count(out, `"id": "tok_`) != 3 || strings.Contains(out, "hash") {
		t.Fatalf("tokens list: %s", out)
	}
	checkAuditColumns(t, dir)
	out, _ = gatehouse(t, "", "revoke", "--data-dir", dir, "--email", email)
	if !strings.Contains(out, "3 revoked") {
		t.Fatalf("revoke by email: %s", out)
	}
	if st := bearerStatus(t, base, before[0]); st != 401 {
		t.Fatalf("revoked token still works: %d", st)
	}
	if out, code := gatehouse(t, "", "compact", "--data-dir", dir); code == 0 {
		t.Fatalf("compact must refuse while the server runs: %s", out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkAuditColumns: in `gatehouse audit`, SUBJECT is whom an event is
// about and ISSUER that subject's issuer, whatever the event type.
func checkAuditColumns(t *testing.T, dir string) {
	t.Helper()
	out, code := gatehouse(t, "", "audit", "--data-dir", dir)
	lines := strings.Split(out, "\n")
	if code != 0 || len(lines) < 2 {
		t.Fatalf("audit: %d %s", code, out)
	}
	head := lines[0]
	subj, iss, tok := strings.Index(head, "SUBJECT"), strings.Index(head, "ISSUER"), strings.Index(head, "TOKEN")
	if subj < 0 || iss < subj || tok < iss {
		t.Fatalf("audit header: %q", head)
	}
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		if len(l) < tok {
			continue
		}
		typ := strings.Fields(l)[1]
		gotSubj, gotIss := strings.TrimSpace(l[subj:iss]), strings.TrimSpace(l[iss:tok])
		if typ == "token.minted" || typ == "device.approved" {
			seen[typ] = true
			if gotSubj != email || gotIss != "gatehouse:local" {
				t.Errorf("%s: SUBJECT %q ISSUER %q, want %q and gatehouse:local:\n%s", typ, gotSubj, gotIss, email, out)
			}
		}
	}
	if !seen["token.minted"] || !seen["device.approved"] {
		t.Fatalf("audit shows no mint or approval:\n%s", out)
	}
}

// TestCLIRefusesAMissingDataDir: only serve creates a data directory. Any
// other command pointed at one that does not exist exits 3 naming it and
// creates nothing; in an existing directory without a data file only the
// commands that add the first accounts, clients and resource servers make
// the file.
func TestCLIRefusesAMissingDataDir(t *testing.T) {
	parent := t.TempDir()
	missing := filepath.Join(parent, "gatehouse-data")
	for _, args := range [][]string{
		{"user", "disable", "--email", "bob@example.com"}, {"user", "add", "--email", "bob@example.com", "--name", "Bob"},
		{"client", "add", "mytool"}, {"resource", "add", "api"}, {"revoke", "--all"}, {"prune"}, {"tokens", "list"},
		{"audit"}, {"check"}, {"backup", filepath.Join(parent, "copy.db")}, {"compact"},
	} {
		o, c := gatehouse(t, "", append(args, "--data-dir", missing)...)
		if c != 3 || !strings.Contains(o, "no data directory at "+missing) || !strings.Contains(o, "gatehouse serve` creates it") {
			t.Errorf("%v on a missing dir: exit %d (want 3, naming it): %s", args, c, o)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Fatalf("%v created %v", args, entries)
		}
	}
	empty := t.TempDir()
	for _, args := range [][]string{{"revoke", "--all"}, {"prune"}, {"user", "disable", "--email", "bob@example.com"}, {"compact"}} {
		if o, c := gatehouse(t, "", append(args, "--data-dir", empty)...); c != 3 || !strings.Contains(o, "no Gatehouse data file in "+empty) {
			t.Errorf("%v on a dir without a data file: exit %d (want 3): %s", args, c, o)
		}
		if entries, _ := os.ReadDir(empty); len(entries) != 0 {
			t.Fatalf("%v wrote %v into a dir without a data file", args, entries)
		}
	}
	if o, c := gatehouse(t, "", "client", "add", "mytool", "--data-dir", empty); c != 0 {
		t.Fatalf("client add before the first start: exit %d: %s", c, o)
	}
}

// TestCLIUsageErrorsExit2: unknown flags and commands, missing required
// flags and bad values exit 2, as the README says, with a pointer to the
// help.
func TestCLIUsageErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "add", "--emial", "x"}, "see gatehouse user add --help"},
		{[]string{"user", "add", "--name", "x"}, `Required flag "email" not set`},
		{[]string{"tokens", "lst"}, `unknown command "lst"; see gatehouse tokens --help`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"; see gatehouse --help`},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"prune", "--retention", "-1h", "--data-dir", dir}, "--retention -1h0m0s: must not be negative"},
		{[]string{"prune", "--audit-retention", "-1s", "--data-dir", dir}, "--audit-retention -1s: must not be negative"},
		{[]string{"audit", "--since", "soon"}, "see gatehouse audit --help"},
		{[]string{"audit", "--since", "-1h", "--data-dir", dir}, "must not be negative"},
		{[]string{"audit", "--limit", "-1", "--data-dir", dir}, "must not be negative"},
		{[]string{"login", "--server", "127.0.0.1:8080"}, "--server must be a URL such as http://127.0.0.1:8080"},
	} {
		if o, c := gatehouse(t, "", tc.args...); c != 2 || !strings.Contains(o, tc.want) {
			t.Errorf("%v: exit %d (want 2, saying %q): %s", tc.args, c, tc.want, o)
		}
	}
	if o, c := gatehouse(t, "", "tokens"); c != 0 || !strings.Contains(o, "list") {
		t.Errorf("a command group alone shows its help: exit %d: %s", c, o)
	}
}

// TestServeFailureLeavesNoPIDFile: a serve that fails after taking the
// lock (here: its port is taken) removes the pid file it wrote.
func TestServeFailureLeavesNoPIDFile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "data")
	if o, c := gatehouse(t, "", "serve", "--data-dir", dir, "--listen", ln.Addr().String()); c == 0 || !strings.Contains(o, "listen on") {
		t.Fatalf("serve on a taken port: exit %d: %s", c, o)
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse.pid")); err == nil {
		t.Fatal("a failed start left gatehouse.pid behind")
	}
}

// TestCLIClientErrorsAreClear: the reference client names an unreachable
// server in words, and logout with the server down forgets the token
// locally and says that it is still live.
func TestCLIClientErrorsAreClear(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	o, c := gatehouse(t, "", "login", "--server", down, "--config-dir", t.TempDir())
	if c != 1 || !strings.Contains(o, "cannot reach Gatehouse at "+down+" (connection refused): is it running?") {
		t.Fatalf("login to a stopped server: exit %d: %s", c, o)
	}
	cfgDir := t.TempDir()
	cred := fmt.Sprintf(`{%q: {"server": %q, "token": "dfoa_x", "token_id": "tok_x", "expires_at": "2099-01-01T00:00:00Z"}}`, down, down)
	if err := os.WriteFile(filepath.Join(cfgDir, "credentials.json"), []byte(cred), 0o600); err != nil {
		t.Fatal(err)
	}
	o, c = gatehouse(t, "", "logout", "--server", down, "--config-dir", cfgDir)
	if c != 1 || !strings.Contains(o, "removed the token from") || !strings.Contains(o, "could not revoke it") ||
		!strings.Contains(o, "gatehouse revoke --token-id tok_x") {
		t.Fatalf("logout with the server down: exit %d: %s", c, o)
	}
	if o, c := gatehouse(t, "", "logout", "--server", down, "--config-dir", cfgDir); c != 0 || !strings.Contains(o, "not logged in") {
		t.Fatalf("the token must be gone locally: exit %d: %s", c, o)
	}
}
