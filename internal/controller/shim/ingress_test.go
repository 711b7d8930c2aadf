package shim_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/testenv"
)

// TestSeed003IngressWithCertManagerAnnotation: seed 003's Ingress, applied
// as written (cert-manager.io/cluster-issuer: letsencrypt), with the
// compatibility flag on and a ClusterIssuer "letsencrypt" that solves
// DNS-01 for demo.example.com (through BIND here, Route53 in the seed),
// yields the Secret demo-example-tls issued by Pebble. Removing the
// annotation deletes the Certificate and keeps the Secret.
func TestSeed003IngressWithCertManagerAnnotation(t *testing.T) {
	ctx := context.Background()
	newClusterIssuer(t, "letsencrypt", "demo.example.com")
	ns := newNamespace(t, "seed003")
	raw, err := os.ReadFile("testdata/seed003-ingress.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ing networkingv1.Ingress
	if err := yaml.UnmarshalStrict(raw, &ing); err != nil {
		t.Fatal(err)
	}
	ing.Namespace = ns
	if err := c().Create(ctx, &ing); err != nil {
		t.Fatal(err)
	}
	cert := waitIssued(t, ns, "demo-example-tls")
	if cert.Spec.IssuerRef != (edgecertv1alpha1.IssuerReference{Kind: "ClusterIssuer", Name: "letsencrypt"}) || len(cert.Spec.DNSNames) != 1 || cert.Spec.DNSNames[0] != "demo.example.com" {
		t.Errorf("Certificate spec = %+v, want demo.example.com from ClusterIssuer letsencrypt", cert.Spec)
	}
	if owner := metav1.GetControllerOf(cert); owner == nil || owner.Kind != "Ingress" || owner.UID != ing.UID {
		t.Errorf("Certificate controller = %+v, want the Ingress", owner)
	}
	if cert.Labels[ingress.SourceKindLabel] != ingress.KindIngress || cert.Labels[ingress.SourceNameLabel] != "demo-app-ingress" {
		t.Errorf("Certificate labels = %v", cert.Labels)
	}
	bed.CheckIssuedByPebble(t, ns, "demo-example-tls", "demo.example.com")
	if got, want := bed.ControlPlane.CertificateColumn(t, ns, "demo-example-tls", "Source"), "Ingress "+ns+"/demo-app-ingress"; got != want {
		t.Errorf("kubectl get certificate -o wide shows Source %q, want %q", got, want)
	}
	bed.ControlPlane.ExpectEvent(t, &ing, "CertificateIssued", "Certificate "+ns+"/demo-example-tls is Ready: Secret demo-example-tls holds a certificate for demo.example.com, valid until")

	// A cert-manager annotation edgecert does not apply is named, not
	// silently dropped.
	ing.Annotations["cert-manager.io/duration"] = "2160h"
	if err := c().Update(ctx, &ing); err != nil {
		t.Fatal(err)
	}
	bed.ControlPlane.ExpectEvent(t, &ing, "UnsupportedAnnotation", "edgecert does not apply cert-manager.io/duration (ACME CAs choose the certificate's lifetime)")

	delete(ing.Annotations, "cert-manager.io/cluster-issuer")
	if err := c().Update(ctx, &ing); err != nil {
		t.Fatal(err)
	}
	waitGone(t, cert)
	var secret corev1.Secret
	if err := c().Get(ctx, types.NamespacedName{Namespace: ns, Name: "demo-example-tls"}, &secret); err != nil {
		t.Errorf("Secret after the annotation was removed: %v, want it kept", err)
	}
}

// TestIngressEdgecertAnnotationHostsChangeAndDelete: edgecert's own
// annotation on an Ingress; adding a host updates the Certificate;
// deleting the Ingress deletes it (envtest runs no garbage collector, so
// the shim does it).
func TestIngressEdgecertAnnotationHostsChangeAndDelete(t *testing.T) {
	ctx := context.Background()
	newClusterIssuer(t, "pebble-ingress")
	ns := newNamespace(t, "web")
	a, b := "a."+ns+".example.test", "b."+ns+".example.test"
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", Annotations: map[string]string{ingress.ClusterIssuerAnnotation: "pebble-ingress"}},
		Spec: networkingv1.IngressSpec{
			DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			TLS:            []networkingv1.IngressTLS{{Hosts: []string{a}, SecretName: "web-tls"}},
		},
	}
	if err := c().Create(ctx, ing); err != nil {
		t.Fatal(err)
	}
	waitIssued(t, ns, "web-tls")
	bed.CheckIssuedByPebble(t, ns, "web-tls", a)
	ing.Spec.TLS[0].Hosts = append(ing.Spec.TLS[0].Hosts, b)
	if err := c().Update(ctx, ing); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "Certificate covers both hosts", func() (bool, string) {
		cert := waitIssued(t, ns, "web-tls")
		return len(cert.Spec.DNSNames) == 2, fmt.Sprint(cert.Spec.DNSNames)
	})
	bed.CheckIssuedByPebble(t, ns, "web-tls", a, b)
	if err := c().Delete(ctx, ing); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &edgecertv1alpha1.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-tls"}})
}
