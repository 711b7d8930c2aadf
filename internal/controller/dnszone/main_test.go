package dnszone_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/dns/registry"
	"github.com/edgecert/edgecert/internal/dns/rfc2136"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/testenv"
	"github.com/edgecert/edgecert/internal/testenv/managertest"
)

var bed *testenv.Bed

// dnsZone is the BIND zone the tests publish in: bare, so that a name
// without records answers nothing (no wildcard).
const dnsZone = "dns.test"

func TestMain(m *testing.M) {
	managertest.Main(m, managertest.Options{Bed: testenv.Options{BIND: testenv.BINDOptions{
		Zones: []string{"example.test"}, BareZones: []string{dnsZone},
	}}}, &bed)
}

func c() client.Client { return bed.ControlPlane.Client }

func create(t testing.TB, obj client.Object) {
	t.Helper()
	if err := c().Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

func newNamespace(t testing.TB, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	create(t, ns)
	return ns.Name
}

// tsigSecret makes the Secret holding BIND's key in edgecert's namespace
// (once per package).
func tsigSecret(t testing.TB) {
	t.Helper()
	err := c().Create(context.Background(), bed.TSIGSecret(managertest.ControllerNamespace))
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// newZone makes a DNSZone for dns.test publishing only hosts under
// sub.dns.test, resynced every second, owned by owner.
func newZone(t testing.TB, sub, owner, policy string, mutate func(*edgecertv1alpha1.DNSZone)) *edgecertv1alpha1.DNSZone {
	t.Helper()
	tsigSecret(t)
	z := &edgecertv1alpha1.DNSZone{
		ObjectMeta: metav1.ObjectMeta{Name: sub},
		Spec: edgecertv1alpha1.DNSZoneSpec{
			Zone: dnsZone,
			Provider: edgecertv1alpha1.DNSZoneProvider{RFC2136: &edgecertv1alpha1.RFC2136Provider{
				Nameserver: bed.BIND.Addr, TSIGKeyName: bed.BIND.Key.Name, TSIGAlgorithm: "HMACSHA256",
				TSIGSecretRef: edgecertv1alpha1.SecretKeySelector{Name: testenv.TSIGSecretName, Key: testenv.TSIGSecretKey},
			}},
			Domains:      &edgecertv1alpha1.DNSDomainFilter{Include: []string{sub + "." + dnsZone}},
			Policy:       policy,
			OwnerID:      owner,
			TTL:          300,
			ResyncPeriod: &metav1.Duration{Duration: time.Second},
		},
	}
	if mutate != nil {
		mutate(z)
	}
	create(t, z)
	t.Cleanup(func() { _ = c().Delete(context.Background(), z) })
	return z
}

// ingressService makes a LoadBalancer Service selecting the pods labelled
// istio=<selector> in a new namespace, with ips as its load balancer.
func ingressService(t testing.TB, selector string, ips ...string) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: newNamespace(t, "ingress"), Name: "ingressgateway"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"istio": selector, "app": "istio-ingressgateway"},
			Ports:    []corev1.ServicePort{{Name: "https", Port: 443}},
		},
	}
	create(t, svc)
	setLoadBalancer(t, svc, ips...)
	return svc
}

func setLoadBalancer(t testing.TB, svc *corev1.Service, ips ...string) {
	t.Helper()
	svc.Status.LoadBalancer.Ingress = nil
	for _, ip := range ips {
		svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
	}
	if err := c().Status().Update(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
}

// istioGateway makes an Istio Gateway selecting istio=<selector> with one
// HTTPS server for hosts, annotated edgecert.dev/publish-dns when publish.
func istioGateway(t testing.TB, ns, name, selector string, publish bool, hosts ...string) *unstructured.Unstructured {
	t.Helper()
	gw := kube.NewUnstructured(kube.IstioGatewayGVK, ns, name)
	if publish {
		gw.SetAnnotations(map[string]string{edgecertv1alpha1.PublishDNSAnnotation: "true"})
	}
	var hs []any
	for _, h := range hosts {
		hs = append(hs, h)
	}
	gw.Object["spec"] = map[string]any{
		"selector": map[string]any{"istio": selector},
		"servers": []any{map[string]any{
			"port":  map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http"},
			"hosts": hs,
		}},
	}
	create(t, gw)
	t.Cleanup(func() { _ = c().Delete(context.Background(), gw) })
	return gw
}

// records asks BIND.
func records(t testing.TB, name, typ string) (uint32, []string) {
	t.Helper()
	ttl, values, err := bed.BIND.Records(name, typ)
	if err != nil {
		t.Fatalf("query %s %s: %v", name, typ, err)
	}
	slices.Sort(values)
	return ttl, values
}

// served waits until BIND answers name/typ with exactly values (none: no
// record).
func served(t testing.TB, name, typ string, values ...string) {
	t.Helper()
	slices.Sort(values)
	testenv.Eventually(t, fmt.Sprintf("BIND serves %s %s %v", name, typ, values), func() (bool, string) {
		_, got := records(t, name, typ)
		return slices.Equal(got, values), fmt.Sprintf("BIND answers %v", got)
	})
}

// provider writes to BIND as another tool would (a person, another
// external-dns).
func provider(t testing.TB) *rfc2136.Provider {
	t.Helper()
	p, err := rfc2136.New(rfc2136.Config{Nameserver: bed.BIND.Addr, TSIGKeyName: bed.BIND.Key.Name, TSIGAlgorithm: bed.BIND.Key.Algorithm, TSIGSecret: bed.BIND.Key.Secret})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func write(t testing.TB, cs ...registry.Change) {
	t.Helper()
	if err := provider(t).ApplyChanges(context.Background(), dnsZone, cs); err != nil {
		t.Fatal(err)
	}
}

func createRec(name, typ string, ttl uint32, values ...string) registry.Change {
	r := registry.Record{Name: name, Type: typ, TTL: ttl, Values: values}
	return registry.Change{Action: registry.Create, New: &r}
}

// zoneCondition waits for a condition of the zone, for its generation.
func zoneCondition(t testing.TB, z *edgecertv1alpha1.DNSZone, typ string, status metav1.ConditionStatus, reason string) *edgecertv1alpha1.DNSZone {
	t.Helper()
	got := &edgecertv1alpha1.DNSZone{}
	testenv.Eventually(t, fmt.Sprintf("DNSZone %s %s=%s %s", z.Name, typ, status, reason), func() (bool, string) {
		if err := c().Get(context.Background(), client.ObjectKeyFromObject(z), got); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, typ)
		return cond != nil && cond.Status == status && cond.Reason == reason && cond.ObservedGeneration == got.Generation, fmt.Sprintf("%+v", got.Status)
	})
	return got
}

// ownership is the ownership record's value for owner and resource, as
// external-dns writes it.
func ownership(owner, resource string) string {
	return "heritage=external-dns,external-dns/owner=" + owner + ",external-dns/resource=" + resource
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// zoneStatus waits until the zone's status satisfies cond.
func zoneStatus(t testing.TB, z *edgecertv1alpha1.DNSZone, what string, cond func(*edgecertv1alpha1.DNSZone) bool) *edgecertv1alpha1.DNSZone {
	t.Helper()
	got := &edgecertv1alpha1.DNSZone{}
	testenv.Eventually(t, fmt.Sprintf("DNSZone %s: %s", z.Name, what), func() (bool, string) {
		if err := c().Get(context.Background(), client.ObjectKeyFromObject(z), got); err != nil {
			return false, err.Error()
		}
		return cond(got), fmt.Sprintf("%+v", got.Status)
	})
	return got
}
