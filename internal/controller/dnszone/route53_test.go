package dnszone_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/dns/registry"
	"github.com/edgecert/edgecert/internal/dns/route53"
	"github.com/edgecert/edgecert/internal/dns/route53/route53test"
	"github.com/edgecert/edgecert/internal/testenv"
	"github.com/edgecert/edgecert/internal/testenv/managertest"
)

// TestRoute53Zone runs the same cases through the repository's Route 53
// test server (not Route 53): a new host is published in one change
// batch; a hand-made record and another owner's stay as they were; a
// record external-dns wrote with the same owner id is adopted without a
// change; and resyncs at steady state send no change at all.
func TestRoute53Zone(t *testing.T) {
	ctx := context.Background()
	server := route53test.NewServer()
	t.Cleanup(server.Close)
	id := server.AddZone("r53.test")
	p, err := route53.New(ctx, route53.Config{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", BaseEndpoint: server.URL})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(name, typ string, ttl uint32, values ...string) registry.Change {
		r := registry.Record{Name: name, Type: typ, TTL: ttl, Values: values}
		return registry.Change{Action: registry.Create, New: &r}
	}
	if err := p.ApplyChanges(ctx, "r53.test.", []registry.Change{
		rec("hand.r53.test.", "A", 3600, "203.0.113.5"),
		rec("foreign.r53.test.", "A", 60, "198.51.100.7"),
		rec("a-foreign.r53.test.", "TXT", 60, ownership("cluster-b", "ingress/shop/web")),
		rec("adopted.r53.test.", "A", 300, "192.0.2.110"),
		rec("a-adopted.r53.test.", "TXT", 300, ownership("owner-r53", "ingress/default/adopted")),
	}); err != nil {
		t.Fatal(err)
	}

	keys := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: managertest.ControllerNamespace, Name: "route53-keys"},
		Data:       map[string][]byte{"id": []byte("AKIDTEST"), "secret": []byte("secret")},
	}
	create(t, keys)
	t.Cleanup(func() { _ = c().Delete(context.Background(), keys) })
	svc := ingressService(t, "r53", "192.0.2.110")
	istioGateway(t, svc.Namespace, "gw", "r53", true, "*/hand.r53.test", "*/foreign.r53.test", "*/adopted.r53.test", "*/new.r53.test")
	changes0 := server.Calls("ChangeResourceRecordSets")

	z := &edgecertv1alpha1.DNSZone{
		ObjectMeta: metav1.ObjectMeta{Name: "r53"},
		Spec: edgecertv1alpha1.DNSZoneSpec{
			Zone: "r53.test",
			Provider: edgecertv1alpha1.DNSZoneProvider{Route53: &edgecertv1alpha1.Route53Provider{
				Region: "us-east-1", Endpoint: server.URL,
				AccessKeyIDSecretRef:     &edgecertv1alpha1.SecretKeySelector{Name: "route53-keys", Key: "id"},
				SecretAccessKeySecretRef: &edgecertv1alpha1.SecretKeySelector{Name: "route53-keys", Key: "secret"},
			}},
			OwnerID:      "owner-r53",
			TTL:          300,
			ResyncPeriod: &metav1.Duration{Duration: time.Second},
		},
	}
	create(t, z)
	t.Cleanup(func() { _ = c().Delete(context.Background(), z) })

	set := func(name, typ string) string {
		ttl, values, ok := server.RecordSet(id, name, typ)
		if !ok {
			return "none"
		}
		return fmt.Sprint(ttl, values)
	}
	testenv.Eventually(t, "new.r53.test published", func() (bool, string) {
		got := set("new.r53.test.", "A") + " " + set("a-new.r53.test.", "TXT")
		want := `300 [192.0.2.110] 300 ["` + ownership("owner-r53", "gateway/"+svc.Namespace+"/gw") + `"]`
		return got == want, got
	})
	got := zoneCondition(t, z, edgecertv1alpha1.PublishedCondition, metav1.ConditionFalse, edgecertv1alpha1.ReasonDNSOwnerConflict)
	if len(got.Status.OwnerConflicts) != 2 {
		t.Errorf("status.ownerConflicts = %+v, want hand and foreign", got.Status.OwnerConflicts)
	}
	if diff := cmp.Diff(map[string]int32{"A": 2}, got.Status.Records); diff != "" {
		t.Errorf("status.records (adopted and new) (-want +got):\n%s", diff)
	}

	// Three more full lists (resyncs) at steady state: no change sent.
	lists := server.Calls("ListResourceRecordSets")
	testenv.Eventually(t, "three resyncs", func() (bool, string) {
		n := server.Calls("ListResourceRecordSets")
		return n >= lists+3, fmt.Sprintf("%d lists since", n-lists)
	})
	if n := server.Calls("ChangeResourceRecordSets") - changes0; n != 1 {
		t.Errorf("ChangeResourceRecordSets calls = %d, want 1 (the new host and its ownership record, in one batch)", n)
	}
	for name, want := range map[string]string{
		"hand.r53.test. A":        "3600 [203.0.113.5]",
		"foreign.r53.test. A":     "60 [198.51.100.7]",
		"a-foreign.r53.test. TXT": `60 ["` + ownership("cluster-b", "ingress/shop/web") + `"]`,
		"adopted.r53.test. A":     "300 [192.0.2.110]",
		"a-adopted.r53.test. TXT": `300 ["` + ownership("owner-r53", "ingress/default/adopted") + `"]`,
	} {
		n, typ, _ := strings.Cut(name, " ")
		if g := set(n, typ); g != want {
			t.Errorf("%s = %s, want %s", name, g, want)
		}
	}
}
