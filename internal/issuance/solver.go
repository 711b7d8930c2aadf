package issuance

import (
	"fmt"
	"strings"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// Solver kinds.
const (
	HTTP01 = "http-01"
	DNS01  = "dns-01"
)

// SelectSolver returns the index of the issuer's solver for one host (as
// written in the spec, "*.example.com" for a wildcard) and its challenge
// type. The most specific selector wins: a dnsNames match, then the longest
// dnsZones match, then the most matchLabels matched, then no selector; ties
// go to the first listed. Wildcards need DNS-01.
func SelectSolver(solvers []edgecertv1alpha1.ACMESolver, host string, labels map[string]string) (int, string, error) {
	wildcard := strings.HasPrefix(host, "*.")
	best, bestScore := -1, -1
	for i, s := range solvers {
		if wildcard && s.DNS01 == nil {
			continue
		}
		score, ok := selectorScore(s.Selector, host, labels)
		if ok && score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		if wildcard {
			return -1, "", fmt.Errorf("no dns01 solver matches %s: wildcard certificates need DNS-01", host)
		}
		return -1, "", fmt.Errorf("no solver matches %s", host)
	}
	if solvers[best].DNS01 != nil {
		return best, DNS01, nil
	}
	return best, HTTP01, nil
}

// selectorScore ranks a selector for a host: dnsNames (3000) over dnsZones
// (1000 + zone length) over labels (number matched) over none (0).
func selectorScore(sel *edgecertv1alpha1.SolverSelector, host string, labels map[string]string) (int, bool) {
	if sel == nil {
		return 0, true
	}
	for k, v := range sel.MatchLabels {
		if labels[k] != v {
			return 0, false
		}
	}
	score := len(sel.MatchLabels)
	if len(sel.DNSNames) > 0 {
		for _, n := range sel.DNSNames {
			if strings.EqualFold(n, host) {
				return 3000 + score, true
			}
		}
		if len(sel.DNSZones) == 0 {
			return 0, false
		}
	}
	if len(sel.DNSZones) > 0 {
		name := strings.TrimPrefix(strings.ToLower(host), "*.")
		longest := -1
		for _, z := range sel.DNSZones {
			z = strings.ToLower(strings.TrimSuffix(z, "."))
			if name == z || strings.HasSuffix(name, "."+z) {
				longest = max(longest, len(z))
			}
		}
		if longest < 0 {
			return 0, false
		}
		return 1000 + longest + score, true
	}
	return score, true
}
