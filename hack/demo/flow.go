package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
)

// issueDemoCertificate shows the main job: a ClusterIssuer for Pebble with
// DNS-01 through BIND (and HTTP-01 for other hosts), and a Certificate
// with a wildcard, issued into a kubernetes.io/tls Secret.
func issueDemoCertificate(ctx context.Context, bed *testenv.Bed) error {
	c := bed.ControlPlane.Client
	const ns = "edgecert-system"
	zone := strings.TrimSuffix(bed.BIND.Zones[0], ".")
	issuer := bed.ClusterIssuer("pebble", edgecertv1alpha1.ACMESolver{HTTP01: &edgecertv1alpha1.HTTP01Solver{}}, bed.BINDSolver(zone))
	issuer.Spec.ACME.Email = "ops@" + zone
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		bed.TSIGSecret(ns),
		issuer,
		&edgecertv1alpha1.Certificate{
			ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "shop"},
			Spec: edgecertv1alpha1.CertificateSpec{
				DNSNames:   []string{"shop." + zone, "*.shop." + zone},
				SecretName: "shop-tls",
				IssuerRef:  edgecertv1alpha1.IssuerReference{Kind: edgecertv1alpha1.ClusterIssuerKind, Name: "pebble"},
			},
		},
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("create %T %s: %w", o, o.GetName(), err)
		}
	}
	fmt.Printf("\nCreated ClusterIssuer pebble and Certificate shop/shop for shop.%[1]s, *.shop.%[1]s ...\n", zone)
	start := time.Now()
	var cert edgecertv1alpha1.Certificate
	for {
		if err := c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "shop"}, &cert); err != nil {
			return err
		}
		if meta.IsStatusConditionTrue(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition) {
			break
		}
		if time.Since(start) > time.Minute {
			return fmt.Errorf("certificate not Ready after a minute: %+v", cert.Status.Conditions)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	var secret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "shop-tls"}, &secret); err != nil {
		return err
	}
	kp, err := pki.ParseKeyPair(secret.Data["tls.crt"], secret.Data["tls.key"])
	if err != nil {
		return err
	}
	fmt.Printf(`Certificate shop/shop is Ready after %s (DNS-01 through BIND, issued by Pebble):
  Secret shop/shop-tls (%s): hosts %s, issuer %q, valid until %s, renewal at %s
  kubectl get ecert -A; kubectl get secret -n shop shop-tls
`, time.Since(start).Round(time.Millisecond), secret.Type, strings.Join(kp.Leaf.DNSNames, ", "), kp.Leaf.Issuer.CommonName,
		kp.Leaf.NotAfter.UTC().Format(time.RFC3339), cert.Status.RenewalTime.UTC().Format(time.RFC3339))
	return nil
}
