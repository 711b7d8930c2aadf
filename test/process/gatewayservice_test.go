package process

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/testenv"
)

// A GatewayService deleted while edgecert is stopped goes at once (edgecert
// puts no finalizer on it), and the controller, once started again,
// removes its server from the shared Gateway and its Secret copy, and
// nothing else: the platform's server and the other tenant's stay as they
// were.
func TestGatewayServiceDeletedWhileStoppedLeavesNothingBehind(t *testing.T) {
	ctx := context.Background()
	c := bed.ControlPlane.Client
	controllerNS, tenant := setUpNamespaces(t)
	gwNS, err := bed.ControlPlane.CreateNamespace(ctx, "istio")
	if err != nil {
		t.Fatal(err)
	}
	platform := map[string]any{
		"port":  map[string]any{"number": int64(443), "protocol": "HTTPS", "name": "https-platform"},
		"hosts": []any{"*/status.platform.test"},
		"tls":   map[string]any{"mode": "SIMPLE", "credentialName": "platform-tls"},
	}
	gw := kube.NewUnstructured(kube.IstioGatewayGVK, gwNS, "public")
	if err := unstructured.SetNestedField(gw.Object, map[string]any{"istio": "ingressgateway"}, "spec", "selector"); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedSlice(gw.Object, []any{platform}, "spec", "servers"); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	policy := &edgecertv1alpha1.GatewayPolicy{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "policy-"},
		Spec: edgecertv1alpha1.GatewayPolicySpec{
			Gateways: []edgecertv1alpha1.PolicyGateway{{TrafficType: "ingress", Namespace: gwNS, Name: "public"}},
			Claims:   []edgecertv1alpha1.HostClaim{{Namespaces: []string{tenant}, Domains: []string{tenant + ".example.test"}}},
		},
	}
	if err := c.Create(ctx, policy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), policy) })
	certPEM, keyPEM := testenv.SelfSigned(time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), "*."+tenant+".example.test")
	if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "tls"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM}}); err != nil {
		t.Fatal(err)
	}
	spec := func(name string) edgecertv1alpha1.GatewayServiceSpec {
		return edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{name + "." + tenant + ".example.test"}, Port: 443, Protocol: "HTTPS",
			TLS: &edgecertv1alpha1.GatewayServiceTLS{SecretRef: &edgecertv1alpha1.LocalSecretReference{Name: "tls"}}}
	}
	ctl := startController(t, controllerNS)
	waitLeader(t, ctl)
	for _, name := range []string{"stays", "goes"} {
		if err := c.Create(ctx, &edgecertv1alpha1.GatewayService{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: name}, Spec: spec(name)}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, "both GatewayServices Ready", func() (bool, string) {
		var list edgecertv1alpha1.GatewayServiceList
		if err := c.List(ctx, &list, client.InNamespace(tenant)); err != nil {
			return false, err.Error()
		}
		ready := 0
		for _, gs := range list.Items {
			if meta.IsStatusConditionTrue(gs.Status.Conditions, edgecertv1alpha1.ReadyCondition) {
				ready++
			}
		}
		return ready == 2, fmt.Sprintf("%d Ready", ready)
	})
	ctl.Stop()

	goes := &edgecertv1alpha1.GatewayService{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "goes"}}
	if err := c.Delete(ctx, goes); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(goes), goes); !apierrors.IsNotFound(err) {
		t.Fatalf("with edgecert stopped, the deleted GatewayService: err = %v, want NotFound", err)
	}
	copyKey := client.ObjectKey{Namespace: gwNS, Name: tenant + ".goes"}
	if err := c.Get(ctx, copyKey, &corev1.Secret{}); err != nil {
		t.Fatalf("the copy before edgecert starts again: %v", err)
	}

	waitLeader(t, startController(t, controllerNS))
	wantServers := []any{platform, map[string]any{
		"port":  map[string]any{"number": int64(443), "protocol": "HTTPS", "name": "https-stays-" + tenant},
		"hosts": []any{tenant + "/stays." + tenant + ".example.test"},
		"tls":   map[string]any{"mode": "SIMPLE", "credentialName": tenant + ".stays"},
	}}
	wantOwners := gateway.Owners{"https-stays-" + tenant: tenant + "/stays"}
	testenv.Eventually(t, "the deleted GatewayService's server and copy removed", func() (bool, string) {
		gw := kube.NewUnstructured(kube.IstioGatewayGVK, gwNS, "public")
		if err := c.Get(ctx, client.ObjectKeyFromObject(gw), gw); err != nil {
			return false, err.Error()
		}
		servers, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
		owners, err := gateway.ParseOwners(gw.GetAnnotations()[gateway.OwnersAnnotation])
		if err != nil {
			return false, err.Error()
		}
		copyErr := c.Get(ctx, copyKey, &corev1.Secret{})
		return cmp.Equal(servers, wantServers) && cmp.Equal(owners, wantOwners) && apierrors.IsNotFound(copyErr),
			fmt.Sprintf("servers %s\nowners %v\ncopy: %v", cmp.Diff(wantServers, servers), owners, copyErr)
	})
	if err := c.Get(ctx, client.ObjectKey{Namespace: gwNS, Name: tenant + ".stays"}, &corev1.Secret{}); err != nil {
		t.Errorf("the other tenant's copy: %v", err)
	}
}
