package gateway

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

func policy(name string, created time.Time, gws []edgecertv1alpha1.PolicyGateway, claims ...edgecertv1alpha1.HostClaim) edgecertv1alpha1.GatewayPolicy {
	return edgecertv1alpha1.GatewayPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)},
		Spec:       edgecertv1alpha1.GatewayPolicySpec{Gateways: gws, Claims: claims},
	}
}

func TestRoute(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	public := edgecertv1alpha1.PolicyGateway{TrafficType: "ingress", Namespace: "istio-system", Name: "public", WorkloadNamespace: "istio-ingress"}
	egress := edgecertv1alpha1.PolicyGateway{TrafficType: "egress", Namespace: "istio-system", Name: "egress"}
	other := edgecertv1alpha1.PolicyGateway{TrafficType: "ingress", Namespace: "edge", Name: "other", Selector: map[string]string{"istio": "other"}}
	base := policy("base", t0, []edgecertv1alpha1.PolicyGateway{public, egress},
		edgecertv1alpha1.HostClaim{Namespaces: []string{"team-a"}, Domains: []string{"a.example.com"}},
		edgecertv1alpha1.HostClaim{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}}, Domains: []string{"web.example.com"}},
	)
	later := policy("later", t0.Add(time.Hour), []edgecertv1alpha1.PolicyGateway{other},
		edgecertv1alpha1.HostClaim{Namespaces: []string{"team-a"}, Domains: []string{"a.example.com", "b.example.com"}},
	)
	teamA := Namespace{Name: "team-a"}
	web := Namespace{Name: "web-1", Labels: map[string]string{"tier": "web"}}
	publicTarget := Target{Policy: "base", Namespace: "istio-system", Name: "public", WorkloadNamespace: "istio-ingress"}
	for name, tc := range map[string]struct {
		policies    []edgecertv1alpha1.GatewayPolicy
		ns          Namespace
		trafficType string
		hosts       []string
		want        Target
		refusal     *Refusal
	}{
		"claimed by name": {
			policies: []edgecertv1alpha1.GatewayPolicy{base}, ns: teamA, hosts: []string{"a.example.com", "*.a.example.com", "x.y.a.example.com"},
			want: publicTarget,
		},
		"claimed by label": {
			policies: []edgecertv1alpha1.GatewayPolicy{base}, ns: web, trafficType: "ingress", hosts: []string{"shop.web.example.com"},
			want: publicTarget,
		},
		"egress, workload namespace defaults to the gateway's": {
			policies: []edgecertv1alpha1.GatewayPolicy{base}, ns: teamA, trafficType: "egress", hosts: []string{"a.example.com"},
			want: Target{Policy: "base", Namespace: "istio-system", Name: "egress", WorkloadNamespace: "istio-system"},
		},
		"unclaimed": {
			policies: []edgecertv1alpha1.GatewayPolicy{base}, ns: teamA, hosts: []string{"a.example.com", "web.example.com", "evil.com"},
			refusal: &Refusal{Reason: edgecertv1alpha1.ReasonHostNotClaimed, Message: "namespace team-a has no claim on web.example.com, evil.com in a GatewayPolicy with an ingress Gateway"},
		},
		"suffix is not a label boundary": {
			policies: []edgecertv1alpha1.GatewayPolicy{base}, ns: teamA, hosts: []string{"aa.example.com"},
			refusal: &Refusal{Reason: edgecertv1alpha1.ReasonHostNotClaimed, Message: "namespace team-a has no claim on aa.example.com in a GatewayPolicy with an ingress Gateway"},
		},
		"no policy": {
			ns: teamA, hosts: []string{"a.example.com"},
			refusal: &Refusal{Reason: edgecertv1alpha1.ReasonNoGateway, Message: "no GatewayPolicy names a Gateway for ingress traffic"},
		},
		"no egress gateway": {
			policies: []edgecertv1alpha1.GatewayPolicy{later}, ns: teamA, trafficType: "egress", hosts: []string{"a.example.com"},
			refusal: &Refusal{Reason: edgecertv1alpha1.ReasonNoGateway, Message: "no GatewayPolicy names a Gateway for egress traffic"},
		},
		"oldest policy decides": {
			policies: []edgecertv1alpha1.GatewayPolicy{later, base}, ns: teamA, hosts: []string{"a.example.com"},
			want: publicTarget,
		},
		"hosts split across gateways": {
			policies: []edgecertv1alpha1.GatewayPolicy{later, base}, ns: teamA, hosts: []string{"a.example.com", "b.example.com"},
			refusal: &Refusal{Reason: edgecertv1alpha1.ReasonInvalidSpec, Message: "hosts belong to different Gateways (istio-system/public and edge/other); use one GatewayService per Gateway"},
		},
		"selector passes through": {
			policies: []edgecertv1alpha1.GatewayPolicy{later}, ns: teamA, hosts: []string{"b.example.com"},
			want: Target{Policy: "later", Namespace: "edge", Name: "other", WorkloadNamespace: "edge", Selector: map[string]string{"istio": "other"}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, refusal := Route(tc.policies, tc.ns, tc.trafficType, tc.hosts)
			if diff := cmp.Diff(tc.refusal, refusal); diff != "" {
				t.Fatalf("refusal (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("target (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHostClaims(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	gatewaysOnly := policy("gateways", t0, []edgecertv1alpha1.PolicyGateway{{TrafficType: "ingress", Namespace: "istio-system", Name: "public"}})
	claims := policy("claims", t0, nil,
		edgecertv1alpha1.HostClaim{Namespaces: []string{"shop"}, Domains: []string{"shop.example.com"}},
		edgecertv1alpha1.HostClaim{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "blog"}}, Domains: []string{"blog.example.com"}},
	)
	all := policy("all", t0, nil, edgecertv1alpha1.HostClaim{Namespaces: []string{"blog-prod"}, Domains: []string{"*"}})
	shop := Namespace{Name: "shop"}
	blog := Namespace{Name: "blog-prod", Labels: map[string]string{"team": "blog"}}
	for name, tc := range map[string]struct {
		policies []edgecertv1alpha1.GatewayPolicy
		required bool
		ns       Namespace
		hosts    []string
		enforced bool
		want     []string
	}{
		"no policy: open":                    {ns: shop, hosts: []string{"any.example.org"}, want: []string{"any.example.org"}},
		"policies without claims: open":      {policies: []edgecertv1alpha1.GatewayPolicy{gatewaysOnly}, ns: shop, hosts: []string{"a.example.org"}, want: []string{"a.example.org"}},
		"required without claims: enforced":  {required: true, ns: shop, hosts: []string{"a.example.org"}, enforced: true, want: []string{"a.example.org"}},
		"claimed by name, wildcard and apex": {policies: []edgecertv1alpha1.GatewayPolicy{gatewaysOnly, claims}, ns: shop, hosts: []string{"shop.example.com", "*.shop.example.com", "a.b.shop.example.com"}, enforced: true},
		"claimed by label":                   {policies: []edgecertv1alpha1.GatewayPolicy{claims}, ns: blog, hosts: []string{"www.blog.example.com"}, enforced: true},
		"another namespace's host":           {policies: []edgecertv1alpha1.GatewayPolicy{claims}, ns: shop, hosts: []string{"shop.example.com", "blog.example.com"}, enforced: true, want: []string{"blog.example.com"}},
		"suffix is not a subdomain":          {policies: []edgecertv1alpha1.GatewayPolicy{claims}, ns: shop, hosts: []string{"evilshop.example.com"}, enforced: true, want: []string{"evilshop.example.com"}},
		"parent of the claim":                {policies: []edgecertv1alpha1.GatewayPolicy{claims}, ns: shop, hosts: []string{"example.com", "*.example.com"}, enforced: true, want: []string{"example.com", "*.example.com"}},
		"catch-all needs the claim \"*\"":    {policies: []edgecertv1alpha1.GatewayPolicy{claims}, ns: shop, hosts: []string{"*", "a.shop.example.com"}, enforced: true, want: []string{"*"}},
		"claim \"*\" covers every host":      {policies: []edgecertv1alpha1.GatewayPolicy{claims, all}, ns: blog, hosts: []string{"*", "a.example.org", "*.example.net"}, enforced: true},
		"claim \"*\" is the named ns' only":  {policies: []edgecertv1alpha1.GatewayPolicy{claims, all}, ns: shop, hosts: []string{"*", "a.example.org"}, enforced: true, want: []string{"*", "a.example.org"}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := ClaimsEnforced(tc.policies, tc.required); got != tc.enforced {
				t.Errorf("ClaimsEnforced = %v, want %v", got, tc.enforced)
			}
			if diff := cmp.Diff(tc.want, Unclaimed(tc.policies, tc.ns, tc.hosts)); diff != "" {
				t.Errorf("Unclaimed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIssuerRefusal(t *testing.T) {
	team := Namespace{Name: "team", Labels: map[string]string{"tier": "gold"}}
	for name, tc := range map[string]struct {
		allowed *edgecertv1alpha1.IssuerAllowed
		hosts   []string
		want    string
	}{
		"unset":                {hosts: []string{"a.example.org"}},
		"listed namespace":     {allowed: &edgecertv1alpha1.IssuerAllowed{Namespaces: []string{"other", "team"}}, hosts: []string{"a.example.org"}},
		"unlisted namespace":   {allowed: &edgecertv1alpha1.IssuerAllowed{Namespaces: []string{"other"}}, hosts: []string{"a.example.org"}, want: "ClusterIssuer le does not allow namespace team (spec.allowed.namespaces, spec.allowed.namespaceSelector)"},
		"selected by label":    {allowed: &edgecertv1alpha1.IssuerAllowed{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}}, hosts: []string{"a.example.org"}},
		"not selected":         {allowed: &edgecertv1alpha1.IssuerAllowed{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "free"}}}, hosts: []string{"a.example.org"}, want: "ClusterIssuer le does not allow namespace team (spec.allowed.namespaces, spec.allowed.namespaceSelector)"},
		"domains cover":        {allowed: &edgecertv1alpha1.IssuerAllowed{Domains: []string{"example.org"}}, hosts: []string{"example.org", "*.a.example.org"}},
		"a host outside":       {allowed: &edgecertv1alpha1.IssuerAllowed{Domains: []string{"example.org", "example.net"}}, hosts: []string{"a.example.org", "b.example.com", "c.example.io"}, want: "ClusterIssuer le does not allow b.example.com, c.example.io (spec.allowed.domains: example.org, example.net)"},
		"namespace first":      {allowed: &edgecertv1alpha1.IssuerAllowed{Namespaces: []string{"other"}, Domains: []string{"example.org"}}, hosts: []string{"b.example.com"}, want: "ClusterIssuer le does not allow namespace team (spec.allowed.namespaces, spec.allowed.namespaceSelector)"},
		"domains only, any ns": {allowed: &edgecertv1alpha1.IssuerAllowed{Domains: []string{"example.org"}}, hosts: []string{"www.example.org"}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := IssuerRefusal(tc.allowed, "ClusterIssuer", "le", team, tc.hosts); got != tc.want {
				t.Errorf("IssuerRefusal = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWorkloadNamespaces(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := policy("a", t0, []edgecertv1alpha1.PolicyGateway{
		{TrafficType: "ingress", Namespace: "istio-system", Name: "public", WorkloadNamespace: "istio-ingress"},
		{TrafficType: "egress", Namespace: "istio-system", Name: "egress"},
	})
	b := policy("b", t0, []edgecertv1alpha1.PolicyGateway{{TrafficType: "ingress", Namespace: "istio-ingress", Name: "other"}})
	if diff := cmp.Diff([]string{"gateways", "istio-ingress", "istio-system"}, WorkloadNamespaces([]edgecertv1alpha1.GatewayPolicy{a, b}, "gateways")); diff != "" {
		t.Errorf("WorkloadNamespaces (-want +got):\n%s", diff)
	}
	if got := WorkloadNamespaces(nil, ""); len(got) != 0 {
		t.Errorf("WorkloadNamespaces of nothing = %v", got)
	}
}
