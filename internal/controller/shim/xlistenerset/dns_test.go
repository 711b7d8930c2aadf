package xlistenerset_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/testenv"
	"github.com/edgecert/edgecert/internal/testenv/managertest"
)

// served waits until BIND answers name typ with exactly values.
func served(t *testing.T, name, typ string, values ...string) {
	t.Helper()
	slices.Sort(values)
	testenv.Eventually(t, fmt.Sprintf("BIND serves %s %s %v", name, typ, values), func() (bool, string) {
		_, got, err := bed.BIND.Records(name, typ)
		if err != nil {
			return false, err.Error()
		}
		slices.Sort(got)
		return slices.Equal(got, values), fmt.Sprintf("BIND answers %v", got)
	})
}

// TestXListenerSetPublishes: an XListenerSet its annotated parent Gateway
// admits publishes its hostname listener's host and, for its catch-all
// listener, the hostname of the HTTPRoute that names it, pointing at the
// parent's address; the ownership records name the xlistenerset and the
// route.
func TestXListenerSetPublishes(t *testing.T) {
	ctx := context.Background()
	if err := c().Create(ctx, bed.TSIGSecret(managertest.ControllerNamespace)); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	zone := &edgecertv1alpha1.DNSZone{
		ObjectMeta: metav1.ObjectMeta{Name: "xls"},
		Spec: edgecertv1alpha1.DNSZoneSpec{
			Zone: "dns.test",
			Provider: edgecertv1alpha1.DNSZoneProvider{RFC2136: &edgecertv1alpha1.RFC2136Provider{
				Nameserver: bed.BIND.Addr, TSIGKeyName: bed.BIND.Key.Name, TSIGAlgorithm: "HMACSHA256",
				TSIGSecretRef: edgecertv1alpha1.SecretKeySelector{Name: testenv.TSIGSecretName, Key: testenv.TSIGSecretKey},
			}},
			Domains:      &edgecertv1alpha1.DNSDomainFilter{Include: []string{"xls.dns.test"}},
			Policy:       edgecertv1alpha1.DNSPolicySync,
			OwnerID:      "owner-xls",
			TTL:          300,
			ResyncPeriod: &metav1.Duration{Duration: time.Second},
		},
	}
	if err := c().Create(ctx, zone); err != nil {
		t.Fatal(err)
	}
	edge, err := bed.ControlPlane.CreateNamespace(ctx, "xls-dns-edge")
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := bed.ControlPlane.CreateNamespace(ctx, "xls-dns-tenant")
	if err != nil {
		t.Fatal(err)
	}
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: edge, Name: "shared", Annotations: map[string]string{edgecertv1alpha1.PublishDNSAnnotation: "true"}},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: "istio",
			Listeners:        []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType, Hostname: ptr(gatewayv1.Hostname("shared.xls.dns.test"))}},
			AllowedListeners: &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{From: ptr(gatewayv1.NamespacesFromAll)}},
		},
	}
	if err := c().Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	gw.Status.Addresses = []gatewayv1.GatewayStatusAddress{{Type: ptr(gatewayv1.IPAddressType), Value: "192.0.2.160"}}
	if err := c().Status().Update(ctx, gw); err != nil {
		t.Fatal(err)
	}
	xls := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.x-k8s.io/v1alpha1",
		"kind":       "XListenerSet",
		"metadata":   map[string]any{"namespace": tenant, "name": "tenant"},
		"spec": map[string]any{
			"parentRef": map[string]any{"name": "shared", "namespace": edge},
			"listeners": []any{
				map[string]any{"name": "shop", "hostname": "shop.xls.dns.test", "port": int64(80), "protocol": "HTTP"},
				map[string]any{"name": "apps", "port": int64(8080), "protocol": "HTTP"},
			},
		},
	}}
	if err := c().Create(ctx, xls); err != nil {
		t.Fatal(err)
	}
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "www"}}
	route.Spec.ParentRefs = []gatewayv1.ParentReference{{Group: ptr(gatewayv1.Group("gateway.networking.x-k8s.io")), Kind: ptr(gatewayv1.Kind("XListenerSet")), Name: "tenant", SectionName: ptr(gatewayv1.SectionName("apps"))}}
	route.Spec.Hostnames = []gatewayv1.Hostname{"www.xls.dns.test"}
	if err := c().Create(ctx, route); err != nil {
		t.Fatal(err)
	}

	served(t, "shop.xls.dns.test", "A", "192.0.2.160")
	served(t, "www.xls.dns.test", "A", "192.0.2.160")
	served(t, "a-shop.xls.dns.test", "TXT", "heritage=external-dns,external-dns/owner=owner-xls,external-dns/resource=xlistenerset/"+tenant+"/tenant")
	served(t, "a-www.xls.dns.test", "TXT", "heritage=external-dns,external-dns/owner=owner-xls,external-dns/resource=httproute/"+tenant+"/www")
}
