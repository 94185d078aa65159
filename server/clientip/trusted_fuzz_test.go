package clientip

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseTrusted checks what ParseTrusted and the Resolver promise:
//
//   - an error matches ErrTrusted and comes with no prefixes;
//   - an accepted list has one prefix per non-blank item, in order, each
//     valid, masked, unzoned, and equal to the item read as a CIDR (host
//     bits cleared) or as a bare address (a one-address prefix);
//   - the prefixes written back with String and joined read back the same;
//   - a peer inside a listed prefix is trusted (first and last address of
//     each), and a probe address is trusted exactly when a prefix contains
//     it, an IPv4 address also matching a prefix in IPv4-mapped IPv6 form
//     (and the other way round, since peers are read unmapped).
func FuzzParseTrusted(f *testing.F) {
	for _, s := range [][2]string{
		{"10.0.0.0/8, 192.0.2.1 ,2001:db8::/32,::1", "10.9.8.7"},
		{"10.1.2.3/8", "10.255.255.255"},
		{"10.0.0.1,, ,", "10.0.0.1"},
		{"", "192.0.2.1"},
		{"0.0.0.0/0", "::ffff:1.2.3.4"},
		{"::/0", "1.2.3.4"},
		{"::ffff:10.0.0.0/104", "10.0.0.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"::ffff:0:0/95", "8.8.8.8"},
		{"2001:db8::1/128,2001:db8::/0", "2001:db8::1"},
		{"10.0.0.0/33", "10.0.0.1"},
		{"10.0.0.0/-1", ""},
		{"10.0.0.0/08", ""},
		{"fe80::1%eth0", "fe80::1"},
		{"fe80::1%eth0/64", "fe80::1"},
		{"10.0.0.1:80", ""},
		{"proxy.example", ""},
		{"1.2.3.4/32/32", ""},
		{"010.0.0.1", ""},
		{"::ffff:1.2.3.4/128", "[::ffff:1.2.3.4]:443"},
		{"\t192.0.2.0/24\n", "192.0.2.77"},
		{"\xff,\x00", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, csv, probe string) {
		got, err := ParseTrusted(csv)
		if err != nil {
			if !errors.Is(err, ErrTrusted) || got != nil {
				t.Fatalf("ParseTrusted(%q) = %v, %v; want nil and ErrTrusted", csv, got, err)
			}
			return
		}
		var items []string
		for _, it := range strings.Split(csv, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		if len(got) != len(items) {
			t.Fatalf("ParseTrusted(%q): %d prefixes from %d items", csv, len(got), len(items))
		}
		for i, p := range got {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" || p.Bits() < 0 || p.Bits() > p.Addr().BitLen() {
				t.Fatalf("item %q gave the bad prefix %v", items[i], p)
			}
			if strings.Contains(items[i], "/") {
				want, err := netip.ParsePrefix(items[i])
				if err != nil || p != want.Masked() {
					t.Fatalf("item %q gave %v; netip reads it as %v, %v", items[i], p, want, err)
				}
			} else {
				a, err := netip.ParseAddr(items[i])
				if err != nil || a.Zone() != "" || p != netip.PrefixFrom(a, a.BitLen()) {
					t.Fatalf("item %q gave %v; netip reads it as %v, %v", items[i], p, a, err)
				}
			}
		}

		parts := make([]string, len(got))
		for i, p := range got {
			parts[i] = p.String()
		}
		again, err := ParseTrusted(strings.Join(parts, ","))
		if err != nil || len(again) != len(got) {
			t.Fatalf("re-reading %q: %v, %v", parts, again, err)
		}
		for i := range got {
			if again[i] != got[i] {
				t.Fatalf("re-reading %q: %v at %d, want %v", parts, again[i], i, got[i])
			}
		}

		r := Resolver{Trusted: got}
		for _, p := range got {
			for _, a := range []netip.Addr{p.Addr(), lastAddr(p)} {
				if !r.PeerTrusted(peerRequest(a)) {
					t.Fatalf("peer %v inside the trusted %v is not trusted", a, p)
				}
			}
		}
		if a, err := netip.ParseAddr(probe); err == nil {
			a = a.WithZone("")
			want := false
			forms := []netip.Addr{a, a.Unmap(), netip.AddrFrom16(a.As16())}
			for _, p := range got {
				for _, b := range forms {
					want = want || p.Contains(b)
				}
			}
			if got := r.PeerTrusted(peerRequest(a)); got != want {
				t.Fatalf("peer %v trusted = %v, want %v (trusted %v)", a, got, want, r.Trusted)
			}
		}
	})
}

func peerRequest(a netip.Addr) *http.Request {
	return &http.Request{RemoteAddr: netip.AddrPortFrom(a, 443).String(), Header: http.Header{}}
}

// lastAddr is the highest address in p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
