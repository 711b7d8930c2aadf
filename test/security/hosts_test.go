package security

import (
	"context"
	"fmt"
	"strings"
	"testing"

	istioapi "istio.io/api/networking/v1"
	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/dns/route53/route53test"
	"github.com/edgecert/edgecert/internal/testenv"
)

// The tests of this file act out items 1 to 4 of issue 12: a tenant asking
// for a certificate for another team's host, using edgecert's own cloud
// identity, making edgecert write into another namespace, and routing
// through the shared ingress gateway.

// claimPolicy creates a GatewayPolicy (claims only) giving domain to
// namespace, and removes it when the test ends: once any claim exists,
// every host must be claimed.
func claimPolicy(t *testing.T, name, namespace, domain string) {
	t.Helper()
	p := &edgecertv1alpha1.GatewayPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: edgecertv1alpha1.GatewayPolicySpec{Claims: []edgecertv1alpha1.HostClaim{
			{Namespaces: []string{namespace}, Domains: []string{domain}},
		}},
	}
	if err := bed.ControlPlane.Client.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bed.ControlPlane.Client.Delete(context.Background(), p) })
}

// certificate creates a Certificate for hosts with issuer ref.
func certificate(t *testing.T, ns, name string, ref edgecertv1alpha1.IssuerReference, hosts ...string) *edgecertv1alpha1.Certificate {
	t.Helper()
	c := &edgecertv1alpha1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       edgecertv1alpha1.CertificateSpec{DNSNames: hosts, SecretName: name + "-tls", IssuerRef: ref},
	}
	if err := bed.ControlPlane.Client.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitReady waits until the Certificate's Ready condition has status and
// reason, and returns its message.
func waitReady(t *testing.T, ns, name string, status metav1.ConditionStatus, reason string) string {
	t.Helper()
	var msg string
	testenv.Eventually(t, fmt.Sprintf("Certificate %s/%s Ready=%s %s", ns, name, status, reason), func() (bool, string) {
		var c edgecertv1alpha1.Certificate
		if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &c); err != nil {
			return false, err.Error()
		}
		ready := meta.FindStatusCondition(c.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		if ready == nil || ready.Status != status || ready.Reason != reason {
			return false, fmt.Sprint(c.Status.Conditions)
		}
		msg = ready.Message
		return true, ""
	})
	return msg
}

func clusterIssuer(name string) edgecertv1alpha1.IssuerReference {
	return edgecertv1alpha1.IssuerReference{Kind: edgecertv1alpha1.ClusterIssuerKind, Name: name}
}

