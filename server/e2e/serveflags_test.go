package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestServeRefusesNegativePruneWindows: a negative retention would make
// the scheduled prune delete live tokens, so start-up refuses it by name.
func TestServeRefusesNegativePruneWindows(t *testing.T) {
	for _, tc := range []struct{ flag, value string }{
		{"--retention", "-400h"}, {"--audit-retention", "-5h"}, {"--prune-every", "-1s"},
	} {
		dir := t.TempDir()
		out, code := gatehouse(t, "", "serve", "--data-dir", dir, "--listen", "127.0.0.1:0", tc.flag, tc.value)
		if code != 2 || !strings.Contains(out, tc.flag+" must not be negative") {
			t.Errorf("serve %s %s: exit %d, %q; want exit 2 naming the flag", tc.flag, tc.value, code, out)
		}
	}
}

// TestServeBadValuesAreUsageErrors: a bad flag value exits 2, as the
// README's exit codes say, naming only the flag that was given.
func TestServeBadValuesAreUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    string
		mustNot string
	}{
		{[]string{"--poll-interval", "0s"}, "--poll-interval 0s must be between", ""},
		{[]string{"--device-code-ttl", "10s"}, "--device-code-ttl 10s must be between", ""},
		{[]string{"--public-url", "ftp://x"}, `--public-url "ftp://x" must be an absolute http(s) URL`, ""},
		{[]string{"--token-ttl-days", "0"}, "--token-ttl-days 0 must be between 1 and 365", "external"},
		{[]string{"--log-format", "xml"}, "gatehouse: --log-format must be text or json", ""},
	} {
		dir := t.TempDir()
		out, code := gatehouse(t, "", append([]string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0"}, tc.args...)...)
		if code != 2 || !strings.Contains(out, tc.want) || tc.mustNot != "" && strings.Contains(out, tc.mustNot) {
			t.Errorf("serve %v: exit %d, %q; want exit 2 saying %q (and not %q)", tc.args, code, out, tc.want, tc.mustNot)
		}
	}
}

// TestCheckOfAMissingFileIsNotFound: `check --file` on a path that does not
// exist exits 3 (not found), not 1 (a file that failed its check).
func TestCheckOfAMissingFileIsNotFound(t *testing.T) {
	out, code := gatehouse(t, "", "check", "--file", t.TempDir()+"/no-such.db")
	if code != 3 || !strings.Contains(out, "no such file") {
		t.Errorf("check --file missing: exit %d, %q; want 3", code, out)
	}
}

// TestVersion: operators can tell binaries apart before an upgrade.
func TestVersion(t *testing.T) {
	out, code := gatehouse(t, "", "--version")
	if code != 0 || !strings.HasPrefix(out, "gatehouse version ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}

// TestNamesPeopleReadArePrintable: a client name (shown on the approval
// page) or an account name with terminal control or bidi characters is a
// usage error, and nothing is created.
func TestNamesPeopleReadArePrintable(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"client", "add", "evil", "--name", "A\x1b[2JB\a", "--data-dir", dir},
		{"client", "add", "evil2", "--name", "Deploy\u202egnp.exe", "--data-dir", dir},
		{"user", "add", "--email", "eve@example.com", "--name", "Eve\nforged", "--password-stdin", "--data-dir", dir},
	} {
		if out, code := gatehouse(t, "a long enough password\n", args...); code != 2 || !strings.Contains(out, "printable") {
			t.Errorf("%q: exit %d, %q; want 2 naming printable characters", args, code, out)
		}
	}
	if out, _ := gatehouse(t, "", "client", "list", "--data-dir", dir); strings.Contains(out, "evil") {
		t.Errorf("a refused client was created: %s", out)
	}
	if out, code := gatehouse(t, "", "client", "add", "ok", "--name", "Zoë's CLI", "--data-dir", dir); code != 0 {
		t.Errorf("a plain name was refused: %d %s", code, out)
	}
}

// TestPruneRetentionZeroPrunesAtOnce: `prune --retention 0s` deletes a
// token revoked a moment ago, through the running server, as the README
// says (0 is a window, not "the default").
func TestPruneRetentionZeroPrunesAtOnce(t *testing.T) {
	s, dir := startServer(t)
	tok := mintDirect(t, s.URL(), "laptop")
	if out, code := gatehouse(t, "", "revoke", "--token", tok, "--data-dir", dir); code != 0 {
		t.Fatalf("revoke: %d %s", code, out)
	}
	out, code := gatehouse(t, "", "prune", "--retention", "0s", "--json", "--data-dir", dir)
	var got struct {
		Tokens int `json:"tokens"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.Tokens != 1 {
		t.Fatalf("prune --retention 0s: exit %d, %s; want 1 token deleted", code, out)
	}
}
