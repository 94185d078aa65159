package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"gatehouse/server/ratelimit"
)

// guessBudget is shaped like the server's guess_global: one bucket for
// everyone, refilling over a whole code lifetime.
func guessBudget(burst int, lifetime time.Duration) ratelimit.Limit {
	return ratelimit.Limit{Name: "guess_global", Scopes: []ratelimit.Scope{ratelimit.ScopeGlobal},
		Rate: rate.Limit(float64(burst) / lifetime.Seconds()), Burst: burst}
}

func spend(t *testing.T, l *ratelimit.Limiter, lim ratelimit.Limit, parts ...string) {
	t.Helper()
	for range lim.Burst {
		if ok, _ := l.Check(lim, parts...); !ok {
			t.Fatalf("%s refused before its burst was spent", lim.Name)
		}
		l.Charge(lim, parts...)
	}
	if ok, _ := l.Check(lim, parts...); ok {
		t.Fatalf("%s still allows after its burst", lim.Name)
	}
}

// TestSpentBucketSurvivesIdleness: a spent budget that refills slower than
// the old 10-minute idle timeout is still spent after sitting 11 minutes,
// through inserts and sweeps.
func TestSpentBucketSurvivesIdleness(t *testing.T) {
	c := newClock()
	l := newLimiter(t, c, 0)
	global := guessBudget(12, 24*time.Hour) // one guess back every 2 hours
	perAddr := perIP("guess_ip", 20, time.Hour)
	spend(t, l, global)
	spend(t, l, perAddr, "203.0.113.7")

	c.Advance(11 * time.Minute)
	mustAllow(t, l, perIP("device_code", 60, time.Second), "198.51.100.1") // an insert
	mustAllow(t, l, perAddr, "198.51.100.2")                               // an insert in the same limit
	l.Sweep()

	if ok, _ := l.Check(global); ok {
		t.Fatal("the spent global guess budget came back after 11 idle minutes")
	}
	if ok, _ := l.Check(perAddr, "203.0.113.7"); ok {
		t.Fatal("a spent per-address budget came back after 11 idle minutes")
	}
}

// TestFloodOfOneLimitKeepsAnothersSpentBuckets: 200k distinct keys of one
// limit (device codes from as many IPv6 /64s) stay within the cap by
// evicting that limit's own buckets; a spent bucket of another limit and
// the global budget keep limiting.
func TestFloodOfOneLimitKeepsAnothersSpentBuckets(t *testing.T) {
	c := newClock()
	l := newLimiter(t, c, 0) // the default cap
	global := guessBudget(12, 15*time.Minute)
	guessIP := perIP("guess_ip", 20, 10*time.Second)
	signin := ratelimit.Limit{Name: "signin_email", Scopes: []ratelimit.Scope{ratelimit.ScopeSubjectEmail},
		Rate: rate.Every(12 * time.Second), Burst: 10}
	spend(t, l, global)
	spend(t, l, guessIP, "203.0.113.7")
	spend(t, l, signin, "ada@example.com")

	code := perIP("device_code", 60, time.Second)
	for i := range 200_000 {
		mustAllow(t, l, code, fmt.Sprintf("2001:db8:%x:%x::/64", i>>16, i&0xffff))
	}
	if n := l.Len(); n > ratelimit.DefaultMaxKeys+1 {
		t.Fatalf("Len() = %d, over the cap %d (+1 global)", n, ratelimit.DefaultMaxKeys)
	}
	if ok, _ := l.Check(guessIP, "203.0.113.7"); ok {
		t.Fatal("the device-code flood evicted a spent guess_ip bucket")
	}
	if ok, _ := l.Check(signin, "ada@example.com"); ok {
		t.Fatal("the device-code flood evicted a spent signin_email bucket")
	}
	if ok, _ := l.Check(global); ok {
		t.Fatal("the device-code flood evicted the spent global guess budget")
	}
}

// TestGlobalBucketIsNeverEvicted: at a tiny cap, inserts of keyed buckets
// never push out a global one (it does not count toward the cap).
func TestGlobalBucketIsNeverEvicted(t *testing.T) {
	l := newLimiter(t, newClock(), 2)
	global := guessBudget(1, time.Hour)
	spend(t, l, global)
	lim := perIP("x", 1, time.Hour)
	for i := range 10 {
		mustAllow(t, l, lim, fmt.Sprint(i))
	}
	if ok, _ := l.Check(global); ok {
		t.Fatal("a global bucket was evicted under key-cap pressure")
	}
	if n := l.Len(); n != 3 {
		t.Fatalf("Len() = %d, want the cap of 2 plus the global bucket", n)
	}
}

// TestAtTheCapTheLargestLimitPays: an insert into a small limit at the cap
// evicts from the largest limit, not from its own or another small one.
func TestAtTheCapTheLargestLimitPays(t *testing.T) {
	l := newLimiter(t, newClock(), 5)
	big := perIP("big", 1, time.Hour)
	small := perIP("small", 1, time.Hour)
	other := perIP("other", 1, time.Hour)
	mustAllow(t, l, small, "s1")
	mustAllow(t, l, other, "o1")
	for i := range 3 {
		mustAllow(t, l, big, fmt.Sprint("b", i))
	}
	mustAllow(t, l, small, "s2") // at the cap: big (3 buckets) gives up b0
	mustRefuse(t, l, small, "s1")
	mustRefuse(t, l, other, "o1")
	mustAllow(t, l, big, "b0") // it was the one evicted: starts full again
}
