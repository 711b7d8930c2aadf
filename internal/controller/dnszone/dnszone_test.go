package dnszone_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/dns/registry"
	"github.com/edgecert/edgecert/internal/metrics"
	"github.com/edgecert/edgecert/internal/testenv"
)

// TestAnnotatedGatewayPublishes: an annotated Gateway's hosts resolve to
// its ingress Service's address, wildcards included, with external-dns's
// ownership records; a Gateway without the annotation publishes nothing;
// a new Service address moves every record; a host taken out of the
// Gateway loses its records under sync.
func TestAnnotatedGatewayPublishes(t *testing.T) {
	const sub = "pub"
	z := newZone(t, sub, "owner-pub", edgecertv1alpha1.DNSPolicySync, nil)
	svc := ingressService(t, "pub", "192.0.2.10")
	ns := svc.Namespace
	gw := istioGateway(t, ns, "public", "pub", true, "*/www.pub.dns.test", "*/*.apps.pub.dns.test", "*")
	istioGateway(t, ns, "quiet", "pub", false, "*/quiet.pub.dns.test")

	served(t, "www.pub.dns.test", "A", "192.0.2.10")
	served(t, "*.apps.pub.dns.test", "A", "192.0.2.10")
	served(t, "anything.apps.pub.dns.test", "A", "192.0.2.10")
	resource := "gateway/" + ns + "/public"
	for name, want := range map[string]string{
		"a-www.pub.dns.test":    ownership("owner-pub", resource),
		"a-*.apps.pub.dns.test": ownership("owner-pub", resource),
	} {
		ttl, got := records(t, name, "TXT")
		if diff := cmp.Diff([]string{want}, got); diff != "" {
			t.Errorf("ownership record %s (-want +got):\n%s", name, diff)
		}
		if ttl != 300 {
			t.Errorf("ownership record %s TTL = %d, want 300", name, ttl)
		}
	}
	if ttl, _ := records(t, "www.pub.dns.test", "A"); ttl != 300 {
		t.Errorf("www TTL = %d, want 300", ttl)
	}
	got := zoneCondition(t, z, edgecertv1alpha1.ReadyCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonRecordsInSync)
	if diff := cmp.Diff(map[string]int32{"A": 2}, got.Status.Records); diff != "" {
		t.Errorf("status.records (-want +got):\n%s", diff)
	}
	// The manager runs in this process: its metrics are these.
	if n := testutil.ToFloat64(metrics.DNSRecords.WithLabelValues(sub, "A")); n != 2 {
		t.Errorf("edgecert_dns_records{zone=%q,type=\"A\"} = %v, want 2", sub, n)
	}
	if n := testutil.ToFloat64(metrics.DNSChanges.WithLabelValues(sub, "create")); n != 4 {
		t.Errorf("edgecert_dns_changes_total{zone=%q,action=\"create\"} = %v, want 4 (two records, two ownership records)", sub, n)
	}
	got = zoneCondition(t, z, edgecertv1alpha1.PublishedCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostsSkipped)
	if !containsProblem(got.Status.Skipped, "*", resource, `"*" matches every host`) {
		t.Errorf("status.skipped = %+v, want * from %s", got.Status.Skipped, resource)
	}
	if _, v := records(t, "quiet.pub.dns.test", "A"); len(v) != 0 {
		t.Errorf("a Gateway without the annotation published quiet.pub.dns.test: %v", v)
	}

	setLoadBalancer(t, svc, "192.0.2.20", "2001:db8::20")
	served(t, "www.pub.dns.test", "A", "192.0.2.20")
	served(t, "www.pub.dns.test", "AAAA", "2001:db8::20")
	served(t, "*.apps.pub.dns.test", "A", "192.0.2.20")
	served(t, "aaaa-www.pub.dns.test", "TXT", ownership("owner-pub", resource))

	setHosts(t, gw, "*/www.pub.dns.test")
	served(t, "*.apps.pub.dns.test", "A")
	served(t, "a-*.apps.pub.dns.test", "TXT")
	served(t, "www.pub.dns.test", "A", "192.0.2.20")
	bed.ControlPlane.ExpectEvent(t, gw, edgecertv1alpha1.ReasonDNSRecordsRemoved, "Removed *.apps.pub.dns.test A; *.apps.pub.dns.test AAAA in DNSZone pub")
	bed.ControlPlane.ExpectEvent(t, gw, edgecertv1alpha1.ReasonDNSRecordsPublished, "Published *.apps.pub.dns.test A 192.0.2.20; www.pub.dns.test A 192.0.2.20; *.apps.pub.dns.test AAAA 2001:db8::20; www.pub.dns.test AAAA 2001:db8::20 in DNSZone pub")

	// Steady state: three more resyncs (zone transfers in BIND's log),
	// no UPDATE.
	updates0, err := bed.BIND.UpdateRequests()
	if err != nil {
		t.Fatal(err)
	}
	transfers0, _ := bed.BIND.Transfers()
	testenv.Eventually(t, "three resyncs", func() (bool, string) {
		n, err := bed.BIND.Transfers()
		return err == nil && n >= transfers0+3, fmt.Sprintf("%d transfers since (%v)", n-transfers0, err)
	})
	if n, _ := bed.BIND.UpdateRequests(); n != updates0 {
		t.Errorf("%d UPDATE messages at steady state, want 0", n-updates0)
	}
}

