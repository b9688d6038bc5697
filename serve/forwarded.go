package serve

import (
	"bytes"
	"fmt"
	"net"
	"strings"
)

// trustedPeers are the proxies whose X-Forwarded-For and X-Forwarded-Proto
// headers are believed (--forwarded-allow-ips).
type trustedPeers struct {
	all  bool
	nets []*net.IPNet
}

func parseTrusted(list []string) (*trustedPeers, error) {
	t := &trustedPeers{}
	for _, item := range list {
		for _, s := range strings.Split(item, ",") {
			s = strings.TrimSpace(s)
			switch {
			case s == "":
			case s == "*":
				t.all = true
			case strings.Contains(s, "/"):
				_, n, err := net.ParseCIDR(s)
				if err != nil {
					return nil, fmt.Errorf("--forwarded-allow-ips: %q is not an IP address or CIDR range", s)
				}
				t.nets = append(t.nets, n)
			default:
				ip := net.ParseIP(s)
				if ip == nil {
					return nil, fmt.Errorf("--forwarded-allow-ips: %q is not an IP address or CIDR range", s)
				}
				bits := 8 * len(ip.To16())
				if ip.To4() != nil {
					ip, bits = ip.To4(), 32
				}
				t.nets = append(t.nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			}
		}
	}
	return t, nil
}

func (t *trustedPeers) trusts(ip net.IP) bool {
	if t.all {
		return true
	}
	for _, n := range t.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// clientFromForwarded walks X-Forwarded-For from the right, skipping trusted
// proxies, and returns the first address that is not one (or the leftmost).
func (t *trustedPeers) clientFromForwarded(xff []byte) []byte {
	parts := bytes.Split(xff, []byte(","))
	var last []byte
	for i := len(parts) - 1; i >= 0; i-- {
		p := bytes.TrimSpace(parts[i])
		if len(p) == 0 {
			continue
		}
		last = p
		ip := net.ParseIP(string(p))
		if ip == nil || !t.trusts(ip) {
			return p
		}
	}
	return last
}
