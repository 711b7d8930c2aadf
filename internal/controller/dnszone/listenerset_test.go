package dnszone_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// routeEvents lists the events of reason about obj (their regarding
// object), with their series.
func routeEvents(t testing.TB, obj client.Object, reason string) []eventsv1.Event {
	t.Helper()
	var list eventsv1.EventList
	if err := c().List(context.Background(), &list, client.InNamespace(obj.GetNamespace())); err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.UID == obj.GetUID() && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// TestGatewayAPIListenerSetRoutesPublish: the catch-all listener of a
// ListenerSet its annotated parent Gateway admits publishes the hostnames
// of the HTTPRoutes that name the ListenerSet, from two namespaces,
// pointing at the parent's address, except the one a namespace asks for
// without a claim on it: that one is in status.skipped and told with a
// RouteHostNotClaimed event on the route, once while it stays so (the
// zone resyncs every second; a second telling would make the Event a
// series). A route naming the Gateway instead is not attached to the
// ListenerSet's listener (the Gateway has none without hostname). A route
// removed loses its record under sync.
func TestGatewayAPIListenerSetRoutesPublish(t *testing.T) {
	ctx := context.Background()
	z := newZone(t, "glsr", "owner-glsr", edgecertv1alpha1.DNSPolicySync, nil)
	edge, team, team2 := newNamespace(t, "glsr-edge"), newNamespace(t, "glsr-a"), newNamespace(t, "glsr-b")
	policy := &edgecertv1alpha1.GatewayPolicy{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "glsr-claims-"},
		Spec: edgecertv1alpha1.GatewayPolicySpec{Claims: []edgecertv1alpha1.HostClaim{
			{Namespaces: []string{team}, Domains: []string{"a.glsr.dns.test"}},
			{Namespaces: []string{team2}, Domains: []string{"b.glsr.dns.test"}},
		}},
	}
	create(t, policy)
	t.Cleanup(func() { _ = c().Delete(ctx, policy) })
	gatewayAPIGateway(t, edge, "shared", func(gw *gatewayv1.Gateway) {
		gw.Spec.AllowedListeners = &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{From: ptr(gatewayv1.NamespacesFromAll)}}
	}, []gatewayv1.Listener{httpListener("shared", 80, "shared.glsr.dns.test")}, ipAddress("192.0.2.150"))
	create(t, &gatewayv1.ListenerSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "tenant"},
		Spec: gatewayv1.ListenerSetSpec{
			ParentRef: gatewayv1.ParentGatewayReference{Name: "shared", Namespace: ptr(gatewayv1.Namespace(edge))},
			Listeners: []gatewayv1.ListenerEntry{{Name: "apps", Port: 8080, Protocol: gatewayv1.HTTPProtocolType,
				AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr(gatewayv1.NamespacesFromAll)}}}},
		},
	})
	toSet := gatewayv1.ParentReference{Group: ptr(gatewayv1.Group(gatewayv1.GroupName)), Kind: ptr(gatewayv1.Kind("ListenerSet")),
		Namespace: ptr(gatewayv1.Namespace(team)), Name: "tenant"}
	route := func(ns, name, host string, parent gatewayv1.ParentReference) *gatewayv1.HTTPRoute {
		r := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		r.Spec.ParentRefs = []gatewayv1.ParentReference{parent}
		r.Spec.Hostnames = []gatewayv1.Hostname{gatewayv1.Hostname(host)}
		create(t, r)
		return r
	}
	greedy := route(team2, "greedy", "greedy.a.glsr.dns.test", toSet)
	route(team, "to-gateway", "gw.a.glsr.dns.test", gatewayv1.ParentReference{Name: "shared", Namespace: ptr(gatewayv1.Namespace(edge))})
	route(team, "www", "www.a.glsr.dns.test", toSet)
	api := route(team2, "api", "api.b.glsr.dns.test", toSet)

	served(t, "www.a.glsr.dns.test", "A", "192.0.2.150")
	served(t, "api.b.glsr.dns.test", "A", "192.0.2.150")
	served(t, "a-www.a.glsr.dns.test", "TXT", ownership("owner-glsr", "httproute/"+team+"/www"))
	served(t, "a-api.b.glsr.dns.test", "TXT", ownership("owner-glsr", "httproute/"+team2+"/api"))
	skippedReason := "namespace " + team2 + " has no claim on greedy.a.glsr.dns.test: a GatewayPolicy's spec.claims must give it the host (docs/security.md); HTTPRoute " + team2 + "/greedy gets no record"
	zoneStatus(t, z, "greedy.a.glsr.dns.test skipped", func(z *edgecertv1alpha1.DNSZone) bool {
		return containsProblem(z.Status.Skipped, "greedy.a.glsr.dns.test", "httproute/"+team2+"/greedy", skippedReason)
	})
	wantNote := "namespace " + team2 + " has no claim on greedy.a.glsr.dns.test: a GatewayPolicy's spec.claims must give it the host (docs/security.md); " +
		"HTTPRoute " + team2 + "/greedy gets no record in DNSZone glsr"
	bed.ControlPlane.ExpectEvent(t, greedy, edgecertv1alpha1.ReasonRouteHostNotClaimed, wantNote)
	want := []string{"api.b.glsr.dns.test. A", "shared.glsr.dns.test. A", "www.a.glsr.dns.test. A"}
	if diff := cmp.Diff(want, zoneAddressRecords(t, "glsr.dns.test")); diff != "" {
		t.Errorf("address records under glsr.dns.test (-want +got):\n%s", diff)
	}

	// Two more routes published one after the other: passes that saw the
	// greedy route still unclaimed ran after the event; it was told once.
	route(team, "later", "later.a.glsr.dns.test", toSet)
	served(t, "later.a.glsr.dns.test", "A", "192.0.2.150")
	route(team, "later2", "later2.a.glsr.dns.test", toSet)
	served(t, "later2.a.glsr.dns.test", "A", "192.0.2.150")
	events := routeEvents(t, greedy, edgecertv1alpha1.ReasonRouteHostNotClaimed)
	if len(events) != 1 || events[0].Series != nil || events[0].Note != wantNote {
		var got []string
		for _, e := range events {
			got = append(got, fmt.Sprintf("%q series %+v", e.Note, e.Series))
		}
		t.Errorf("RouteHostNotClaimed events on the greedy route: %v; want one, no series, %q", got, wantNote)
	}

	// A route removed: its record goes under sync.
	if err := c().Delete(ctx, api); err != nil {
		t.Fatal(err)
	}
	served(t, "api.b.glsr.dns.test", "A")
	served(t, "a-api.b.glsr.dns.test", "TXT")
}
