package clientip

import (
	"net/netip"
	"slices"
	"strings"
)

// Bounds on what a header may make us read: the right-most maxHeaderBytes
// of its lines joined, and of those its maxEntries right-most entries.
const (
	maxHeaderBytes = 4096
	maxEntries     = 32
)

// ParseXForwardedFor reads X-Forwarded-For header lines (several lines are
// one comma list) into addresses, left to right. An entry that is not an
// address (say "unknown") is the zero Addr, which ClientIP treats as a stop.
// Entries may carry a port ("192.0.2.1:80", "[2001:db8::1]:80"). Only the
// right-most maxEntries entries within maxHeaderBytes are returned.
func ParseXForwardedFor(values []string) []netip.Addr {
	entries := tailEntries(values)
	out := make([]netip.Addr, len(entries))
	for i, e := range entries {
		out[i] = parseNode(e)
	}
	return out
}

// ParseForwarded reads RFC 7239 Forwarded header lines into the for= address
// of each element, left to right. Quoted values, bracketed IPv6 and ports are
// understood; an element whose for= is obfuscated ("_hidden"), "unknown",
// missing, repeated or malformed is the zero Addr.
//
// Elements are split at every comma, even inside quotes: no node name can
// contain a comma, and so an unterminated quote from the client cannot
// swallow the elements the proxies appended after it.
func ParseForwarded(values []string) []netip.Addr {
	entries := tailEntries(values)
	out := make([]netip.Addr, len(entries))
	for i, e := range entries {
		out[i] = parseNode(forwardedParam(e, "for"))
	}
	return out
}

// forwardedParam returns the unquoted value of the parameter name in one
// Forwarded element, or "" when it is absent, repeated or badly quoted.
func forwardedParam(element, name string) string {
	value, seen := "", 0
	for pair := range strings.SplitSeq(element, ";") {
		k, v, ok := strings.Cut(pair, "=")
		if ok && strings.EqualFold(trimOWS(k), name) {
			value, seen = trimOWS(v), seen+1
		}
	}
	if seen != 1 {
		return ""
	}
	return unquote(value)
}

// unquote undoes an RFC 7230 quoted-string; a token is returned as is.
func unquote(s string) string {
	if !strings.HasPrefix(s, `"`) {
		return s
	}
	if len(s) < 2 || !strings.HasSuffix(s, `"`) {
		return ""
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseNode reads one node: an IP address with an optional port, IPv6 in
// brackets when it has one. Anything else, zoned addresses included, is the
// zero Addr. IPv4-mapped addresses come back as IPv4.
func parseNode(s string) netip.Addr {
	host, ok := splitPort(s)
	if !ok {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}
	}
	return a.Unmap()
}

// splitPort strips ":port" (or "[host]:port", or "[host]") from s.
func splitPort(s string) (host string, ok bool) {
	if rest, found := strings.CutPrefix(s, "["); found {
		host, port, closed := strings.Cut(rest, "]")
		if !closed {
			return "", false
		}
		if port == "" {
			return host, true
		}
		port, hasColon := strings.CutPrefix(port, ":")
		return host, hasColon && validPort(port)
	}
	if strings.Count(s, ":") != 1 {
		return s, true // IPv4 without port, or bare IPv6
	}
	host, port, _ := strings.Cut(s, ":")
	return host, validPort(port)
}

// validPort accepts a decimal port or an RFC 7239 obfuscated one ("_abc").
func validPort(p string) bool {
	if len(p) >= 2 && p[0] == '_' {
		return strings.Trim(p[1:], obfChars) == ""
	}
	return len(p) >= 1 && len(p) <= 5 && strings.Trim(p, "0123456789") == ""
}

const obfChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

// lastEntry is the right-most non-empty entry of a comma list, or "".
func lastEntry(values []string) string {
	e := splitTail(joinTail(values), 1)
	if len(e) == 0 {
		return ""
	}
	return e[0]
}

func tailEntries(values []string) []string {
	return splitTail(joinTail(values), maxEntries)
}

// joinTail joins header lines with commas, keeping at most maxHeaderBytes
// from the right and never copying more than that. When it cuts, it drops the
// cut entry whole rather than keep a fragment that might parse.
func joinTail(values []string) string {
	i, n := len(values), 0
	for i > 0 && n <= maxHeaderBytes {
		i--
		n += len(values[i]) + 1
	}
	over := n - 1 - maxHeaderBytes
	if over <= 0 {
		return strings.Join(values[i:], ",")
	}
	lines := slices.Clone(values[i:])
	lines[0] = lines[0][over:]
	_, s, _ := strings.Cut(strings.Join(lines, ","), ",")
	return s
}

// splitTail returns the right-most limit non-empty entries of a comma list,
// trimmed, in their original order.
func splitTail(s string, limit int) []string {
	var out []string
	for len(out) < limit {
		i := strings.LastIndexByte(s, ',')
		if e := trimOWS(s[i+1:]); e != "" {
			out = append(out, e)
		}
		if i < 0 {
			break
		}
		s = s[:i]
	}
	slices.Reverse(out)
	return out
}

func trimOWS(s string) string { return strings.Trim(s, " \t") }
