package selftest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gatehouse/server"
	"gatehouse/server/selftest"
	"gatehouse/tokens"
)

var cheap = tokens.Argon2Params{Memory: 1024, Time: 1, Threads: 1}

// startGatehouse runs a real server on :0 with an account to approve with.
func startGatehouse(t *testing.T, ttl time.Duration) *server.Server {
	t.Helper()
	s, err := server.Start(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), DeviceCodeTTL: ttl,
		PollInterval: 5 * time.Second, TokenTTLDays: 14, ExternalTTLDays: 14, PasswordCost: cheap})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := server.CreateAccount(s.Store(), "ops@example.com", "Ops", "member", "selftest password", nil, cheap, time.Now()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSelftestPassesAgainstGatehouse runs every check against a real
// server on :0, with an approver: each must pass (none skipped but the
// expiry check), or the report says which and why.
func TestSelftestPassesAgainstGatehouse(t *testing.T) {
	s := startGatehouse(t, 10*time.Minute)
	rep := selftest.Run(context.Background(), selftest.Options{BaseURL: s.URL() + "/", ClientID: server.DefaultClientID,
		Approver: &selftest.Approver{Email: "ops@example.com", Password: "selftest password"}})
	out := report(t, rep)
	if rep.Failed() != 0 || rep.Skipped() != 1 || len(rep.Results) < 20 {
		t.Fatalf("selftest against Gatehouse:\n%s", out)
	}
	for _, want := range []string{"PASS  replay after success", "PASS  denied code", "PASS  token works, then revoked", "SKIP  expired code"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// TestSelftestWithoutApproverSkips: with no account the decision checks
// are skipped (said so), not passed, and nothing fails.
func TestSelftestWithoutApproverSkips(t *testing.T) {
	s := startGatehouse(t, 10*time.Minute)
	rep := selftest.Run(context.Background(), selftest.Options{BaseURL: s.URL(), ClientID: server.DefaultClientID})
	out := report(t, rep)
	if rep.Failed() != 0 || rep.Skipped() != 5 || !strings.Contains(out, ", 5 skipped") {
		t.Fatalf("selftest without an approver:\n%s", out)
	}
	// A wrong password is a failure of the checks that need it, not a skip.
	rep = selftest.Run(context.Background(), selftest.Options{BaseURL: s.URL(), ClientID: server.DefaultClientID,
		Approver: &selftest.Approver{Email: "ops@example.com", Password: "wrong"}})
	out = report(t, rep)
	if rep.Failed() != 4 {
		t.Fatalf("selftest with a wrong password: %d failed, want the 4 decision checks:\n%s", rep.Failed(), out)
	}
}

// TestSelftestExpiry runs the expiry check against a server whose codes
// live 30 s (the shortest it allows).
func TestSelftestExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 31 s for a code to expire")
	}
	s := startGatehouse(t, 30*time.Second)
	rep := selftest.Run(context.Background(), selftest.Options{BaseURL: s.URL(), ClientID: server.DefaultClientID,
		Approver: &selftest.Approver{Email: "ops@example.com", Password: "selftest password"}, WaitExpiry: true})
	out := report(t, rep)
	if rep.Failed() != 0 || rep.Skipped() != 0 || !strings.Contains(out, "PASS  expired code") {
		t.Fatalf("selftest with --wait-expiry:\n%s", out)
	}
}

func report(t *testing.T, rep selftest.Report) string {
	t.Helper()
	var out strings.Builder
	rep.Write(&out)
	t.Log("\n" + out.String())
	if !strings.Contains(out.String(), "checks passed") {
		t.Fatalf("no summary line:\n%s", out.String())
	}
	return out.String()
}

// TestSelftestCatchesABrokenServer points the checks at a server that
// answers 200 {} to everything: every check must fail, none may pass
// by default.
func TestSelftestCatchesABrokenServer(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
	}))
	defer broken.Close()
	rep := selftest.Run(context.Background(), selftest.Options{BaseURL: broken.URL, ClientID: "x"})
	for _, r := range rep.Results {
		if r.Err == nil {
			t.Errorf("check %q passed against a server that answers {} to everything", r.Name)
		}
	}
	var out strings.Builder
	rep.Write(&out)
	if !strings.Contains(out.String(), "FAIL") || !strings.Contains(out.String(), "0 of ") {
		t.Fatalf("report:\n%s", out.String())
	}
}
