package dnszone_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/dns/registry"
)

func ptr[T any](v T) *T { return &v }

// gatewayAPIGateway makes a Gateway API Gateway annotated
// edgecert.dev/publish-dns: "true" with listeners, then sets its
// status.addresses (the status subresource, as the gateway implementation
// would).
func gatewayAPIGateway(t testing.TB, ns, name string, mutate func(*gatewayv1.Gateway), listeners []gatewayv1.Listener, addresses ...gatewayv1.GatewayStatusAddress) *gatewayv1.Gateway {
	t.Helper()
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{edgecertv1alpha1.PublishDNSAnnotation: "true"}},
		Spec:       gatewayv1.GatewaySpec{GatewayClassName: "istio", Listeners: listeners},
	}
	if mutate != nil {
		mutate(gw)
	}
	create(t, gw)
	t.Cleanup(func() { _ = c().Delete(context.Background(), gw) })
	gw.Status.Addresses = addresses
	if err := c().Status().Update(context.Background(), gw); err != nil {
		t.Fatal(err)
	}
	return gw
}

func httpListener(name string, port int32, hostname string) gatewayv1.Listener {
	l := gatewayv1.Listener{Name: gatewayv1.SectionName(name), Port: port, Protocol: gatewayv1.HTTPProtocolType}
	if hostname != "" {
		l.Hostname = ptr(gatewayv1.Hostname(hostname))
	}
	return l
}

func ipAddress(ip string) gatewayv1.GatewayStatusAddress {
	return gatewayv1.GatewayStatusAddress{Type: ptr(gatewayv1.IPAddressType), Value: ip}
}

// zoneAddressRecords lists, through a zone transfer from BIND, the names
// of the A, AAAA and CNAME records under domain.
func zoneAddressRecords(t testing.TB, domain string) []string {
	t.Helper()
	recs, err := provider(t).Records(context.Background(), dnsZone)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		if r.Type != registry.TypeTXT && strings.HasSuffix(r.Name, "."+domain+".") {
			out = append(out, r.Name+" "+r.Type)
		}
	}
	slices.Sort(out)
	return out
}