// TestUpsertOnlyKeepsRecords: under upsert-only, the records of a deleted
// Gateway stay.
func TestUpsertOnlyKeepsRecords(t *testing.T) {
	newZone(t, "keep", "owner-keep", edgecertv1alpha1.DNSPolicyUpsertOnly, nil)
	svc := ingressService(t, "keep", "192.0.2.30")
	gw := istioGateway(t, svc.Namespace, "one", "keep", true, "*/one.keep.dns.test")
	served(t, "one.keep.dns.test", "A", "192.0.2.30")
	if err := c().Delete(context.Background(), gw); err != nil {
		t.Fatal(err)
	}
	// A later change the controller is seen to handle: the deletion was
	// planned before it.
	two := istioGateway(t, svc.Namespace, "two", "keep", true, "*/two.keep.dns.test")
	served(t, "two.keep.dns.test", "A", "192.0.2.30")
	// A per-source TTL, by annotation.
	two.SetAnnotations(map[string]string{edgecertv1alpha1.PublishDNSAnnotation: "true", edgecertv1alpha1.DNSTTLAnnotation: "120"})
	if err := c().Update(context.Background(), two); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "two.keep.dns.test with TTL 120", func() (bool, string) {
		ttl, v := records(t, "two.keep.dns.test", "A")
		return ttl == 120 && cmp.Equal(v, []string{"192.0.2.30"}), fmt.Sprint(ttl, v)
	})
	served(t, "one.keep.dns.test", "A", "192.0.2.30")
	served(t, "a-one.keep.dns.test", "TXT", ownership("owner-keep", "gateway/"+svc.Namespace+"/one"))
}

