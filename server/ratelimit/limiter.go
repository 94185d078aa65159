package ratelimit

import (
	"container/list"
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys is the cap on live keyed buckets for a zero Config.
const DefaultMaxKeys = 100_000

// Config sizes a Limiter. Zero fields take the defaults.
type Config struct {
	// MaxKeys caps the live keyed buckets of all limits together. The one
	// bucket of each global limit is not counted: it is never evicted.
	MaxKeys int
	Now     func() time.Time // the clock; time.Now when nil
}

// Limiter holds the buckets of every limit. It is safe for concurrent use;
// one mutex guards every family.
//
// Each limit name has its own family of buckets with its own LRU list.
// Memory stays bounded, but state that matters is never thrown away:
//
//   - a bucket is dropped as idle only once it is full again, so dropping
//     it loses nothing (a new bucket starts full). A spent or indebted
//     bucket stays however long it sits unused: forgetting it would hand
//     its owner a fresh burst, which for the guess budget (refilling over
//     a whole code lifetime) doubles what an attacker may try;
//   - at MaxKeys the least recently used bucket of the largest family is
//     evicted, the inserting family winning ties. A flood of new keys in
//     one limit therefore evicts that limit's own buckets, never a smaller
//     limit's, so (say) 200k device-code requests from distinct /64s
//     cannot reset a spent guess or sign-in budget;
//   - global limits (ScopeGlobal) are never evicted at all.
type Limiter struct {
	maxKeys int
	now     func() time.Time

	mu       sync.Mutex
	families map[string]*family // by limit name
	keyed    int                // live buckets in non-global families
}

// family is one limit's buckets, most recently used at the front.
type family struct {
	global  bool
	buckets map[string]*list.Element // values are *bucket
	lru     list.List
}

type bucket struct {
	key string
	tb  *rate.Limiter
}

// New returns an empty Limiter.
func New(cfg Config) *Limiter {
	l := &Limiter{maxKeys: cfg.MaxKeys, now: cfg.Now, families: make(map[string]*family)}
	if l.maxKeys <= 0 {
		l.maxKeys = DefaultMaxKeys
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l
}

// Allow consumes one token from the bucket for parts. When the bucket is
// empty it consumes nothing and reports how long until a token is there.
func (l *Limiter) Allow(lim Limit, parts ...string) (ok bool, retryAfter time.Duration) {
	key := lim.mustKey(parts).encode()
	if lim.Disabled {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucket(key, lim, now)
	if b.tb.AllowN(now, 1) {
		return true, 0
	}
	return available(b.tb.TokensAt(now), lim.Rate)
}

// Check reports whether the bucket for parts has a token, without consuming
// one. It never creates a bucket: an unknown key is a full one.
func (l *Limiter) Check(lim Limit, parts ...string) (ok bool, retryAfter time.Duration) {
	key := lim.mustKey(parts).encode()
	if lim.Disabled {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.lookup(key, lim, now)
	if b == nil {
		return true, 0
	}
	return available(b.tb.TokensAt(now), lim.Rate)
}

// Charge records one failure against the bucket for parts and returns how
// long until the next attempt may pass Check (0 if one may now).
//
// Charge takes a token even from an empty bucket, down to one Burst of debt:
// failures that all passed Check concurrently are paid back, not forgiven,
// while a lock-out stays bounded by about 2*Burst/Rate.
func (l *Limiter) Charge(lim Limit, parts ...string) (retryAfter time.Duration) {
	key := lim.mustKey(parts).encode()
	if lim.Disabled {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucket(key, lim, now)
	if b.tb.TokensAt(now) > -float64(lim.Burst) {
		b.tb.ReserveN(now, 1)
	}
	_, retryAfter = available(b.tb.TokensAt(now), lim.Rate)
	return retryAfter
}

// Len is the number of live buckets, global ones included, for metrics.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, f := range l.families {
		n += f.lru.Len()
	}
	return n
}

// Sweep drops every keyed bucket that is full again and returns how many
// it dropped. It walks all buckets under the lock.
func (l *Limiter) Sweep() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	n := 0
	for _, f := range l.families {
		if f.global {
			continue
		}
		for e := f.lru.Back(); e != nil; {
			prev := e.Prev()
			if full(e.Value.(*bucket), now) {
				l.remove(f, e)
				n++
			}
			e = prev
		}
	}
	return n
}

// Run calls Sweep every interval until ctx is done.
func (l *Limiter) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.Sweep()
		}
	}
}

