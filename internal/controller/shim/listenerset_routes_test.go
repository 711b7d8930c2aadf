package shim_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/ingress"
)

// toListenerSet is a parentRef naming ListenerSet ns/name.
// sharedGateway creates Gateway ns/shared, annotated with clusterIssuer,
// with an HTTP listener of its own and admitting ListenerSets of every
// namespace.
func sharedGateway(t *testing.T, ns, clusterIssuer string) *gatewayv1.Gateway {
	t.Helper()
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shared", Annotations: map[string]string{ingress.ClusterIssuerAnnotation: clusterIssuer}},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: "istio",
			Listeners:        []gatewayv1.Listener{gatewayAPIListener("http", 80, gatewayv1.HTTPProtocolType, "", "")},
			AllowedListeners: &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{From: ptr(gatewayv1.NamespacesFromAll)}},
		},
	}
	if err := c().Create(context.Background(), gw); err != nil {
		t.Fatal(err)
	}
	return gw
}

func toListenerSet(ns, name string) gatewayv1.ParentReference {
	return gatewayv1.ParentReference{Group: ptr(gatewayv1.Group(gatewayv1.GroupName)), Kind: ptr(gatewayv1.Kind("ListenerSet")),
		Namespace: ptr(gatewayv1.Namespace(ns)), Name: gatewayv1.ObjectName(name)}
}

// TestListenerSetCatchAllListenerCertifiesClaimedRouteHostnames: a
// tenant's ListenerSet on a shared Gateway has an HTTPS listener without
// hostname that admits routes from the namespaces labelled for it. Three
// HTTPRoutes from two namespaces name the ListenerSet, one of them asking
// for a host its namespace has not claimed: one Certificate in the
// ListenerSet's namespace, issued by Pebble over DNS-01 through BIND, with
// exactly the two claimed hostnames, and a RouteHostNotClaimed warning on
// the greedy route. A route naming the parent Gateway instead, and one
// from a namespace the listener does not admit, add nothing. A route
// removed: re-issued without its hostname; a claim given to the greedy
// route's namespace: re-issued with its.
func TestListenerSetCatchAllListenerCertifiesClaimedRouteHostnames(t *testing.T) {
	ctx := context.Background()
	newClusterIssuer(t, "pebble-listenerset-routes", "example.com")
	edge, team, team2, outsider := newNamespace(t, "gapi-lsr-edge"), newNamespace(t, "gapi-lsr-team"), newNamespace(t, "gapi-lsr-team2"), newNamespace(t, "gapi-lsr-out")
	admitted := map[string]string{"edgecert.dev/test-listenerset-routes": team}
	labelNamespace(t, team, admitted)
	labelNamespace(t, team2, admitted)
	domain := team + ".example.com"
	// The tenant claims its domain (the Certificate lives in its
	// namespace), the second team a part of it; the outsider has a claim
	// too, so that only attachment leaves it out.
	claims(t, "listenerset-routes-"+team, map[string][]string{team: {domain}, team2: {"b." + domain}, outsider: {"out." + domain}})

	sharedGateway(t, edge, "pebble-listenerset-routes")
	toSet := toListenerSet(team, "tenant")
	www := httpRoute(team, "www", toSet, "www."+domain)
	api := httpRoute(team2, "api", toSet, "api.b."+domain)
	greedy := httpRoute(team2, "greedy", toSet, "pay."+domain)
	ignored := []*gatewayv1.HTTPRoute{
		httpRoute(team, "to-gateway", gatewayv1.ParentReference{Name: "shared", Namespace: ptr(gatewayv1.Namespace(edge))}, "gw."+domain),
		httpRoute(outsider, "outsider", toSet, "www.out."+domain),
	}
	for _, r := range append([]*gatewayv1.HTTPRoute{www, api, greedy}, ignored...) {
		if err := c().Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	catchAll := gatewayAPIListener("apps", 443, gatewayv1.HTTPSProtocolType, "", gatewayv1.TLSModeTerminate, "apps-tls")
	catchAll.AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{
		From: ptr(gatewayv1.NamespacesFromSelector), Selector: &metav1.LabelSelector{MatchLabels: admitted}}}
	ls := &gatewayv1.ListenerSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "tenant"},
		Spec: gatewayv1.ListenerSetSpec{
			ParentRef: gatewayv1.ParentGatewayReference{Name: "shared", Namespace: ptr(gatewayv1.Namespace(edge))},
			Listeners: []gatewayv1.ListenerEntry{{Name: catchAll.Name, Port: catchAll.Port, Protocol: catchAll.Protocol, TLS: catchAll.TLS, AllowedRoutes: catchAll.AllowedRoutes}},
		},
	}
	if err := c().Create(ctx, ls); err != nil {
		t.Fatal(err)
	}

	want := []string{"api.b." + team + ".example.com", "www." + team + ".example.com"}
	cert := waitIssuedFor(t, team, "apps-tls", want)
	checkLeafNames(t, team, "apps-tls", want)
	if got, wantSrc := cert.Annotations[ingress.SourceAnnotation], "ListenerSet "+team+"/tenant"; got != wantSrc {
		t.Errorf("Certificate source annotation = %q, want %q", got, wantSrc)
	}
	src := ingress.Source{Kind: ingress.KindListenerSet, Namespace: team, Name: "tenant"}
	if diff := cmp.Diff([]string{team + "/apps-tls"}, generatedBy(t, src)); diff != "" {
		t.Errorf("generated Certificates (-want +got):\n%s", diff)
	}
	bed.ControlPlane.ExpectEvent(t, greedy, edgecertv1alpha1.ReasonRouteHostNotClaimed,
		fmt.Sprintf("namespace %s has no claim on pay.%s.example.com: a GatewayPolicy's spec.claims must give it the host (docs/security.md); "+
			"HTTPRoute %s/greedy is left out of the certificates of ListenerSet %s/tenant, the other routes are still served", team2, team, team2, team))

	// A route removed: re-issued without its hostname.
	if err := c().Delete(ctx, www); err != nil {
		t.Fatal(err)
	}
	want = []string{"api.b." + team + ".example.com"}
	waitIssuedFor(t, team, "apps-tls", want)
	checkLeafNames(t, team, "apps-tls", want)

	// The greedy route's namespace given the host: it counts (the route
	// is mapped through the GatewayPolicy watch).
	claims(t, "listenerset-routes-greedy-"+team, map[string][]string{team2: {"pay." + domain}})
	want = []string{"api.b." + team + ".example.com", "pay." + team + ".example.com"}
	waitIssuedFor(t, team, "apps-tls", want)

	// Owned by the ListenerSet, in its namespace.
	if err := c().Get(ctx, client.ObjectKeyFromObject(ls), ls); err != nil {
		t.Fatal(err)
	}
	if owner := metav1.GetControllerOf(cert); owner == nil || owner.UID != ls.UID {
		t.Errorf("Certificate controller = %+v, want the ListenerSet (UID %s)", owner, ls.UID)
	}
}
