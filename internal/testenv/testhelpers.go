package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// Namespace makes a fresh namespace named after prefix, or fails t.
func (b *Bed) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	ns, err := b.ControlPlane.CreateNamespace(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// Host is label in the bed's first zone.
func (b *Bed) Host(label string) string {
	return label + "." + strings.TrimSuffix(b.BIND.Zones[0], ".")
}

// Orders is how many orders Pebble has created so far, or fails t.
func (b *Bed) Orders(t testing.TB) int {
	t.Helper()
	n, err := b.Pebble.OrdersCreated()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// StartOneController runs `edgecert controller` against the bed as the
// only replica (leader election off), with edgecert's namespace ns (its
// ClusterIssuers' Secrets) and extra flags, stopped when t ends.
func (b *Bed) StartOneController(t testing.TB, ns string, extra ...string) *Controller {
	t.Helper()
	args := append([]string{"--namespace", ns, "--leader-elect=false", "--zap-log-level", "info"}, extra...)
	c, err := StartController(b.ControlPlane.Kubeconfig, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// UseOwnBed starts a bed with opts for one benchmark (managertest starts
// none for benchmarks) and points *bed, which the package's helpers read,
// at it until tb ends; then the shared one comes back. Called first, its
// cleanup runs after the helpers' own.
func UseOwnBed(tb testing.TB, opts Options, bed **Bed) {
	tb.Helper()
	own, err := Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	shared := *bed
	tb.Cleanup(func() { own.Stop(); *bed = shared })
	*bed = own
}

// CheckIssuedByPebble fails t unless Secret ns/name holds a key pair whose
// certificate covers hosts and chains, through the Secret's
// intermediates, to this bed's Pebble issuance root. It returns the
// certificate, for more checks.
func (b *Bed) CheckIssuedByPebble(t testing.TB, ns, name string, hosts ...string) *x509.Certificate {
	t.Helper()
	var secret corev1.Secret
	if err := b.ControlPlane.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &secret); err != nil {
		t.Fatal(err)
	}
	// crypto/tls, not internal/pki: pki's own tests use testenv.
	pair, err := tls.X509KeyPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		t.Fatalf("Secret %s/%s: %v", ns, name, err)
	}
	chain := make([]*x509.Certificate, 0, len(pair.Certificate))
	for _, der := range pair.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("Secret %s/%s: %v", ns, name, err)
		}
		chain = append(chain, c)
	}
	leaf := chain[0]
	var missing []string
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		t.Errorf("Secret %s/%s: certificate does not cover %v (it has %v)", ns, name, missing, leaf.DNSNames)
	}
	rootPEM, err := b.Pebble.IssuanceRootPEM()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatal("no Pebble root")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: hosts[0]}); err != nil {
		t.Errorf("Secret %s/%s: certificate does not chain to Pebble's root: %v", ns, name, err)
	}
	return leaf
}

// CertificateColumn is what `kubectl get certificate -o wide` prints in
// column for Certificate ns/name: the API server's table view.
func (cp *ControlPlane) CertificateColumn(t testing.TB, ns, name, column string) string {
	t.Helper()
	hc, err := rest.HTTPClientFor(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(cp.Config.Host, "/")+"/apis/edgecert.dev/v1alpha1/namespaces/"+ns+"/certificates/"+name+"?includeObject=None", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		t.Fatalf("%s %s: %v: %s", req.URL, resp.Status, err, body)
	}
	for i, c := range table.ColumnDefinitions {
		if c.Name == column && len(table.Rows) == 1 {
			return fmt.Sprint(table.Rows[0].Cells[i])
		}
	}
	t.Fatalf("no column %q in %+v", column, table.ColumnDefinitions)
	return ""
}