// TestOthersRecordsUntouched: a record made by hand and one owned by
// another owner id stay byte for byte; BIND's log shows no update at their
// names; the zone names the foreign owner.
func TestOthersRecordsUntouched(t *testing.T) {
	write(t,
		createRec("hand.other.dns.test.", "A", 3600, "203.0.113.5"),
		createRec("foreign.other.dns.test.", "A", 60, "198.51.100.7"),
		createRec("a-foreign.other.dns.test.", "TXT", 60, ownership("cluster-b", "ingress/shop/web")),
	)
	_, deletedBefore, err := bed.BIND.UpdatedRRs()
	if err != nil {
		t.Fatal(err)
	}
	addedBefore, _, _ := bed.BIND.UpdatedRRs()
	z := newZone(t, "other", "owner-other", edgecertv1alpha1.DNSPolicySync, nil)
	svc := ingressService(t, "other", "192.0.2.40")
	istioGateway(t, svc.Namespace, "gw", "other", true, "*/hand.other.dns.test", "*/foreign.other.dns.test", "*/ok.other.dns.test")
	served(t, "ok.other.dns.test", "A", "192.0.2.40")
	got := zoneCondition(t, z, edgecertv1alpha1.PublishedCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonDNSOwnerConflict)
	if !strings.Contains(conditionMessage(got, edgecertv1alpha1.PublishedCondition), `owned by "cluster-b"`) {
		t.Errorf("Published message %q does not name the foreign owner", conditionMessage(got, edgecertv1alpha1.PublishedCondition))
	}
	if len(got.Status.OwnerConflicts) != 2 {
		t.Errorf("status.ownerConflicts = %+v, want hand and foreign", got.Status.OwnerConflicts)
	}
	if n := testutil.ToFloat64(metrics.DNSOwnerConflicts.WithLabelValues("other")); n != 2 {
		t.Errorf("edgecert_dns_owner_conflicts{zone=\"other\"} = %v, want 2", n)
	}
	// A resync later, still untouched.
	write(t, createRec("marker.other.dns.test.", "TXT", 60, "marker"))
	zoneCondition(t, z, edgecertv1alpha1.ReadyCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonRecordsInSync)

	for _, want := range []struct {
		name, typ string
		ttl       uint32
		values    []string
	}{
		{"hand.other.dns.test", "A", 3600, []string{"203.0.113.5"}},
		{"foreign.other.dns.test", "A", 60, []string{"198.51.100.7"}},
		{"a-foreign.other.dns.test", "TXT", 60, []string{ownership("cluster-b", "ingress/shop/web")}},
	} {
		ttl, values := records(t, want.name, want.typ)
		if ttl != want.ttl || !cmp.Equal(values, want.values) {
			t.Errorf("%s %s = %d %v, want %d %v", want.name, want.typ, ttl, values, want.ttl, want.values)
		}
	}
	added, deleted, err := bed.BIND.UpdatedRRs()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"hand.other.dns.test.", "foreign.other.dns.test.", "a-foreign.other.dns.test.", "a-hand.other.dns.test."} {
		if added[n] != addedBefore[n] || deleted[n] != deletedBefore[n] {
			t.Errorf("BIND updated %s: %d RRs added, %d deleted", n, added[n]-addedBefore[n], deleted[n]-deletedBefore[n])
		}
	}
}

// TestAdoptsExternalDNSRecords: records an external-dns with the same
// owner id wrote (new and old format) are adopted: BIND's log shows no
// RR deleted or re-added at their names; only the old format's missing
// new-format ownership record is added.
func TestAdoptsExternalDNSRecords(t *testing.T) {
	write(t,
		createRec("web.adopt.dns.test.", "A", 300, "192.0.2.50"),
		createRec("a-web.adopt.dns.test.", "TXT", 300, ownership("cluster-a", "ingress/default/web")),
		createRec("legacy.adopt.dns.test.", "A", 300, "192.0.2.50"),
		createRec("legacy.adopt.dns.test.", "TXT", 300, ownership("cluster-a", "ingress/default/legacy")),
	)
	// The cluster as external-dns served it: the Gateway and its Service
	// are there before edgecert's DNSZone.
	svc := ingressService(t, "adopt", "192.0.2.50")
	istioGateway(t, svc.Namespace, "gw", "adopt", true, "*/web.adopt.dns.test", "*/legacy.adopt.dns.test")
	addedBefore, deletedBefore, err := bed.BIND.UpdatedRRs()
	if err != nil {
		t.Fatal(err)
	}
	z := newZone(t, "adopt", "cluster-a", edgecertv1alpha1.DNSPolicySync, nil)
	served(t, "a-legacy.adopt.dns.test", "TXT", ownership("cluster-a", "gateway/"+svc.Namespace+"/gw"))
	got := zoneCondition(t, z, edgecertv1alpha1.PublishedCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonRecordsInSync)
	if diff := cmp.Diff(map[string]int32{"A": 2}, got.Status.Records); diff != "" {
		t.Errorf("status.records (-want +got):\n%s", diff)
	}
	added, deleted, err := bed.BIND.UpdatedRRs()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int{"web.adopt.dns.test.": {0, 0}, "a-web.adopt.dns.test.": {0, 0}, "legacy.adopt.dns.test.": {0, 0}, "a-legacy.adopt.dns.test.": {1, 0}}
	for n, w := range want {
		if g := [2]int{added[n] - addedBefore[n], deleted[n] - deletedBefore[n]}; g != w {
			t.Errorf("BIND at %s: %d RRs added and %d deleted, want %d and %d", n, g[0], g[1], w[0], w[1])
		}
	}
	served(t, "web.adopt.dns.test", "A", "192.0.2.50")
	served(t, "a-web.adopt.dns.test", "TXT", ownership("cluster-a", "ingress/default/web"))
}

