package shim_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
)

// generatedBy lists "namespace/name" of the Certificates labelled as
// generated for src, in every namespace.
func generatedBy(t *testing.T, src ingress.Source) []string {
	t.Helper()
	var list edgecertv1alpha1.CertificateList
	if err := c().List(context.Background(), &list, client.MatchingLabels(src.Labels())); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, cert := range list.Items {
		out = append(out, cert.Namespace+"/"+cert.Name)
	}
	slices.Sort(out)
	return out
}

// waitIssuedFor waits for Certificate ns/name to name exactly hosts (in
// that order) and be Ready for that spec, and returns it.
func waitIssuedFor(t *testing.T, ns, name string, hosts []string) *edgecertv1alpha1.Certificate {
	t.Helper()
	cert := &edgecertv1alpha1.Certificate{}
	testenv.Eventually(t, fmt.Sprintf("Certificate %s/%s issued for %d hosts", ns, name, len(hosts)), func() (bool, string) {
		if err := c().Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, cert); err != nil {
			return false, err.Error()
		}
		if diff := cmp.Diff(hosts, cert.Spec.DNSNames); diff != "" {
			return false, "dnsNames (-want +got):\n" + diff
		}
		cond := meta.FindStatusCondition(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		return cond != nil && cond.Status == metav1.ConditionTrue && cond.Reason == edgecertv1alpha1.ReasonIssued && cond.ObservedGeneration == cert.Generation,
			fmt.Sprint(cert.Status.Conditions)
	})
	return cert
}

// checkLeafNames fails unless the certificate in Secret ns/name names
// exactly hosts (sorted) and chains to Pebble's root.
func checkLeafNames(t *testing.T, ns, name string, hosts []string) {
	t.Helper()
	bed.CheckIssuedByPebble(t, ns, name, hosts...)
	var secret corev1.Secret
	if err := c().Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &secret); err != nil {
		t.Fatal(err)
	}
	kp, err := pki.ParseKeyPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(kp.Leaf.DNSNames)
	slices.Sort(got)
	if diff := cmp.Diff(hosts, got); diff != "" {
		t.Errorf("Secret %s/%s: certificate names (-want +got):\n%s", ns, name, diff)
	}
}

func labelNamespace(t *testing.T, ns string, labels map[string]string) {
	t.Helper()
	obj := &corev1.Namespace{}
	if err := c().Get(context.Background(), types.NamespacedName{Name: ns}, obj); err != nil {
		t.Fatal(err)
	}
	base := obj.DeepCopy()
	if obj.Labels == nil {
		obj.Labels = map[string]string{}
	}
	for k, v := range labels {
		obj.Labels[k] = v
	}
	if err := c().Patch(context.Background(), obj, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
}

// claims creates a GatewayPolicy giving each namespace its domains, and
// deletes it when the test ends (claims, once any exist, are enforced on
// every Certificate of the cluster).
func claims(t *testing.T, name string, byNamespace map[string][]string) {
	t.Helper()
	p := &edgecertv1alpha1.GatewayPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for ns, domains := range byNamespace {
		p.Spec.Claims = append(p.Spec.Claims, edgecertv1alpha1.HostClaim{Namespaces: []string{ns}, Domains: domains})
	}
	if err := c().Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c().Delete(context.Background(), p) })
}

func httpRoute(ns, name string, parent gatewayv1.ParentReference, hostnames ...string) *gatewayv1.HTTPRoute {
	r := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	r.Spec.ParentRefs = []gatewayv1.ParentReference{parent}
	for _, h := range hostnames {
		r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(h))
	}
	return r
}

