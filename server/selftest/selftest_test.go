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
)

// TestSelftestPassesAgainstGatehouse runs every check against a real
// server on :0: each must pass, or the report says which and why.
func TestSelftestPassesAgainstGatehouse(t *testing.T) {
	s, err := server.Start(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), DeviceCodeTTL: 10 * time.Minute,
		PollInterval: 5 * time.Second, TokenTTLDays: 14, ExternalTTLDays: 14})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep := selftest.Run(context.Background(), selftest.Options{BaseURL: s.URL() + "/", ClientID: server.DefaultClientID})
	var out strings.Builder
	rep.Write(&out)
	t.Log("\n" + out.String())
	if rep.Failed() != 0 || len(rep.Results) < 15 {
		t.Fatalf("selftest against Gatehouse:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "checks passed") {
		t.Fatalf("no summary line:\n%s", out.String())
	}
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
