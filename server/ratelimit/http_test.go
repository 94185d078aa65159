package ratelimit_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"gatehouse/server/ratelimit"
)

func TestIPKey(t *testing.T) {
	cases := []struct {
		name, ip, want string
	}{
		{"IPv4 by address", "203.0.113.7", "203.0.113.7"},
		{"IPv4-mapped IPv6 as IPv4", "::ffff:203.0.113.7", "203.0.113.7"},
		{"IPv6 by /64", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"IPv6 zone dropped", "fe80::1%eth0", "fe80::/64"},
		{"IPv6 loopback", "::1", "::/64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ratelimit.IPKey(netip.MustParseAddr(tc.ip)); got != tc.want {
				t.Fatalf("IPKey(%s) = %q, want %q", tc.ip, got, tc.want)
			}
		})
	}
	if got := ratelimit.IPKey(netip.Addr{}); got != "invalid IP" {
		t.Fatalf("IPKey(zero) = %q", got)
	}
}

func TestIPv6SharesBucketPer64(t *testing.T) {
	l := newLimiter(t, newClock(), 0)
	lim := perIP("device_code", 1, time.Hour)
	key := func(s string) string { return ratelimit.IPKey(netip.MustParseAddr(s)) }
	mustAllow(t, l, lim, key("2001:db8:0:1::1"))
	mustRefuse(t, l, lim, key("2001:db8:0:1:ffff:ffff:ffff:ffff")) // same /64
	mustAllow(t, l, lim, key("2001:db8:0:2::1"))                   // next /64
	mustAllow(t, l, lim, key("198.51.100.1"))
	mustRefuse(t, l, lim, key("::ffff:198.51.100.1")) // the same IPv4 host
}

func TestMiddleware(t *testing.T) {
	l := newLimiter(t, newClock(), 0)
	lim := perIP("device_code", 2, 30*time.Second)
	calls := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ })
	var limitedWait time.Duration
	onLimited := func(w http.ResponseWriter, r *http.Request, d time.Duration) {
		limitedWait = d
		w.WriteHeader(http.StatusTooManyRequests)
	}
	key := func(r *http.Request) []string { return []string{r.RemoteAddr} }
	h := l.Middleware(lim, key, onLimited)(next)

	codes := make([]int, 0, 3)
	var last *httptest.ResponseRecorder
	for range 3 {
		last = httptest.NewRecorder()
		h.ServeHTTP(last, httptest.NewRequest(http.MethodPost, "/v1/oauth/device/code", nil))
		codes = append(codes, last.Code)
	}
	if calls != 2 {
		t.Fatalf("handler ran %d times, want 2 (a limited request does no work)", calls)
	}
	if codes[2] != http.StatusTooManyRequests {
		t.Fatalf("status codes %v, want the third 429", codes)
	}
	if got := last.Header().Get("Retry-After"); got != "30" {
		t.Fatalf("Retry-After = %q, want 30", got)
	}
	if limitedWait <= 0 || limitedWait > 30*time.Second {
		t.Fatalf("onLimited got %v, want (0, 30s]", limitedWait)
	}
}

func TestMiddlewareDefaultAnswer(t *testing.T) {
	l := newLimiter(t, newClock(), 0)
	lim := perIP("x", 1, time.Minute)
	h := l.Middleware(lim, func(*http.Request) []string { return []string{"ip"} }, nil)(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "60" {
		t.Fatalf("got %d, Retry-After %q; want 429 and 60", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestMiddlewarePanicsOnInvalidLimit(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Middleware accepted a limit with zero rate")
		}
	}()
	l := newLimiter(t, newClock(), 0)
	l.Middleware(ratelimit.Limit{Name: "bad", Scopes: []ratelimit.Scope{ratelimit.ScopeIP}, Burst: 1},
		func(*http.Request) []string { return []string{"ip"} }, nil)
}