// family returns lim's family, making it on first use.
func (l *Limiter) family(lim Limit) *family {
	f, ok := l.families[lim.Name]
	if !ok {
		f = &family{global: lim.Arity() == 0, buckets: make(map[string]*list.Element)}
		l.families[lim.Name] = f
	}
	return f
}

// bucket finds or makes the bucket for key, evicting to make room.
func (l *Limiter) bucket(key string, lim Limit, now time.Time) *bucket {
	if b := l.lookup(key, lim, now); b != nil {
		return b
	}
	f := l.family(lim)
	if !f.global {
		l.makeRoom(f, now)
		l.keyed++
	}
	b := &bucket{key: key, tb: rate.NewLimiter(lim.Rate, lim.Burst)}
	f.buckets[key] = f.lru.PushFront(b)
	return b
}

// lookup returns the bucket for key, marked as used now, or nil.
func (l *Limiter) lookup(key string, lim Limit, now time.Time) *bucket {
	f, ok := l.families[lim.Name]
	if !ok {
		return nil
	}
	e, ok := f.buckets[key]
	if !ok {
		return nil
	}
	f.lru.MoveToFront(e)
	b := e.Value.(*bucket)
	conform(b.tb, lim, now)
	return b
}

// conform follows a limit whose rate or burst changed since the bucket was
// made (a configuration reload), rather than keeping the old figures.
func conform(tb *rate.Limiter, lim Limit, now time.Time) {
	if tb.Limit() != lim.Rate {
		tb.SetLimitAt(now, lim.Rate)
	}
	if tb.Burst() != lim.Burst {
		tb.SetBurstAt(now, lim.Burst)
	}
}

// makeRoom, before an insert into f, drops f's least recently used buckets
// while they are full again (that loses nothing), then, while at the cap,
// the least recently used bucket of the largest family. Each bucket is
// dropped at most once, so the cost is amortised O(1) per insert plus a
// walk over the (few) limit names when at the cap.
func (l *Limiter) makeRoom(f *family, now time.Time) {
	for e := f.lru.Back(); e != nil && full(e.Value.(*bucket), now); e = f.lru.Back() {
		l.remove(f, e)
	}
	for l.keyed >= l.maxKeys {
		v := l.largest(f)
		if v == nil {
			return
		}
		l.remove(v, v.lru.Back())
	}
}

// largest is the non-global family with the most buckets; f wins ties, so
// a limit at its share is charged for its own inserts.
func (l *Limiter) largest(f *family) *family {
	best := f
	for _, g := range l.families {
		if !g.global && g.lru.Len() > best.lru.Len() {
			best = g
		}
	}
	if best.lru.Len() == 0 {
		return nil
	}
	return best
}

func (l *Limiter) remove(f *family, e *list.Element) {
	delete(f.buckets, f.lru.Remove(e).(*bucket).key)
	if !f.global {
		l.keyed--
	}
}

func full(b *bucket, now time.Time) bool {
	return b.tb.TokensAt(now) >= float64(b.tb.Burst())
}

// available turns a token count into the answer to "may one event pass, and
// if not, how long until it may".
func available(tokens float64, r rate.Limit) (bool, time.Duration) {
	if tokens >= 1 {
		return true, 0
	}
	ns := math.Ceil((1 - tokens) / float64(r) * float64(time.Second))
	if ns >= math.MaxInt64 {
		return false, time.Duration(math.MaxInt64)
	}
	return false, time.Duration(ns)
}
