package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/server"
)

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, raw)
	}
	return string(raw)
}

// TestMetricsCountTheFlow runs a flow and reads the counters back.
func TestMetricsCountTheFlow(t *testing.T) {
	ts := startServer(t, func(c *server.Config) {
		c.Limits = server.DefaultLimits(15*time.Minute, 1000)
		if err := c.Limits.Override("bearer=1/1m:3"); err != nil {
			t.Fatal(err)
		}
	})
	tok, id := ts.token("laptop")
	ts.me(tok)
	ts.me("junk")
	ts.me(tok)
	ts.me(tok)
	if st, _, _ := ts.me(tok); st != 429 { // over the bearer budget of 3
		t.Fatalf("fourth use: %d, want 429", st)
	}
	ts.do("DELETE", "/v1/oauth/authorizations/"+id, "", "", nil)
	ts.do("GET", "/no/such/path/secret-looking-thing", "", "", nil)
	for i := range 3 {
		ts.do(fmt.Sprintf("MADEUP%d", i), "/v1/me", "", "", nil)
	}
	body := scrape(t, ts.URL+"/metrics")
	for _, want := range []string{
		"gatehouse_device_codes_issued_total 1",
		`gatehouse_polls_total{outcome="success"} 1`,
		`gatehouse_resolutions_total{branch="local",decision="approve"} 1`,
		`gatehouse_tokens_total{event="minted"} 1`,
		`gatehouse_bearer_checks_total{outcome="valid"} 4`,
		`gatehouse_bearer_checks_total{outcome="invalid"} 1`,
		`gatehouse_bearer_checks_total{outcome="missing"} 1`,
		`gatehouse_rate_limited_total{limit="bearer"} 1`,
		`gatehouse_rate_limited_total{limit="signin_ip"} 0`, // preset before the first hit
		`gatehouse_http_request_duration_seconds_count{code="200",method="POST",route="/v1/oauth/device/token"} 1`,
		`route="/v1/oauth/authorizations/:id"`,
		`route="unmatched"`,
		`method="other"`,
		"gatehouse_bbolt_file_size_bytes ",
		"gatehouse_bbolt_page_writes_total ",
		"gatehouse_device_codes_paced ",
		"gatehouse_rate_limit_buckets ",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, id) || strings.Contains(body, "secret-looking-thing") {
		t.Errorf("a raw path reached a metric label")
	}
	if strings.Contains(body, "MADEUP") {
		t.Errorf("a made-up method reached a metric label")
	}
}

func TestMetricsOnTheirOwnListener(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MetricsListen = "127.0.0.1:0" })
	if st, _, _ := ts.do("GET", "/metrics", "", "", nil); st != 404 {
		t.Fatalf("/metrics on the public listener with --metrics-listen: %d, want 404", st)
	}
	if body := scrape(t, "http://"+ts.MetricsAddr()+"/metrics"); !strings.Contains(body, "gatehouse_polls_total") {
		t.Fatalf("metrics listener: %s", body)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	ts := startServer(t)
	if st, _, body := ts.do("GET", "/healthz", "", "", nil); st != 200 || body["status"] != "ok" {
		t.Fatalf("/healthz: %d %v", st, body)
	}
	if st, _, body := ts.do("GET", "/readyz", "", "", nil); st != 200 || body["status"] != "ready" {
		t.Fatalf("/readyz: %d %v", st, body)
	}
}

