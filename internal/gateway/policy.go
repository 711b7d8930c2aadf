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
