package gateway

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// Namespace is what claims match on.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// Target is where a GatewayService's server goes.
type Target struct {
	// Policy is the GatewayPolicy that decided.
	Policy string
	// Namespace and Name are the Istio Gateway's.
	Namespace, Name string
	// WorkloadNamespace is where the gateway pods read Secrets.
	WorkloadNamespace string
	// Selector, when not empty, lets edgecert create the Gateway.
	Selector map[string]string
}

// Key is "namespace/name" of the Gateway.
func (t Target) Key() string { return t.Namespace + "/" + t.Name }

// Refusal is why a GatewayService has no Gateway. Reason is
// ReasonNoGateway, ReasonHostNotClaimed or ReasonInvalidSpec.
type Refusal struct {
	Reason  string
	Message string
}

// Route finds the Gateway for a GatewayService's hosts: each host must be
// claimed for the namespace by a policy that has a Gateway for the traffic
// type. When several policies claim a host, the oldest policy decides
// (creation time, then name). All hosts must land in the same Gateway.
func Route(policies []edgecertv1alpha1.GatewayPolicy, ns Namespace, trafficType string, hosts []string) (Target, *Refusal) {
	if trafficType == "" {
		trafficType = edgecertv1alpha1.TrafficTypeIngress
	}
	policies = slices.Clone(policies)
	slices.SortFunc(policies, func(a, b edgecertv1alpha1.GatewayPolicy) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	var (
		target    *Target
		unclaimed []string
		anyGW     bool
	)
	for _, h := range hosts {
		var found *Target
		for i := range policies {
			p := &policies[i]
			gw := policyGateway(p, trafficType)
			if gw == nil {
				continue
			}
			anyGW = true
			if claimed(p, ns, h) {
				found = gw
				break
			}
		}
		if found == nil {
			unclaimed = append(unclaimed, h)
			continue
		}
		if target != nil && target.Key() != found.Key() {
			return Target{}, &Refusal{Reason: edgecertv1alpha1.ReasonInvalidSpec, Message: fmt.Sprintf("hosts belong to different Gateways (%s and %s); use one GatewayService per Gateway", target.Key(), found.Key())}
		}
		target = found
	}
	if !anyGW {
		return Target{}, &Refusal{Reason: edgecertv1alpha1.ReasonNoGateway, Message: fmt.Sprintf("no GatewayPolicy names a Gateway for %s traffic", trafficType)}
	}
	if len(unclaimed) > 0 {
		return Target{}, &Refusal{Reason: edgecertv1alpha1.ReasonHostNotClaimed, Message: fmt.Sprintf("namespace %s has no claim on %s in a GatewayPolicy with an %s Gateway", ns.Name, strings.Join(unclaimed, ", "), trafficType)}
	}
	return *target, nil
}

func policyGateway(p *edgecertv1alpha1.GatewayPolicy, trafficType string) *Target {
	for _, g := range p.Spec.Gateways {
		if g.TrafficType != trafficType {
			continue
		}
		t := &Target{Policy: p.Name, Namespace: g.Namespace, Name: g.Name, WorkloadNamespace: g.WorkloadNamespace, Selector: g.Selector}
		if t.WorkloadNamespace == "" {
			t.WorkloadNamespace = g.Namespace
		}
		return t
	}
	return nil
}

// WorkloadNamespaces are the namespaces the platform configured for
// gateway pods: the one given to edgecert (--istio-gateway-workload-namespace,
// may be empty) and those of every GatewayPolicy Gateway. Only there may
// edgecert put a Certificate generated for another namespace's source.
func WorkloadNamespaces(policies []edgecertv1alpha1.GatewayPolicy, configured string) []string {
	var out []string
	if configured != "" {
		out = append(out, configured)
	}
	for i := range policies {
		for _, g := range policies[i].Spec.Gateways {
			ns := g.WorkloadNamespace
			if ns == "" {
				ns = g.Namespace
			}
			if !slices.Contains(out, ns) {
				out = append(out, ns)
			}
		}
	}
	return out
}

// ClaimsEnforced reports whether hosts must be claimed: when the platform
// requires it (--require-host-claims), or as soon as any GatewayPolicy
// claims a host. A cluster without claims works as if every namespace
// could use every host.
func ClaimsEnforced(policies []edgecertv1alpha1.GatewayPolicy, required bool) bool {
	if required {
		return true
	}
	for i := range policies {
		if len(policies[i].Spec.Claims) > 0 {
			return true
		}
	}
	return false
}

// Unclaimed returns, in order, the hosts that no claim of any policy
// covers for ns. This is the host rule of every path that is not a
// GatewayService (which also needs the claim to come with a Gateway, see
// Route).
func Unclaimed(policies []edgecertv1alpha1.GatewayPolicy, ns Namespace, hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if !slices.ContainsFunc(policies, func(p edgecertv1alpha1.GatewayPolicy) bool { return claimed(&p, ns, h) }) {
			out = append(out, h)
		}
	}
	return out
}

// HostNotClaimedMessage is the stable message of a HostNotClaimed refusal.
func HostNotClaimedMessage(ns string, hosts []string) string {
	return fmt.Sprintf("namespace %s has no claim on %s: a GatewayPolicy's spec.claims must give it the host (docs/security.md)", ns, strings.Join(hosts, ", "))
}

// IssuerRefusal says why an issuer's spec.allowed does not let namespace
// ns use it for hosts, or "" when it does. kind and name name the issuer
// in the message.
func IssuerRefusal(allowed *edgecertv1alpha1.IssuerAllowed, kind, name string, ns Namespace, hosts []string) string {
	if allowed == nil {
		return ""
	}
	if len(allowed.Namespaces) > 0 || allowed.NamespaceSelector != nil {
		if !claimMatches(edgecertv1alpha1.HostClaim{Namespaces: allowed.Namespaces, NamespaceSelector: allowed.NamespaceSelector}, ns) {
			return fmt.Sprintf("%s %s does not allow namespace %s (spec.allowed.namespaces, spec.allowed.namespaceSelector)", kind, name, ns.Name)
		}
	}
	if len(allowed.Domains) == 0 {
		return ""
	}
	var outside []string
	for _, h := range hosts {
		if !slices.ContainsFunc(allowed.Domains, func(d string) bool { return Covers(d, h) }) {
			outside = append(outside, h)
		}
	}
	if len(outside) > 0 {
		return fmt.Sprintf("%s %s does not allow %s (spec.allowed.domains: %s)", kind, name, strings.Join(outside, ", "), strings.Join(allowed.Domains, ", "))
	}
	return ""
}

func claimed(p *edgecertv1alpha1.GatewayPolicy, ns Namespace, host string) bool {
	for _, c := range p.Spec.Claims {
		if !claimMatches(c, ns) {
			continue
		}
		for _, d := range c.Domains {
			if Covers(d, host) {
				return true
			}
		}
	}
	return false
}

func claimMatches(c edgecertv1alpha1.HostClaim, ns Namespace) bool {
	if slices.Contains(c.Namespaces, ns.Name) {
		return true
	}
	if c.NamespaceSelector == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(c.NamespaceSelector)
	if err != nil {
		return false
	}
	return sel.Matches(labels.Set(ns.Labels))
}
