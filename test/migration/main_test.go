// Package migration moves a cluster from cert-manager to edgecert on the
// real test bed (cert-manager's own CRDs installed in the API server,
// certificates issued for real by Pebble through a bare ACME client and
// stored as cert-manager stores them) and checks what a platform team
// relies on: no certificate issued again (orders counted at Pebble), no
// Secret edgecert may not touch written (checked byte for byte).
package migration

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
)

var bed *testenv.Bed

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{ControlPlane: testenv.ControlPlaneOptions{CertManagerCRDs: true}}, &bed)
}

// issuedByCertManager is what cert-manager leaves behind for its
// Certificate name in ns: a Secret issued for hosts by Pebble (through a
// bare ACME client), with the labels and annotations cert-manager's
// issuing controller sets, and, when managed, the cert-manager
// Certificate itself (cert-manager.io/v1, from cert-manager's CRDs).
func issuedByCertManager(t *testing.T, acme *testenv.BareACME, ns, name, secretName, issuer string, managed bool, hosts ...string) *corev1.Secret {
	t.Helper()
	ctx := context.Background()
	key, err := pki.GenerateKey(pki.KeySpec{})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := acme.Obtain(ctx, key, hosts)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{corev1.TLSCertKey: chain, corev1.TLSPrivateKeyKey: keyPEM}}
	secret.Namespace, secret.Name = ns, secretName
	secret.Labels = map[string]string{"controller.cert-manager.io/fao": "true"}
	secret.Annotations = map[string]string{
		"cert-manager.io/certificate-name": name,
		"cert-manager.io/issuer-name":      issuer,
		"cert-manager.io/issuer-kind":      "ClusterIssuer",
		"cert-manager.io/issuer-group":     "cert-manager.io",
		"cert-manager.io/common-name":      "",
		"cert-manager.io/alt-names":        strings.Join(hosts, ","),
		"cert-manager.io/ip-sans":          "",
		"cert-manager.io/uri-sans":         "",
	}
	if err := bed.ControlPlane.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if managed {
		cm := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
			"metadata": map[string]any{"namespace": ns, "name": name},
			"spec": map[string]any{
				"secretName": secretName,
				"dnsNames":   toAny(hosts),
				"issuerRef":  map[string]any{"name": issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"},
			},
		}}
		if err := bed.ControlPlane.Client.Create(ctx, cm); err != nil {
			t.Fatalf("create cert-manager Certificate (cert-manager's CRD installed?): %v", err)
		}
	}
	return secret
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// serial is the serial number of the leaf in a Secret's tls.crt.
func serial(t *testing.T, secret *corev1.Secret) string {
	t.Helper()
	block, _ := pem.Decode(secret.Data[corev1.TLSCertKey])
	if block == nil {
		t.Fatalf("Secret %s/%s holds no PEM certificate", secret.Namespace, secret.Name)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", leaf.SerialNumber)
}

func getSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}