// TestGatewayAPICatchAllListenerCertifiesClaimedRouteHostnames: a
// Gateway's HTTPS listener without hostname, admitting routes from the
// namespaces labelled for it, with 20 HTTPRoutes from 5 namespaces, one
// of them asking for a host of another namespace: one Certificate with
// exactly the 19 claimed hostnames, issued by Pebble over DNS-01 through
// BIND, and a RouteHostNotClaimed warning on the greedy route. Routes the
// listener does not admit (namespace not selected, a TLSRoute, a
// sectionName of the HTTP listener) add nothing. The Certificate is
// re-issued for what changes after: a route removed or moved to another
// Gateway (without its hostname), a namespace labelled for the listener
// (with its route's), a claim given to the greedy route's namespace (with
// its host).
func TestGatewayAPICatchAllListenerCertifiesClaimedRouteHostnames(t *testing.T) {
	ctx := context.Background()
	newClusterIssuer(t, "pebble-gatewayapi-routes", "example.com")
	edge := newNamespace(t, "gapi-edge")
	domain := edge + ".example.com"
	var tenants []string
	for range 5 {
		tenants = append(tenants, newNamespace(t, "gapi-team"))
	}
	outsider := newNamespace(t, "gapi-outsider")
	selected := map[string]string{"edgecert.dev/test-routes": edge}
	for _, ns := range tenants {
		labelNamespace(t, ns, selected)
	}
	// The platform's namespace claims the parent domain (the Certificate
	// lives there), each team its own part of it; the outsider has a claim
	// too, so that only attachment leaves it out.
	byNamespace := map[string][]string{edge: {domain}, outsider: {outsider + "." + domain}}
	for _, ns := range tenants {
		byNamespace[ns] = []string{ns + "." + domain}
	}
	claims(t, "routes-"+edge, byNamespace)

	toWeb := gatewayv1.ParentReference{Name: "web", Namespace: ptr(gatewayv1.Namespace(edge))}
	var want []string
	var routes []*gatewayv1.HTTPRoute
	for i, ns := range tenants {
		for j := range 4 {
			host := fmt.Sprintf("app%d.%s.%s", j, ns, domain)
			if i == 4 && j == 3 {
				// The greedy route: a host of the first team.
				host = fmt.Sprintf("greedy.%s.%s", tenants[0], domain)
			} else {
				want = append(want, host)
			}
			routes = append(routes, httpRoute(ns, fmt.Sprintf("app%d", j), toWeb, host))
		}
	}
	slices.Sort(want)
	greedy := routes[19]
	httpOnly := toWeb
	httpOnly.SectionName = ptr(gatewayv1.SectionName("http"))
	ignored := []client.Object{
		httpRoute(outsider, "outsider", toWeb, "www."+outsider+"."+domain),
		httpRoute(tenants[0], "plain-http", httpOnly, "plain."+tenants[0]+"."+domain),
		&gatewayv1.TLSRoute{ObjectMeta: metav1.ObjectMeta{Namespace: tenants[1], Name: "tls"},
			Spec: gatewayv1.TLSRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{toWeb}},
				Hostnames: []gatewayv1.Hostname{gatewayv1.Hostname("tls." + tenants[1] + "." + domain)},
				Rules:     []gatewayv1.TLSRouteRule{{BackendRefs: []gatewayv1.BackendRef{{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "db", Port: ptr(gatewayv1.PortNumber(5432))}}}}}}},
	}
	for _, r := range routes {
		if err := c().Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range ignored {
		if err := c().Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	from := gatewayv1.NamespacesFromSelector
	https := gatewayAPIListener("https", 443, gatewayv1.HTTPSProtocolType, "", gatewayv1.TLSModeTerminate, "all-tls")
	https.AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: &from, Selector: &metav1.LabelSelector{MatchLabels: selected}}}
	http := gatewayAPIListener("http", 80, gatewayv1.HTTPProtocolType, "", "")
	http.AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr(gatewayv1.NamespacesFromAll)}}
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: edge, Name: "web", Annotations: map[string]string{ingress.ClusterIssuerAnnotation: "pebble-gatewayapi-routes"}},
		Spec:       gatewayv1.GatewaySpec{GatewayClassName: "istio", Listeners: []gatewayv1.Listener{http, https}},
	}
	if err := c().Create(ctx, gw); err != nil {
		t.Fatal(err)
	}

	if len(want) != 19 {
		t.Fatalf("test setup: %d expected hosts, want 19", len(want))
	}
	waitIssuedFor(t, edge, "all-tls", want)
	checkLeafNames(t, edge, "all-tls", want)
	src := ingress.Source{Kind: ingress.KindGatewayAPIGateway, Namespace: edge, Name: "web"}
	if diff := cmp.Diff([]string{edge + "/all-tls"}, generatedBy(t, src)); diff != "" {
		t.Errorf("generated Certificates (-want +got):\n%s", diff)
	}
	bed.ControlPlane.ExpectEvent(t, greedy, edgecertv1alpha1.ReasonRouteHostNotClaimed,
		fmt.Sprintf("namespace %s has no claim on greedy.%s.%s: a GatewayPolicy's spec.claims must give it the host (docs/security.md); "+
			"HTTPRoute %s/app3 is left out of the certificates of Gateway %s/web, the other routes are still served", tenants[4], tenants[0], domain, tenants[4], edge))

	// A route removed: re-issued without its hostname.
	gone := routes[5] // tenants[1], app1
	if err := c().Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	removed := fmt.Sprintf("app1.%s.%s", tenants[1], domain)
	want = slices.DeleteFunc(slices.Clone(want), func(h string) bool { return h == removed })
	if len(want) != 18 {
		t.Fatalf("test setup: %d expected hosts after the removal, want 18", len(want))
	}
	waitIssuedFor(t, edge, "all-tls", want)
	checkLeafNames(t, edge, "all-tls", want)

	// A route moved to another Gateway: the one it left drops its hostname
	// (the old route is mapped too).
	moved := routes[0] // tenants[0], app0
	if err := c().Get(ctx, client.ObjectKeyFromObject(moved), moved); err != nil {
		t.Fatal(err)
	}
	moved.Spec.ParentRefs = []gatewayv1.ParentReference{{Name: "other", Namespace: ptr(gatewayv1.Namespace(edge))}}
	if err := c().Update(ctx, moved); err != nil {
		t.Fatal(err)
	}
	movedHost := fmt.Sprintf("app0.%s.%s", tenants[0], domain)
	want = slices.DeleteFunc(slices.Clone(want), func(h string) bool { return h == movedHost })
	if len(want) != 17 {
		t.Fatalf("test setup: %d expected hosts after the move, want 17", len(want))
	}
	waitIssuedFor(t, edge, "all-tls", want)

	// The outsider's namespace labelled for the listener: its route attaches.
	labelNamespace(t, outsider, selected)
	want = append(want, "www."+outsider+"."+domain)
	slices.Sort(want)
	waitIssuedFor(t, edge, "all-tls", want)

	// A claim given to the greedy route's namespace: its hostname counts.
	claims(t, "greedy-"+edge, map[string][]string{tenants[4]: {"greedy." + tenants[0] + "." + domain}})
	want = append(want, "greedy."+tenants[0]+"."+domain)
	slices.Sort(want)
	if len(want) != 19 {
		t.Fatalf("test setup: %d expected hosts at the end, want 19", len(want))
	}
	waitIssuedFor(t, edge, "all-tls", want)
	checkLeafNames(t, edge, "all-tls", want)
}

