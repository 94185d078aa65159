package clientip

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func mustResolver(t *testing.T, csv string) Resolver {
	t.Helper()
	p, err := ParseTrusted(csv)
	if err != nil {
		t.Fatalf("ParseTrusted(%q): %v", csv, err)
	}
	return Resolver{Trusted: p}
}

func request(remote string, header ...string) *http.Request {
	req := &http.Request{RemoteAddr: remote, Header: http.Header{}}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return req
}

func TestParseTrusted(t *testing.T) {
	cases := []struct {
		name, csv string
		want      []string // nil means an error
	}{
		{"empty", "", []string{}},
		{"CIDRs and bare IPs", " 10.0.0.0/8, 192.0.2.1 ,2001:db8::/32,::1",
			[]string{"10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32", "::1/128"}},
		{"host bits masked", "10.1.2.3/8", []string{"10.0.0.0/8"}},
		{"blank items skipped", "10.0.0.1,, ,", []string{"10.0.0.1/32"}},
		{"garbage", "10.0.0.1,proxy.example", nil},
		{"bad prefix length", "10.0.0.0/33", nil},
		{"zoned address", "fe80::1%eth0", nil},
		{"hostname with port", "10.0.0.1:80", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTrusted(tc.csv)
			if tc.want == nil {
				if !errors.Is(err, ErrTrusted) {
					t.Fatalf("ParseTrusted(%q) error = %v, want ErrTrusted", tc.csv, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTrusted(%q): %v", tc.csv, err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ParseTrusted(%q) = %v, want %v", tc.csv, got, tc.want)
			}
			for i := range got {
				if got[i].String() != tc.want[i] {
					t.Fatalf("ParseTrusted(%q) = %v, want %v", tc.csv, got, tc.want)
				}
			}
		})
	}
}

func TestParseTrustedErrorNamesTheItem(t *testing.T) {
	_, err := ParseTrusted("10.0.0.1, proxy.example")
	want := `clientip: bad trusted proxy "proxy.example": not an IP address or CIDR`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestClientIP(t *testing.T) {
	const trusted = "10.0.0.0/8, 2001:db8:ffff::/48"
	cases := []struct {
		name   string
		remote string
		header []string
		want   string
	}{
		{"no headers", "198.51.100.7:5555", nil, "198.51.100.7"},
		{"untrusted peer spoofing X-Forwarded-For", "198.51.100.7:5555",
			[]string{"X-Forwarded-For", "1.2.3.4"}, "198.51.100.7"},
		{"untrusted peer spoofing Forwarded", "198.51.100.7:5555",
			[]string{"Forwarded", "for=1.2.3.4"}, "198.51.100.7"},
		{"trusted proxy", "10.0.0.2:80",
			[]string{"X-Forwarded-For", "203.0.113.9"}, "203.0.113.9"},
		{"trusted proxy without headers is the client", "10.0.0.2:80", nil, "10.0.0.2"},
		{"spoofed head of a trusted chain ignored", "10.0.0.2:80",
			[]string{"X-Forwarded-For", "1.2.3.4, 203.0.113.9"}, "203.0.113.9"},
		{"several trusted proxies", "10.0.0.3:80",
			[]string{"X-Forwarded-For", "1.2.3.4, 203.0.113.9, 10.0.0.1, 10.9.9.9"}, "203.0.113.9"},
		{"several header lines are one list", "10.0.0.3:80",
			[]string{"X-Forwarded-For", "1.2.3.4, 203.0.113.9", "X-Forwarded-For", "10.0.0.1"}, "203.0.113.9"},
		{"all trusted: the left-most", "10.0.0.3:80",
			[]string{"X-Forwarded-For", "10.0.0.1, 10.0.0.2"}, "10.0.0.1"},
		{"unknown stops the walk", "10.0.0.3:80",
			[]string{"X-Forwarded-For", "1.2.3.4, unknown, 10.0.0.1"}, "10.0.0.1"},
		{"garbage right of the proxy: the proxy", "10.0.0.3:80",
			[]string{"X-Forwarded-For", "1.2.3.4, <script>"}, "10.0.0.3"},
		{"empty X-Forwarded-For", "10.0.0.3:80",
			[]string{"X-Forwarded-For", ""}, "10.0.0.3"},
		{"X-Forwarded-For with ports", "10.0.0.3:80",
			[]string{"X-Forwarded-For", "[2001:db8::7]:4711, 10.0.0.1:1234"}, "2001:db8::7"},
		{"Forwarded", "10.0.0.3:80",
			[]string{"Forwarded", "for=192.0.2.60;proto=https;by=10.0.0.1"}, "192.0.2.60"},
		{"Forwarded IPv6 bracketed with port", "10.0.0.3:80",
			[]string{"Forwarded", `for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"Forwarded chain over lines", "10.0.0.3:80",
			[]string{"Forwarded", "for=1.2.3.4, for=203.0.113.9", "Forwarded", `For="[2001:db8:ffff::1]"`},
			"203.0.113.9"},
		{"Forwarded obfuscated stops the walk", "10.0.0.3:80",
			[]string{"Forwarded", "for=1.2.3.4, for=_hidden, for=10.0.0.1"}, "10.0.0.1"},
		{"Forwarded unknown right of the proxy", "10.0.0.3:80",
			[]string{"Forwarded", "for=1.2.3.4, for=unknown"}, "10.0.0.3"},
		{"Forwarded unterminated quote swallows nothing", "10.0.0.3:80",
			[]string{"Forwarded", `for=1.2.3.4, for="[2001:db8::1, for=203.0.113.9`}, "203.0.113.9"},
		{"X-Forwarded-For wins over Forwarded", "10.0.0.3:80",
			[]string{"Forwarded", "for=1.2.3.4", "X-Forwarded-For", "203.0.113.9"}, "203.0.113.9"},
		{"IPv6 trusted peer", "[2001:db8:ffff::2]:443",
			[]string{"X-Forwarded-For", "2001:db8:1::5"}, "2001:db8:1::5"},
		{"IPv4-mapped peer matches IPv4 prefix", "[::ffff:10.0.0.2]:80",
			[]string{"X-Forwarded-For", "::ffff:203.0.113.9"}, "203.0.113.9"},
		{"zoned peer", "[fe80::1%eth0]:80", nil, "fe80::1"},
		{"peer without port", "198.51.100.7", nil, "198.51.100.7"},
		{"unparseable peer", "@", nil, "invalid IP"},
	}
	r := mustResolver(t, trusted)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.ClientIP(request(tc.remote, tc.header...)); got.String() != tc.want {
				t.Fatalf("ClientIP = %v, want %s", got, tc.want)
			}
		})
	}
}

