package ratelimit_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"gatehouse/server/ratelimit"
)

// clock is a settable time source for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newLimiter(t *testing.T, c *clock, maxKeys int) *ratelimit.Limiter {
	t.Helper()
	return ratelimit.New(ratelimit.Config{MaxKeys: maxKeys, Now: c.Now})
}

// perIP is a valid limit keyed by IP: burst tokens, one more every interval.
func perIP(name string, burst int, interval time.Duration) ratelimit.Limit {
	return ratelimit.Limit{Name: name, Scopes: []ratelimit.Scope{ratelimit.ScopeIP},
		Rate: rate.Every(interval), Burst: burst}
}

func mustAllow(t *testing.T, l *ratelimit.Limiter, lim ratelimit.Limit, parts ...string) {
	t.Helper()
	if ok, wait := l.Allow(lim, parts...); !ok {
		t.Fatalf("Allow(%s, %q) refused, retry after %v", lim.Name, parts, wait)
	}
}

func mustRefuse(t *testing.T, l *ratelimit.Limiter, lim ratelimit.Limit, parts ...string) time.Duration {
	t.Helper()
	ok, wait := l.Allow(lim, parts...)
	if ok {
		t.Fatalf("Allow(%s, %q) allowed, want refused", lim.Name, parts)
	}
	return wait
}

func TestBurstThenRefusal(t *testing.T) {
	c := newClock()
	l := newLimiter(t, c, 0)
	lim := perIP("device_code", 3, 20*time.Second)
	for range 3 {
		mustAllow(t, l, lim, "203.0.113.7")
	}
	wait := mustRefuse(t, l, lim, "203.0.113.7")
	if wait <= 19*time.Second || wait > 20*time.Second {
		t.Fatalf("retryAfter = %v, want about 20s", wait)
	}
	if got := ratelimit.RetryAfterSeconds(wait); got != 20 {
		t.Fatalf("RetryAfterSeconds = %d, want 20", got)
	}
	c.Advance(5 * time.Second)
	if wait2 := mustRefuse(t, l, lim, "203.0.113.7"); wait2 > 15*time.Second {
		t.Fatalf("after 5s retryAfter = %v, want at most 15s", wait2)
	}
}

func TestRefillWithClock(t *testing.T) {
	c := newClock()
	l := newLimiter(t, c, 0)
	lim := perIP("poll", 2, time.Minute)
	mustAllow(t, l, lim, "ip")
	mustAllow(t, l, lim, "ip")
	wait := mustRefuse(t, l, lim, "ip")

	c.Advance(wait - time.Millisecond)
	mustRefuse(t, l, lim, "ip")
	c.Advance(time.Millisecond)
	mustAllow(t, l, lim, "ip")
	mustRefuse(t, l, lim, "ip")

	c.Advance(time.Hour) // refill never exceeds the burst
	mustAllow(t, l, lim, "ip")
	mustAllow(t, l, lim, "ip")
	mustRefuse(t, l, lim, "ip")
}

func TestLimitsAreIsolated(t *testing.T) {
	l := newLimiter(t, newClock(), 0)
	code := perIP("device_code", 1, time.Hour)
	login := perIP("login", 1, time.Hour)
	mustAllow(t, l, code, "203.0.113.7")
	mustRefuse(t, l, code, "203.0.113.7")
	mustAllow(t, l, login, "203.0.113.7") // same IP, other limit: own bucket
	mustAllow(t, l, code, "203.0.113.8")  // same limit, other IP: own bucket
	if got := l.Len(); got != 3 {
		t.Fatalf("Len() = %d, want 3", got)
	}
}

func TestCompositeKeys(t *testing.T) {
	l := newLimiter(t, newClock(), 0)
	lim := ratelimit.Limit{Name: "approve",
		Scopes: []ratelimit.Scope{ratelimit.ScopeIP, ratelimit.ScopeSubjectEmail},
		Rate:   rate.Every(time.Hour), Burst: 1}
	mustAllow(t, l, lim, "198.51.100.1", "a@example.com")
	mustRefuse(t, l, lim, "198.51.100.1", "a@example.com")
	mustAllow(t, l, lim, "198.51.100.1", "b@example.com")
	mustAllow(t, l, lim, "198.51.100.2", "a@example.com")

	// Separators inside values cannot make two keys collide.
	mustAllow(t, l, lim, "a\x00b", "c")
	mustAllow(t, l, lim, "a", "b\x00c")
	mustAllow(t, l, lim, "a:1", "b")
	mustAllow(t, l, lim, "a", "1:b")

	// Long values are hashed, and still told apart.
	long := strings.Repeat("x", 1000)
	mustAllow(t, l, lim, "ip", long+"1")
	mustAllow(t, l, lim, "ip", long+"2")
	mustRefuse(t, l, lim, "ip", long+"1")
}