// Item 1: a namespace with no claim asks for a certificate for a host a
// GatewayPolicy gives to another namespace, by hand and through an
// annotated Ingress, with a ClusterIssuer. No order reaches Pebble, no
// Secret appears; the claimed namespace still gets its certificate. A
// ClusterIssuer's spec.allowed refuses a namespace it does not list.
func TestCertificateForAnotherNamespacesHost(t *testing.T) {
	ctx := context.Background()
	system := namespace(t, "edgecert")
	victim, tenant := namespace(t, "victim"), namespace(t, "tenant")
	startController(t, system)
	bed.CreateIssuer(t, bed.ClusterIssuer("hosts-pebble"), system)
	victimDomain, tenantDomain := host("victim"), host("tenant")
	claimPolicy(t, "hosts-victim", victim, victimDomain)
	claimPolicy(t, "hosts-tenant", tenant, tenantDomain)
	before := orders(t)

	certificate(t, tenant, "stolen", clusterIssuer("hosts-pebble"), "shop."+victimDomain)
	msg := waitReady(t, tenant, "stolen", metav1.ConditionFalse, edgecertv1alpha1.ReasonHostNotClaimed)
	if want := "namespace " + tenant + " has no claim on shop." + victimDomain + ": a GatewayPolicy's spec.claims must give it the host (docs/security.md)"; msg != want {
		t.Errorf("message = %q, want %q", msg, want)
	}

	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "stolen", Annotations: map[string]string{"edgecert.dev/cluster-issuer": "hosts-pebble"}},
		Spec: networkingv1.IngressSpec{
			TLS:   []networkingv1.IngressTLS{{Hosts: []string{"www." + victimDomain}, SecretName: "stolen-ingress-tls"}},
			Rules: []networkingv1.IngressRule{{Host: "www." + victimDomain}},
		},
	}
	if err := bed.ControlPlane.Client.Create(ctx, ing); err != nil {
		t.Fatal(err)
	}
	var generated edgecertv1alpha1.CertificateList
	testenv.Eventually(t, "the Ingress's Certificate is generated", func() (bool, string) {
		if err := bed.ControlPlane.Client.List(ctx, &generated, client.InNamespace(tenant)); err != nil {
			return false, err.Error()
		}
		return len(generated.Items) == 2, fmt.Sprintf("%d Certificates", len(generated.Items))
	})
	for _, c := range generated.Items {
		if c.Name != "stolen" {
			waitReady(t, tenant, c.Name, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostNotClaimed)
		}
	}

	// The legitimate path, in the same run.
	certificate(t, victim, "shop", clusterIssuer("hosts-pebble"), "shop."+victimDomain)
	waitReady(t, victim, "shop", metav1.ConditionTrue, edgecertv1alpha1.ReasonIssued)
	if got := orders(t) - before; got != 1 {
		t.Errorf("Pebble received %d orders, want 1 (the victim's own)", got)
	}
	noSecret(t, tenant, "stolen-tls")
	noSecret(t, tenant, "stolen-ingress-tls")
	noTXT(t, "shop."+victimDomain)
	noTXT(t, "www."+victimDomain)

	// A claim the platform gives later lets a refused Certificate through,
	// without anyone touching it.
	certificate(t, tenant, "late", clusterIssuer("hosts-pebble"), "x."+host("late"))
	waitReady(t, tenant, "late", metav1.ConditionFalse, edgecertv1alpha1.ReasonHostNotClaimed)
	claimPolicy(t, "hosts-late", tenant, host("late"))
	waitReady(t, tenant, "late", metav1.ConditionTrue, edgecertv1alpha1.ReasonIssued)

	// A ClusterIssuer that allows only the victim's namespace.
	iss := bed.ClusterIssuer("hosts-victim-only")
	iss.Spec.Allowed = &edgecertv1alpha1.IssuerAllowed{Namespaces: []string{victim}}
	bed.CreateIssuer(t, iss, system)
	before = orders(t)
	certificate(t, tenant, "own", clusterIssuer("hosts-victim-only"), "own."+tenantDomain)
	msg = waitReady(t, tenant, "own", metav1.ConditionFalse, edgecertv1alpha1.ReasonIssuerNotAllowed)
	if want := "ClusterIssuer hosts-victim-only does not allow namespace " + tenant + " (spec.allowed.namespaces, spec.allowed.namespaceSelector)"; msg != want {
		t.Errorf("message = %q, want %q", msg, want)
	}
	if got := orders(t) - before; got != 0 {
		t.Errorf("Pebble received %d orders for a namespace the issuer does not allow", got)
	}
	noSecret(t, tenant, "own-tls")
}

