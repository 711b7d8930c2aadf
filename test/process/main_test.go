// Package process tests `edgecert controller` as the process it is in a
// cluster: started, killed with SIGKILL at random moments, run as two
// replicas with leader election, and starved by a silent CA, against the
// real test bed. What must not happen is counted where it would show:
// orders at Pebble, writes in the API server's audit log, records in BIND.
package process

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
)

// controllerNamespace is edgecert's own namespace: leader Lease and the
// ClusterIssuers' Secrets.
const controllerNamespace = "edgecert-system"

var bed *testenv.Bed

// pebbleHTTPPort is the port Pebble connects to for HTTP-01: a free one,
// so that a test decides which replica's listener is there.
var pebbleHTTPPort int

func TestMain(m *testing.M) {
	var err error
	if pebbleHTTPPort, err = testenv.FreePort(); err != nil {
		fmt.Fprintln(os.Stderr, "free port for Pebble's HTTP-01:", err)
		os.Exit(1)
	}
	testenv.Main(m, testenv.Options{
		ControlPlane: testenv.ControlPlaneOptions{Audit: true},
		Pebble:       testenv.PebbleOptions{HTTPPort: pebbleHTTPPort},
	}, &bed)
}

// shortLease makes a standby or restarted replica take over within about
// two seconds of the leader's death (the defaults take 15).
var shortLease = []string{
	"--leader-election-lease-duration", "2s",
	"--leader-election-renew-deadline", "1500ms",
	"--leader-election-retry-period", "200ms",
}

// startController runs `edgecert controller` against the bed with leader
// election on, in namespace ns (its Lease and ClusterIssuer Secrets).
func startController(t *testing.T, ns string, extra ...string) *testenv.Controller {
	t.Helper()
	args := append([]string{"--namespace", ns, "--leader-election-namespace", ns, "--zap-log-level", "info"}, shortLease...)
	c, err := testenv.StartController(bed.ControlPlane.Kubeconfig, append(args, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// waitLeader waits until c holds the leader lease.
func waitLeader(t *testing.T, c *testenv.Controller) {
	t.Helper()
	testenv.Eventually(t, "controller "+c.LogPath+" leads", func() (bool, string) {
		ok, err := c.LogContains(testenv.LeaseAcquired)
		if err != nil {
			return false, err.Error()
		}
		return ok, "not yet"
	})
}

// setUpNamespaces makes edgecert's namespace (a fresh one per test, so that
// tests do not share a Lease) and a namespace for Certificates.
func setUpNamespaces(t *testing.T) (controllerNS, certNS string) {
	t.Helper()
	ctx := context.Background()
	var err error
	if controllerNS, err = bed.ControlPlane.CreateNamespace(ctx, controllerNamespace); err != nil {
		t.Fatal(err)
	}
	if certNS, err = bed.ControlPlane.CreateNamespace(ctx, "certs"); err != nil {
		t.Fatal(err)
	}
	return controllerNS, certNS
}

// createClusterIssuer makes a ClusterIssuer for directory (Pebble, or a
// proxy in front of it) with solvers (DNS-01 through the test BIND when
// none), its Secrets in controllerNS, and waits until it is Ready.
func createClusterIssuer(t *testing.T, controllerNS, name, directory string, solvers ...edgecertv1alpha1.ACMESolver) {
	t.Helper()
	iss := bed.ClusterIssuer(name, solvers...)
	iss.Spec.ACME.Server = directory
	bed.CreateIssuer(t, iss, controllerNS)
}

// host is the name of the i-th host of a test in the bed's zone.
func host(prefix string, i int) string {
	return fmt.Sprintf("%s-%d.%s", prefix, i, strings.TrimSuffix(bed.BIND.Zones[0], "."))
}

// createCertificates makes n Certificates prefix-0..n-1 for one host each.
func createCertificates(t *testing.T, ns, issuer, prefix string, n int) {
	t.Helper()
	for i := range n {
		cert := &edgecertv1alpha1.Certificate{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i), Namespace: ns, Labels: map[string]string{"run": prefix}},
			Spec: edgecertv1alpha1.CertificateSpec{
				DNSNames:   []string{host(prefix, i)},
				SecretName: fmt.Sprintf("%s-%d-tls", prefix, i),
				IssuerRef:  edgecertv1alpha1.IssuerReference{Kind: edgecertv1alpha1.ClusterIssuerKind, Name: issuer},
			},
		}
		if err := bed.ControlPlane.Client.Create(context.Background(), cert); err != nil {
			t.Fatal(err)
		}
	}
}

// readyCount counts the Certificates of a run that are Ready.
func readyCount(t *testing.T, ns, prefix string) int {
	t.Helper()
	var list edgecertv1alpha1.CertificateList
	if err := bed.ControlPlane.Client.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels{"run": prefix}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range list.Items {
		if meta.IsStatusConditionTrue(c.Status.Conditions, edgecertv1alpha1.ReadyCondition) {
			n++
		}
	}
	return n
}

// checkIssued checks that each Certificate's Secret holds a certificate
// for its host that chains to Pebble's root, that its TXT record is gone
// from BIND, and that the Secret was written exactly once (audit log).
func checkIssued(t *testing.T, ns, prefix string, n int) {
	t.Helper()
	rootPEM, err := bed.Pebble.IssuanceRootPEM()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatal("Pebble's root does not parse")
	}
	var writes []testenv.AuditWrite
	testenv.Eventually(t, "audit log holds the Secret writes", func() (bool, string) {
		writes, err = bed.ControlPlane.AuditWrites()
		if err != nil {
			return false, err.Error()
		}
		got := testenv.CountWrites(writes, func(w testenv.AuditWrite) bool {
			return w.Resource == "secrets" && w.Namespace == ns && strings.HasPrefix(w.Name, prefix+"-")
		})
		return got >= n, fmt.Sprintf("%d Secret writes", got)
	})
	for i := range n {
		name := fmt.Sprintf("%s-%d-tls", prefix, i)
		var secret corev1.Secret
		if err := bed.ControlPlane.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &secret); err != nil {
			t.Errorf("Secret %s: %v", name, err)
			continue
		}
		kp, err := pki.ParseKeyPair(secret.Data["tls.crt"], secret.Data["tls.key"])
		if err != nil {
			t.Errorf("Secret %s: %v", name, err)
			continue
		}
		inter := x509.NewCertPool()
		for _, c := range kp.Intermediates {
			inter.AddCert(c)
		}
		if _, err := kp.Leaf.Verify(x509.VerifyOptions{DNSName: host(prefix, i), Roots: roots, Intermediates: inter}); err != nil {
			t.Errorf("Secret %s: the chain does not verify for %s against Pebble's root: %v", name, host(prefix, i), err)
		}
		if n := testenv.CountWrites(writes, func(w testenv.AuditWrite) bool {
			return w.Resource == "secrets" && w.Namespace == ns && w.Name == name && w.Code < 300
		}); n != 1 {
			t.Errorf("Secret %s written %d times, want once", name, n)
		}
		txt, err := bed.BIND.TXT("_acme-challenge." + host(prefix, i) + ".")
		if err != nil {
			t.Fatal(err)
		}
		if len(txt) != 0 {
			t.Errorf("TXT records left for %s: %v", host(prefix, i), txt)
		}
	}
}

// ordersSince is how many orders Pebble created since it had before.
func ordersSince(t *testing.T, before int) int {
	t.Helper()
	n, err := bed.Pebble.OrdersCreated()
	if err != nil {
		t.Fatal(err)
	}
	return n - before
}

func itoa(n int) string { return fmt.Sprint(n) }
