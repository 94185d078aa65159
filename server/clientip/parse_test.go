package clientip

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// addrs formats a parse result, "-" for an entry that is not an address.
func addrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = "-"
		if a.IsValid() {
			s[i] = a.String()
		}
	}
	return strings.Join(s, " ")
}

func TestParseXForwardedFor(t *testing.T) {
	cases := []struct {
		name   string
		values []string
		want   string
	}{
		{"none", nil, ""},
		{"one", []string{"192.0.2.1"}, "192.0.2.1"},
		{"list with spaces and tabs", []string{" 192.0.2.1 ,\t2001:db8::1 "}, "192.0.2.1 2001:db8::1"},
		{"lines join", []string{"192.0.2.1", "192.0.2.2, 192.0.2.3"}, "192.0.2.1 192.0.2.2 192.0.2.3"},
		{"empty entries skipped", []string{",192.0.2.1,,", ""}, "192.0.2.1"},
		{"ports", []string{"192.0.2.1:80, [2001:db8::1]:443, [2001:db8::2]"}, "192.0.2.1 2001:db8::1 2001:db8::2"},
		{"mapped becomes IPv4", []string{"::ffff:192.0.2.1"}, "192.0.2.1"},
		{"not addresses", []string{"unknown, _hidden, example.com, 1.2.3, 192.0.2.1:x, [::1, fe80::1%eth0"},
			"- - - - - - -"},
		{"bad port", []string{"192.0.2.1:123456, 192.0.2.1:"}, "- -"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := addrs(ParseXForwardedFor(tc.values)); got != tc.want {
				t.Fatalf("ParseXForwardedFor(%q) = %q, want %q", tc.values, got, tc.want)
			}
		})
	}
}

func TestParseForwarded(t *testing.T) {
	cases := []struct {
		name   string
		values []string
		want   string
	}{
		{"none", nil, ""},
		{"RFC 7239 examples", []string{`for="_gazonk"`, `For="[2001:db8:cafe::17]:4711"`,
			`for=192.0.2.60;proto=http;by=203.0.113.43`, `for=192.0.2.43, for=198.51.100.17`},
			"- 2001:db8:cafe::17 192.0.2.60 192.0.2.43 198.51.100.17"},
		{"case and spaces", []string{` FOR = 192.0.2.1 ; Proto=https`}, "192.0.2.1"},
		{"obfuscated port", []string{`for="[2001:db8::1]:_p0rt"`, `for="192.0.2.1:_x"`}, "2001:db8::1 192.0.2.1"},
		{"escaped quote", []string{`for="192.0.2.\1"`}, "192.0.2.1"},
		{"unknown", []string{`for=unknown`}, "-"},
		{"missing for", []string{`by=192.0.2.1;proto=https`}, "-"},
		{"repeated for", []string{`for=192.0.2.1;for=192.0.2.2`}, "-"},
		{"unterminated quote", []string{`for="192.0.2.1`}, "-"},
		{"comma inside quotes splits", []string{`ext="a,b";for=192.0.2.1`}, "- 192.0.2.1"},
		{"bare IPv6 accepted", []string{`for=2001:db8::1`}, "2001:db8::1"},
		{"zone rejected", []string{`for="[fe80::1%25eth0]"`, `for="[fe80::1%eth0]"`}, "- -"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := addrs(ParseForwarded(tc.values)); got != tc.want {
				t.Fatalf("ParseForwarded(%q) = %q, want %q", tc.values, got, tc.want)
			}
		})
	}
}

func TestParseKeepsRightMostEntries(t *testing.T) {
	var list []string
	for i := range 100 {
		list = append(list, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}).String())
	}
	got := ParseXForwardedFor([]string{strings.Join(list, ",")})
	if len(got) != maxEntries || got[maxEntries-1].String() != "10.0.0.99" || got[0].String() != "10.0.0.68" {
		t.Fatalf("got %d entries %s, want the right-most %d", len(got), addrs(got), maxEntries)
	}
}

func TestParseReadsBoundedBytes(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	cases := []struct {
		name   string
		values []string
		want   string
	}{
		{"one huge entry is dropped whole", []string{huge + "192.0.2.1"}, ""},
		{"huge line then a short one", []string{huge, "192.0.2.1"}, "192.0.2.1"},
		// 2 bytes over: the cut leaves "2.0.2.1", a valid but wrong address.
		{"cut lands in an entry: dropped, not misread", []string{
			"192.0.2.1," + strings.Repeat(" ", maxHeaderBytes+2-20) + ",192.0.2.2"}, "192.0.2.2"},
		{"many empty lines", slices.Repeat([]string{""}, 100_000), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := addrs(ParseXForwardedFor(tc.values)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestJoinTailKeepsTheRightBytes(t *testing.T) {
	a := strings.Repeat("a", maxHeaderBytes)
	got := joinTail([]string{a, "1.2.3.4"})
	if got != "1.2.3.4" {
		t.Fatalf("joinTail = %q", got)
	}
	short := []string{"1.1.1.1", "2.2.2.2"}
	if got := joinTail(short); got != "1.1.1.1,2.2.2.2" {
		t.Fatalf("joinTail(%q) = %q", short, got)
	}
}
