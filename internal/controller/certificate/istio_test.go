package certificate_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	istioapi "istio.io/api/networking/v1"
	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/testenv"
	"github.com/edgecert/edgecert/internal/testenv/managertest"
)

// istioHTTP01 routes HTTP-01 through the ingress gateway pods labelled
// istio=ingressgateway. No Istio data plane runs here: Pebble reaches the
// controller's listener directly, and the tests check the route objects
// edgecert makes, as Istio's CRD schemas in the API server accept them and
// as Istio's Go types read them.
func istioHTTP01(gatewayName string) *edgecertv1alpha1.HTTP01Solver {
	route := &edgecertv1alpha1.HTTP01IstioRoute{
		SolverService:    edgecertv1alpha1.ServiceReference{Name: "edgecert-http01", Namespace: "edgecert-system", Port: 8089},
		PropagationDelay: &metav1.Duration{Duration: time.Second},
	}
	if gatewayName != "" {
		route.GatewayName = gatewayName
	} else {
		route.GatewaySelector = map[string]string{"istio": "ingressgateway"}
	}
	return &edgecertv1alpha1.HTTP01Solver{Istio: route}
}

// routeObjects waits for the challenge route of cert's first solver and
// returns it; gw is nil when it routes through an existing Gateway.
func routeObjects(t *testing.T, cert *edgecertv1alpha1.Certificate, wantGateway bool) (*istionetworkingv1.VirtualService, *istionetworkingv1.Gateway) {
	t.Helper()
	ctx := context.Background()
	key := types.NamespacedName{Namespace: cert.Namespace, Name: gateway.ChallengeRouteName(cert.Name, 0)}
	vs := &istionetworkingv1.VirtualService{}
	gw := &istionetworkingv1.Gateway{}
	testenv.Eventually(t, "challenge route "+key.String(), func() (bool, string) {
		if err := bed.ControlPlane.Client.Get(ctx, key, vs); err != nil {
			return false, err.Error()
		}
		if !wantGateway {
			return true, ""
		}
		if err := bed.ControlPlane.Client.Get(ctx, key, gw); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if !wantGateway {
		gw = nil
	}
	return vs, gw
}

// checkRouteGone waits until the route objects are deleted.
func checkRouteGone(t *testing.T, cert *edgecertv1alpha1.Certificate) {
	t.Helper()
	key := types.NamespacedName{Namespace: cert.Namespace, Name: gateway.ChallengeRouteName(cert.Name, 0)}
	for _, obj := range []client.Object{&istionetworkingv1.VirtualService{}, &istionetworkingv1.Gateway{}} {
		testenv.Eventually(t, fmt.Sprintf("%T %s removed", obj, key), func() (bool, string) {
			err := bed.ControlPlane.Client.Get(context.Background(), key, obj)
			return apierrors.IsNotFound(err), fmt.Sprint(err)
		})
	}
}

// checkOwnedBy fails unless obj carries edgecert's labels and is owned by cert.
func checkOwnedBy(t *testing.T, obj client.Object, cert *edgecertv1alpha1.Certificate) {
	t.Helper()
	if obj.GetLabels()["app.kubernetes.io/managed-by"] != "edgecert" || obj.GetLabels()["edgecert.dev/certificate-name"] != cert.Name {
		t.Errorf("%s labels = %v, want edgecert's", obj.GetName(), obj.GetLabels())
	}
	refs := obj.GetOwnerReferences()
	if len(refs) != 1 || refs[0].Kind != "Certificate" || refs[0].Name != cert.Name {
		t.Errorf("%s owner references = %+v, want the Certificate", obj.GetName(), refs)
	}
}

func TestHTTP01ThroughIstioCreatesTheRouteAndRemovesItAfter(t *testing.T) {
	ns, ref := newIstioClusterIssuer(t, istioHTTP01(""))
	cert := newCertificateFor(t, ref, ns, "routed", "routed.example.test", "www.routed.example.test")
	vs, gw := routeObjects(t, cert, true)

	if got, want := gw.Spec.GetSelector(), map[string]string{"istio": "ingressgateway"}; !maps.Equal(got, want) {
		t.Errorf("Gateway selector = %v, want %v", got, want)
	}
	servers := gw.Spec.GetServers()
	if len(servers) != 1 {
		t.Fatalf("Gateway servers = %v, want one", servers)
	}
	s := servers[0]
	if s.GetPort().GetNumber() != 80 || s.GetPort().GetProtocol() != "HTTP" || s.GetTls() != nil {
		t.Errorf("server = %v, want plain HTTP on port 80", s)
	}
	if want := []string{ns + "/routed.example.test", ns + "/www.routed.example.test"}; !slices.Equal(s.GetHosts(), want) {
		t.Errorf("server hosts = %v, want %v (only VirtualServices of the Certificate's namespace)", s.GetHosts(), want)
	}
	checkOwnedBy(t, gw, cert)

	if want := []string{"routed.example.test", "www.routed.example.test"}; !slices.Equal(vs.Spec.GetHosts(), want) {
		t.Errorf("VirtualService hosts = %v, want %v", vs.Spec.GetHosts(), want)
	}
	if want := []string{ns + "/routed-http01-0"}; !slices.Equal(vs.Spec.GetGateways(), want) {
		t.Errorf("VirtualService gateways = %v, want %v", vs.Spec.GetGateways(), want)
	}
	checkChallengeRoute(t, vs.Spec.GetHttp())
	checkOwnedBy(t, vs, cert)

	waitReady(t, cert, metav1.ConditionTrue, edgecertv1alpha1.ReasonIssued)
	checkSecret(t, cert, "routed.example.test", "www.routed.example.test")
	checkRouteGone(t, cert)
	bed.ControlPlane.ExpectEvent(t, cert, "ChallengeRouted", "through Gateway "+ns+"/routed-http01-0 to Service edgecert-system/edgecert-http01")
}

// A Certificate's name may have dots (a DNS subdomain); an Istio Gateway's
// may not (istiod refuses anything but a DNS label), nor may the Gateway a
// VirtualService names. The challenge route is named so that Istio accepts
// both: newIstioClusterIssuer has Istio validate them.
func TestHTTP01ThroughIstioForADottedCertificateName(t *testing.T) {
	ns, ref := newIstioClusterIssuer(t, istioHTTP01(""))
	cert := newCertificateFor(t, ref, ns, "www.dotted.example.test", "www.dotted.example.test")
	vs, gw := routeObjects(t, cert, true)
	if want := []string{ns + "/" + gw.Name}; !slices.Equal(vs.Spec.GetGateways(), want) {
		t.Errorf("VirtualService gateways = %v, want %v", vs.Spec.GetGateways(), want)
	}
	checkOwnedBy(t, gw, cert)
	waitReady(t, cert, metav1.ConditionTrue, edgecertv1alpha1.ReasonIssued)
	checkRouteGone(t, cert)
}

// checkChallengeRoute fails unless routes are exactly one route sending
// the ACME challenge path prefix to edgecert's Service.
func checkChallengeRoute(t *testing.T, routes []*istioapi.HTTPRoute) {
	t.Helper()
	if len(routes) != 1 || len(routes[0].GetMatch()) != 1 || len(routes[0].GetRoute()) != 1 {
		t.Fatalf("http routes = %v, want one route with one match and one destination", routes)
	}
	if p := routes[0].GetMatch()[0].GetUri().GetPrefix(); p != "/.well-known/acme-challenge/" {
		t.Errorf("match prefix = %q, want /.well-known/acme-challenge/", p)
	}
	d := routes[0].GetRoute()[0].GetDestination()
	if d.GetHost() != "edgecert-http01.edgecert-system.svc.cluster.local" || d.GetPort().GetNumber() != 8089 {
		t.Errorf("destination = %v, want edgecert's Service port 8089", d)
	}
}

// An application Gateway that redirects the host to HTTPS with
// tls.httpsRedirect would answer the CA with a redirect before any route:
// the challenge route then also binds to the Gateway serving the host on
// port 443, where the CA follows the redirect, and a warning says so.
func TestHTTP01ThroughIstioFollowsAnHTTPSRedirect(t *testing.T) {
	ns, ref := newIstioClusterIssuer(t, istioHTTP01(""))
	ctx := context.Background()
	app := &istionetworkingv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec: istioapi.Gateway{
			Selector: map[string]string{"istio": "ingressgateway"},
			Servers: []*istioapi.Server{
				{Port: &istioapi.Port{Number: 80, Protocol: "HTTP", Name: "http"}, Hosts: []string{"./redirected.example.test"}, Tls: &istioapi.ServerTLSSettings{HttpsRedirect: true}},
				{Port: &istioapi.Port{Number: 443, Protocol: "HTTPS", Name: "https"}, Hosts: []string{"./redirected.example.test"}, Tls: &istioapi.ServerTLSSettings{Mode: istioapi.ServerTLSSettings_SIMPLE, CredentialName: "redirected-tls"}},
			},
		},
	}
	if err := bed.ControlPlane.Client.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	cert := newCertificateFor(t, ref, ns, "redirected", "redirected.example.test")
	vs, _ := routeObjects(t, cert, true)
	if want := []string{ns + "/redirected-http01-0", ns + "/app"}; !slices.Equal(vs.Spec.GetGateways(), want) {
		t.Errorf("VirtualService gateways = %v, want %v", vs.Spec.GetGateways(), want)
	}
	checkChallengeRoute(t, vs.Spec.GetHttp())
	bed.ControlPlane.ExpectEvent(t, cert, "ChallengeRedirected", "Gateway "+ns+"/app redirects the hosts to HTTPS")
	waitReady(t, cert, metav1.ConditionTrue, edgecertv1alpha1.ReasonIssued)
	checkRouteGone(t, cert)
	// The application's Gateway is not edgecert's: it is left as it was.
	var after istionetworkingv1.Gateway
	if err := bed.ControlPlane.Client.Get(ctx, client.ObjectKeyFromObject(app), &after); err != nil {
		t.Fatal(err)
	}
	if after.Generation != 1 || len(after.Spec.GetServers()) != 2 {
		t.Errorf("application Gateway changed: generation %d, servers %v", after.Generation, after.Spec.GetServers())
	}
}

// With gatewayName, the route binds to an existing Gateway and none is
// created; a missing one, or an object of the route's name that edgecert
// did not make, stalls the Certificate with a message that says which.
func TestHTTP01ThroughAnExistingIstioGateway(t *testing.T) {
	ctx := context.Background()
	ns, ref := newIstioClusterIssuer(t, istioHTTP01("istio-system/public"))
	cert := newCertificateFor(t, ref, ns, "existing", "existing.example.test")
	waitReadyMessage(t, cert, edgecertv1alpha1.ReasonChallengeRouteFailed, "Gateway istio-system/public not found")

	ns2, ref2 := newIstioClusterIssuer(t, istioHTTP01(""))
	public := &istionetworkingv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "public", Namespace: ns2},
		Spec: istioapi.Gateway{
			Selector: map[string]string{"istio": "ingressgateway"},
			Servers:  []*istioapi.Server{{Port: &istioapi.Port{Number: 80, Protocol: "HTTP", Name: "http"}, Hosts: []string{"*"}}},
		},
	}
	if err := bed.ControlPlane.Client.Create(ctx, public); err != nil {
		t.Fatal(err)
	}
	var iss edgecertv1alpha1.ClusterIssuer
	if err := bed.ControlPlane.Client.Get(ctx, types.NamespacedName{Name: ref2.Name}, &iss); err != nil {
		t.Fatal(err)
	}
	iss.Spec.ACME.Solvers[0].HTTP01 = istioHTTP01(ns2 + "/public")
	if err := bed.ControlPlane.Client.Update(ctx, &iss); err != nil {
		t.Fatal(err)
	}
	cert2 := newCertificateFor(t, ref2, ns2, "existing", "existing2.example.test")
	vs, _ := routeObjects(t, cert2, false)
	if want := []string{ns2 + "/public"}; !slices.Equal(vs.Spec.GetGateways(), want) {
		t.Errorf("VirtualService gateways = %v, want %v", vs.Spec.GetGateways(), want)
	}
	var none istionetworkingv1.Gateway
	if err := bed.ControlPlane.Client.Get(ctx, types.NamespacedName{Namespace: ns2, Name: "existing-http01-0"}, &none); !apierrors.IsNotFound(err) {
		t.Errorf("a Gateway was created next to an existing one: %v", err)
	}
	waitReady(t, cert2, metav1.ConditionTrue, edgecertv1alpha1.ReasonIssued)
	checkRouteGone(t, cert2)

	// Someone's VirtualService of the route's name is not taken over.
	ns3, ref3 := newIstioClusterIssuer(t, istioHTTP01(""))
	theirs := &istionetworkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: "taken-http01-0", Namespace: ns3},
		Spec:       istioapi.VirtualService{Hosts: []string{"taken.example.test"}, Http: []*istioapi.HTTPRoute{{Route: []*istioapi.HTTPRouteDestination{{Destination: &istioapi.Destination{Host: "web"}}}}}},
	}
	if err := bed.ControlPlane.Client.Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	cert3 := newCertificateFor(t, ref3, ns3, "taken", "taken.example.test")
	waitReadyMessage(t, cert3, edgecertv1alpha1.ReasonChallengeRouteFailed, "VirtualService "+ns3+"/taken-http01-0 exists and edgecert did not create it")
	var after istionetworkingv1.VirtualService
	if err := bed.ControlPlane.Client.Get(ctx, client.ObjectKeyFromObject(theirs), &after); err != nil {
		t.Fatal(err)
	}
	if after.Generation != 1 || len(after.Labels) != 0 {
		t.Errorf("someone else's VirtualService was changed: generation %d, labels %v", after.Generation, after.Labels)
	}
}