func TestClientIPTrustsNothingByDefault(t *testing.T) {
	req := request("10.0.0.2:80", "X-Forwarded-For", "203.0.113.9")
	if got := (Resolver{}).ClientIP(req); got != netip.MustParseAddr("10.0.0.2") {
		t.Fatalf("ClientIP = %v, want the peer", got)
	}
}

func TestClientIPMappedTrustedPrefix(t *testing.T) {
	r := Resolver{Trusted: []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}}
	req := request("10.0.0.2:80", "X-Forwarded-For", "203.0.113.9")
	if got := r.ClientIP(req); got.String() != "203.0.113.9" {
		t.Fatalf("ClientIP = %v, want 203.0.113.9", got)
	}
}

func TestClientIPLooksAtBoundedEntries(t *testing.T) {
	r := mustResolver(t, "10.0.0.0/8")
	var chain []string
	chain = append(chain, "203.0.113.9")
	for range 100 {
		chain = append(chain, "10.1.1.1")
	}
	req := request("10.0.0.2:80", "X-Forwarded-For", strings.Join(chain, ","))
	if got := r.ClientIP(req); got.String() != "10.1.1.1" {
		t.Fatalf("ClientIP = %v, want the left-most of the %d entries looked at", got, maxEntries)
	}
}

func TestIsHTTPS(t *testing.T) {
	cases := []struct {
		name   string
		remote string
		tls    bool
		header []string
		want   bool
	}{
		{"plain", "198.51.100.7:1", false, nil, false},
		{"TLS", "198.51.100.7:1", true, nil, true},
		{"untrusted peer claims https", "198.51.100.7:1", false,
			[]string{"X-Forwarded-Proto", "https"}, false},
		{"trusted proxy says https", "10.0.0.2:1", false,
			[]string{"X-Forwarded-Proto", "HTTPS"}, true},
		{"right-most value wins", "10.0.0.2:1", false,
			[]string{"X-Forwarded-Proto", "https", "X-Forwarded-Proto", "http"}, false},
		{"right-most of a list", "10.0.0.2:1", false,
			[]string{"X-Forwarded-Proto", "http, https"}, true},
		{"Forwarded proto", "10.0.0.2:1", false,
			[]string{"Forwarded", "for=1.2.3.4;proto=http, for=5.6.7.8;proto=https"}, true},
		{"Forwarded proto of the right-most element only", "10.0.0.2:1", false,
			[]string{"Forwarded", "for=1.2.3.4;proto=https, for=5.6.7.8"}, false},
		{"X-Forwarded-Proto wins over Forwarded", "10.0.0.2:1", false,
			[]string{"Forwarded", "proto=https", "X-Forwarded-Proto", "http"}, false},
		{"trusted proxy silent", "10.0.0.2:1", false, nil, false},
	}
	r := mustResolver(t, "10.0.0.0/8")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := request(tc.remote, tc.header...)
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			if got := r.IsHTTPS(req); got != tc.want {
				t.Fatalf("IsHTTPS = %v, want %v", got, tc.want)
			}
		})
	}
}