// TestGatewayAPIGatewayPublishes: an annotated Gateway API Gateway with an
// address in status publishes its hostname listener's host, and, for its
// catch-all listener, the hostnames of the three HTTPRoutes of two
// namespaces attached to it, except the one a namespace asks for without
// a claim on it; a route removed loses its record under sync.
func TestGatewayAPIGatewayPublishes(t *testing.T) {
	ctx := context.Background()
	z := newZone(t, "gapi", "owner-gapi", edgecertv1alpha1.DNSPolicySync, nil)
	edge := newNamespace(t, "gapi-edge")
	teamA := newNamespace(t, "gapi-a")
	teamB := newNamespace(t, "gapi-b")
	policy := &edgecertv1alpha1.GatewayPolicy{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "gapi-claims-"},
		Spec: edgecertv1alpha1.GatewayPolicySpec{Claims: []edgecertv1alpha1.HostClaim{
			{Namespaces: []string{teamA}, Domains: []string{"a.gapi.dns.test"}},
			{Namespaces: []string{teamB}, Domains: []string{"b.gapi.dns.test"}},
		}},
	}
	create(t, policy)
	t.Cleanup(func() { _ = c().Delete(ctx, policy) })

	catchAll := httpListener("apps", 8080, "")
	catchAll.AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr(gatewayv1.NamespacesFromAll)}}
	gatewayAPIGateway(t, edge, "web", nil,
		[]gatewayv1.Listener{httpListener("www", 80, "www.gapi.dns.test"), catchAll}, ipAddress("192.0.2.120"))
	toWeb := gatewayv1.ParentReference{Name: "web", Namespace: ptr(gatewayv1.Namespace(edge))}
	route := func(ns, name, host string) *gatewayv1.HTTPRoute {
		r := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		r.Spec.ParentRefs = []gatewayv1.ParentReference{toWeb}
		r.Spec.Hostnames = []gatewayv1.Hostname{gatewayv1.Hostname(host)}
		create(t, r)
		return r
	}
	one := route(teamA, "one", "one.a.gapi.dns.test")
	two := route(teamA, "two", "two.a.gapi.dns.test")
	route(teamB, "greedy", "greedy.a.gapi.dns.test")
	// A Gateway without the annotation publishes nothing, routes included.
	quiet := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: edge, Name: "quiet"},
		Spec:       gatewayv1.GatewaySpec{GatewayClassName: "istio", Listeners: []gatewayv1.Listener{httpListener("quiet", 80, "quiet.gapi.dns.test")}},
	}
	create(t, quiet)

	served(t, "www.gapi.dns.test", "A", "192.0.2.120")
	served(t, "one.a.gapi.dns.test", "A", "192.0.2.120")
	served(t, "two.a.gapi.dns.test", "A", "192.0.2.120")
	served(t, "a-www.gapi.dns.test", "TXT", ownership("owner-gapi", "gatewayapi-gateway/"+edge+"/web"))
	served(t, "a-one.a.gapi.dns.test", "TXT", ownership("owner-gapi", "httproute/"+teamA+"/one"))
	served(t, "a-two.a.gapi.dns.test", "TXT", ownership("owner-gapi", "httproute/"+teamA+"/two"))
	zoneStatus(t, z, "greedy.a.gapi.dns.test skipped", func(z *edgecertv1alpha1.DNSZone) bool {
		return containsProblem(z.Status.Skipped, "greedy.a.gapi.dns.test", "httproute/"+teamB+"/greedy",
			"namespace "+teamB+" has no claim on greedy.a.gapi.dns.test: a GatewayPolicy's spec.claims must give it the host (docs/security.md); HTTPRoute "+teamB+"/greedy gets no record")
	})
	// The pass that reported it had seen every route.
	want := []string{"one.a.gapi.dns.test. A", "two.a.gapi.dns.test. A", "www.gapi.dns.test. A"}
	if diff := cmp.Diff(want, zoneAddressRecords(t, "gapi.dns.test")); diff != "" {
		t.Errorf("address records under gapi.dns.test (-want +got):\n%s", diff)
	}
	bed.ControlPlane.ExpectEvent(t, one, edgecertv1alpha1.ReasonDNSRecordsPublished, "Published one.a.gapi.dns.test A 192.0.2.120 in DNSZone gapi")

	if err := c().Delete(ctx, two); err != nil {
		t.Fatal(err)
	}
	served(t, "two.a.gapi.dns.test", "A")
	served(t, "a-two.a.gapi.dns.test", "TXT")
	want = []string{"one.a.gapi.dns.test. A", "www.gapi.dns.test. A"}
	if diff := cmp.Diff(want, zoneAddressRecords(t, "gapi.dns.test")); diff != "" {
		t.Errorf("address records under gapi.dns.test after route two was deleted (-want +got):\n%s", diff)
	}
}