// TestListenerSetPerTenant: a shared Gateway admits ListenerSets from the
// namespaces its allowedListeners selector labels. Each admitted tenant's
// ListenerSet gets a Certificate per listener Secret in its own namespace,
// owned by the ListenerSet and issued by Pebble: from the Gateway's
// ClusterIssuer, or the ListenerSet's own annotation. A tenant not
// admitted gets a ListenerSetNotAllowed warning and nothing, until its
// namespace is labelled.
func TestListenerSetPerTenant(t *testing.T) {
	ctx := context.Background()
	newClusterIssuer(t, "pebble-listenerset", "example.com")
	newClusterIssuer(t, "pebble-listenerset-own", "example.com")
	edge := newNamespace(t, "gapi-lsedge")
	a, b, late := newNamespace(t, "gapi-ls-a"), newNamespace(t, "gapi-ls-b"), newNamespace(t, "gapi-ls-late")
	admitted := map[string]string{"edgecert.dev/test-listenersets": edge}
	labelNamespace(t, a, admitted)
	labelNamespace(t, b, admitted)
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: edge, Name: "shared", Annotations: map[string]string{ingress.ClusterIssuerAnnotation: "pebble-listenerset"}},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: "istio",
			Listeners:        []gatewayv1.Listener{gatewayAPIListener("http", 80, gatewayv1.HTTPProtocolType, "", "")},
			AllowedListeners: &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{
				From: ptr(gatewayv1.NamespacesFromSelector), Selector: &metav1.LabelSelector{MatchLabels: admitted}}},
		},
	}
	if err := c().Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	host := func(name, ns string) string { return name + "." + ns + ".example.com" }
	newSet := func(ns string, annotations map[string]string, listeners ...gatewayv1.Listener) *gatewayv1.ListenerSet {
		ls := &gatewayv1.ListenerSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant", Annotations: annotations},
			Spec:       gatewayv1.ListenerSetSpec{ParentRef: gatewayv1.ParentGatewayReference{Name: "shared", Namespace: ptr(gatewayv1.Namespace(edge))}},
		}
		for _, l := range listeners {
			ls.Spec.Listeners = append(ls.Spec.Listeners, gatewayv1.ListenerEntry{Name: l.Name, Hostname: l.Hostname, Port: l.Port, Protocol: l.Protocol, TLS: l.TLS})
		}
		if err := c().Create(ctx, ls); err != nil {
			t.Fatal(err)
		}
		return ls
	}
	lsA := newSet(a, nil,
		gatewayAPIListener("shop", 443, gatewayv1.HTTPSProtocolType, host("shop", a), gatewayv1.TLSModeTerminate, "shop-tls"))
	lsB := newSet(b, map[string]string{ingress.ClusterIssuerAnnotation: "pebble-listenerset-own"},
		gatewayAPIListener("shop", 443, gatewayv1.HTTPSProtocolType, host("shop", b), gatewayv1.TLSModeTerminate, "shop-tls"),
		gatewayAPIListener("api", 443, gatewayv1.HTTPSProtocolType, host("api", b), gatewayv1.TLSModeTerminate, "api-tls"),
		gatewayAPIListener("any", 443, gatewayv1.HTTPSProtocolType, "", gatewayv1.TLSModeTerminate, "any-tls"))
	lsLate := newSet(late, nil,
		gatewayAPIListener("shop", 443, gatewayv1.HTTPSProtocolType, host("shop", late), gatewayv1.TLSModeTerminate, "shop-tls"))

	type issued struct {
		ns, name, issuer string
		hosts            []string
		owner            *gatewayv1.ListenerSet
	}
	for _, w := range []issued{
		{ns: a, name: "shop-tls", issuer: "pebble-listenerset", hosts: []string{host("shop", a)}, owner: lsA},
		{ns: b, name: "shop-tls", issuer: "pebble-listenerset-own", hosts: []string{host("shop", b)}, owner: lsB},
		{ns: b, name: "api-tls", issuer: "pebble-listenerset-own", hosts: []string{host("api", b)}, owner: lsB},
	} {
		cert := waitIssuedFor(t, w.ns, w.name, w.hosts)
		checkLeafNames(t, w.ns, w.name, w.hosts)
		if cert.Spec.IssuerRef != (edgecertv1alpha1.IssuerReference{Kind: "ClusterIssuer", Name: w.issuer}) {
			t.Errorf("Certificate %s/%s issuerRef = %+v, want ClusterIssuer %s", w.ns, w.name, cert.Spec.IssuerRef, w.issuer)
		}
		if owner := metav1.GetControllerOf(cert); owner == nil || owner.Kind != "ListenerSet" || owner.APIVersion != "gateway.networking.k8s.io/v1" || owner.UID != w.owner.UID {
			t.Errorf("Certificate %s/%s controller = %+v, want the ListenerSet (UID %s)", w.ns, w.name, owner, w.owner.UID)
		}
		if want := "ListenerSet " + w.ns + "/tenant"; cert.Annotations[ingress.SourceAnnotation] != want {
			t.Errorf("Certificate %s/%s annotation %s = %q, want %q", w.ns, w.name, ingress.SourceAnnotation, cert.Annotations[ingress.SourceAnnotation], want)
		}
	}
	if diff := cmp.Diff([]string{b + "/api-tls", b + "/shop-tls"}, generatedBy(t, ingress.Source{Kind: ingress.KindListenerSet, Namespace: b, Name: "tenant"})); diff != "" {
		t.Errorf("ListenerSet %s/tenant: generated Certificates (-want +got):\n%s", b, diff)
	}

	// Not admitted: a warning, recorded after the pass's sync, and nothing.
	bed.ControlPlane.ExpectEvent(t, lsLate, edgecertv1alpha1.ReasonListenerSetNotAllowed,
		fmt.Sprintf("Gateway %s/shared does not admit ListenerSets of namespace %s (spec.allowedListeners.namespaces, None by default); no Certificate for its listeners", edge, late))
	lateSrc := ingress.Source{Kind: ingress.KindListenerSet, Namespace: late, Name: "tenant"}
	if got := generatedBy(t, lateSrc); len(got) != 0 {
		t.Errorf("Certificates %v for a ListenerSet the Gateway does not admit, want none", got)
	}
	// Labelled: admitted.
	labelNamespace(t, late, admitted)
	waitIssuedFor(t, late, "shop-tls", []string{host("shop", late)})
	checkLeafNames(t, late, "shop-tls", []string{host("shop", late)})

	// The Gateway stops admitting ListenerSets: their Certificates go.
	if err := c().Get(ctx, client.ObjectKeyFromObject(gw), gw); err != nil {
		t.Fatal(err)
	}
	gw.Spec.AllowedListeners = nil
	if err := c().Update(ctx, gw); err != nil {
		t.Fatal(err)
	}
	for _, src := range []ingress.Source{{Kind: ingress.KindListenerSet, Namespace: a, Name: "tenant"}, {Kind: ingress.KindListenerSet, Namespace: b, Name: "tenant"}, lateSrc} {
		testenv.Eventually(t, "Certificates of "+src.String()+" deleted", func() (bool, string) {
			got := generatedBy(t, src)
			return len(got) == 0, fmt.Sprint(got)
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestGatewayAPIWildcardListenerCertifiesRoutesOverHTTP01: with
// edgecert.dev/listener-hostnames: routes, a wildcard listener is
// certified for its routes' hostnames under the wildcard, which an issuer
// with HTTP-01 only can prove; a route hostname outside the wildcard
// adds nothing. Without the annotation the Certificate names the wildcard.
func TestGatewayAPIWildcardListenerCertifiesRoutesOverHTTP01(t *testing.T) {
	ctx := context.Background()
	newClusterIssuer(t, "pebble-gatewayapi-wildroutes")
	ns := newNamespace(t, "gapi-wild")
	wildcard := "*." + ns + ".example.test"
	toWeb := gatewayv1.ParentReference{Name: "web"}
	for _, r := range []*gatewayv1.HTTPRoute{
		httpRoute(ns, "shop", toWeb, "shop."+ns+".example.test", "elsewhere.example.test"),
		httpRoute(ns, "blog", toWeb, "blog."+ns+".example.test"),
	} {
		if err := c().Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", Annotations: map[string]string{
			ingress.ClusterIssuerAnnotation: "pebble-gatewayapi-wildroutes", ingress.ListenerHostnamesAnnotation: ingress.ListenerHostnamesRoutes}},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "istio", Listeners: []gatewayv1.Listener{
			gatewayAPIListener("https", 443, gatewayv1.HTTPSProtocolType, wildcard, gatewayv1.TLSModeTerminate, "wild-tls"),
		}},
	}
	if err := c().Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	want := []string{"blog." + ns + ".example.test", "shop." + ns + ".example.test"}
	waitIssuedFor(t, ns, "wild-tls", want)
	checkLeafNames(t, ns, "wild-tls", want)

	// Without the annotation: the wildcard, as before (DNS-01 needed; the
	// spec is what is checked here).
	if err := c().Get(ctx, client.ObjectKeyFromObject(gw), gw); err != nil {
		t.Fatal(err)
	}
	delete(gw.Annotations, ingress.ListenerHostnamesAnnotation)
	if err := c().Update(ctx, gw); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "Certificate for the wildcard", func() (bool, string) {
		var cert edgecertv1alpha1.Certificate
		if err := c().Get(ctx, types.NamespacedName{Namespace: ns, Name: "wild-tls"}, &cert); err != nil {
			return false, err.Error()
		}
		return slices.Equal(cert.Spec.DNSNames, []string{wildcard}), fmt.Sprint(cert.Spec.DNSNames)
	})
}