// Item 2: a tenant's Issuer with a Route 53 solver without credentials
// (edgecert's own AWS identity) or pointing edgecert at its own endpoint is
// refused before any call to that endpoint, and no order is made.
func TestIssuerCannotUseEdgecertsCloudIdentity(t *testing.T) {
	ctx := context.Background()
	system, tenant := namespace(t, "edgecert"), namespace(t, "tenant")
	startController(t, system)
	r53 := route53test.NewServer()
	defer r53.Close()
	r53.AddZone(strings.TrimSuffix(bed.BIND.Zones[0], ".") + ".")
	before := orders(t)

	iss := bed.Issuer(tenant, "ambient", edgecertv1alpha1.ACMESolver{DNS01: &edgecertv1alpha1.DNS01Solver{
		Route53: &edgecertv1alpha1.Route53Provider{Region: "us-east-1", Endpoint: r53.URL},
	}})
	if err := bed.ControlPlane.Client.Create(ctx, iss); err != nil {
		t.Fatal(err)
	}
	var msg string
	testenv.Eventually(t, "the Issuer refused", func() (bool, string) {
		if err := bed.ControlPlane.Client.Get(ctx, client.ObjectKeyFromObject(iss), iss); err != nil {
			return false, err.Error()
		}
		ready := meta.FindStatusCondition(iss.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		if ready == nil || ready.Reason != edgecertv1alpha1.ReasonInvalidSpec {
			return false, fmt.Sprint(iss.Status.Conditions)
		}
		msg = ready.Message
		return true, ""
	})
	for _, want := range []string{
		"solvers[0].dns01.route53: an Issuer must name its credentials (accessKeyIDSecretRef and secretAccessKeySecretRef)",
		"solvers[0].dns01.route53.endpoint: endpoint overrides are for ClusterIssuers unless edgecert runs with --issuer-ambient-credentials",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("Issuer message %q does not say %q", msg, want)
		}
	}
	if !meta.IsStatusConditionTrue(iss.Status.Conditions, edgecertv1alpha1.StalledCondition) {
		t.Errorf("Issuer not Stalled: %v", iss.Status.Conditions)
	}
	certificate(t, tenant, "zone", edgecertv1alpha1.IssuerReference{Name: "ambient"}, host("zone-write"))
	waitReady(t, tenant, "zone", metav1.ConditionFalse, edgecertv1alpha1.ReasonIssuerNotReady)
	if n := r53.Calls("ChangeResourceRecordSets") + r53.Calls("ListHostedZonesByName"); n != 0 {
		t.Errorf("the tenant's endpoint received %d calls", n)
	}
	if got := orders(t) - before; got != 0 {
		t.Errorf("Pebble received %d orders", got)
	}
	if txt := r53.TXT("_acme-challenge." + host("zone-write") + "."); len(txt) != 0 {
		t.Errorf("TXT written: %v", txt)
	}
}

// istioGateway creates an Istio Gateway in ns with selector, annotations
// and one HTTPS server for host whose credentialName is credential.
func istioGateway(t *testing.T, ns, name string, selector, annotations map[string]string, host, credential string) {
	t.Helper()
	gw := &istionetworkingv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
		Spec: istioapi.Gateway{
			Selector: selector,
			Servers: []*istioapi.Server{{
				Port:  &istioapi.Port{Number: 443, Protocol: "HTTPS", Name: "https-" + name},
				Hosts: []string{host},
				Tls:   &istioapi.ServerTLSSettings{Mode: istioapi.ServerTLSSettings_SIMPLE, CredentialName: credential},
			}},
		},
	}
	if err := bed.ControlPlane.Client.Create(context.Background(), gw); err != nil {
		t.Fatal(err)
	}
}

// gatewayService creates a Service in ns labelled and selecting labels, as
// Istio's charts make the ingress gateway's.
func gatewayService(t *testing.T, ns, name string, labels map[string]string) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Name: "https", Port: 443}}},
	}
	if err := bed.ControlPlane.Client.Create(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bed.ControlPlane.Client.Delete(context.Background(), svc) })
}

// certificatesIn lists the Certificates of namespace ns.
func certificatesIn(t *testing.T, ns string) []string {
	t.Helper()
	var list edgecertv1alpha1.CertificateList
	if err := bed.ControlPlane.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list.Items {
		names = append(names, c.Name)
	}
	return names
}

