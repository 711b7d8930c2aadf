// Package publish decides which records a DNS zone should hold for the
// hosts the gateways serve: which hosts belong to the zone and pass its
// domain filters, which address each points at (the ingress gateway
// Service's load balancer, or the zone's explicit targets), and which are
// skipped and why. It is pure: the DNSZone controller reads the cluster,
// calls Endpoints and hands the result to registry.Plan.
package publish

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/edgecert/edgecert/internal/dns/registry"
)

// Zone is what a DNSZone says about which hosts it publishes.
type Zone struct {
	// Name is the zone, fully qualified or not.
	Name string
	// Include and Exclude are the domain filters.
	Include, Exclude []string
	// TTL of records whose source sets none.
	TTL uint32
	// Targets, when set, replace the Services' addresses.
	Targets []string
}

// Source is an object whose hosts are to be published.
type Source struct {
	// Resource is "<kind>/<namespace>/<name>", as external-dns writes it.
	Resource string
	// Hosts as the Gateway's servers hold them ("ns/host" or "host").
	Hosts []string
	// Gateway is the Istio Gateway serving the hosts, "namespace/name".
	Gateway string
	// TTL overrides the zone's when not 0.
	TTL uint32
}

// Target is where a Gateway's hosts point: addresses, or why there are
// none.
type Target struct {
	Values  []string
	Problem string
}

// Skipped is a host not published, and why.
type Skipped struct {
	Host     string
	Resource string
	Reason   string
}

// Endpoints turns sources into the records zone should publish. Hosts
// outside the zone are none of its business and are left out silently
// (another DNSZone may hold them); hosts in the zone that a filter
// excludes, "*", and hosts whose Gateway has no target are Skipped.
// targets is by Gateway ("namespace/name"), as GatewayTarget finds them;
// zone.Targets, when set, replace them.
func Endpoints(zone Zone, sources []Source, targets map[string]Target) ([]registry.Endpoint, []Skipped) {
	zoneName := dnsName(zone.Name)
	var eps []registry.Endpoint
	var skipped []Skipped
	for _, src := range sources {
		for _, h := range src.Hosts {
			host := hostName(h)
			skip := func(reason string) {
				skipped = append(skipped, Skipped{Host: host, Resource: src.Resource, Reason: reason})
			}
			if host == "*" {
				skip(`"*" matches every host: no record is published for it`)
				continue
			}
			base := strings.TrimPrefix(host, "*.")
			if !under(base, zoneName) && host != "*."+zoneName {
				continue
			}
			if reason := filtered(base, zone.Include, zone.Exclude); reason != "" {
				skip(reason)
				continue
			}
			values := zone.Targets
			if len(values) == 0 {
				t, ok := targets[src.Gateway]
				switch {
				case !ok:
					skip(fmt.Sprintf("Gateway %s not found", src.Gateway))
					continue
				case t.Problem != "":
					skip(t.Problem)
					continue
				}
				values = t.Values
			}
			ttl := zone.TTL
			if src.TTL != 0 {
				ttl = src.TTL
			}
			byType := map[string][]string{}
			for _, v := range values {
				typ := registry.TargetType(v)
				byType[typ] = append(byType[typ], v)
			}
			if len(byType[registry.TypeCNAME]) > 0 && (len(byType) > 1 || len(byType[registry.TypeCNAME]) > 1) {
				skip(fmt.Sprintf("targets %s: a host name target must be the only one (a CNAME has one value)", strings.Join(values, ", ")))
				continue
			}
			for _, typ := range slices.Sorted(maps.Keys(byType)) {
				eps = append(eps, registry.Endpoint{Name: host + ".", Type: typ, TTL: ttl, Targets: byType[typ], Resource: src.Resource})
			}
		}
	}
	slices.SortFunc(skipped, func(a, b Skipped) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Resource, b.Resource))
	})
	return eps, slices.Compact(skipped)
}

// Service is an ingress gateway Service as GatewayTarget needs it.
type Service struct {
	Namespace, Name string
	// Selector is spec.selector.
	Selector map[string]string
	// IPs and Hostnames are status.loadBalancer.ingress.
	IPs, Hostnames []string
}

// GatewayTarget finds the addresses behind the pods a Gateway's selector
// picks: the load balancer of the one Service whose pod selector includes
// every label of it (as external-dns's istio-gateway source matches
// them). With none, or several, there is no target and Problem says why:
// edgecert never guesses. IP addresses win over host names.
func GatewayTarget(selector map[string]string, services []Service) Target {
	if len(selector) == 0 {
		return Target{Problem: "the Gateway has no selector, so no Service can be found for its pods; set the DNSZone's targets"}
	}
	var found []Service
	for _, s := range services {
		if len(s.Selector) > 0 && includes(s.Selector, selector) {
			found = append(found, s)
		}
	}
	sel := labelsText(selector)
	switch len(found) {
	case 0:
		return Target{Problem: fmt.Sprintf("no Service selects the gateway pods (%s)", sel)}
	case 1:
	default:
		var names []string
		for _, s := range found {
			names = append(names, s.Namespace+"/"+s.Name)
		}
		slices.Sort(names)
		return Target{Problem: fmt.Sprintf("%d Services select the gateway pods (%s): %s; edgecert does not guess: set the DNSZone's targets", len(found), sel, strings.Join(names, ", "))}
	}
	s := found[0]
	switch {
	case len(s.IPs) > 0:
		ips := slices.Clone(s.IPs)
		slices.Sort(ips)
		return Target{Values: slices.Compact(ips)}
	case len(s.Hostnames) > 0:
		return Target{Values: []string{s.Hostnames[0]}}
	}
	return Target{Problem: fmt.Sprintf("Service %s/%s has no load balancer address yet", s.Namespace, s.Name)}
}

func includes(podSelector, want map[string]string) bool {
	for k, v := range want {
		if got, ok := podSelector[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func labelsText(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// filtered says why a name under the zone is not published, or "".
func filtered(name string, include, exclude []string) string {
	for _, d := range exclude {
		if under(name, dnsName(d)) {
			return fmt.Sprintf("excluded by the DNSZone's domain %s", dnsName(d))
		}
	}
	if len(include) == 0 {
		return ""
	}
	for _, d := range include {
		if under(name, dnsName(d)) {
			return ""
		}
	}
	return "outside the DNSZone's included domains"
}

// hostName is a server host's DNS name ("ns/host" gives "host"), lower
// case, without a trailing dot.
func hostName(h string) string {
	if _, name, ok := strings.Cut(h, "/"); ok {
		h = name
	}
	return dnsName(h)
}

func dnsName(s string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".") }

// under reports whether name is domain or below it.
func under(name, domain string) bool {
	return name == domain || strings.HasSuffix(name, "."+domain)
}

// Manages reports whether the zone is in charge of records at name: under
// the zone and through its domain filters. Records outside are left out
// of the plan altogether, so a DNSZone limited to some domains never
// deletes records it owns elsewhere (those of another DNSZone, or of an
// external-dns with the same owner id and other domain filters).
func (z Zone) Manages(name string) bool {
	n := strings.TrimPrefix(dnsName(name), "*.")
	return under(n, dnsName(z.Name)) && filtered(n, z.Include, z.Exclude) == ""
}