// TestDriftRepaired: a record deleted or changed by hand comes back at the
// next resync, with no change in the cluster.
func TestDriftRepaired(t *testing.T) {
	newZone(t, "drift", "owner-drift", edgecertv1alpha1.DNSPolicySync, nil)
	svc := ingressService(t, "drift", "192.0.2.60")
	istioGateway(t, svc.Namespace, "gw", "drift", true, "*/a.drift.dns.test", "*/b.drift.dns.test")
	served(t, "a.drift.dns.test", "A", "192.0.2.60")
	served(t, "b.drift.dns.test", "A", "192.0.2.60")
	a := registry.Record{Name: "a.drift.dns.test.", Type: "A", TTL: 300, Values: []string{"192.0.2.60"}}
	b := registry.Record{Name: "b.drift.dns.test.", Type: "A", TTL: 300, Values: []string{"192.0.2.60"}}
	b2 := registry.Record{Name: "b.drift.dns.test.", Type: "A", TTL: 300, Values: []string{"203.0.113.66"}}
	write(t, registry.Change{Action: registry.Delete, Old: &a}, registry.Change{Action: registry.Update, Old: &b, New: &b2})
	served(t, "a.drift.dns.test", "A", "192.0.2.60")
	served(t, "b.drift.dns.test", "A", "192.0.2.60")
}

// TestWrongTSIGKey: a refused update is Ready=False with the server's
// words and nothing published; fixing the Secret publishes.
func TestWrongTSIGKey(t *testing.T) {
	ctx := context.Background()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "edgecert-system", Name: "wrong-tsig"},
		Data:       map[string][]byte{"secret": []byte("c2VjcmV0LXRoYXQtYmluZC1kb2VzLW5vdC1rbm93LTAx")},
	}
	create(t, secret)
	t.Cleanup(func() { _ = c().Delete(context.Background(), secret) })
	z := newZone(t, "tsig", "owner-tsig", edgecertv1alpha1.DNSPolicySync, func(z *edgecertv1alpha1.DNSZone) {
		z.Spec.Provider.RFC2136.TSIGSecretRef = edgecertv1alpha1.SecretKeySelector{Name: "wrong-tsig", Key: "secret"}
	})
	svc := ingressService(t, "tsig", "192.0.2.70")
	istioGateway(t, svc.Namespace, "gw", "tsig", true, "*/x.tsig.dns.test")
	got := zoneCondition(t, z, edgecertv1alpha1.ReadyCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonDNSProviderError)
	msg := conditionMessage(got, edgecertv1alpha1.ReadyCondition)
	want := fmt.Sprintf("transfer of zone dns.test. from %s refused (dns: bad authentication): TSIG key %s may not transfer this zone, or its secret or algorithm is wrong, or the zone is not served there", bed.BIND.Addr, bed.BIND.Key.Name)
	if msg != want {
		t.Errorf("Ready message = %q\nwant            %q", msg, want)
	}
	if _, v := records(t, "x.tsig.dns.test", "A"); len(v) != 0 {
		t.Errorf("published with a wrong key: %v", v)
	}
	if n := testutil.ToFloat64(metrics.DNSSyncErrors.WithLabelValues("tsig")); n < 1 {
		t.Errorf("edgecert_dns_sync_errors_total{zone=\"tsig\"} = %v, want at least 1", n)
	}
	secret.Data["secret"] = []byte(bed.BIND.Key.Secret)
	if err := c().Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	served(t, "x.tsig.dns.test", "A", "192.0.2.70")
	zoneCondition(t, z, edgecertv1alpha1.ReadyCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonRecordsInSync)
}

// TestAmbiguousServiceIsNotGuessed: with two Services selecting the
// gateway pods, nothing is published and status says which.
func TestAmbiguousServiceIsNotGuessed(t *testing.T) {
	z := newZone(t, "ambig", "owner-ambig", edgecertv1alpha1.DNSPolicySync, nil)
	one := ingressService(t, "ambig", "192.0.2.80")
	two := ingressService(t, "ambig", "192.0.2.81")
	istioGateway(t, one.Namespace, "gw", "ambig", true, "*/x.ambig.dns.test")
	want := fmt.Sprintf("2 Services select the gateway pods (istio=ambig): %s, %s; edgecert does not guess: set the DNSZone's targets",
		min(one.Namespace, two.Namespace)+"/ingressgateway", max(one.Namespace, two.Namespace)+"/ingressgateway")
	zoneStatus(t, z, "x.ambig.dns.test skipped: "+want, func(z *edgecertv1alpha1.DNSZone) bool {
		return containsProblem(z.Status.Skipped, "x.ambig.dns.test", "gateway/"+one.Namespace+"/gw", want)
	})
	zoneCondition(t, z, edgecertv1alpha1.PublishedCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostsSkipped)
	if _, v := records(t, "x.ambig.dns.test", "A"); len(v) != 0 {
		t.Errorf("published with two Services: %v", v)
	}
}

