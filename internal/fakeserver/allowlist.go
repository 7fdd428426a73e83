package fakeserver

import (
	"net"
	"net/netip"
	"strings"
)

// Allowlist is a source-address allowlist of IP addresses and CIDR prefixes.
// The zero value allows nothing; [ParseAllowlist] of no entries allows every
// address.
type Allowlist struct {
	all      bool
	prefixes []netip.Prefix
}

// ParseAllowlist reads entries, each an IP address or a CIDR prefix
// ("127.0.0.0/8"); IPv4-mapped IPv6 forms count as IPv4. No entries allows
// every address. It returns the entries that do not parse (they never match).
func ParseAllowlist(entries []string) (a Allowlist, bad []string) {
	a.all = len(entries) == 0
	for _, ip := range entries {
		ip = strings.TrimSpace(ip)
		if strings.Contains(ip, "/") {
			p, err := netip.ParsePrefix(ip)
			if err != nil {
				bad = append(bad, ip)
				continue
			}
			if p.Addr().Is4In6() {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			a.prefixes = append(a.prefixes, p.Masked())
			continue
		}
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			bad = append(bad, ip)
			continue
		}
		addr = addr.Unmap()
		a.prefixes = append(a.prefixes, netip.PrefixFrom(addr, addr.BitLen()))
	}
	return a, bad
}

// Allows reports whether the host part of remote (a request's RemoteAddr, or
// a bare address) is on the list.
func (a Allowlist) Allows(remote string) bool {
	if a.all {
		return true
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range a.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