// TestGatewayAPIListenerSetPublishes: a ListenerSet its annotated parent
// Gateway admits publishes its listener's hostname, pointing at the
// parent's address (a host name: a CNAME); one whose parent does not
// admit ListenerSets publishes nothing.
func TestGatewayAPIListenerSetPublishes(t *testing.T) {
	newZone(t, "gls", "owner-gls", edgecertv1alpha1.DNSPolicySync, nil)
	edge := newNamespace(t, "gls-edge")
	team := newNamespace(t, "gls-team")
	lb := gatewayv1.GatewayStatusAddress{Type: ptr(gatewayv1.HostnameAddressType), Value: "lb-gls.elb.example.net"}
	gatewayAPIGateway(t, edge, "shared", func(gw *gatewayv1.Gateway) {
		gw.Spec.AllowedListeners = &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{From: ptr(gatewayv1.NamespacesFromAll)}}
	}, []gatewayv1.Listener{httpListener("shared", 80, "shared.gls.dns.test")}, lb)
	gatewayAPIGateway(t, edge, "closed", nil, []gatewayv1.Listener{httpListener("closed", 80, "closed.gls.dns.test")}, ipAddress("192.0.2.130"))
	set := func(name, parent, host string) *gatewayv1.ListenerSet {
		ls := &gatewayv1.ListenerSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: name},
			Spec: gatewayv1.ListenerSetSpec{
				ParentRef: gatewayv1.ParentGatewayReference{Name: gatewayv1.ObjectName(parent), Namespace: ptr(gatewayv1.Namespace(edge))},
				Listeners: []gatewayv1.ListenerEntry{{Name: "team", Port: 80, Protocol: gatewayv1.HTTPProtocolType, Hostname: ptr(gatewayv1.Hostname(host))}},
			},
		}
		create(t, ls)
		return ls
	}
	// The refused one first: when the other is published, the pass saw
	// both.
	set("refused", "closed", "refused.gls.dns.test")
	set("team", "shared", "team.gls.dns.test")

	served(t, "team.gls.dns.test", "CNAME", "lb-gls.elb.example.net.")
	served(t, "cname-team.gls.dns.test", "TXT", ownership("owner-gls", "listenerset/"+team+"/team"))
	served(t, "shared.gls.dns.test", "CNAME", "lb-gls.elb.example.net.")
	served(t, "closed.gls.dns.test", "A", "192.0.2.130")
	want := []string{"closed.gls.dns.test. A", "shared.gls.dns.test. CNAME", "team.gls.dns.test. CNAME"}
	if diff := cmp.Diff(want, zoneAddressRecords(t, "gls.dns.test")); diff != "" {
		t.Errorf("address records under gls.dns.test (-want +got):\n%s", diff)
	}
}

// TestGatewayAPIGatewayWaitsForAddress: a Gateway without
// status.addresses has its hosts skipped with the reason; once the
// gateway implementation writes an address, they are published, and they
// follow it when it changes.
func TestGatewayAPIGatewayWaitsForAddress(t *testing.T) {
	z := newZone(t, "gaddr", "owner-gaddr", edgecertv1alpha1.DNSPolicySync, nil)
	edge := newNamespace(t, "gaddr-edge")
	gw := gatewayAPIGateway(t, edge, "late", nil, []gatewayv1.Listener{httpListener("www", 80, "www.gaddr.dns.test"), httpListener("wild", 8080, "*.apps.gaddr.dns.test")})
	want := "Gateway API Gateway " + edge + "/late has no IPAddress or Hostname in status.addresses yet; set the DNSZone's targets"
	zoneStatus(t, z, "www.gaddr.dns.test skipped: no address", func(z *edgecertv1alpha1.DNSZone) bool {
		return containsProblem(z.Status.Skipped, "www.gaddr.dns.test", "gatewayapi-gateway/"+edge+"/late", want)
	})
	if _, v := records(t, "www.gaddr.dns.test", "A"); len(v) != 0 {
		t.Errorf("published without an address: %v", v)
	}
	for _, addrs := range [][]gatewayv1.GatewayStatusAddress{
		{ipAddress("192.0.2.140")},
		{ipAddress("192.0.2.141"), ipAddress("2001:db8::141")},
	} {
		gw.Status.Addresses = addrs
		if err := c().Status().Update(context.Background(), gw); err != nil {
			t.Fatal(err)
		}
		served(t, "www.gaddr.dns.test", "A", addrs[0].Value)
		served(t, "*.apps.gaddr.dns.test", "A", addrs[0].Value)
	}
	served(t, "www.gaddr.dns.test", "AAAA", "2001:db8::141")
	served(t, "aaaa-*.apps.gaddr.dns.test", "TXT", ownership("owner-gaddr", "gatewayapi-gateway/"+edge+"/late"))
}
