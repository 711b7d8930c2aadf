package shim_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/manager"
	"github.com/edgecert/edgecert/internal/pki"
	"github.com/edgecert/edgecert/internal/testenv"
	"github.com/edgecert/edgecert/internal/testenv/managertest"
)

var bed *testenv.Bed

const controllerNamespace = managertest.ControllerNamespace

// TestMain starts the test bed, with BIND serving example.test (HTTP-01
// names, a wildcard to 127.0.0.1) and example.com (seed 003's DNS-01
// zone), and the whole manager with the cert-manager compatibility on.
func TestMain(m *testing.M) {
	managertest.Main(m, managertest.Options{
		Bed:       testenv.Options{BIND: testenv.BINDOptions{Zones: []string{"example.test", "example.com"}}},
		Configure: func(o *manager.Options) { o.IngressShimCertManagerAnnotations = true },
	}, &bed)
}

func c() client.Client { return bed.ControlPlane.Client }

func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns, err := bed.ControlPlane.CreateNamespace(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// newWorkloadNamespace makes a namespace for gateway pods and configures it
// as a workload namespace the way a platform does, with a GatewayPolicy
// naming a Gateway there (no claims: every host stays open). Only then may
// the Istio Gateway shim put Certificates there for other namespaces.
func newWorkloadNamespace(t *testing.T) string {
	t.Helper()
	ns := newNamespace(t, "istio-ingress")
	p := &edgecertv1alpha1.GatewayPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "workloads-" + ns},
		Spec: edgecertv1alpha1.GatewayPolicySpec{Gateways: []edgecertv1alpha1.PolicyGateway{
			{TrafficType: edgecertv1alpha1.TrafficTypeIngress, Namespace: ns, Name: "ingressgateway"},
		}},
	}
	if err := bed.ControlPlane.Client.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bed.ControlPlane.Client.Delete(context.Background(), p) })
	return ns
}

// newClusterIssuer creates a ClusterIssuer for the test Pebble and waits
// for it: HTTP-01 through edgecert's listener by default, DNS-01 through
// the test BIND for dnsZones.
func newClusterIssuer(t *testing.T, name string, dnsZones ...string) {
	t.Helper()
	solver := edgecertv1alpha1.ACMESolver{HTTP01: &edgecertv1alpha1.HTTP01Solver{}}
	if len(dnsZones) > 0 {
		solver = bed.BINDSolver(dnsZones...)
	}
	bed.CreateIssuer(t, bed.ClusterIssuer(name, solver), controllerNamespace)
}

// waitIssued waits for the Certificate to exist and be Ready (Issued) for
// its current spec, and returns it.
func waitIssued(t *testing.T, ns, name string) *edgecertv1alpha1.Certificate {
	t.Helper()
	cert := &edgecertv1alpha1.Certificate{}
	testenv.Eventually(t, fmt.Sprintf("Certificate %s/%s issued", ns, name), func() (bool, string) {
		if err := c().Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, cert); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		return cond != nil && cond.Status == metav1.ConditionTrue && cond.Reason == edgecertv1alpha1.ReasonIssued && cond.ObservedGeneration == cert.Generation,
			fmt.Sprint(cert.Status.Conditions)
	})
	return cert
}

// checkIssuedByPebble fails unless Secret ns/name holds a key pair whose
// certificate covers hosts and chains to this Pebble's issuance root.
func checkIssuedByPebble(t *testing.T, ns, name string, hosts ...string) {
	t.Helper()
	var secret corev1.Secret
	if err := c().Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &secret); err != nil {
		t.Fatal(err)
	}
	kp, err := pki.ParseKeyPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		t.Fatalf("Secret %s/%s: %v", ns, name, err)
	}
	if missing := pki.Uncovered(kp.Leaf, hosts); len(missing) > 0 {
		t.Errorf("Secret %s/%s: certificate does not cover %v (it has %v)", ns, name, missing, kp.Leaf.DNSNames)
	}
	rootPEM, err := bed.Pebble.IssuanceRootPEM()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatal("no Pebble root")
	}
	inter := x509.NewCertPool()
	for _, c := range kp.Intermediates {
		inter.AddCert(c)
	}
	if _, err := kp.Leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: hosts[0]}); err != nil {
		t.Errorf("Secret %s/%s: certificate does not chain to Pebble's root: %v", ns, name, err)
	}
}

// waitGone waits until obj no longer exists.
func waitGone(t *testing.T, obj client.Object) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("%s/%s deleted", obj.GetNamespace(), obj.GetName()), func() (bool, string) {
		err := c().Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}

// printedColumn is what "kubectl get certificate -o wide" prints in
// column for Certificate ns/name: the API server's table view.
func printedColumn(t *testing.T, ns, name, column string) string {
	t.Helper()
	hc, err := rest.HTTPClientFor(bed.ControlPlane.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(bed.ControlPlane.Config.Host, "/")+"/apis/edgecert.dev/v1alpha1/namespaces/"+ns+"/certificates/"+name+"?includeObject=None", nil)
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
