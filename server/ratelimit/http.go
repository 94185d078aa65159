package ratelimit

import (
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// IPKey is the key part for ScopeIP: an IPv4 address as itself, an IPv6
// address as its /64 (one subscriber usually holds a whole /64), an
// IPv4-mapped IPv6 address as the IPv4 address. Zones are dropped. The zero
// Addr keys as "invalid IP", so unknown peers share one bucket.
func IPKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if !ip.Is6() {
		return ip.String()
	}
	p, _ := ip.Prefix(64) // cannot fail: 64 is within an IPv6 address
	return p.String()
}

// RetryAfterSeconds is d for a Retry-After header: whole seconds, rounded
// up, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	s := d / time.Second
	if d%time.Second != 0 {
		s++
	}
	return int(max(s, 1))
}

// Middleware refuses requests over lim before they reach the handler: a
// refused request does no other work. key returns the request's key parts,
// one per scope of lim (a wrong count panics, see the package doc). A refused
// request gets a Retry-After header and is then handed to onLimited, or
// answered 429 in plain text when onLimited is nil.
//
// Middleware panics when lim is invalid, so a bad route table stops start-up.
func (l *Limiter) Middleware(lim Limit, key func(*http.Request) []string,
	onLimited func(http.ResponseWriter, *http.Request, time.Duration)) func(http.Handler) http.Handler {
	if err := lim.Validate(); err != nil {
		panic(err)
	}
	if onLimited == nil {
		onLimited = tooManyRequests
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ok, wait := l.Allow(lim, key(r)...)
			if !ok {
				w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds(wait)))
				onLimited(w, r, wait)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func tooManyRequests(w http.ResponseWriter, _ *http.Request, _ time.Duration) {
	http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
}
