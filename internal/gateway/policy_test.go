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