// Item 3: an annotated Istio Gateway whose selector matches pods of
// another namespace (a Service labelled like kube-dns in a namespace the
// platform did not configure) gets no Certificate or Secret there. In the
// platform's workload namespace, a namespaced Issuer is refused, and so is
// a credentialName shaped like another tenant's GatewayService copy; a
// ClusterIssuer and a plain name work, checked against the tenant's own
// claims. A ReferenceGrant does not let a Gateway API Gateway use another
// namespace's Issuer.
func TestGeneratedCertificatesStayWhereThePlatformSays(t *testing.T) {
	ctx := context.Background()
	system, tenant := namespace(t, "edgecert"), namespace(t, "tenant")
	victim := namespace(t, "kube-sys")
	workloads := namespace(t, "istio-system")
	startController(t, system)
	bed.CreateIssuer(t, bed.ClusterIssuer("gen-pebble"), system)
	tenantDomain := host("gen-tenant")
	claimPolicy(t, "gen-tenant", tenant, tenantDomain)
	gwPolicy := &edgecertv1alpha1.GatewayPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "gen-ingress"},
		Spec: edgecertv1alpha1.GatewayPolicySpec{Gateways: []edgecertv1alpha1.PolicyGateway{
			{TrafficType: edgecertv1alpha1.TrafficTypeIngress, Namespace: workloads, Name: "ingress"},
		}},
	}
	if err := bed.ControlPlane.Client.Create(ctx, gwPolicy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bed.ControlPlane.Client.Delete(context.Background(), gwPolicy) })
	dns := map[string]string{"k8s-app": "kube-dns-" + tenant}
	gatewayService(t, victim, "kube-dns", dns)
	ingress := map[string]string{"istio": "ingress-" + tenant}
	gatewayService(t, workloads, "istio-ingressgateway", ingress)
	bed.CreateIssuer(t, bed.Issuer(workloads, "platform"), system)
	before := orders(t)

	istioGateway(t, tenant, "to-kube-system", dns, map[string]string{"edgecert.dev/cluster-issuer": "gen-pebble"}, "a."+tenantDomain, "stolen")
	bed.ControlPlane.ExpectEvent(t, istioObject(tenant, "to-kube-system"), edgecertv1alpha1.ReasonWorkloadNamespaceNotAllowed,
		"the gateway pods this Gateway selects run in namespace "+victim+", which is not a workload namespace the platform configured")
	istioGateway(t, tenant, "their-issuer", ingress, map[string]string{"edgecert.dev/issuer": "platform"}, "b."+tenantDomain, "b-tls")
	bed.ControlPlane.ExpectEvent(t, istioObject(tenant, "their-issuer"), edgecertv1alpha1.ReasonWorkloadNamespaceNotAllowed,
		"Certificates there need a ClusterIssuer (edgecert.dev/cluster-issuer), not the Issuer \"platform\"")
	istioGateway(t, tenant, "squat", ingress, map[string]string{"edgecert.dev/cluster-issuer": "gen-pebble"}, "c."+tenantDomain, "victim.web")
	bed.ControlPlane.ExpectEvent(t, istioObject(tenant, "squat"), edgecertv1alpha1.ReasonWorkloadNamespaceNotAllowed,
		"credentialName \"victim.web\" has the shape of another namespace's GatewayService copy")

	// The legitimate path: a ClusterIssuer, a plain name, the tenant's host.
	istioGateway(t, tenant, "own", ingress, map[string]string{"edgecert.dev/cluster-issuer": "gen-pebble"}, "d."+tenantDomain, tenant+"-d-tls")
	testenv.Eventually(t, "the tenant's Secret issued in the workload namespace", func() (bool, string) {
		var s corev1.Secret
		err := bed.ControlPlane.Client.Get(ctx, client.ObjectKey{Namespace: workloads, Name: tenant + "-d-tls"}, &s)
		return err == nil && len(s.Data[corev1.TLSCertKey]) > 0, fmt.Sprint(err)
	})
	// Someone else's host, from the same tenant, in the workload namespace:
	// checked against the tenant's claims, not the workload namespace's.
	istioGateway(t, tenant, "foreign-host", ingress, map[string]string{"edgecert.dev/cluster-issuer": "gen-pebble"}, "e."+host("gen-other"), tenant+"-e-tls")
	var foreign string
	testenv.Eventually(t, "the foreign host's Certificate in the workload namespace", func() (bool, string) {
		for _, n := range certificatesIn(t, workloads) {
			if strings.Contains(n, tenant+"-e-tls") {
				foreign = n
			}
		}
		return foreign != "", fmt.Sprint(certificatesIn(t, workloads))
	})
	msg := waitReady(t, workloads, foreign, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostNotClaimed)
	if !strings.HasPrefix(msg, "namespace "+tenant+" has no claim on e."+host("gen-other")) {
		t.Errorf("message = %q, want the tenant's namespace named", msg)
	}

	if got := certificatesIn(t, victim); len(got) != 0 {
		t.Errorf("Certificates in %s: %v", victim, got)
	}
	noSecret(t, victim, "stolen")
	noSecret(t, workloads, "b-tls")
	noSecret(t, workloads, "victim.web")
	noSecret(t, workloads, tenant+"-e-tls")
	if n := writesIn(t, victim, "secrets"); n != 0 {
		t.Errorf("%d Secret writes in %s", n, victim)
	}
	if got := orders(t) - before; got != 1 {
		t.Errorf("Pebble received %d orders, want 1 (the tenant's own host)", got)
	}
}

