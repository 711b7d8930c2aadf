package migration

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/migrate"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
)

// TestMigrateAClusterWithoutANewOrder is the move a platform team makes: a
// cert-manager ClusterIssuer (its ACME account key in cert-manager's
// namespace), 20 certificates cert-manager issued (18 from Certificates,
// 2 from annotated Ingresses), one Certificate whose hosts changed after
// issuance, one cert-manager keeps. `edgecert migrate cert-manager
// --apply`, the cert-manager
// Certificates deleted but one, edgecert started with the compatibility
// switch: the 20 are Ready with the serial numbers cert-manager got, on
// the same ACME account, and Pebble receives no order; the changed one is
// reported and the kept one left alone, both byte for byte.
func TestMigrateAClusterWithoutANewOrder(t *testing.T) {
	ctx := context.Background()
	cl, err := client.New(bed.ControlPlane.Config, client.Options{Scheme: migrate.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	cmNS := bed.Namespace(t, "cert-manager")
	edgecertNS := bed.Namespace(t, "edgecert")
	apps := []string{bed.Namespace(t, "shop"), bed.Namespace(t, "blog")}
	acme, err := bed.NewBareACME(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// cert-manager's ClusterIssuer and the Secrets it reads.
	accountKey, err := pki.EncodeKey(acme.AccountKey())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Namespace: cmNS, Name: "letsencrypt-account"}, Data: map[string][]byte{"tls.key": accountKey}},
		bed.TSIGSecret(cmNS),
	} {
		if err := cl.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	issuer := &cmv1.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "letsencrypt-" + cmNS}, Spec: cmv1.IssuerSpec{IssuerConfig: cmv1.IssuerConfig{ACME: &cmacme.ACMEIssuer{
		Server: bed.Pebble.DirectoryURL, CABundle: bed.Pebble.ServerCAPEM, Email: "ops@example.test",
		PrivateKey: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "letsencrypt-account"}},
		Solvers: []cmacme.ACMEChallengeSolver{{DNS01: &cmacme.ACMEChallengeSolverDNS01{RFC2136: &cmacme.ACMEIssuerDNS01ProviderRFC2136{
			Nameserver: bed.BIND.Addr, TSIGKeyName: bed.BIND.Key.Name, TSIGAlgorithm: "HMACSHA256",
			TSIGSecret: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: testenv.TSIGSecretName}, Key: testenv.TSIGSecretKey},
		}}}},
	}}}}
	if err := cl.Create(ctx, issuer); err != nil {
		t.Fatal(err)
	}

	// What cert-manager issued: 9 Certificates in each namespace, an
	// Ingress in each (its Certificate made by cert-manager's
	// ingress-shim, owned by the Ingress), "moved" whose dnsNames changed
	// after issuance, and "kept", which cert-manager keeps.
	type issued struct {
		ns, name string
		serial   string
		data     map[string][]byte
	}
	var adopted []issued
	cmCert := func(ns, name string, hosts []string, owner *networkingv1.Ingress) *cmv1.Certificate {
		c := &cmv1.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: cmv1.CertificateSpec{
			SecretName: name + "-tls", DNSNames: hosts, IssuerRef: cmmeta.IssuerReference{Name: issuer.Name, Kind: "ClusterIssuer", Group: "cert-manager.io"}}}
		if owner != nil {
			c.Name, c.Spec.SecretName = owner.Spec.TLS[0].SecretName, owner.Spec.TLS[0].SecretName
			c.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, networkingv1.SchemeGroupVersion.WithKind("Ingress"))}
		}
		if err := cl.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	issue := func(c *cmv1.Certificate, hosts ...string) *corev1.Secret {
		return issuedByCertManager(t, acme, c.Namespace, c.Name, c.Spec.SecretName, issuer.Name, false, hosts...)
	}
	for _, ns := range apps {
		for i := range 9 {
			hosts := []string{bed.Host(fmt.Sprintf("app%d-%s", i, ns))}
			s := issue(cmCert(ns, fmt.Sprintf("app%d", i), hosts, nil), hosts...)
			adopted = append(adopted, issued{ns, fmt.Sprintf("app%d", i), serial(t, s), s.Data})
		}
		ing := &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", Annotations: map[string]string{"cert-manager.io/cluster-issuer": issuer.Name}},
			Spec: networkingv1.IngressSpec{
				TLS:   []networkingv1.IngressTLS{{Hosts: []string{bed.Host("web-" + ns)}, SecretName: "web-tls"}},
				Rules: []networkingv1.IngressRule{{Host: bed.Host("web-" + ns)}},
			},
		}
		if err := cl.Create(ctx, ing); err != nil {
			t.Fatal(err)
		}
		s := issue(cmCert(ns, "", []string{bed.Host("web-" + ns)}, ing), bed.Host("web-"+ns))
		adopted = append(adopted, issued{ns, "web-tls", serial(t, s), s.Data})
	}
	moved := cmCert(apps[0], "moved", []string{bed.Host("new-" + apps[0])}, nil)
	movedSecret := issue(moved, bed.Host("old-"+apps[0]))
	kept := cmCert(apps[1], "kept", []string{bed.Host("kept-" + apps[1])}, nil)
	keptSecret := issue(kept, bed.Host("kept-"+apps[1]))

	// The migration, as a user runs it.
	_, report, err := testenv.RunEdgecert("migrate", "cert-manager", "--apply", "--kubeconfig", bed.ControlPlane.Kubeconfig,
		"--cert-manager-namespace", cmNS, "--edgecert-namespace", edgecertNS)
	t.Logf("edgecert migrate cert-manager --apply:\n%s", report)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"created ClusterIssuer " + issuer.Name,
		"created Certificate " + apps[0] + "/app0",
		"skipped   Certificate " + apps[0] + "/web-tls",
		"copied Secret " + cmNS + "/letsencrypt-account -> " + edgecertNS + "/letsencrypt-account",
	} {
		if !strings.Contains(report, line+"\n") {
			t.Errorf("the report lacks %q", line)
		}
	}
	orders0 := bed.Orders(t)
	var cms cmv1.CertificateList
	if err := cl.List(ctx, &cms); err != nil {
		t.Fatal(err)
	}
	for _, c := range cms.Items {
		if c.Name == "kept" || !slices.Contains(apps, c.Namespace) {
			continue
		}
		if err := cl.Delete(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	bed.StartOneController(t, edgecertNS, "--ingress-shim-cert-manager-annotations")

	for _, a := range adopted {
		waitReady(t, a.ns, a.name)
		secretName := a.name + "-tls"
		if a.name == "web-tls" {
			secretName = a.name // the Ingress shim names Certificates after their Secret
		}
		got := getSecret(t, a.ns, secretName)
		if s := serial(t, got); s != a.serial {
			t.Errorf("%s/%s: serial %s, want %s (cert-manager's)", a.ns, a.name, s, a.serial)
		}
		if !maps.EqualFunc(got.Data, a.data, bytes.Equal) {
			t.Errorf("%s/%s: the Secret's data changed when it was taken over", a.ns, secretName)
		}
	}
	waitReason(t, moved.Namespace, "moved", edgecertv1alpha1.ReasonSecretNotAdoptable)
	waitReason(t, kept.Namespace, "kept", edgecertv1alpha1.ReasonManagedByCertManager)
	if n := bed.Orders(t) - orders0; n != 0 {
		t.Errorf("Pebble received %d orders during the migration, want 0", n)
	}
	var ci edgecertv1alpha1.ClusterIssuer
	if err := cl.Get(ctx, client.ObjectKey{Name: issuer.Name}, &ci); err != nil {
		t.Fatal(err)
	}
	if ci.Status.AccountURI != acme.AccountURL() {
		t.Errorf("edgecert's account %q, want cert-manager's %q (the account key is kept)", ci.Status.AccountURI, acme.AccountURL())
	}
	for _, s := range []*corev1.Secret{movedSecret, keptSecret} {
		if got := getSecret(t, s.Namespace, s.Name); !maps.EqualFunc(got.Data, s.Data, bytes.Equal) {
			t.Errorf("Secret %s/%s changed", s.Namespace, s.Name)
		}
	}
}