func TestGlobalScope(t *testing.T) {
	l := newLimiter(t, newClock(), 0)
	lim := ratelimit.Limit{Name: "signups", Scopes: []ratelimit.Scope{ratelimit.ScopeGlobal},
		Rate: rate.Every(time.Hour), Burst: 2}
	mustAllow(t, l, lim)
	mustAllow(t, l, lim)
	mustRefuse(t, l, lim)
}

func TestFailureCounting(t *testing.T) {
	c := newClock()
	l := newLimiter(t, c, 0)
	lim := ratelimit.Limit{Name: "login_failures", Scopes: []ratelimit.Scope{ratelimit.ScopeAccount},
		Rate: rate.Every(time.Minute), Burst: 3}

	// Successes only Check: nothing is consumed, however many there are.
	for range 100 {
		if ok, _ := l.Check(lim, "alice"); !ok {
			t.Fatal("Check refused before any failure")
		}
	}
	if got := l.Len(); got != 0 {
		t.Fatalf("Check made buckets: Len() = %d, want 0", got)
	}

	// Three failures spend the budget; the third reports the wait.
	for i := range 3 {
		if ok, _ := l.Check(lim, "alice"); !ok {
			t.Fatalf("Check refused before failure %d", i+1)
		}
		wait := l.Charge(lim, "alice")
		if i < 2 && wait != 0 {
			t.Fatalf("Charge %d: retryAfter = %v, want 0", i+1, wait)
		}
		if i == 2 && ratelimit.RetryAfterSeconds(wait) != 60 {
			t.Fatalf("Charge 3: retryAfter = %v, want 60s", wait)
		}
	}
	ok, wait := l.Check(lim, "alice")
	if ok || ratelimit.RetryAfterSeconds(wait) != 60 {
		t.Fatalf("Check after 3 failures = %v, %v; want refused for 60s", ok, wait)
	}

	// A later success (another Check that passes) never refills early.
	c.Advance(time.Minute)
	if ok, _ := l.Check(lim, "alice"); !ok {
		t.Fatal("Check refused after a refill interval")
	}
	if ok, _ := l.Check(lim, "alice"); !ok {
		t.Fatal("the second Check consumed the token")
	}
	l.Charge(lim, "alice")
	if ok, _ := l.Check(lim, "alice"); ok {
		t.Fatal("Check allowed with the budget spent again")
	}
	if ok, _ := l.Check(lim, "bob"); !ok {
		t.Fatal("another account shares alice's budget")
	}
}

func TestChargeDebtIsBounded(t *testing.T) {
	c := newClock()
	l := newLimiter(t, c, 0)
	lim := ratelimit.Limit{Name: "login_failures", Scopes: []ratelimit.Scope{ratelimit.ScopeAccount},
		Rate: rate.Every(time.Minute), Burst: 3}
	var wait time.Duration
	for range 1000 { // e.g. 1000 concurrent attempts that all passed Check
		wait = l.Charge(lim, "alice")
	}
	if got := ratelimit.RetryAfterSeconds(wait); got != 4*60 {
		t.Fatalf("retryAfter after 1000 failures = %ds, want %ds (one burst of debt)", got, 4*60)
	}
	c.Advance(wait)
	if ok, _ := l.Check(lim, "alice"); !ok {
		t.Fatal("Check refused once the debt was paid back")
	}
}

func TestDisabledLimitAlwaysAllows(t *testing.T) {
	l := newLimiter(t, newClock(), 0)
	lim := perIP("off", 1, time.Hour)
	lim.Disabled = true
	for range 100 {
		mustAllow(t, l, lim, "ip")
		if ok, _ := l.Check(lim, "ip"); !ok {
			t.Fatal("Check refused on a disabled limit")
		}
		if wait := l.Charge(lim, "ip"); wait != 0 {
			t.Fatalf("Charge on a disabled limit = %v, want 0", wait)
		}
	}
	if got := l.Len(); got != 0 {
		t.Fatalf("a disabled limit stored buckets: Len() = %d", got)
	}
}

func TestChangedLimitAppliesToLiveBuckets(t *testing.T) {
	l := newLimiter(t, newClock(), 0)
	lim := perIP("poll", 1, time.Hour)
	mustAllow(t, l, lim, "ip")
	mustRefuse(t, l, lim, "ip")
	lim.Burst, lim.Rate = 5, rate.Every(time.Second)
	if wait := mustRefuse(t, l, lim, "ip"); wait > time.Second {
		t.Fatalf("retryAfter = %v after the rate went up, want at most 1s", wait)
	}
}

