package shim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/testenv"
)

// gatewayAPIListener is a listener on port with hostname ("" for none);
// refs are certificateRefs as "name" or "namespace/name".
func gatewayAPIListener(name string, port int32, protocol gatewayv1.ProtocolType, hostname string, mode gatewayv1.TLSModeType, refs ...string) gatewayv1.Listener {
	l := gatewayv1.Listener{Name: gatewayv1.SectionName(name), Port: port, Protocol: protocol}
	if hostname != "" {
		h := gatewayv1.Hostname(hostname)
		l.Hostname = &h
	}
	if mode == "" {
		return l
	}
	l.TLS = &gatewayv1.ListenerTLSConfig{Mode: &mode}
	for _, r := range refs {
		ref := gatewayv1.SecretObjectReference{Name: gatewayv1.ObjectName(r)}
		if ns, n, ok := strings.Cut(r, "/"); ok {
			namespace := gatewayv1.Namespace(ns)
			ref.Name, ref.Namespace = gatewayv1.ObjectName(n), &namespace
		}
		l.TLS.CertificateRefs = append(l.TLS.CertificateRefs, ref)
	}
	return l
}

// generatedFor lists the Certificates labelled as generated for the
// Gateway API Gateway ns/name, in every namespace.
func generatedFor(t *testing.T, ns, name string) []string {
	t.Helper()
	src := ingress.Source{Kind: ingress.KindGatewayAPIGateway, Namespace: ns, Name: name}
	var list edgecertv1alpha1.CertificateList
	if err := c().List(context.Background(), &list, client.MatchingLabels(src.Labels())); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, cert := range list.Items {
		out = append(out, cert.Namespace+"/"+cert.Name)
	}
	return out
}

// TestGatewayAPIGatewayHTTPSListeners: an annotated Gateway API Gateway
// gets one Certificate for the Secret its two HTTPS listeners share,
// covering both hostnames, owned by the Gateway and issued by Pebble over
// HTTP-01; the HTTP, Passthrough and hostname-less listeners get none.
// Removing the annotation deletes the Certificate and keeps the Secret.
func TestGatewayAPIGatewayHTTPSListeners(t *testing.T) {
	ctx := context.Background()
	newClusterIssuer(t, "pebble-gatewayapi")
	ns := newNamespace(t, "gapi")
	host, www := "web."+ns+".example.test", "www."+ns+".example.test"
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", Annotations: map[string]string{ingress.ClusterIssuerAnnotation: "pebble-gatewayapi"}},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "istio", Listeners: []gatewayv1.Listener{
			gatewayAPIListener("http", 80, gatewayv1.HTTPProtocolType, host, ""),
			gatewayAPIListener("https", 443, gatewayv1.HTTPSProtocolType, host, gatewayv1.TLSModeTerminate, "web-tls"),
			gatewayAPIListener("https-www", 443, gatewayv1.HTTPSProtocolType, www, gatewayv1.TLSModeTerminate, "web-tls"),
			gatewayAPIListener("passthrough", 8443, gatewayv1.TLSProtocolType, "pass."+ns+".example.test", gatewayv1.TLSModePassthrough, "pass-tls"),
			gatewayAPIListener("any", 443, gatewayv1.HTTPSProtocolType, "", gatewayv1.TLSModeTerminate, "any-tls"),
		}},
	}
	if err := c().Create(ctx, gw); err != nil {
		t.Fatal(err)
	}

	cert := waitIssued(t, ns, "web-tls")
	wantLabels := map[string]string{ingress.SourceKindLabel: ingress.KindGatewayAPIGateway, ingress.SourceNamespaceLabel: ns, ingress.SourceNameLabel: "web"}
	for k, v := range wantLabels {
		if cert.Labels[k] != v {
			t.Errorf("Certificate label %s = %q, want %q", k, cert.Labels[k], v)
		}
	}
	if want := "GatewayAPIGateway " + ns + "/web"; cert.Annotations[ingress.SourceAnnotation] != want {
		t.Errorf("Certificate annotation %s = %q, want %q", ingress.SourceAnnotation, cert.Annotations[ingress.SourceAnnotation], want)
	}
	if cert.Spec.IssuerRef != (edgecertv1alpha1.IssuerReference{Kind: "ClusterIssuer", Name: "pebble-gatewayapi"}) {
		t.Errorf("Certificate issuerRef = %+v", cert.Spec.IssuerRef)
	}
	if diff := cmp.Diff([]string{host, www}, cert.Spec.DNSNames); diff != "" {
		t.Errorf("dnsNames (-want +got):\n%s", diff)
	}
	if owner := metav1.GetControllerOf(cert); owner == nil || owner.Kind != "Gateway" || owner.APIVersion != "gateway.networking.k8s.io/v1" || owner.UID != gw.UID {
		t.Errorf("Certificate controller = %+v, want the Gateway (UID %s)", owner, gw.UID)
	}
	bed.CheckIssuedByPebble(t, ns, "web-tls", host, www)
	// The pass that made web-tls would have made the others too.
	if diff := cmp.Diff([]string{ns + "/web-tls"}, generatedFor(t, ns, "web")); diff != "" {
		t.Errorf("generated Certificates (-want +got):\n%s", diff)
	}

	gw.Annotations = nil
	if err := c().Update(ctx, gw); err != nil {
		t.Fatal(err)
	}
	waitGone(t, cert)
	var secret corev1.Secret
	if err := c().Get(ctx, types.NamespacedName{Namespace: ns, Name: "web-tls"}, &secret); err != nil {
		t.Errorf("Secret after the annotation was removed: %v, want it kept", err)
	}
}

