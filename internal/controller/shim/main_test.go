package shim_test

import (
	"context"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/manager"
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

// waitGone waits until obj no longer exists.
func waitGone(t *testing.T, obj client.Object) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("%s/%s deleted", obj.GetNamespace(), obj.GetName()), func() (bool, string) {
		err := c().Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}