func TestMaxKeysEvictsOldestFirst(t *testing.T) {
	const maxKeys, fed = 10_000, 200_000
	l := newLimiter(t, newClock(), maxKeys)
	lim := perIP("device_code", 1, time.Hour)

	mustAllow(t, l, lim, "first") // spends its only token
	for i := range fed {
		mustAllow(t, l, lim, fmt.Sprintf("k%d", i))
		if n := l.Len(); n > maxKeys {
			t.Fatalf("after %d keys Len() = %d, over the cap %d", i+1, n, maxKeys)
		}
	}
	if n := l.Len(); n != maxKeys {
		t.Fatalf("Len() = %d, want %d", n, maxKeys)
	}
	// The newest buckets survive with their tokens spent...
	for i := fed - maxKeys + 1; i < fed; i++ {
		if ok, _ := l.Check(lim, fmt.Sprintf("k%d", i)); ok {
			t.Fatalf("k%d was evicted, but it is among the %d newest", i, maxKeys)
		}
	}
	// ...and the oldest went: its bucket starts full again.
	mustAllow(t, l, lim, "first")
}

func TestRecentUseProtectsFromEviction(t *testing.T) {
	l := newLimiter(t, newClock(), 3)
	lim := perIP("login", 1, time.Hour)
	mustAllow(t, l, lim, "a")
	mustAllow(t, l, lim, "b")
	mustAllow(t, l, lim, "c")
	l.Check(lim, "a") // "a" is now the most recently used; "b" is the oldest
	mustAllow(t, l, lim, "d")
	mustRefuse(t, l, lim, "a") // survived, still spent
	mustAllow(t, l, lim, "b")  // evicted: starts full again
}

// TestIdleBucketIsDroppedOnlyOnceFull: an unused bucket goes when it has
// refilled (nothing is lost), never while it is still spent, however long
// it sits idle.
func TestIdleBucketIsDroppedOnlyOnceFull(t *testing.T) {
	c := newClock()
	l := newLimiter(t, c, 0)
	slow := perIP("login", 1, 24*time.Hour) // refills far slower than any idle timeout
	fast := perIP("fast", 1, time.Minute)
	mustAllow(t, l, slow, "spent")
	mustAllow(t, l, fast, "refills")
	c.Advance(11 * time.Minute) // past the old 10-minute idle TTL

	mustAllow(t, l, fast, "new") // an insert drops the full tail of its limit...
	mustAllow(t, l, slow, "new") // ...but not a spent one
	if got := l.Len(); got != 3 {
		t.Fatalf("Len() = %d, want 3 (fast/refills dropped on insert)", got)
	}
	if n := l.Sweep(); n != 0 {
		t.Fatalf("Sweep() = %d, want 0: every bucket left is spent", n)
	}
	mustRefuse(t, l, slow, "spent") // kept, still spent
	c.Advance(24 * time.Hour)
	if n := l.Sweep(); n != 3 {
		t.Fatalf("Sweep() after a full refill = %d, want 3", n)
	}
	if got := l.Len(); got != 0 {
		t.Fatalf("Len() = %d after every bucket refilled, want 0", got)
	}
}

func TestSweepDropsFullBuckets(t *testing.T) {
	c := newClock()
	l := newLimiter(t, c, 0)
	fast := perIP("fast", 2, time.Second)
	slow := perIP("slow", 2, time.Hour)
	mustAllow(t, l, fast, "ip")
	mustAllow(t, l, slow, "ip")
	c.Advance(2 * time.Second) // fast is full again, slow is not, neither is idle
	if n := l.Sweep(); n != 1 {
		t.Fatalf("Sweep() = %d, want 1", n)
	}
	if got := l.Len(); got != 1 {
		t.Fatalf("Len() = %d, want 1", got)
	}
	mustAllow(t, l, slow, "ip")
	mustRefuse(t, l, slow, "ip") // the slow bucket kept its state
}

func TestConcurrentUse(t *testing.T) {
	l := ratelimit.New(ratelimit.Config{MaxKeys: 500, Now: newClock().Now}) // frozen clock
	shared := perIP("shared", 100, time.Hour)
	spread := perIP("spread", 1, time.Hour)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := range 500 {
				if ok, _ := l.Allow(shared, "one-ip"); ok {
					allowed.Add(1)
				}
				l.Allow(spread, fmt.Sprintf("g%d-%d", g, i))
				l.Check(spread, fmt.Sprintf("g%d-%d", g, i))
				l.Charge(spread, fmt.Sprintf("g%d", g))
				_ = l.Len()
			}
		})
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 50 {
			l.Sweep()
		}
	}()
	wg.Wait()
	// The spread keys flood their own limit: at the cap they evict their
	// own oldest buckets, never the shared one, so exactly a burst passed.
	if got := allowed.Load(); got != 100 {
		t.Fatalf("shared limit allowed %d, want exactly the burst of 100", got)
	}
	if n := l.Len(); n > 500 {
		t.Fatalf("Len() = %d over the cap", n)
	}
}

func TestConcurrentSingleKeyAllowsExactlyBurst(t *testing.T) {
	l := newLimiter(t, newClock(), 0) // frozen clock, no eviction pressure
	lim := perIP("device_code", 250, time.Hour)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			for range 20 {
				if ok, _ := l.Allow(lim, "203.0.113.7"); ok {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 250 {
		t.Fatalf("allowed %d of 2000, want exactly the burst of 250", got)
	}
}
