package outbound

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// ErrPrivateTarget means a delivery target resolves to an address inside our trust
// boundary (loopback, private, link-local and the like) on a server that does not allow
// them (serve --allow-private-webhook-targets).
var ErrPrivateTarget = errors.New("private webhook target refused")

// extraRefused are ranges netip has no predicate for but that never hold a platform's
// public endpoint: "this network", carrier-grade NAT, IETF protocol assignments,
// benchmarking, and the reserved and broadcast block.
var extraRefused = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
}

// nat64 is the well-known NAT64 prefix (RFC 6052): its addresses reach the IPv4 address
// in their last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Refused reports whether ip is an address outbound webhooks must not reach unless the
// operator allows private targets: loopback, private (RFC 1918, fc00::/7), link-local
// (169.254/16 with the cloud metadata services, fe80::/10), unspecified, multicast, the
// ranges in extraRefused, and IPv4-mapped or NAT64 forms of any of them.
func Refused(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.Is6() && nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range extraRefused {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// guardControl is a net.Dialer Control function that refuses a connection to a refused
// address. It runs after name resolution, on the address actually dialled, so a host
// name that resolves (or re-resolves) to an inside address is caught too.
func guardControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse the dialled address %q", ErrPrivateTarget, address)
	}
	if Refused(ap.Addr()) {
		return fmt.Errorf("%w: %s is a loopback, private or link-local address (serve --allow-private-webhook-targets allows it)", ErrPrivateTarget, ap.Addr())
	}
	return nil
}

// CheckURL checks an endpoint URL as registered: absolute https (http only where private
// targets are allowed, as in the sandbox), a host, no user name or password, no fragment,
// and, unless allowPrivate, no host that is a refused address or "localhost". Addresses
// a host name resolves to are checked again at every connection. The error names the
// field and the fix.
func CheckURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return fmt.Errorf("url: %v; give an absolute https URL such as https://platform.example/hooks", errors.Unwrap(err))
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	case u.Scheme == "http":
		return fmt.Errorf("url %q uses http; webhooks carry data and are sent over https only", raw)
	default:
		return fmt.Errorf("url %q is not an absolute https URL; give one such as https://platform.example/hooks", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("url %q has no host", raw)
	}
	if u.User != nil {
		return fmt.Errorf("url %q holds a user name or password; deliveries are signed, so leave credentials out of the URL", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("url %q has a fragment (#…), which is never sent; remove it", raw)
	}
	if allowPrivate {
		return nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return fmt.Errorf("url %q points at this machine; %w (serve --allow-private-webhook-targets allows it)", raw, ErrPrivateTarget)
	}
	if ip, err := netip.ParseAddr(host); err == nil && Refused(ip) {
		return fmt.Errorf("url %q points at %s, a loopback, private or link-local address; %w (serve --allow-private-webhook-targets allows it)", raw, ip, ErrPrivateTarget)
	}
	return nil
}

// guardedDialer returns a dialer whose connections to refused addresses fail, unless
// allowPrivate.
func guardedDialer(allowPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: dialTimeout}
	if !allowPrivate {
		d.Control = guardControl
	}
	return d
}
