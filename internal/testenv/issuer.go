package testenv

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// The Secret the BIND solver reads the TSIG key from (TSIGSecret).
const (
	TSIGSecretName = "bind-tsig"
	TSIGSecretKey  = "secret"
)

// TSIGSecret is the Secret holding the test BIND's TSIG key, named as
// BINDSolver references it, in namespace: an Issuer's own, or edgecert's
// for a ClusterIssuer.
func (b *Bed) TSIGSecret(namespace string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: TSIGSecretName},
		Data:       map[string][]byte{TSIGSecretKey: []byte(b.BIND.Key.Secret)},
	}
}

// BINDSolver is a DNS-01 solver that publishes through the test BIND (RFC
// 2136 updates signed with its TSIG key, read from TSIGSecret) and checks
// propagation there, for the hosts of zones, or for every host when none is
// given.
func (b *Bed) BINDSolver(zones ...string) edgecertv1alpha1.ACMESolver {
	s := edgecertv1alpha1.ACMESolver{DNS01: &edgecertv1alpha1.DNS01Solver{
		Nameservers: []string{b.BIND.Addr},
		RFC2136: &edgecertv1alpha1.RFC2136Provider{
			Nameserver:    b.BIND.Addr,
			TSIGKeyName:   b.BIND.Key.Name,
			TSIGAlgorithm: "HMACSHA256",
			TSIGSecretRef: edgecertv1alpha1.SecretKeySelector{Name: TSIGSecretName, Key: TSIGSecretKey},
		},
	}}
	if len(zones) > 0 {
		s.Selector = &edgecertv1alpha1.SolverSelector{DNSZones: zones}
	}
	return s
}

// IssuerSpec is an ACME issuer for the bed's Pebble (its directory, and the
// CA that signed its listener) keeping its account key in Secret
// accountSecret, with solvers: BINDSolver() when none is given.
func (b *Bed) IssuerSpec(accountSecret string, solvers ...edgecertv1alpha1.ACMESolver) edgecertv1alpha1.IssuerSpec {
	if len(solvers) == 0 {
		solvers = []edgecertv1alpha1.ACMESolver{b.BINDSolver()}
	}
	return edgecertv1alpha1.IssuerSpec{ACME: edgecertv1alpha1.ACMEIssuer{
		Server:              b.Pebble.DirectoryURL,
		CABundle:            b.Pebble.ServerCAPEM,
		PrivateKeySecretRef: edgecertv1alpha1.LocalSecretReference{Name: accountSecret},
		Solvers:             solvers,
	}}
}

// Issuer is an Issuer name in namespace for the bed's Pebble with solvers
// (IssuerSpec), its account key in Secret "<name>-account". Change what a
// test needs (a profile, a proxy's directory) before creating it.
func (b *Bed) Issuer(namespace, name string, solvers ...edgecertv1alpha1.ACMESolver) *edgecertv1alpha1.Issuer {
	return &edgecertv1alpha1.Issuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       b.IssuerSpec(name+"-account", solvers...),
	}
}

// ClusterIssuer is Issuer's cluster-scoped twin; its Secrets live in
// edgecert's namespace.
func (b *Bed) ClusterIssuer(name string, solvers ...edgecertv1alpha1.ACMESolver) *edgecertv1alpha1.ClusterIssuer {
	return &edgecertv1alpha1.ClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       b.IssuerSpec(name+"-account", solvers...),
	}
}

// CreateIssuer creates the TSIG Secret where iss reads Secrets (its
// namespace, or clusterResourceNamespace for a ClusterIssuer; an existing
// one is kept) and iss, deletes iss when the test ends, and waits until a
// running controller has made it Ready. iss holds what was read back.
func (b *Bed) CreateIssuer(t testing.TB, iss edgecertv1alpha1.GenericIssuer, clusterResourceNamespace string) {
	t.Helper()
	ctx := context.Background()
	c := b.ControlPlane.Client
	tsig := b.TSIGSecret(edgecertv1alpha1.IssuerSecretNamespace(iss, clusterResourceNamespace))
	if err := c.Create(ctx, tsig); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create TSIG Secret: %v", err)
	}
	if err := c.Create(ctx, iss); err != nil {
		t.Fatalf("create %T %s: %v", iss, iss.GetName(), err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), iss) })
	Eventually(t, fmt.Sprintf("issuer %s Ready", client.ObjectKeyFromObject(iss)), func() (bool, string) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(iss), iss); err != nil {
			return false, err.Error()
		}
		return meta.IsStatusConditionTrue(iss.GetStatus().Conditions, edgecertv1alpha1.ReadyCondition), fmt.Sprint(iss.GetStatus().Conditions)
	})
}