func istioObject(ns, name string) *istionetworkingv1.Gateway {
	gw := &istionetworkingv1.Gateway{}
	if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, gw); err != nil && !apierrors.IsNotFound(err) {
		panic(err)
	}
	return gw
}

// Item 4: a tenant's Issuer cannot route HTTP-01 through the shared ingress
// gateway (which would put a port-80 server with its hosts on the shared
// pods): the Issuer is refused, and no route object appears.
func TestIssuerCannotRouteThroughTheSharedGateway(t *testing.T) {
	ctx := context.Background()
	system, tenant := namespace(t, "edgecert"), namespace(t, "tenant")
	startController(t, system)
	before := orders(t)
	iss := bed.Issuer(tenant, "routes", edgecertv1alpha1.ACMESolver{HTTP01: &edgecertv1alpha1.HTTP01Solver{Istio: &edgecertv1alpha1.HTTP01IstioRoute{
		SolverService: edgecertv1alpha1.ServiceReference{Namespace: system, Name: "edgecert-http01", Port: 8089},
	}}})
	if err := bed.ControlPlane.Client.Create(ctx, iss); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the Issuer refused", func() (bool, string) {
		if err := bed.ControlPlane.Client.Get(ctx, client.ObjectKeyFromObject(iss), iss); err != nil {
			return false, err.Error()
		}
		ready := meta.FindStatusCondition(iss.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		want := "solvers[0].http01.istio: routes through the shared ingress gateway are for ClusterIssuers only"
		return ready != nil && ready.Reason == edgecertv1alpha1.ReasonInvalidSpec && ready.Message == want, fmt.Sprint(iss.Status.Conditions)
	})
	certificate(t, tenant, "routed", edgecertv1alpha1.IssuerReference{Name: "routes"}, host("routed"))
	waitReady(t, tenant, "routed", metav1.ConditionFalse, edgecertv1alpha1.ReasonIssuerNotReady)
	var gws istionetworkingv1.GatewayList
	var vss istionetworkingv1.VirtualServiceList
	if err := bed.ControlPlane.Client.List(ctx, &gws, client.InNamespace(tenant)); err != nil {
		t.Fatal(err)
	}
	if err := bed.ControlPlane.Client.List(ctx, &vss, client.InNamespace(tenant)); err != nil {
		t.Fatal(err)
	}
	if len(gws.Items)+len(vss.Items) != 0 {
		t.Errorf("route objects made: %d Gateways, %d VirtualServices", len(gws.Items), len(vss.Items))
	}
	if got := orders(t) - before; got != 0 {
		t.Errorf("Pebble received %d orders", got)
	}
}