func setHosts(t testing.TB, gw client.Object, hosts ...string) {
	t.Helper()
	var hs []any
	for _, h := range hosts {
		hs = append(hs, h)
	}
	patch := map[string]any{"spec": map[string]any{"servers": []any{map[string]any{
		"port": map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http"}, "hosts": hs,
	}}}}
	raw, err := jsonMarshal(patch)
	if err != nil {
		t.Fatal(err)
	}
	if err := c().Patch(context.Background(), gw, client.RawPatch("application/merge-patch+json", raw)); err != nil {
		t.Fatal(err)
	}
}

func containsProblem(ps []edgecertv1alpha1.DNSRecordProblem, name, source, reason string) bool {
	for _, p := range ps {
		if p.Name == name && p.Source == source && strings.Contains(p.Reason, reason) {
			return true
		}
	}
	return false
}

func conditionMessage(z *edgecertv1alpha1.DNSZone, typ string) string {
	for _, c := range z.Status.Conditions {
		if c.Type == typ {
			return c.Message
		}
	}
	return ""
}

// TestGatewayServicePublishes: 50 GatewayServices across 25 tenant
// namespaces are published once their servers are in the Gateway, a
// refused one never; deleting one removes its records under sync and
// leaves the others'.
func TestGatewayServicePublishes(t *testing.T) {
	const tenants, perTenant = 25, 2
	newZone(t, "gs", "owner-gs", edgecertv1alpha1.DNSPolicySync, nil)
	svc := ingressService(t, "gs", "192.0.2.90")
	istioGateway(t, svc.Namespace, "public", "gs", false, "*/platform.example.test")
	var names []string
	for range tenants {
		names = append(names, newNamespace(t, "tenant"))
	}
	stranger := newNamespace(t, "stranger")
	policy := &edgecertv1alpha1.GatewayPolicy{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "policy-"},
		Spec: edgecertv1alpha1.GatewayPolicySpec{
			Gateways: []edgecertv1alpha1.PolicyGateway{{TrafficType: "ingress", Namespace: svc.Namespace, Name: "public"}},
			Claims:   []edgecertv1alpha1.HostClaim{{Namespaces: names, Domains: []string{"gs.dns.test"}}},
		},
	}
	create(t, policy)
	t.Cleanup(func() { _ = c().Delete(context.Background(), policy) })

	bad := &edgecertv1alpha1.GatewayService{
		ObjectMeta: metav1.ObjectMeta{Namespace: stranger, Name: "bad"},
		Spec:       edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{"bad.gs.dns.test"}, Port: 8081, Protocol: "HTTP"},
	}
	create(t, bad)
	var all []*edgecertv1alpha1.GatewayService
	for i, ns := range names {
		for j := range perTenant {
			gs := &edgecertv1alpha1.GatewayService{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app%d", j)},
				Spec:       edgecertv1alpha1.GatewayServiceSpec{Hosts: []string{fmt.Sprintf("app%d.t%d.gs.dns.test", j, i)}, Port: 8080, Protocol: "HTTP"},
			}
			if i == 0 && j == 0 {
				gs.Spec.Hosts = append(gs.Spec.Hosts, "*.apps.gs.dns.test")
			}
			create(t, gs)
			all = append(all, gs)
		}
	}
	for i, ns := range names {
		for j := range perTenant {
			served(t, fmt.Sprintf("app%d.t%d.gs.dns.test", j, i), "A", "192.0.2.90")
			served(t, fmt.Sprintf("a-app%d.t%d.gs.dns.test", j, i), "TXT", ownership("owner-gs", fmt.Sprintf("gatewayservice/%s/app%d", ns, j)))
		}
	}
	served(t, "*.apps.gs.dns.test", "A", "192.0.2.90")
	bed.ControlPlane.ExpectEvent(t, all[1], edgecertv1alpha1.ReasonDNSRecordsPublished, "Published app1.t0.gs.dns.test A 192.0.2.90 in DNSZone gs")
	got := &edgecertv1alpha1.GatewayService{}
	if err := c().Get(context.Background(), client.ObjectKeyFromObject(bad), got); err != nil {
		t.Fatal(err)
	}
	if ready := findCondition(got.Status.Conditions, edgecertv1alpha1.ReadyCondition); ready == nil || ready.Status == metav1.ConditionTrue {
		t.Fatalf("the stranger's GatewayService is Ready (%+v); the test needs it refused", got.Status.Conditions)
	}
	if _, v := records(t, "bad.gs.dns.test", "A"); len(v) != 0 {
		t.Errorf("a refused GatewayService was published: %v", v)
	}
	if err := c().Delete(context.Background(), all[0]); err != nil {
		t.Fatal(err)
	}
	served(t, "app0.t0.gs.dns.test", "A")
	served(t, "a-app0.t0.gs.dns.test", "TXT")
	served(t, "*.apps.gs.dns.test", "A")
	served(t, "app1.t0.gs.dns.test", "A", "192.0.2.90")
	served(t, "app0.t1.gs.dns.test", "A", "192.0.2.90")
}

