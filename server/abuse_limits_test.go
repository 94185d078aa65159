package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"gatehouse/server"
)

// limitsWith is DefaultLimits as startServer sizes them, changed by f.
func limitsWith(f func(l *server.Limits)) func(*server.Config) {
	return func(c *server.Config) {
		c.Limits = server.DefaultLimits(c.DeviceCodeTTL, server.DefaultMaxPendingCodes)
		f(&c.Limits)
	}
}

// TestGlobalGuessBudgetStopsADistributedGuesser: wrong codes from as many
// addresses as guesses (behind a trusted proxy, so each is its own client)
// run out the one global budget; then even a right code waits.
func TestGlobalGuessBudgetStopsADistributedGuesser(t *testing.T) {
	ts := startServer(t, limitsWith(func(l *server.Limits) { l.GuessIP.Disabled = true }),
		func(c *server.Config) { c.TrustedProxies = mustPrefixes(t, "127.0.0.0/8") })
	_, uc := ts.startFlow("laptop")
	burst := server.GuessBudget(server.DefaultMaxPendingCodes, 15*time.Minute).Burst
	from := func(i int) map[string]string {
		return map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.%d.%d", i/250, i%250+1)}
	}
	for i := range burst {
		if st, _, body := ts.do("GET", "/v1/oauth/device/lookup?user_code="+wrongCode(uc, i), "", "", from(i)); st != 404 {
			t.Fatalf("wrong code %d: %d %v, want 404", i, st, body)
		}
	}
	st, h, body := ts.do("GET", "/v1/oauth/device/lookup?user_code="+wrongCode(uc, burst), "", "", from(burst))
	if st != http.StatusTooManyRequests || h.Get("Retry-After") == "" || body["error"] != "rate_limited" {
		t.Fatalf("wrong code %d from a fresh address: %d %v (Retry-After %q), want 429 rate_limited", burst+1, st, body, h.Get("Retry-After"))
	}
	if st, _, _ := ts.do("GET", "/v1/oauth/device/lookup?user_code="+uc, "", "", from(burst+1)); st != http.StatusTooManyRequests {
		t.Fatalf("right code once the global budget is spent: %d, want 429", st)
	}
}

// TestOnlyPossibleHitsSpendTheGlobalBudget: malformed codes (they cannot
// match anything), codes that exist but are already approved, and codes
// whose token was handed out (a reloaded link; no guess) are failures for
// the caller's own budget only; they leave the shared
// budget whole, so typos and stale links cannot lock everyone out. The
// well-formed wrong codes after them still get exactly the burst.
func TestOnlyPossibleHitsSpendTheGlobalBudget(t *testing.T) {
	ts := startServer(t, limitsWith(func(l *server.Limits) { l.GuessIP.Disabled = true }),
		func(c *server.Config) { c.TrustedProxies = mustPrefixes(t, "127.0.0.0/8") })
	b := ts.signIn(testEmail, testPassword)
	_, approved := ts.startFlow("done")
	b.approve(approved)
	usedDevice, used := ts.startFlow("used") // its token is handed out: the code is gone
	b.approve(used)
	ts.clock.Advance(6 * time.Second)
	if st, body := ts.poll(usedDevice); st != 200 {
		t.Fatalf("poll: %d %v", st, body)
	}
	_, uc := ts.startFlow("laptop")
	burst := server.GuessBudget(server.DefaultMaxPendingCodes, 15*time.Minute).Burst
	from := func(i int) map[string]string {
		return map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.%d.%d", i/250, i%250+1)}
	}
	for i := range 3 * burst {
		if st, _, body := ts.do("GET", "/v1/oauth/device/lookup?user_code=AEIO-U"+fmt.Sprint(i), "", "", from(i)); st != 400 {
			t.Fatalf("malformed code %d: %d %v, want 400", i, st, body)
		}
		if st, _, body := ts.do("GET", "/v1/oauth/device/lookup?user_code="+approved, "", "", from(i)); st != 404 {
			t.Fatalf("approved code, lookup %d: %d %v, want 404", i, st, body)
		}
		if st, _, body := ts.do("GET", "/v1/oauth/device/lookup?user_code="+used, "", "", from(i)); st != 404 {
			t.Fatalf("spent code, lookup %d: %d %v, want 404", i, st, body)
		}
	}
	if st, _, body := ts.do("GET", "/v1/oauth/device/lookup?user_code="+uc, "", "", from(0)); st != 200 {
		t.Fatalf("right code after the misses: %d %v, want 200", st, body)
	}
	for i := range burst {
		if st, _, body := ts.do("GET", "/v1/oauth/device/lookup?user_code="+wrongCode(uc, i), "", "", from(i)); st != 404 {
			t.Fatalf("wrong code %d: %d %v, want 404 (the misses spent the shared budget)", i, st, body)
		}
	}
	if st, _, _ := ts.do("GET", "/v1/oauth/device/lookup?user_code="+wrongCode(uc, burst), "", "", from(burst)); st != http.StatusTooManyRequests {
		t.Fatalf("wrong code past the burst: %d, want 429", st)
	}
}

// wrongCode is the i-th well-formed user code that is not live (not uc).
func wrongCode(live string, i int) string {
	const alphabet = "BCDFGHJKLMNPQRSTVWXZ"
	for {
		b := []byte("BBBBBBBB")
		for j, n := 7, i; n > 0; j, n = j-1, n/20 {
			b[j] = alphabet[n%20]
		}
		if c := string(b[:4]) + "-" + string(b[4:]); c != live {
			return c
		}
		i += 1 << 20
	}
}

// TestDeviceCodeCreationIsLimitedPerAddress: past its burst an address gets
// 429 with Retry-After and no code is made; another address is unaffected.
func TestDeviceCodeCreationIsLimitedPerAddress(t *testing.T) {
	ts := startServer(t, limitsWith(func(l *server.Limits) {
		if err := l.Override("device_code=3/1m:3"); err != nil {
			t.Fatal(err)
		}
	}), func(c *server.Config) { c.TrustedProxies = mustPrefixes(t, "127.0.0.0/8") })
	create := func(ip string) (int, http.Header, map[string]any) {
		return ts.do("POST", "/v1/oauth/device/code", form, "client_id="+server.DefaultClientID, map[string]string{"X-Forwarded-For": ip})
	}
	for i := range 3 {
		if st, _, body := create("198.51.100.7"); st != 200 {
			t.Fatalf("code %d: %d %v", i+1, st, body)
		}
	}
	before := snapshot(t, ts)
	st, h, body := create("198.51.100.7")
	if st != http.StatusTooManyRequests || h.Get("Retry-After") != "20" || body["error"] != "rate_limited" {
		t.Fatalf("4th code from one address: %d %v (Retry-After %q), want 429 rate_limited, Retry-After 20", st, body, h.Get("Retry-After"))
	}
	if after := snapshot(t, ts); after != before {
		t.Fatalf("a limited request made a code:\nbefore %s\nafter  %s", before, after)
	}
	if st, _, body := create("198.51.100.8"); st != 200 {
		t.Fatalf("another address: %d %v, want 200", st, body)
	}
}
