package ratelimit

import (
	"container/list"
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults for a zero Config.
const (
	DefaultMaxKeys = 100_000
	DefaultIdleTTL = 10 * time.Minute
)

// Config sizes a Limiter. Zero fields take the defaults.
type Config struct {
	MaxKeys int              // cap on live buckets across all limits
	IdleTTL time.Duration    // a bucket untouched this long may be evicted
	Now     func() time.Time // the clock; time.Now when nil
}

// Limiter holds the buckets of every limit. It is safe for concurrent use;
// one mutex guards the map and the LRU list.
//
// Memory is bounded two ways: at MaxKeys the least recently used bucket is
// evicted before a new one is made, and buckets that are full again or idle
// past IdleTTL are dropped (the idle tail on every insert, full ones by
// Sweep). Evicting a full bucket loses nothing; evicting an idle one forgives
// any tokens still owed, so IdleTTL should exceed Burst/Rate of the slowest
// limit.
type Limiter struct {
	maxKeys int
	idleTTL time.Duration
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*list.Element // values are *bucket
	lru     list.List                // front is the most recently used
}

type bucket struct {
	key  string
	tb   *rate.Limiter
	seen time.Time
}

// New returns an empty Limiter.
func New(cfg Config) *Limiter {
	l := &Limiter{maxKeys: cfg.MaxKeys, idleTTL: cfg.IdleTTL, now: cfg.Now}
	if l.maxKeys <= 0 {
		l.maxKeys = DefaultMaxKeys
	}
	if l.idleTTL <= 0 {
		l.idleTTL = DefaultIdleTTL
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.buckets = make(map[string]*list.Element)
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

// Len is the number of live buckets, for metrics.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// Sweep drops every bucket that is full again or idle past IdleTTL and
// returns how many it dropped. It walks all buckets under the lock.
func (l *Limiter) Sweep() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	n := 0
	for e := l.lru.Back(); e != nil; {
		prev := e.Prev()
		if b := e.Value.(*bucket); l.idle(b, now) || full(b, now) {
			l.remove(e)
			n++
		}
		e = prev
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

// bucket finds or makes the bucket for key, evicting to make room.
func (l *Limiter) bucket(key string, lim Limit, now time.Time) *bucket {
	if b := l.lookup(key, lim, now); b != nil {
		return b
	}
	l.makeRoom(now)
	b := &bucket{key: key, tb: rate.NewLimiter(lim.Rate, lim.Burst), seen: now}
	l.buckets[key] = l.lru.PushFront(b)
	return b
}

// lookup returns the bucket for key, marked as used now, or nil.
func (l *Limiter) lookup(key string, lim Limit, now time.Time) *bucket {
	e, ok := l.buckets[key]
	if !ok {
		return nil
	}
	l.lru.MoveToFront(e)
	b := e.Value.(*bucket)
	b.seen = now
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

// makeRoom drops the idle tail of the LRU list, then the least recently
// used buckets while at the cap. Each bucket is dropped at most once, so the
// cost is amortised O(1) per insert.
func (l *Limiter) makeRoom(now time.Time) {
	for e := l.lru.Back(); e != nil && l.idle(e.Value.(*bucket), now); e = l.lru.Back() {
		l.remove(e)
	}
	for l.lru.Len() >= l.maxKeys {
		l.remove(l.lru.Back())
	}
}

func (l *Limiter) remove(e *list.Element) {
	delete(l.buckets, l.lru.Remove(e).(*bucket).key)
}

func (l *Limiter) idle(b *bucket, now time.Time) bool {
	return now.Sub(b.seen) >= l.idleTTL
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