func findCondition(cs []metav1.Condition, typ string) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == typ {
			return &cs[i]
		}
	}
	return nil
}

// TestZonesSplitByDomainShareAnOwnerID: two DNSZones of one zone with the
// same owner id and other domains never delete each other's records (each
// plans only the names its filters cover).
func TestZonesSplitByDomainShareAnOwnerID(t *testing.T) {
	newZone(t, "left", "owner-split", edgecertv1alpha1.DNSPolicySync, nil)
	newZone(t, "right", "owner-split", edgecertv1alpha1.DNSPolicySync, nil)
	svc := ingressService(t, "split", "192.0.2.95")
	istioGateway(t, svc.Namespace, "gw", "split", true, "*/x.left.dns.test", "*/x.right.dns.test")
	served(t, "x.left.dns.test", "A", "192.0.2.95")
	served(t, "x.right.dns.test", "A", "192.0.2.95")
	_, deleted0, err := bed.BIND.UpdatedRRs()
	if err != nil {
		t.Fatal(err)
	}
	transfers0, _ := bed.BIND.Transfers()
	testenv.Eventually(t, "three resyncs of each zone", func() (bool, string) {
		n, err := bed.BIND.Transfers()
		return err == nil && n >= transfers0+6, fmt.Sprintf("%d transfers since (%v)", n-transfers0, err)
	})
	_, deleted, _ := bed.BIND.UpdatedRRs()
	for _, n := range []string{"x.left.dns.test.", "x.right.dns.test.", "a-x.left.dns.test.", "a-x.right.dns.test."} {
		if deleted[n] != deleted0[n] {
			t.Errorf("%s: %d RRs deleted while both zones resynced", n, deleted[n]-deleted0[n])
		}
	}
	served(t, "x.left.dns.test", "A", "192.0.2.95")
	served(t, "x.right.dns.test", "A", "192.0.2.95")
}

