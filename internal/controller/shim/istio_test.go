package shim_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/testenv"
)

func istioGateway(ns, name string) *unstructured.Unstructured {
	return kube.NewUnstructured(kube.IstioGatewayGVK, ns, name)
}

// TestIstioGatewayTwoTLSServers: an annotated Istio Gateway in a tenant
// namespace, whose selector picks gateway pods that a Service in another
// namespace selects, gets one Certificate per TLS server, issued by Pebble
// into that workload namespace; the server without a credentialName gets
// the issued Secret's name; other servers are untouched; removing the
// annotation deletes the Certificates and keeps the Secrets.
func TestIstioGatewayTwoTLSServers(t *testing.T) {
	ctx := context.Background()
	newClusterIssuer(t, "pebble-http01")
	apps, workload := newNamespace(t, "apps"), newWorkloadNamespace(t)
	selector := map[string]string{"istio": workload}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: workload, Name: "istio-ingressgateway", Labels: selector},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"istio": workload, "app": "istio-ingressgateway"},
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443)}}},
	}
	if err := c().Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	shopHost, apiHost := "shop."+apps+".example.test", "api."+apps+".example.test"
	httpServer := map[string]any{"port": map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http"},
		"hosts": []any{"*/" + shopHost}, "tls": map[string]any{"httpsRedirect": true}}
	shopServer := map[string]any{"port": map[string]any{"number": int64(443), "protocol": "HTTPS", "name": "https-shop"},
		"hosts": []any{"*/" + shopHost, "./www." + shopHost}, "tls": map[string]any{"mode": "SIMPLE", "credentialName": "shop-tls"}}
	apiServer := map[string]any{"port": map[string]any{"number": int64(443), "protocol": "HTTPS", "name": "https-api"},
		"hosts": []any{apps + "/" + apiHost}, "tls": map[string]any{"mode": "SIMPLE"}}
	gw := istioGateway(apps, "web")
	gw.SetAnnotations(map[string]string{ingress.ClusterIssuerAnnotation: "pebble-http01"})
	gw.Object["spec"] = map[string]any{"selector": map[string]any{"istio": workload}, "servers": []any{httpServer, shopServer, apiServer}}
	if err := c().Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	// The server without a credentialName gets a Secret named
	// "<namespace>-<gateway>-<port name>-tls".
	apiSecret := apps + "-web-https-api-tls"

	shop := waitIssued(t, workload, "shop-tls")
	api := waitIssued(t, workload, apiSecret)
	source := fmt.Sprintf("IstioGateway %s/web", apps)
	for _, cert := range []*edgecertv1alpha1.Certificate{shop, api} {
		wantLabels := map[string]string{ingress.SourceKindLabel: ingress.KindIstioGateway, ingress.SourceNamespaceLabel: apps, ingress.SourceNameLabel: "web"}
		for k, v := range wantLabels {
			if cert.Labels[k] != v {
				t.Errorf("Certificate %s label %s = %q, want %q", cert.Name, k, cert.Labels[k], v)
			}
		}
		if cert.Annotations[ingress.SourceAnnotation] != source {
			t.Errorf("Certificate %s annotation %s = %q, want %q", cert.Name, ingress.SourceAnnotation, cert.Annotations[ingress.SourceAnnotation], source)
		}
		if cert.Spec.IssuerRef != (edgecertv1alpha1.IssuerReference{Kind: "ClusterIssuer", Name: "pebble-http01"}) {
			t.Errorf("Certificate %s issuerRef = %+v", cert.Name, cert.Spec.IssuerRef)
		}
	}
	if diff := cmp.Diff([]string{shopHost, "www." + shopHost}, shop.Spec.DNSNames); diff != "" {
		t.Errorf("shop-tls dnsNames (-want +got):\n%s", diff)
	}
	bed.CheckIssuedByPebble(t, workload, "shop-tls", shopHost, "www."+shopHost)
	bed.CheckIssuedByPebble(t, workload, apiSecret, apiHost)
	var inTenant edgecertv1alpha1.CertificateList
	if err := c().List(ctx, &inTenant, client.InNamespace(apps)); err != nil {
		t.Fatal(err)
	}
	if len(inTenant.Items) != 0 {
		t.Errorf("%d Certificates in the Gateway's namespace, want none (Istio reads Secrets in the workload namespace)", len(inTenant.Items))
	}

	// The server without a credentialName names the issued Secret; the
	// others are exactly as written.
	wantAPI := map[string]any{"port": apiServer["port"], "hosts": apiServer["hosts"], "tls": map[string]any{"mode": "SIMPLE", "credentialName": apiSecret}}
	testenv.Eventually(t, "credentialName set on https-api", func() (bool, string) {
		if err := c().Get(ctx, client.ObjectKeyFromObject(gw), gw); err != nil {
			return false, err.Error()
		}
		servers, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
		return len(servers) == 3 && cmp.Diff(wantAPI, servers[2]) == "", fmt.Sprint(servers)
	})
	servers, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
	if diff := cmp.Diff([]any{httpServer, shopServer}, servers[:2]); diff != "" {
		t.Errorf("other servers changed (-want +got):\n%s", diff)
	}
	var secret corev1.Secret
	if err := c().Get(ctx, types.NamespacedName{Namespace: workload, Name: apiSecret}, &secret); err != nil {
		t.Fatalf("credentialName %s names no Secret in the workload namespace: %v", apiSecret, err)
	}

	// Removing the annotation removes the Certificates; the Secrets stay.
	gw.SetAnnotations(nil)
	if err := c().Update(ctx, gw); err != nil {
		t.Fatal(err)
	}
	waitGone(t, shop)
	waitGone(t, api)
	for _, name := range []string{"shop-tls", apiSecret} {
		if err := c().Get(ctx, types.NamespacedName{Namespace: workload, Name: name}, &secret); err != nil {
			t.Errorf("Secret %s after the annotation was removed: %v, want it kept", name, err)
		}
	}
}