// TestListenerSetCrossNamespaceReferenceGrant: a ListenerSet's listener
// naming a Secret in another namespace gets no Certificate and a warning
// until a ReferenceGrant there permits ListenerSets of its namespace; a
// grant for Gateways does not. Then the Certificate is made in the
// Secret's namespace and issued.
func TestListenerSetCrossNamespaceReferenceGrant(t *testing.T) {
	ctx := context.Background()
	newClusterIssuer(t, "pebble-listenerset-grant", "example.com")
	edge, tenant, certs := newNamespace(t, "gapi-lsg-edge"), newNamespace(t, "gapi-lsg-tenant"), newNamespace(t, "gapi-lsg-certs")
	sharedGateway(t, edge, "pebble-listenerset-grant")
	host := "shop." + tenant + ".example.com"
	l := gatewayAPIListener("shop", 443, gatewayv1.HTTPSProtocolType, host, gatewayv1.TLSModeTerminate, certs+"/shop-tls")
	ls := &gatewayv1.ListenerSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "tenant"},
		Spec: gatewayv1.ListenerSetSpec{
			ParentRef: gatewayv1.ParentGatewayReference{Name: "shared", Namespace: ptr(gatewayv1.Namespace(edge))},
			Listeners: []gatewayv1.ListenerEntry{{Name: l.Name, Hostname: l.Hostname, Port: l.Port, Protocol: l.Protocol, TLS: l.TLS}},
		},
	}
	if err := c().Create(ctx, ls); err != nil {
		t.Fatal(err)
	}
	grant := func(name, kind string) *gatewayv1beta1.ReferenceGrant {
		return &gatewayv1beta1.ReferenceGrant{
			ObjectMeta: metav1.ObjectMeta{Namespace: certs, Name: name},
			Spec: gatewayv1beta1.ReferenceGrantSpec{
				From: []gatewayv1beta1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: gatewayv1.Kind(kind), Namespace: gatewayv1.Namespace(tenant)}},
				To:   []gatewayv1beta1.ReferenceGrantTo{{Group: "", Kind: "Secret"}},
			},
		}
	}
	// A grant for Gateways of the tenant's namespace does not do.
	if err := c().Create(ctx, grant("gateways", "Gateway")); err != nil {
		t.Fatal(err)
	}
	wantNote := fmt.Sprintf(`certificateRef Secret %s/shop-tls (listener shop): no ReferenceGrant in namespace %s allows it `+
		`(from group gateway.networking.k8s.io kind ListenerSet namespace %s, to group "" kind Secret name shop-tls or empty); no Certificate for it`, certs, certs, tenant)
	bed.ControlPlane.ExpectEvent(t, ls, edgecertv1alpha1.ReasonReferenceNotPermitted, wantNote)
	src := ingress.Source{Kind: ingress.KindListenerSet, Namespace: tenant, Name: "tenant"}
	if got := generatedBy(t, src); len(got) != 0 {
		t.Errorf("Certificates %v without a ReferenceGrant for ListenerSets, want none", got)
	}
	if err := c().Create(ctx, grant("listenersets", "ListenerSet")); err != nil {
		t.Fatal(err)
	}
	cert := waitIssuedFor(t, certs, "shop-tls", []string{host})
	checkLeafNames(t, certs, "shop-tls", []string{host})
	if len(cert.OwnerReferences) != 0 {
		t.Errorf("Certificate owner references = %+v, want none across namespaces", cert.OwnerReferences)
	}
	if diff := cmp.Diff([]string{certs + "/shop-tls"}, generatedBy(t, src)); diff != "" {
		t.Errorf("generated Certificates (-want +got):\n%s", diff)
	}
	// The ListenerSet deleted: its Certificate in the other namespace goes.
	if err := c().Delete(ctx, ls); err != nil {
		t.Fatal(err)
	}
	waitGone(t, cert)
}