// TestEncryptedOwnershipRecords: with an AES key, ownership records are
// written encrypted as external-dns writes them (decrypted here with the
// standard library), and external-dns's encrypted record with the same
// owner (its own test vector) is adopted untouched.
func TestEncryptedOwnershipRecords(t *testing.T) {
	key := []byte(")K_Fy|?Z.64#UuHm`}[d!GC%WJM_fs{_")
	fooEnc := `+lvP8q9KHJ6BS6O81i2Q6DLNdf2JSKy8j/gbZKviTZlGYj7q+yDoYMgkQ1hPn6urtGllM5bfFMcaaHto52otQtiOYrX8990J3kQqg4s47m3bH3Ejl8RSxSSuWJM3HJtPghQzYg0/LSOsdQ0=`
	write(t,
		createRec("old.enc.dns.test.", "A", 300, "192.0.2.97"),
		createRec("a-old.enc.dns.test.", "TXT", 300, fooEnc),
	)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "edgecert-system", Name: "txt-aes"},
		Data:       map[string][]byte{"key": []byte(base64.StdEncoding.EncodeToString(key))},
	}
	create(t, secret)
	t.Cleanup(func() { _ = c().Delete(context.Background(), secret) })
	svc := ingressService(t, "enc", "192.0.2.97")
	istioGateway(t, svc.Namespace, "gw", "enc", true, "*/old.enc.dns.test", "*/new.enc.dns.test")
	_, deleted0, _ := bed.BIND.UpdatedRRs()
	added0, _, _ := bed.BIND.UpdatedRRs()
	z := newZone(t, "enc", "foo-owner", edgecertv1alpha1.DNSPolicySync, func(z *edgecertv1alpha1.DNSZone) {
		z.Spec.TXTEncryptAESKeySecretRef = &edgecertv1alpha1.SecretKeySelector{Name: "txt-aes", Key: "key"}
	})
	served(t, "new.enc.dns.test", "A", "192.0.2.97")
	zoneCondition(t, z, edgecertv1alpha1.PublishedCondition, metav1.ConditionTrue, edgecertv1alpha1.ReasonRecordsInSync)
	_, txt := records(t, "a-new.enc.dns.test", "TXT")
	if len(txt) != 1 {
		t.Fatalf("a-new.enc.dns.test TXT = %v, want one value", txt)
	}
	plain, err := decryptExternalDNS(txt[0], key)
	if err != nil {
		t.Fatalf("decrypt %q: %v", txt[0], err)
	}
	if want := ownership("foo-owner", "gateway/"+svc.Namespace+"/gw"); plain != want {
		t.Errorf("decrypted ownership = %q, want %q", plain, want)
	}
	served(t, "a-old.enc.dns.test", "TXT", fooEnc)
	added, deleted, _ := bed.BIND.UpdatedRRs()
	for _, n := range []string{"old.enc.dns.test.", "a-old.enc.dns.test."} {
		if added[n] != added0[n] || deleted[n] != deleted0[n] {
			t.Errorf("BIND at %s: %d RRs added, %d deleted; want the adopted record untouched", n, added[n]-added0[n], deleted[n]-deleted0[n])
		}
	}
}

// decryptExternalDNS opens an encrypted ownership value the way
// external-dns's DecryptText does: base64, a 12-byte nonce in front,
// AES-GCM, then gzip.
func decryptExternalDNS(v string, key []byte) (string, error) {
	data, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return "", err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	zipped, err := gcm.Open(nil, data[:12], data[12:], nil)
	if err != nil {
		return "", err
	}
	r, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		return "", err
	}
	out, err := io.ReadAll(r)
	return string(out), err
}

// TestHostnameTargetIsACNAME: a load balancer with a host name gives
// CNAME records; a name holding an A record made by hand gets no CNAME
// (RFC 1034), with the reason in status.
func TestHostnameTargetIsACNAME(t *testing.T) {
	write(t, createRec("clash.cname.dns.test.", "A", 600, "203.0.113.9"))
	z := newZone(t, "cname", "owner-cname", edgecertv1alpha1.DNSPolicySync, nil)
	svc := ingressService(t, "cname")
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "lb-1.elb.example.net"}}
	if err := c().Status().Update(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	istioGateway(t, svc.Namespace, "gw", "cname", true, "*/www.cname.dns.test", "*/clash.cname.dns.test")
	served(t, "www.cname.dns.test", "CNAME", "lb-1.elb.example.net.")
	served(t, "cname-www.cname.dns.test", "TXT", ownership("owner-cname", "gateway/"+svc.Namespace+"/gw"))
	want := "cannot add a CNAME record at clash.cname.dns.test next to its A record: a CNAME cannot share its name with other data (RFC 1034)"
	zoneStatus(t, z, "the CNAME at clash.cname.dns.test refused", func(z *edgecertv1alpha1.DNSZone) bool {
		return containsProblem(z.Status.OwnerConflicts, "clash.cname.dns.test CNAME", "gateway/"+svc.Namespace+"/gw", want)
	})
	if ttl, v := records(t, "clash.cname.dns.test", "A"); ttl != 600 || !cmp.Equal(v, []string{"203.0.113.9"}) {
		t.Errorf("the hand-made A record changed: %d %v", ttl, v)
	}
	if _, v := records(t, "clash.cname.dns.test", "CNAME"); len(v) != 0 {
		t.Errorf("a CNAME was added next to the A record: %v", v)
	}
}