func TestRequestIDs(t *testing.T) {
	direct := startServer(t)
	behindProxy := startServer(t, func(c *server.Config) { c.TrustedProxies = mustPrefixes(t, "127.0.0.1/32") })
	sane := "req-7f3a.9:xyz"
	cases := []struct {
		name     string
		ts       *testServer
		incoming string
		kept     bool
	}{
		{"no incoming id", direct, "", false},
		{"untrusted peer's id is replaced", direct, sane, false},
		{"trusted proxy's id is kept", behindProxy, sane, true},
		{"trusted proxy's insane id is replaced", behindProxy, "bad id\twith spaces", false},
		{"trusted proxy's overlong id is replaced", behindProxy, strings.Repeat("a", 129), false},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		hdr := map[string]string{}
		if c.incoming != "" {
			hdr["X-Request-Id"] = c.incoming
		}
		_, h, _ := c.ts.do("GET", "/v1/me", "", "", hdr)
		got := h.Get("X-Request-Id")
		switch {
		case got == "":
			t.Errorf("%s: no X-Request-Id in the response", c.name)
		case c.kept && got != c.incoming, !c.kept && got == c.incoming:
			t.Errorf("%s: X-Request-Id %q (incoming %q)", c.name, got, c.incoming)
		case !c.kept && seen[got]:
			t.Errorf("%s: generated id %q repeats", c.name, got)
		}
		seen[got] = true
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatehouse test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServesTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	ts := startServer(t, func(c *server.Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	if !strings.HasPrefix(ts.URL, "https://") {
		t.Fatalf("public URL with TLS: %s", ts.URL)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	st, h, body := doWith(t, c, "GET", strings.Replace(ts.URL, "localhost", "127.0.0.1", 1)+"/.well-known/oauth-authorization-server", "", "", nil)
	if st != 200 || body["issuer"] != ts.URL || h.Get("Strict-Transport-Security") == "" {
		t.Fatalf("over TLS: %d %v %v", st, body, h)
	}
	// Plain HTTP on the TLS port gets Go's bare 400, no Gatehouse answer.
	resp, err := http.Get(strings.Replace(ts.URL, "https://", "http://", 1) + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("plain HTTP on the TLS port: %d", resp.StatusCode)
		}
	}
}

func TestTLSFlagsGoTogether(t *testing.T) {
	_, err := server.Start(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), DeviceCodeTTL: time.Minute,
		PollInterval: 5 * time.Second, TokenTTLDays: 1, ExternalTTLDays: 1, TLSCert: "x.pem"})
	if err == nil || !strings.Contains(err.Error(), "--tls-key") {
		t.Fatalf("cert without key: %v", err)
	}
}

var secretShapes = regexp.MustCompile(`dfo[ae]_[A-Za-z0-9_-]{20,}`)

// TestLogsCarryNoSecrets runs a whole flow, failures included, with a JSON
// logger into a buffer, then looks for every secret value in it.
func TestLogsCarryNoSecrets(t *testing.T) {
	logs := &syncBuffer{}
	ts := startServer(t, func(c *server.Config) { c.Logger = jsonLogger(logs) })
	ts.signInFails(testEmail, "wrong password entirely")
	b := ts.signIn(testEmail, testPassword)
	dc, uc := ts.startFlow("laptop")
	ts.poll(dc)
	b.approve(uc)
	ts.clock.Advance(6 * time.Second)
	_, body := ts.poll(dc)
	tok := body["access_token"].(string)
	ts.me(tok)
	ts.me(tok + "x")
	rsSecret := ts.addResource("wiki")
	ts.introspect(basic("wiki", rsSecret), tok)
	ts.revoke(url.Values{"token": {tok}})
	ts.me(tok)
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"token issued"`) {
		t.Fatalf("the logger saw nothing; the test would prove nothing:\n%s", out)
	}
	secrets := map[string]string{"token": tok, "device_code": dc, "user_code": uc, "user_code_normalized": normalize(t, uc),
		"password": testPassword, "wrong password": "wrong password entirely", "session cookie": b.cookie(),
		"csrf token": b.csrf, "resource secret": rsSecret}
	for name, v := range secrets {
		if v == "" || strings.Contains(out, v) {
			t.Errorf("the log carries the %s (or the test lost it)", name)
		}
	}
	if m := secretShapes.FindString(out); m != "" {
		t.Errorf("the log carries something token-shaped: %q", m)
	}
	// Every audit event is also a structured record (one sink for all kinds).
	for _, ev := range []string{"signin.failed", "device.approved", "token.minted", "resource.added", "token.revoked"} {
		if !strings.Contains(out, `"msg":"audit","event":"`+ev+`"`) {
			t.Errorf("no audit log record for %s", ev)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
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

func jsonLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// signInFails tries a wrong password and expects the refusal.
func (ts *testServer) signInFails(email, password string) {
	ts.t.Helper()
	body := `{"email":"` + email + `","password":"` + password + `"}`
	if st, _, _ := ts.do("POST", "/console/api/login", "application/json", body, nil); st != 401 {
		ts.t.Fatalf("wrong password: %d, want 401", st)
	}
}

// cookie is the browser's session cookie value.
func (b *browser) cookie() string {
	u, _ := url.Parse(b.ts.URL)
	for _, c := range b.http.Jar.Cookies(u) {
		if c.Name == server.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// TestFailedSignInRecordsOnlyAnEmail: what was typed as the email reaches
// the log and the audit trail only when it names an account. A password
// typed into the email field (with an '@' or without), or control
// characters aimed at an operator's terminal, are recorded as "not an email
// address" or "no such account".
func TestFailedSignInRecordsOnlyAnEmail(t *testing.T) {
	logs := &syncBuffer{}
	ts := startServer(t, func(c *server.Config) { c.Logger = jsonLogger(logs) })
	typed := []string{"MyS3cretPassw0rd!", `\u001b]0;pwned\u0007EVIL@example.com`, `a@b\nforged row`, "Summer@2024pwned"}
	for _, e := range typed {
		ts.signInFails(e, "wrong password entirely")
	}
	ts.signInFails(testEmail, "wrong password entirely")
	evs, err := ts.Store().Events(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, ev := range evs {
		if ev.Type == "signin.failed" {
			subjects = append(subjects, ev.Subject+"|"+ev.Detail)
		}
	}
	want := []string{testEmail + "|", "|no such account", "|not an email address", "|not an email address", "|not an email address"}
	if strings.Join(subjects, ",") != strings.Join(want, ",") {
		t.Errorf("signin.failed events (newest first) = %q, want %q", subjects, want)
	}
	out := logs.String()
	for _, s := range []string{"MyS3cretPassw0rd", "pwned", "forged row"} {
		if strings.Contains(out, s) {
			t.Errorf("the log carries %q from a sign-in that named no account", s)
		}
	}
	if !strings.Contains(out, testEmail) {
		t.Errorf("an account's failed sign-in is not logged:\n%s", out)
	}
}

// TestHeadOnReadOnlyRoutes: health checks, pages, assets and the metadata
// answer HEAD like GET, without a body; routes that spend a budget or a
// code guess stay GET only.
func TestHeadOnReadOnlyRoutes(t *testing.T) {
	ts := startServer(t)
	for _, path := range []string{"/healthz", "/readyz", "/device", "/signin", "/assets/app.css", "/.well-known/oauth-authorization-server"} {
		req, _ := http.NewRequest(http.MethodHead, ts.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != 0 || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("HEAD %s: %d, %d body bytes, X-Frame-Options %q; want 200, none, DENY", path, resp.StatusCode, n, resp.Header.Get("X-Frame-Options"))
		}
	}
	for _, path := range []string{"/v1/oauth/device/lookup?user_code=BCDF-GHJK", "/v1/me"} {
		if st, _, _ := ts.do(http.MethodHead, path, "", "", nil); st != http.StatusMethodNotAllowed {
			t.Errorf("HEAD %s: %d, want 405", path, st)
		}
	}
}
