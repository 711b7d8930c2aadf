package cli_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/cli"
	"github.com/edgecert/edgecert/internal/manager"
	"github.com/edgecert/edgecert/internal/testenv"
	"github.com/edgecert/edgecert/internal/testenv/managertest"
)

var bed *testenv.Bed

func TestMain(m *testing.M) {
	// The waiting-for-DNS test's Issuer points at the Route 53 test
	// double, an endpoint override the platform must allow for Issuers.
	managertest.Main(m, managertest.Options{Configure: func(o *manager.Options) { o.IssuerAmbientCredentials = true }}, &bed)
}

func c() client.Client { return bed.ControlPlane.Client }

// connect reaches the test bed the way the commands do: through its
// kubeconfig file, with -n ns.
func connect(t *testing.T, ns string) client.Client {
	t.Helper()
	k := cli.Kube{Kubeconfig: bed.ControlPlane.Kubeconfig, Namespace: ns}
	cl, gotNS, err := k.Connect()
	if err != nil {
		t.Fatal(err)
	}
	if gotNS != ns {
		t.Fatalf("namespace from -n %s = %q", ns, gotNS)
	}
	return cl
}

func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns, err := bed.ControlPlane.CreateNamespace(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// newIssuer creates Issuer "pebble" in ns, DNS-01 on the test BIND, with
// the right TSIG key or, when tsigSecret is given, that one.
func newIssuer(t *testing.T, ns string, solvers ...edgecertv1alpha1.ACMESolver) *edgecertv1alpha1.Issuer {
	t.Helper()
	iss := bed.Issuer(ns, "pebble", solvers...)
	iss.Spec.ACME.Profile = "default"
	bed.CreateIssuer(t, iss, managertest.ControllerNamespace)
	return iss
}

// wrongTSIGSecret puts a TSIG Secret with a key BIND does not know in ns,
// where newIssuer then keeps it.
func wrongTSIGSecret(t *testing.T, ns string) {
	t.Helper()
	s := bed.TSIGSecret(ns)
	s.Data[testenv.TSIGSecretKey] = []byte("d3JvbmcgdHNpZyBrZXkgZm9yIHRoZSB0ZXN0IGJpbmQ=")
	if err := c().Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func newCertificate(t *testing.T, ns, name, issuer string, labels map[string]string, hosts ...string) *edgecertv1alpha1.Certificate {
	t.Helper()
	cert := &edgecertv1alpha1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: edgecertv1alpha1.CertificateSpec{DNSNames: hosts, SecretName: name + "-tls",
			IssuerRef: edgecertv1alpha1.IssuerReference{Name: issuer}},
	}
	if err := c().Create(context.Background(), cert); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c().Delete(context.Background(), cert) })
	return cert
}

// waitCondition waits until the Certificate's condition typ has status
// and reason, and returns the Certificate.
func waitCondition(t *testing.T, cert *edgecertv1alpha1.Certificate, typ string, status metav1.ConditionStatus, reason string) *edgecertv1alpha1.Certificate {
	t.Helper()
	got := &edgecertv1alpha1.Certificate{}
	testenv.Eventually(t, fmt.Sprintf("certificate %s %s=%s %s", cert.Name, typ, status, reason), func() (bool, string) {
		if err := c().Get(context.Background(), client.ObjectKeyFromObject(cert), got); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, typ)
		return cond != nil && cond.Status == status && cond.Reason == reason, fmt.Sprintf("%+v", got.Status.Conditions)
	})
	return got
}

// waitRevision waits until the Certificate is Ready at revision.
func waitRevision(t *testing.T, cert *edgecertv1alpha1.Certificate, revision int) *edgecertv1alpha1.Certificate {
	t.Helper()
	got := &edgecertv1alpha1.Certificate{}
	testenv.Eventually(t, fmt.Sprintf("certificate %s Ready at revision %d", cert.Name, revision), func() (bool, string) {
		if err := c().Get(context.Background(), client.ObjectKeyFromObject(cert), got); err != nil {
			return false, err.Error()
		}
		return got.Status.Revision == revision && meta.IsStatusConditionTrue(got.Status.Conditions, edgecertv1alpha1.ReadyCondition),
			fmt.Sprintf("revision %d, %+v", got.Status.Revision, got.Status.Conditions)
	})
	return got
}

// secretLeaf reads the Secret's leaf with the standard library alone.
func secretLeaf(t *testing.T, ns, name string) (*x509.Certificate, *corev1.Secret) {
	t.Helper()
	var s corev1.Secret
	if err := c().Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(s.Data["tls.crt"])
	if block == nil {
		t.Fatalf("Secret %s/%s: tls.crt is not PEM", ns, name)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return leaf, &s
}

// cells splits a printed table into rows of cells (columns are separated
// by two spaces or more).
func cells(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		rows = append(rows, regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1))
	}
	return rows
}

// printed runs render with a Printer writing table (or format) output to a
// buffer, no colours, the clock at now.
func printed(t *testing.T, format string, render func(p *cli.Printer) error) string {
	t.Helper()
	var buf bytes.Buffer
	p, err := cli.NewPrinter(&buf, format)
	if err != nil {
		t.Fatal(err)
	}
	if p.Color {
		t.Fatal("colours on for a buffer")
	}
	if err := render(p); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// metricValue is the value of the series of metric name with exactly
// labels in the registry the in-process manager serves, and whether it
// exists.
func metricValue(t *testing.T, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			switch {
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}