// TestIstioGatewayDeletedRemovesCertificates: deleting an annotated
// Gateway deletes its Certificates, which live in another namespace (no
// owner reference can do it). With no gateway Service, the Gateway's own
// namespace is the workload namespace.
func TestIstioGatewayDeletedRemovesCertificates(t *testing.T) {
	ctx := context.Background()
	newClusterIssuer(t, "pebble-http01-del")
	apps := newNamespace(t, "apps")
	host := "del." + apps + ".example.test"
	gw := istioGateway(apps, "web")
	gw.SetAnnotations(map[string]string{ingress.ClusterIssuerAnnotation: "pebble-http01-del"})
	gw.Object["spec"] = map[string]any{"selector": map[string]any{"istio": "no-such-" + apps}, "servers": []any{
		map[string]any{"port": map[string]any{"number": int64(443), "protocol": "HTTPS", "name": "https"},
			"hosts": []any{host}, "tls": map[string]any{"mode": "SIMPLE", "credentialName": "del-tls"}},
	}}
	if err := c().Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	cert := waitIssued(t, apps, "del-tls")
	bed.CheckIssuedByPebble(t, apps, "del-tls", host)
	if err := c().Delete(ctx, gw); err != nil {
		t.Fatal(err)
	}
	waitGone(t, cert)
}

// TestIstioGatewayWithHTTP01ThroughIstio is the whole flow of seed 001
// without its hand-written Certificate, Service and VirtualService: an
// annotated Gateway, a ClusterIssuer whose HTTP-01 goes through the same
// ingress gateway pods. The challenge route is made next to the
// Certificate, in the workload namespace, and removed after; the Gateway
// is told when its certificate is issued.
func TestIstioGatewayWithHTTP01ThroughIstio(t *testing.T) {
	ctx := context.Background()
	apps, workload := newNamespace(t, "apps"), newWorkloadNamespace(t)
	selector := map[string]string{"istio": workload}
	bed.CreateIssuer(t, bed.ClusterIssuer("pebble-istio-"+apps, edgecertv1alpha1.ACMESolver{HTTP01: &edgecertv1alpha1.HTTP01Solver{Istio: &edgecertv1alpha1.HTTP01IstioRoute{
		GatewaySelector:  selector,
		SolverService:    edgecertv1alpha1.ServiceReference{Name: "edgecert-http01", Namespace: controllerNamespace, Port: 8089},
		PropagationDelay: &metav1.Duration{Duration: time.Second},
	}}}), controllerNamespace)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: workload, Name: "istio-ingressgateway", Labels: selector},
		Spec:       corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	if err := c().Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	host := "app." + apps + ".example.test"
	gw := istioGateway(apps, "app")
	gw.SetAnnotations(map[string]string{ingress.ClusterIssuerAnnotation: "pebble-istio-" + apps})
	gw.Object["spec"] = map[string]any{"selector": toAny(selector), "servers": []any{
		map[string]any{"port": map[string]any{"number": int64(443), "protocol": "HTTPS", "name": "https"},
			"hosts": []any{"*/" + host}, "tls": map[string]any{"mode": "SIMPLE", "credentialName": "app-tls"}},
	}}
	if err := c().Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	vs := &unstructured.Unstructured{}
	vs.SetAPIVersion("networking.istio.io/v1")
	vs.SetKind("VirtualService")
	key := types.NamespacedName{Namespace: workload, Name: "app-tls-http01-0"}
	testenv.Eventually(t, "challenge VirtualService "+key.String(), func() (bool, string) {
		err := c().Get(ctx, key, vs)
		return err == nil, fmt.Sprint(err)
	})
	gateways, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "gateways")
	hosts, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "hosts")
	if len(gateways) != 1 || gateways[0] != workload+"/app-tls-http01-0" || len(hosts) != 1 || hosts[0] != host {
		t.Errorf("VirtualService gateways %v hosts %v, want the challenge Gateway and %s", gateways, hosts, host)
	}
	waitIssued(t, workload, "app-tls")
	bed.CheckIssuedByPebble(t, workload, "app-tls", host)
	waitGone(t, vs)
	bed.ControlPlane.ExpectEvent(t, gw, "CertificateIssued", "Certificate "+workload+"/app-tls is Ready")
}

