package fakeserver

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
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

// Sources is the source-address allowlist of a fake whose provider checks
// where requests come from (popolni.club, QIWI). Embedded in the fake's
// Server, SetAllowedIPs is the server's own; the fake checks [Allowed] where
// its provider does. The zero value allows every address; it is safe for
// concurrent use.
type Sources struct {
	mu   sync.Mutex
	list Allowlist
	set  bool
}

// SetAllowedIPs replaces the source-address allowlist, checked on the host
// part of the request's RemoteAddr. Each entry is an IP address or a CIDR
// prefix ("127.0.0.0/8"); no entries allows every address. It returns an
// error naming the entries that do not parse: they never match, so a typo
// fails closed.
func (a *Sources) SetAllowedIPs(ips ...string) error {
	l, bad := ParseAllowlist(ips)
	a.mu.Lock()
	a.list, a.set = l, true
	a.mu.Unlock()
	if len(bad) > 0 {
		return fmt.Errorf("invalid allowlist entries %q never match", bad)
	}
	return nil
}

// Allowed reports whether a allows the request address remote. It is a
// function, not a method, so that it is not part of the fakes' exported API.
func Allowed(a *Sources, remote string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.set || a.list.Allows(remote)
}
