// Package xlistenerset_test runs edgecert's manager against an API server
// with Gateway API v1.4.1's experimental-channel CRDs, where ListenerSet is
// still gateway.networking.x-k8s.io/v1alpha1 XListenerSet (and no
// gateway.networking.k8s.io ListenerSet is served).
package xlistenerset_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	shimctrl "github.com/edgecert/edgecert/internal/controller/shim"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/testenv"
	"github.com/edgecert/edgecert/internal/testenv/managertest"
)

var bed *testenv.Bed

// TestMain starts the test bed with the experimental Gateway API CRDs and
// BIND serving example.com (DNS-01) and the bare zone dns.test (DNSZone),
// and the whole manager.
func TestMain(m *testing.M) {
	managertest.Main(m, managertest.Options{Bed: testenv.Options{
		BIND:         testenv.BINDOptions{Zones: []string{"example.com"}, BareZones: []string{"dns.test"}},
		ControlPlane: testenv.ControlPlaneOptions{GatewayAPIExperimental: true},
	}}, &bed)
}

func c() client.Client { return bed.ControlPlane.Client }

func ptr[T any](v T) *T { return &v }

// The API server serves XListenerSet and not ListenerSet: the shim is
// started for the kind that is there.
func TestServedXListenerSetNotListenerSet(t *testing.T) {
	mapper := bed.ControlPlane.RESTMapper(t)
	for gvk, want := range map[schema.GroupVersionKind]bool{
		{Group: "gateway.networking.x-k8s.io", Version: "v1alpha1", Kind: "XListenerSet"}: true,
		{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "ListenerSet"}:          false,
		{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"}:              true,
	} {
		got, err := shimctrl.Served(mapper, gvk)
		if err != nil || got != want {
			t.Errorf("Served(%s) = %v, %v; want %v", gvk, got, err, want)
		}
	}
}

// TestXListenerSetHostnameListenerIsCertified: a tenant's XListenerSet on
// a shared Gateway that admits it, with an HTTPS listener with a hostname
// and a certificateRef, gets its Certificate in its namespace, from the
// Gateway's ClusterIssuer, issued by Pebble over DNS-01 through BIND; the
// Certificate's Source column and its owner name the XListenerSet. Its
// catch-all listener gets a Certificate for the route that names the
// XListenerSet (group gateway.networking.x-k8s.io), not for one that names
// a ListenerSet of the same name.
func TestXListenerSetHostnameListenerIsCertified(t *testing.T) {
	ctx := context.Background()
	bed.CreateIssuer(t, bed.ClusterIssuer("pebble-xlistenerset", bed.BINDSolver("example.com")), managertest.ControllerNamespace)
	edge, err := bed.ControlPlane.CreateNamespace(ctx, "xls-edge")
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := bed.ControlPlane.CreateNamespace(ctx, "xls-tenant")
	if err != nil {
		t.Fatal(err)
	}
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: edge, Name: "shared", Annotations: map[string]string{ingress.ClusterIssuerAnnotation: "pebble-xlistenerset"}},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: "istio",
			Listeners:        []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}},
			AllowedListeners: &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{From: ptr(gatewayv1.NamespacesFromAll)}},
		},
	}
	if err := c().Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	host := "shop." + tenant + ".example.com"
	// As a user writes it for the v1.4 CRD.
	xls := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.x-k8s.io/v1alpha1",
		"kind":       "XListenerSet",
		"metadata":   map[string]any{"namespace": tenant, "name": "tenant"},
		"spec": map[string]any{
			"parentRef": map[string]any{"name": "shared", "namespace": edge, "kind": "Gateway", "group": "gateway.networking.k8s.io"},
			"listeners": []any{
				map[string]any{
					"name": "shop", "hostname": host, "port": int64(443), "protocol": "HTTPS",
					"tls": map[string]any{"mode": "Terminate", "certificateRefs": []any{map[string]any{"name": "shop-tls"}}},
				},
				map[string]any{
					"name": "apps", "port": int64(443), "protocol": "HTTPS",
					"tls": map[string]any{"mode": "Terminate", "certificateRefs": []any{map[string]any{"name": "apps-tls"}}},
				},
			},
		},
	}}
	// Before the XListenerSet, so that its first pass sees both routes.
	// A route naming the XListenerSet by its group and kind, for its
	// catch-all listener; one naming it as a ListenerSet does not attach.
	routeHost := "www." + tenant + ".example.com"
	for _, r := range []struct{ name, group, kind, host string }{
		{"www", "gateway.networking.x-k8s.io", "XListenerSet", routeHost},
		{"wrong-kind", "gateway.networking.k8s.io", "ListenerSet", "wrong." + tenant + ".example.com"},
	} {
		route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: r.name}}
		route.Spec.ParentRefs = []gatewayv1.ParentReference{{Group: ptr(gatewayv1.Group(r.group)), Kind: ptr(gatewayv1.Kind(r.kind)), Name: "tenant"}}
		route.Spec.Hostnames = []gatewayv1.Hostname{gatewayv1.Hostname(r.host)}
		if err := c().Create(ctx, route); err != nil {
			t.Fatal(err)
		}
	}

	if err := c().Create(ctx, xls); err != nil {
		t.Fatal(err)
	}

	cert := &edgecertv1alpha1.Certificate{}
	testenv.Eventually(t, "Certificate "+tenant+"/shop-tls issued", func() (bool, string) {
		if err := c().Get(ctx, types.NamespacedName{Namespace: tenant, Name: "shop-tls"}, cert); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(cert.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		return cond != nil && cond.Status == metav1.ConditionTrue && cond.Reason == edgecertv1alpha1.ReasonIssued && cond.ObservedGeneration == cert.Generation,
			fmt.Sprint(cert.Status.Conditions)
	})
	if diff := cmp.Diff([]string{host}, cert.Spec.DNSNames); diff != "" {
		t.Errorf("dnsNames (-want +got):\n%s", diff)
	}
	if cert.Spec.IssuerRef != (edgecertv1alpha1.IssuerReference{Kind: "ClusterIssuer", Name: "pebble-xlistenerset"}) {
		t.Errorf("issuerRef = %+v, want ClusterIssuer pebble-xlistenerset", cert.Spec.IssuerRef)
	}
	if got, want := bed.ControlPlane.CertificateColumn(t, tenant, "shop-tls", "Source"), "XListenerSet "+tenant+"/tenant"; got != want {
		t.Errorf("Source column = %q, want %q", got, want)
	}
	if owner := metav1.GetControllerOf(cert); owner == nil || owner.Kind != "XListenerSet" || owner.APIVersion != "gateway.networking.x-k8s.io/v1alpha1" || owner.UID != xls.GetUID() {
		t.Errorf("Certificate controller = %+v, want the XListenerSet (UID %s)", owner, xls.GetUID())
	}
	if leaf := bed.CheckIssuedByPebble(t, tenant, "shop-tls", host); !cmp.Equal(leaf.DNSNames, []string{host}) {
		t.Errorf("Secret %s/shop-tls: certificate names %v, want exactly %s", tenant, leaf.DNSNames, host)
	}

	apps := &edgecertv1alpha1.Certificate{}
	testenv.Eventually(t, "Certificate "+tenant+"/apps-tls issued", func() (bool, string) {
		if err := c().Get(ctx, types.NamespacedName{Namespace: tenant, Name: "apps-tls"}, apps); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(apps.Status.Conditions, edgecertv1alpha1.ReadyCondition)
		return cond != nil && cond.Status == metav1.ConditionTrue && cond.Reason == edgecertv1alpha1.ReasonIssued && cond.ObservedGeneration == apps.Generation,
			fmt.Sprint(apps.Status.Conditions)
	})
	if diff := cmp.Diff([]string{routeHost}, apps.Spec.DNSNames); diff != "" {
		t.Errorf("apps-tls dnsNames (-want +got):\n%s", diff)
	}
	if leaf := bed.CheckIssuedByPebble(t, tenant, "apps-tls", routeHost); !cmp.Equal(leaf.DNSNames, []string{routeHost}) {
		t.Errorf("Secret %s/apps-tls: certificate names %v, want exactly %s", tenant, leaf.DNSNames, routeHost)
	}
}
