// Package clientip owns one decision: which address a request came from, and
// whether it arrived over HTTPS, given the reverse proxies the operator
// trusts.
//
// The rule: the socket peer is the client unless the peer is a trusted
// proxy. Only then are forwarding headers read, right to left (each proxy
// appends the address it saw), and the answer is the right-most address
// that is not trusted. An entry that is not an address ("unknown", an
// obfuscated "_hidden", garbage, a truncated head) stops the walk: the answer
// is then the last valid address seen to its right, since nothing left of a
// hop that hid its client can be believed. When every address is trusted the
// left-most is the answer.
//
// Headers: X-Forwarded-For when the request carries it, else RFC 7239
// Forwarded; never a mix. X-Forwarded-For wins because nearly every proxy
// (nginx, HAProxy, cloud load balancers) appends to it while passing a
// client's own Forwarded header through untouched; preferring Forwarded
// would let any client choose its address. A proxy that speaks only
// Forwarded must therefore drop incoming X-Forwarded-For. The same choice
// applies to the scheme: X-Forwarded-Proto, else Forwarded proto=.
//
// Parsing never panics and reads at most maxHeaderBytes from the right of
// a header and its maxEntries right-most entries.
package clientip

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ErrTrusted is matched by every ParseTrusted error.
var ErrTrusted = errors.New("clientip: bad trusted proxy")

// Resolver decides the client address. Trusted lists the proxies whose
// forwarding headers are believed; the zero Resolver trusts none.
type Resolver struct {
	Trusted []netip.Prefix
}

// ParseTrusted reads a comma-separated list of CIDRs and bare IP addresses
// (a bare address is a one-address prefix). Blank items are skipped.
func ParseTrusted(csv string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(csv, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrTrusted, item, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return netip.Prefix{}, errors.New("not an IP address or CIDR")
	case a.Zone() != "":
		return netip.Prefix{}, errors.New("zoned addresses are not supported")
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ClientIP returns the client address of req (see the package doc). It is
// the zero Addr only when req.RemoteAddr is not an address.
func (r Resolver) ClientIP(req *http.Request) netip.Addr {
	peer := peerAddr(req.RemoteAddr)
	if !r.trusted(peer) {
		return peer
	}
	return r.walk(peer, forwardedFor(req.Header))
}

// walk goes right to left from the peer and returns the first untrusted
// address, or the last valid one seen before an entry that is not one.
func (r Resolver) walk(last netip.Addr, chain []netip.Addr) netip.Addr {
	for i := len(chain) - 1; i >= 0; i-- {
		a := chain[i]
		if !a.IsValid() {
			return last
		}
		if !r.trusted(a) {
			return a
		}
		last = a
	}
	return last
}

// IsHTTPS reports whether the client used HTTPS: the connection is TLS, or
// a trusted peer says so in the right-most X-Forwarded-Proto value (or, with
// no such header, the right-most Forwarded element's proto=).
func (r Resolver) IsHTTPS(req *http.Request) bool {
	if req.TLS != nil {
		return true
	}
	if !r.trusted(peerAddr(req.RemoteAddr)) {
		return false
	}
	return strings.EqualFold(forwardedProto(req.Header), "https")
}

func forwardedFor(h http.Header) []netip.Addr {
	if v := h.Values("X-Forwarded-For"); len(v) > 0 {
		return ParseXForwardedFor(v)
	}
	return ParseForwarded(h.Values("Forwarded"))
}

func forwardedProto(h http.Header) string {
	if v := h.Values("X-Forwarded-Proto"); len(v) > 0 {
		return lastEntry(v)
	}
	return forwardedParam(lastEntry(h.Values("Forwarded")), "proto")
}

// trusted reports whether a is in a trusted prefix. An IPv4 address also
// matches a prefix written in IPv4-mapped IPv6 form.
func (r Resolver) trusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	mapped := netip.AddrFrom16(a.As16())
	for _, p := range r.Trusted {
		if p.Contains(a) || (a.Is4() && p.Contains(mapped)) {
			return true
		}
	}
	return false
}

// peerAddr reads req.RemoteAddr ("ip:port", or a bare ip in some tests),
// without zone and with IPv4-mapped addresses as IPv4.
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return canonical(ap.Addr())
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return canonical(a)
	}
	return netip.Addr{}
}

func canonical(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }
