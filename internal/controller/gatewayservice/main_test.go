package gatewayservice_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/controller/gatewayservice"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/manager"
	"github.com/edgecert/edgecert/internal/testenv"
	"github.com/edgecert/edgecert/internal/testenv/managertest"
)

var bed *testenv.Bed

const controllerNamespace = managertest.ControllerNamespace

func TestMain(m *testing.M) {
	managertest.Main(m, managertest.Options{Configure: func(o *manager.Options) {
		// Tenant Secrets are not watched; a short period keeps the tests
		// that create or fix one quick.
		o.GatewayService.SecretResyncPeriod = time.Second
	}}, &bed)
}

// cluster is one test's platform: a gateway namespace with a Gateway that
// holds a hand-written server, and a GatewayPolicy claiming a domain for
// some tenant namespaces.
type cluster struct {
	gwNamespace string
	gwName      string
	policy      *edgecertv1alpha1.GatewayPolicy
	handWritten map[string]any
}

func c() client.Client { return bed.ControlPlane.Client }

func newNamespace(t testing.TB, prefix string, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-", Labels: labels}}
	if err := c().Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// newCluster makes the gateway namespace, a Gateway with one hand-written
// server (unless withoutGateway), and a policy whose claims give each
// tenant namespace "<namespace>.example.test". Every version of the
// namespace's Gateways is validated by Istio at the end of the test.
func newCluster(t testing.TB, withoutGateway bool, selector map[string]string, tenants ...string) *cluster {
	t.Helper()
	ctx := context.Background()
	cl := &cluster{gwNamespace: newNamespace(t, "istio", nil), gwName: "public"}
	// Istio is the judge of every Gateway in the namespace: each version
	// the controller (or the test) writes is validated by istioctl when the
	// test ends. Benchmarks validate only the end state, so as not to load
	// the API server they measure.
	if _, bench := t.(*testing.B); bench {
		bed.ControlPlane.ValidateIstioObjectsAtEnd(t, cl.gwNamespace)
	} else {
		bed.ControlPlane.ValidateIstioObjects(t, cl.gwNamespace)
	}
	cl.handWritten = map[string]any{
		"port":  map[string]any{"number": int64(443), "protocol": "HTTPS", "name": "https-platform"},
		"hosts": []any{"*/status.platform.test"},
		"tls":   map[string]any{"mode": "SIMPLE", "credentialName": "platform-tls", "cipherSuites": []any{"ECDHE-ECDSA-AES128-GCM-SHA256"}},
	}
	if !withoutGateway {
		gw := newGatewayObject(cl.gwNamespace, cl.gwName)
		gw.Object["spec"] = map[string]any{"selector": map[string]any{"istio": cl.gwNamespace}, "servers": []any{cl.handWritten}}
		if err := c().Create(ctx, gw); err != nil {
			t.Fatal(err)
		}
	}
	var claims []edgecertv1alpha1.HostClaim
	for _, ns := range tenants {
		claims = append(claims, edgecertv1alpha1.HostClaim{Namespaces: []string{ns}, Domains: []string{ns + ".example.test"}})
	}
	cl.policy = &edgecertv1alpha1.GatewayPolicy{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "policy-"},
		Spec: edgecertv1alpha1.GatewayPolicySpec{
			Gateways: []edgecertv1alpha1.PolicyGateway{{TrafficType: "ingress", Namespace: cl.gwNamespace, Name: cl.gwName, Selector: selector}},
			Claims:   claims,
		},
	}
	if err := c().Create(ctx, cl.policy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c().Delete(context.Background(), cl.policy) })
	return cl
}

func newGatewayObject(ns, name string) *unstructured.Unstructured {
	return kube.NewUnstructured(kube.IstioGatewayGVK, ns, name)
}

func (cl *cluster) gateway(t testing.TB) *unstructured.Unstructured {
	t.Helper()
	gw := newGatewayObject(cl.gwNamespace, cl.gwName)
	if err := c().Get(context.Background(), types.NamespacedName{Namespace: cl.gwNamespace, Name: cl.gwName}, gw); err != nil {
		t.Fatal(err)
	}
	return gw
}

// servers returns the Gateway's servers by port name, and the owners
// annotation.
func (cl *cluster) servers(t testing.TB) (map[string]map[string]any, gateway.Owners) {
	t.Helper()
	gw := cl.gateway(t)
	raw, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
	out := map[string]map[string]any{}
	for _, e := range raw {
		if _, dup := out[gateway.RawPortName(e)]; dup {
			t.Fatalf("duplicate port name %q in the Gateway", gateway.RawPortName(e))
		}
		out[gateway.RawPortName(e)] = e.(map[string]any)
	}
	owners, err := gateway.ParseOwners(gw.GetAnnotations()[gateway.OwnersAnnotation])
	if err != nil {
		t.Fatal(err)
	}
	return out, owners
}