// TestIstioGatewayCertificateProblemsReachTheGateway: a generated
// Certificate that cannot be issued (a wildcard host, and only HTTP-01)
// is reported on the Gateway with its reason.
func TestIstioGatewayCertificateProblemsReachTheGateway(t *testing.T) {
	ctx := context.Background()
	newClusterIssuer(t, "pebble-http01-wild")
	apps := newNamespace(t, "apps")
	gw := istioGateway(apps, "wild")
	gw.SetAnnotations(map[string]string{ingress.ClusterIssuerAnnotation: "pebble-http01-wild"})
	gw.Object["spec"] = map[string]any{"selector": map[string]any{"istio": "no-such-" + apps}, "servers": []any{
		map[string]any{"port": map[string]any{"number": int64(443), "protocol": "HTTPS", "name": "https"},
			"hosts": []any{"*.wild." + apps + ".example.test"}, "tls": map[string]any{"mode": "SIMPLE", "credentialName": "wild-tls"}},
	}}
	if err := c().Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	bed.ControlPlane.ExpectEvent(t, gw, "CertificateNotReady", "Certificate "+apps+"/wild-tls is not Ready (InvalidSpec)")
}

func toAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestIstioGatewayShimReadsTheCache: a change to an annotated Istio
// Gateway reaches its Certificate without the shim reading the Gateway
// from the API server (the manager's client reads unstructured objects
// from its cache). Read live, a shared Gateway of 500 servers cost a
// 100 KB GET at each write.
func TestIstioGatewayShimReadsTheCache(t *testing.T) {
	ctx := context.Background()
	apps := newNamespace(t, "apps")
	first, second := "one."+apps+".example.test", "two."+apps+".example.test"
	gw := istioGateway(apps, "cached")
	gw.SetAnnotations(map[string]string{ingress.ClusterIssuerAnnotation: "not-needed-here"})
	server := map[string]any{"port": map[string]any{"number": int64(443), "protocol": "HTTPS", "name": "https"},
		"hosts": []any{first}, "tls": map[string]any{"mode": "SIMPLE", "credentialName": "cached-tls"}}
	gw.Object["spec"] = map[string]any{"selector": map[string]any{"istio": "no-such-" + apps}, "servers": []any{server}}
	if err := c().Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	dnsNames := func(want ...string) {
		t.Helper()
		var cert edgecertv1alpha1.Certificate
		testenv.Eventually(t, fmt.Sprintf("Certificate cached-tls for %v", want), func() (bool, string) {
			if err := c().Get(ctx, types.NamespacedName{Namespace: apps, Name: "cached-tls"}, &cert); err != nil {
				return false, err.Error()
			}
			return cmp.Equal(want, cert.Spec.DNSNames), fmt.Sprint(cert.Spec.DNSNames)
		})
	}
	dnsNames(first)

	gets := func() float64 {
		t.Helper()
		reqs, err := bed.ControlPlane.APIRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return reqs["GET gateways"]
	}
	before := gets()
	server["hosts"] = []any{first, second}
	if err := unstructured.SetNestedSlice(gw.Object, []any{server}, "spec", "servers"); err != nil {
		t.Fatal(err)
	}
	if err := c().Update(ctx, gw); err != nil {
		t.Fatal(err)
	}
	dnsNames(first, second)
	if n := gets() - before; n != 0 {
		t.Errorf("%v GETs of Gateways at the API server while the shim followed the change, want 0 (read from the cache)", n)
	}
}