// TestGatewayAPIGatewayCrossNamespaceReferenceGrant: a listener naming a
// Secret in another namespace gets no Certificate and a warning event
// until a ReferenceGrant there permits it; then the Certificate is made
// in the Secret's namespace (with no owner reference, which cannot cross
// namespaces) and issued. Deleting the grant deletes the Certificate;
// with the grant back, deleting the Gateway deletes it.
func TestGatewayAPIGatewayCrossNamespaceReferenceGrant(t *testing.T) {
	ctx := context.Background()
	newClusterIssuer(t, "pebble-gatewayapi-grant")
	apps, certs := newNamespace(t, "gapi-apps"), newNamespace(t, "gapi-certs")
	host := "shared." + apps + ".example.test"
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: apps, Name: "web", Annotations: map[string]string{ingress.ClusterIssuerAnnotation: "pebble-gatewayapi-grant"}},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "istio", Listeners: []gatewayv1.Listener{
			gatewayAPIListener("https", 443, gatewayv1.HTTPSProtocolType, host, gatewayv1.TLSModeTerminate, certs+"/shared-tls"),
		}},
	}
	if err := c().Create(ctx, gw); err != nil {
		t.Fatal(err)
	}

	wantNote := ingress.RefusedRef{GatewayNamespace: apps, Namespace: certs, Name: "shared-tls", Listeners: []string{"https"}}.String()
	testenv.Eventually(t, "ReferenceNotPermitted event on the Gateway", func() (bool, string) {
		var events eventsv1.EventList
		if err := c().List(ctx, &events, client.InNamespace(apps)); err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range events.Items {
			if e.Regarding.UID != gw.UID {
				continue
			}
			if e.Type == corev1.EventTypeWarning && e.Reason == edgecertv1alpha1.ReasonReferenceNotPermitted && e.Note == wantNote {
				return true, ""
			}
			seen = append(seen, e.Type+" "+e.Reason+": "+e.Note)
		}
		return false, fmt.Sprintf("events on the Gateway: %q", seen)
	})
	// The event is recorded after the pass's sync: a Certificate would be
	// there by now.
	if got := generatedFor(t, apps, "web"); len(got) != 0 {
		t.Errorf("Certificates %v without a ReferenceGrant, want none", got)
	}

	newGrant := func() *gatewayv1beta1.ReferenceGrant {
		secretName := gatewayv1.ObjectName("shared-tls")
		return &gatewayv1beta1.ReferenceGrant{
			ObjectMeta: metav1.ObjectMeta{Namespace: certs, Name: "gateways-from-apps"},
			Spec: gatewayv1beta1.ReferenceGrantSpec{
				From: []gatewayv1beta1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "Gateway", Namespace: gatewayv1.Namespace(apps)}},
				To:   []gatewayv1beta1.ReferenceGrantTo{{Group: "", Kind: "Secret", Name: &secretName}},
			},
		}
	}
	grant := newGrant()
	if err := c().Create(ctx, grant); err != nil {
		t.Fatal(err)
	}
	cert := waitIssued(t, certs, "shared-tls")
	if diff := cmp.Diff([]string{host}, cert.Spec.DNSNames); diff != "" {
		t.Errorf("dnsNames (-want +got):\n%s", diff)
	}
	if len(cert.OwnerReferences) != 0 {
		t.Errorf("Certificate owner references = %+v, want none across namespaces", cert.OwnerReferences)
	}
	if cert.Labels[ingress.SourceKindLabel] != ingress.KindGatewayAPIGateway || cert.Labels[ingress.SourceNamespaceLabel] != apps || cert.Labels[ingress.SourceNameLabel] != "web" {
		t.Errorf("Certificate labels = %v, want the Gateway %s/web", cert.Labels, apps)
	}
	bed.CheckIssuedByPebble(t, certs, "shared-tls", host)
	if diff := cmp.Diff([]string{certs + "/shared-tls"}, generatedFor(t, apps, "web")); diff != "" {
		t.Errorf("generated Certificates (-want +got):\n%s", diff)
	}

	// Without the grant the Gateway may not use the Secret.
	if err := c().Delete(ctx, grant); err != nil {
		t.Fatal(err)
	}
	waitGone(t, cert)

	// With the grant back, deleting the Gateway deletes the Certificate.
	if err := c().Create(ctx, newGrant()); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "Certificate made again with the grant back", func() (bool, string) {
		err := c().Get(ctx, client.ObjectKeyFromObject(cert), &edgecertv1alpha1.Certificate{})
		return err == nil, fmt.Sprint(err)
	})
	if err := c().Delete(ctx, gw); err != nil {
		t.Fatal(err)
	}
	waitGone(t, cert)
}