func TestCRDRefusesBothGatewayNameAndSelector(t *testing.T) {
	ctx := context.Background()
	ns, err := bed.ControlPlane.CreateNamespace(ctx, "cert")
	if err != nil {
		t.Fatal(err)
	}
	solver := istioHTTP01("istio-system/public")
	solver.Istio.GatewaySelector = map[string]string{"istio": "ingressgateway"}
	iss := &edgecertv1alpha1.Issuer{
		ObjectMeta: metav1.ObjectMeta{Name: "both", Namespace: ns},
		Spec: edgecertv1alpha1.IssuerSpec{ACME: edgecertv1alpha1.ACMEIssuer{
			Server: bed.Pebble.DirectoryURL, PrivateKeySecretRef: edgecertv1alpha1.LocalSecretReference{Name: "k"},
			Solvers: []edgecertv1alpha1.ACMESolver{{HTTP01: solver}},
		}},
	}
	if err := bed.ControlPlane.Client.Create(ctx, iss); err == nil || !strings.Contains(err.Error(), "set gatewayName or gatewaySelector, not both") {
		t.Errorf("err = %v, want the CEL message", err)
	}
}

// A Secret of the Certificate's secretName that someone creates while the
// order is in flight (after edgecert checked there was none) is not
// overwritten when the certificate is stored: the Certificate stalls with
// SecretNotOwned and the Secret keeps its data. The HTTP-01 route's
// propagation delay (five seconds) holds the order open long enough.
func TestSecretCreatedDuringTheOrderIsNotOverwritten(t *testing.T) {
	ctx := context.Background()
	http01 := istioHTTP01("")
	http01.Istio.PropagationDelay = &metav1.Duration{Duration: 5 * time.Second}
	ns, ref := newIstioClusterIssuer(t, http01)
	cert := newCertificateFor(t, ref, ns, "raced", "raced.example.test")
	routeObjects(t, cert, true)
	for _, mine := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "raced-tls", Namespace: ns}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": []byte("theirs"), "tls.key": []byte("theirs")}},
	} {
		if err := bed.ControlPlane.Client.Create(ctx, mine); err != nil {
			t.Fatal(err)
		}
	}
	got := waitReady(t, cert, metav1.ConditionFalse, edgecertv1alpha1.ReasonSecretNotOwned)
	if got.Status.Order == nil {
		t.Error("the order was dropped; it must be kept for when the Secret is gone")
	}
	var after corev1.Secret
	if err := bed.ControlPlane.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "raced-tls"}, &after); err != nil {
		t.Fatal(err)
	}
	if string(after.Data["tls.crt"]) != "theirs" || string(after.Data["tls.key"]) != "theirs" || len(after.Data) != 2 || after.Labels[kube.ManagedByLabel] != "" {
		t.Errorf("someone else's Secret was changed: labels %v, data %q", after.Labels, after.Data)
	}
}

// newIstioClusterIssuer makes a namespace and a ClusterIssuer for Pebble
// named after it whose HTTP-01 solver is http01 (routes through Istio are
// for ClusterIssuers only), and returns both. Every Istio Gateway and
// VirtualService written in the namespace is validated by Istio.
func newIstioClusterIssuer(t *testing.T, http01 *edgecertv1alpha1.HTTP01Solver) (string, edgecertv1alpha1.IssuerReference) {
	t.Helper()
	ns, err := bed.ControlPlane.CreateNamespace(context.Background(), "cert")
	if err != nil {
		t.Fatal(err)
	}
	// The challenge Gateways and VirtualServices land in ns: Istio
	// validates every version of them when the test ends.
	bed.ControlPlane.ValidateIstioObjects(t, ns)
	iss := bed.ClusterIssuer("istio-"+ns, edgecertv1alpha1.ACMESolver{HTTP01: http01}, bed.BINDSolver("dns.example.test"))
	bed.CreateIssuer(t, iss, managertest.ControllerNamespace)
	return ns, edgecertv1alpha1.IssuerReference{Kind: edgecertv1alpha1.ClusterIssuerKind, Name: iss.Name}
}
