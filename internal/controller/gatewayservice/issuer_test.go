package gatewayservice_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
)

// TestIssuerRefAddsTheServerOnlyAfterTheIssuedSecretExists: edgecert
// requests a Certificate from Pebble; while it cannot be issued (its
// issuer does not exist yet) the GatewayService waits for it and the
// Gateway has no server for it; once issued, on every look, the server is
// never there before the Certificate is Ready; then the server names a
// copy, in the workload namespace, of the Pebble-issued Secret, written
// before the Gateway.
func TestIssuerRefAddsTheServerOnlyAfterTheIssuedSecretExists(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "tenant", nil)
	cl := newCluster(t, false, nil, ns)
	hosts := []string{"shop." + ns + ".example.test", "*.shop." + ns + ".example.test"}
	gs := newGS(t, ns, "shop", edgecertv1alpha1.GatewayServiceSpec{Hosts: hosts, Port: 443, Protocol: "HTTPS",
		TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "SIMPLE", IssuerRef: &edgecertv1alpha1.IssuerReference{Name: "pebble"}}})
	portName := "https-shop-" + ns
	certName := "shop-gateway-tls"

	// No issuer yet: the Certificate cannot be issued, and the
	// GatewayService says it waits for it.
	got := &edgecertv1alpha1.GatewayService{}
	wantWaiting := "Waiting for Certificate " + certName + ` to be issued: IssuerNotReady: Issuer "pebble": Issuer.edgecert.dev "pebble" not found`
	testenv.Eventually(t, "GatewayService waiting for its Certificate", func() (bool, string) {
		if err := c().Get(ctx, client.ObjectKeyFromObject(gs), got); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		return cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == edgecertv1alpha1.ReasonCertificateNotReady && cond.Message == wantWaiting,
			fmt.Sprintf("%+v", got.Status.Conditions)
	})
	if !meta.IsStatusConditionTrue(got.Status.Conditions, edgecertv1alpha1.ReconcilingCondition) {
		t.Errorf("waiting for the Certificate is not Reconciling: %+v", got.Status.Conditions)
	}
	if servers, _ := cl.servers(t); servers[portName] != nil {
		t.Fatalf("the Gateway has a server for a Certificate that cannot be issued: %v", servers[portName])
	}

	bed.CreateIssuer(t, bed.Issuer(ns, "pebble"), controllerNamespace)
	testenv.Eventually(t, "server in the Gateway", func() (bool, string) {
		if err := c().Get(ctx, client.ObjectKeyFromObject(gs), got); err != nil {
			return false, err.Error()
		}
		var cert edgecertv1alpha1.Certificate
		certErr := c().Get(ctx, types.NamespacedName{Namespace: ns, Name: certName}, &cert)
		issued := certErr == nil && meta.IsStatusConditionTrue(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		servers, _ := cl.servers(t)
		_, present := servers[portName]
		if present && !issued {
			t.Fatalf("the server is in the Gateway before the Certificate is issued (%v)", cert.Status.Conditions)
		}
		return present && meta.IsStatusConditionTrue(got.Status.Conditions, edgecertv1alpha1.ReadyCondition), fmt.Sprintf("%+v", got.Status)
	})

	var cert edgecertv1alpha1.Certificate
	if err := c().Get(ctx, types.NamespacedName{Namespace: ns, Name: certName}, &cert); err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(&cert, got) || got.Status.CertificateName != certName {
		t.Errorf("Certificate %s is not controlled by the GatewayService (owners %v, status %q)", certName, cert.OwnerReferences, got.Status.CertificateName)
	}
	var issued, copied corev1.Secret
	if err := c().Get(ctx, types.NamespacedName{Namespace: ns, Name: cert.Spec.SecretName}, &issued); err != nil {
		t.Fatal(err)
	}
	if err := c().Get(ctx, types.NamespacedName{Namespace: cl.gwNamespace, Name: got.Status.CredentialName}, &copied); err != nil {
		t.Fatalf("copy %s/%s: %v", cl.gwNamespace, got.Status.CredentialName, err)
	}
	kp, err := pki.ParseKeyPair(copied.Data[corev1.TLSCertKey], copied.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		t.Fatal(err)
	}
	if missing := pki.Uncovered(kp.Leaf, hosts); len(missing) > 0 {
		t.Errorf("the copied certificate does not cover %v", missing)
	}
	if string(copied.Data[corev1.TLSCertKey]) != string(issued.Data[corev1.TLSCertKey]) || len(kp.Intermediates) == 0 {
		t.Error("the copy is not the Pebble-issued chain")
	}
	// resourceVersions from one etcd grow with every write: the copy was
	// written before the Gateway write that added the server (the only
	// write to this Gateway since it was created).
	gwRV, _ := strconv.ParseInt(cl.gateway(t).GetResourceVersion(), 10, 64)
	copyRV, _ := strconv.ParseInt(copied.ResourceVersion, 10, 64)
	if copyRV == 0 || copyRV >= gwRV {
		t.Errorf("copy resourceVersion %d is not before the Gateway's %d", copyRV, gwRV)
	}
	want := map[string]any{
		"port":  map[string]any{"number": int64(443), "protocol": "HTTPS", "name": portName},
		"hosts": []any{ns + "/shop." + ns + ".example.test", ns + "/*.shop." + ns + ".example.test"},
		"tls":   map[string]any{"mode": "SIMPLE", "credentialName": ns + ".shop"},
	}
	servers, _ := cl.servers(t)
	if diff := cmpDiff(want, servers[portName]); diff != "" {
		t.Errorf("server (-want +got):\n%s", diff)
	}
	cl.checkHandWritten(t)
}
