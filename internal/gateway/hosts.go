package gateway

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// maxHostLength is istiod's bound on a domain name.
const maxHostLength = 255

// ValidateHost checks a host a tenant asks for: a fully qualified, lower
// case DNS name with at most one "*." prefix, or the catch-all "*" (which
// the CRD allows only on TCP and TLS servers, and claims cover only when
// they say "*"). It is stricter than istiod (which also takes IP
// addresses, upper case and a trailing dot) on purpose: claims compare
// names byte for byte.
func ValidateHost(host string) error {
	if host == "" {
		return errors.New("empty host")
	}
	if host == CatchAll {
		return nil
	}
	if len(host) > 253 {
		return fmt.Errorf("host %q is longer than 253 characters", host)
	}
	name, wildcard := strings.CutPrefix(host, "*.")
	if strings.Contains(name, "*") {
		return fmt.Errorf("host %q: a wildcard is only allowed as the whole first label (\"*.\")", host)
	}
	if !strings.Contains(name, ".") {
		if wildcard {
			return fmt.Errorf("host %q: a wildcard needs at least two labels after \"*.\"", host)
		}
		return fmt.Errorf("host %q is a short name; use a fully qualified name", host)
	}
	if name != strings.ToLower(name) {
		return fmt.Errorf("host %q must be lower case", host)
	}
	if err := validateLabels(name, false); err != nil {
		return fmt.Errorf("host %q: %w", host, err)
	}
	return nil
}

// ValidateServerHost mirrors istiod's check of one host of a Gateway
// server: "namespace/dnsName" or a bare dnsName, where namespace is "*",
// "." or a DNS label, and dnsName is "*", an IP address, or a fully
// qualified name whose first label may be "*".
func ValidateServerHost(host string) error {
	ns, name, found := strings.Cut(host, "/")
	if !found {
		return validateServerDNSName(host)
	}
	if ns == "" || name == "" {
		return fmt.Errorf("host %q: namespace and dnsName cannot be empty", host)
	}
	if ns != "*" && ns != "." && !isDNSLabel(ns) {
		return fmt.Errorf("host %q: invalid namespace value %q in gateway", host, ns)
	}
	return validateServerDNSName(name)
}

func validateServerDNSName(name string) error {
	if name == "*" {
		return nil
	}
	if !strings.Contains(name, ".") && !isIP(name) {
		return fmt.Errorf("short names (non FQDN) are not allowed: %q", name)
	}
	if strings.Contains(name, "*") && !strings.HasPrefix(name, "*.") {
		return fmt.Errorf("partial wildcard %q not allowed", name)
	}
	if isIP(name) {
		return nil
	}
	if len(name) > maxHostLength {
		return fmt.Errorf("domain name %q too long (max %d)", name, maxHostLength)
	}
	first, rest, _ := strings.Cut(name, ".")
	if first != "*" && !isDNSLabelAnyCase(first) {
		return fmt.Errorf("domain name %q invalid (label %q invalid)", name, first)
	}
	return validateLabels(rest, true)
}

// validateLabels checks dot-separated DNS labels; the top-level label may
// not be all digits. A trailing dot is allowed when trailingDot is true.
func validateLabels(name string, trailingDot bool) error {
	if trailingDot {
		name = strings.TrimSuffix(name, ".")
	}
	labels := strings.Split(name, ".")
	if _, err := strconv.Atoi(labels[len(labels)-1]); err == nil {
		return fmt.Errorf("top level domain %q cannot be all-numeric", labels[len(labels)-1])
	}
	for _, l := range labels {
		if !isDNSLabelAnyCase(l) {
			return fmt.Errorf("label %q invalid", l)
		}
	}
	return nil
}

// isDNSLabel is RFC 1123's label in lower case, as Kubernetes names
// namespaces.
func isDNSLabel(s string) bool {
	return s == strings.ToLower(s) && isDNSLabelAnyCase(s)
}

func isDNSLabelAnyCase(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// DNSName is the dnsName part of a Gateway server host, lower-cased and
// without a trailing dot: "team-a/shop.example.com" gives
// "shop.example.com".
func DNSName(serverHost string) string {
	if _, name, found := strings.Cut(serverHost, "/"); found {
		serverHost = name
	}
	return strings.ToLower(strings.TrimSuffix(serverHost, "."))
}

// Overlap reports whether two DNS names (as DNSName returns them) can both
// match one request's host, which is what makes two servers on one port
// collide. "*" matches everything; "*.example.com" matches any name that
// ends in ".example.com", at any depth, as Istio matches it.
func Overlap(a, b string) bool {
	if a == b || a == "*" || b == "*" {
		return true
	}
	return wildcardMatches(a, b) || wildcardMatches(b, a)
}

// wildcardMatches reports whether pattern, when it is a wildcard, matches
// name (itself a name or a narrower wildcard).
func wildcardMatches(pattern, name string) bool {
	suffix, ok := strings.CutPrefix(pattern, "*")
	return ok && strings.HasPrefix(suffix, ".") && strings.HasSuffix(name, suffix)
}

// Covers reports whether a claimed domain covers host: the domain itself
// and every name under it, wildcards included. The domain "*" covers
// every host, and only it covers the catch-all host "*".
func Covers(domain, host string) bool {
	return domain == CatchAll || host == domain || strings.HasSuffix(host, "."+domain)
}

// CatchAll is the host that matches every host: allowed alone on TCP and
// TLS servers (Istio routes the whole port, or every SNI), and covered
// only by a claim of the domain "*".
const CatchAll = "*"
