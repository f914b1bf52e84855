package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// parsePrefixes reads addresses and CIDR ranges (a bare address is one host).
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range list {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if a, err := netip.ParseAddr(v); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR range such as 10.0.0.0/8", v)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