// checkHandWritten fails unless the hand-written server is in the Gateway
// exactly as it was written.
func (cl *cluster) checkHandWritten(t testing.TB) {
	t.Helper()
	servers, owners := cl.servers(t)
	if diff := cmpDiff(cl.handWritten, servers["https-platform"]); diff != "" {
		t.Errorf("hand-written server changed (-want +got):\n%s", diff)
	}
	if _, ok := owners["https-platform"]; ok {
		t.Error("edgecert claims the hand-written server")
	}
}

func newGS(t testing.TB, ns, name string, spec edgecertv1alpha1.GatewayServiceSpec) *edgecertv1alpha1.GatewayService {
	t.Helper()
	gs := &edgecertv1alpha1.GatewayService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	if err := c().Create(context.Background(), gs); err != nil {
		t.Fatal(err)
	}
	return gs
}

func httpSpec(port int32, hosts ...string) edgecertv1alpha1.GatewayServiceSpec {
	return edgecertv1alpha1.GatewayServiceSpec{Hosts: hosts, Port: port, Protocol: "HTTP"}
}

func secretRefSpec(secret string, hosts ...string) edgecertv1alpha1.GatewayServiceSpec {
	return edgecertv1alpha1.GatewayServiceSpec{Hosts: hosts, Port: 443, Protocol: "HTTPS",
		TLS: &edgecertv1alpha1.GatewayServiceTLS{Mode: "SIMPLE", SecretRef: &edgecertv1alpha1.LocalSecretReference{Name: secret}}}
}

// waitReady waits for Ready to have status and reason, and returns the
// object.
func waitReady(t testing.TB, gs *edgecertv1alpha1.GatewayService, status metav1.ConditionStatus, reason string) *edgecertv1alpha1.GatewayService {
	t.Helper()
	got := &edgecertv1alpha1.GatewayService{}
	testenv.Eventually(t, fmt.Sprintf("GatewayService %s/%s Ready=%s %s", gs.Namespace, gs.Name, status, reason), func() (bool, string) {
		if err := c().Get(context.Background(), client.ObjectKeyFromObject(gs), got); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		return cond != nil && cond.Status == status && cond.Reason == reason && cond.ObservedGeneration == got.Generation, fmt.Sprintf("%+v", got.Status)
	})
	return got
}

func readyMessage(gs *edgecertv1alpha1.GatewayService) string {
	if cond := meta.FindStatusCondition(gs.Status.Conditions, edgecertv1alpha1.ReadyCondition); cond != nil {
		return cond.Message
	}
	return ""
}

func deleteAndWait(t testing.TB, obj client.Object) {
	t.Helper()
	if err := c().Delete(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "deleted "+obj.GetName(), func() (bool, string) {
		err := c().Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	if _, ok := obj.(*edgecertv1alpha1.GatewayService); ok {
		waitLeftNothing(t, obj.GetNamespace(), obj.GetName())
	}
}

// waitLeftNothing waits until no Gateway lists a server of the
// GatewayService ns/name among its owners and no Secret is labelled as its
// copy.
func waitLeftNothing(t testing.TB, ns, name string) {
	t.Helper()
	key := ns + "/" + name
	testenv.Eventually(t, "the server and copy of "+key+" gone", func() (bool, string) {
		var gateways unstructured.UnstructuredList
		gateways.SetGroupVersionKind(kube.IstioGatewayGVK.GroupVersion().WithKind("GatewayList"))
		if err := c().List(context.Background(), &gateways); err != nil {
			return false, err.Error()
		}
		for _, gw := range gateways.Items {
			owners, err := gateway.ParseOwners(gw.GetAnnotations()[gateway.OwnersAnnotation])
			if err != nil {
				return false, err.Error()
			}
			if names := owners.PortNamesOf(key); len(names) > 0 {
				return false, fmt.Sprintf("Gateway %s/%s still has %v", gw.GetNamespace(), gw.GetName(), names)
			}
		}
		var copies corev1.SecretList
		if err := c().List(context.Background(), &copies, client.MatchingLabels{
			gatewayservice.GatewayServiceNamespaceLabel: ns, gatewayservice.GatewayServiceNameLabel: name}); err != nil {
			return false, err.Error()
		}
		if len(copies.Items) > 0 {
			return false, fmt.Sprintf("copy %s/%s still there", copies.Items[0].Namespace, copies.Items[0].Name)
		}
		return true, ""
	})
}

// tlsSecret makes a kubernetes.io/tls Secret with a self-signed
// certificate for hosts; withCA adds a ca.crt.
func tlsSecret(t testing.TB, ns, name string, withCA bool, hosts ...string) *corev1.Secret {
	t.Helper()
	certPEM, keyPEM := testenv.SelfSigned(time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), hosts...)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM}}
	if withCA {
		s.Data["ca.crt"] = certPEM
	}
	return s
}
