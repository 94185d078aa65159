package clientip

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

var fuzzSeeds = [][2]string{
	{"192.0.2.1", ""},
	{"1.2.3.4, 203.0.113.9", "10.0.0.1"},
	{"[2001:db8::1]:4711, 192.0.2.1:80", "unknown"},
	{`for="[2001:db8:cafe::17]:4711";proto=https`, `for=192.0.2.43, for=_hidden`},
	{`for="192.0.2.\1`, `,,, ;;; ==`},
	{"::ffff:192.0.2.1, fe80::1%eth0", "[::1"},
	{`for=unknown;for=192.0.2.1, by="`, "\x00\xff"},
}

// checkParsed holds for both parsers: bounded output, canonical addresses,
// and ClientIP behind an all-trusting resolver answers one of them or the
// peer, without panicking.
func checkParsed(t *testing.T, got []netip.Addr, header string, values []string) {
	t.Helper()
	if len(got) > maxEntries {
		t.Fatalf("%d entries, over the cap %d", len(got), maxEntries)
	}
	for _, a := range got {
		if a.IsValid() && (a.Zone() != "" || a.Is4In6()) {
			t.Fatalf("non-canonical address %v", a)
		}
	}
	req := &http.Request{RemoteAddr: "10.0.0.1:80", Header: http.Header{header: values}}
	all := Resolver{Trusted: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}}
	ip := all.ClientIP(req)
	if ip != netip.MustParseAddr("10.0.0.1") && !containsAddr(got, ip) {
		t.Fatalf("ClientIP = %v, neither the peer nor a parsed entry", ip)
	}
	_ = all.IsHTTPS(req)
}

func containsAddr(as []netip.Addr, a netip.Addr) bool {
	for _, b := range as {
		if b == a {
			return true
		}
	}
	return false
}

func validOnly(as []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range as {
		if a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}

// reparse formats the valid addresses and checks they read back the same.
func reparse(t *testing.T, got []netip.Addr, format func(netip.Addr) string, parse func([]string) []netip.Addr) {
	t.Helper()
	valid := validOnly(got)
	parts := make([]string, len(valid))
	for i, a := range valid {
		parts[i] = format(a)
	}
	again := parse([]string{strings.Join(parts, ", ")})
	if len(again) != len(valid) {
		t.Fatalf("reparse of %q gave %d entries, want %d", parts, len(again), len(valid))
	}
	for i := range again {
		if again[i] != valid[i] {
			t.Fatalf("reparse of %q gave %v at %d, want %v", parts, again[i], i, valid[i])
		}
	}
}

func FuzzXForwardedFor(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		values := []string{a, b}
		got := ParseXForwardedFor(values)
		checkParsed(t, got, "X-Forwarded-For", values)
		reparse(t, got, func(a netip.Addr) string { return a.String() }, ParseXForwardedFor)
	})
}

func FuzzForwarded(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		values := []string{a, b}
		got := ParseForwarded(values)
		checkParsed(t, got, "Forwarded", values)
		reparse(t, got, forwardedNode, ParseForwarded)
	})
}

func forwardedNode(a netip.Addr) string {
	if a.Is6() {
		return `for="[` + a.String() + `]"`
	}
	return "for=" + a.String()
}
