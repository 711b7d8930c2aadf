package gatewayservice_test

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

// TestRefusedOlderGatewayServiceBlocksNobody: an older GatewayService that
// is itself refused (its host clashes with a server already in the
// Gateway) holds no place, so a newer one whose host only clashes with the
// refused one's goes in.
func TestRefusedOlderGatewayServiceBlocksNobody(t *testing.T) {
	ns := newNamespace(t, "team", nil)
	cl := newCluster(t, false, nil, ns)
	held := newGS(t, ns, "held", httpSpec(80, "pay.shop."+ns+".example.test"))
	waitReady(t, held, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)

	// Older than "b-new" (same second at most, then the key decides).
	old := newGS(t, ns, "a-old", httpSpec(80, "*.shop."+ns+".example.test"))
	old = waitReady(t, old, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostConflict)
	if want := fmt.Sprintf("host *.shop.%s.example.test on port 80 overlaps pay.shop.%s.example.test of GatewayService %s/held, which is already in the Gateway", ns, ns, ns); readyMessage(old) != want {
		t.Errorf("message = %q, want %q", readyMessage(old), want)
	}
	newer := newGS(t, ns, "b-new", httpSpec(80, "www.shop."+ns+".example.test"))
	waitReady(t, newer, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)

	servers, owners := cl.servers(t)
	for _, name := range []string{"http-held-" + ns, "http-b-new-" + ns} {
		if _, ok := servers[name]; !ok {
			t.Errorf("server %s is not in the Gateway", name)
		}
	}
	if _, ok := servers["http-a-old-"+ns]; ok {
		t.Error("the refused server was written")
	}
	if len(owners) != 2 {
		t.Errorf("owners = %v, want held and b-new", owners)
	}
	cl.checkHandWritten(t)
}

// TestServerClashingWithAnotherGatewayOnTheSamePods: a second Gateway
// object selecting the same gateway pods holds a host on port 80; a
// tenant's server for that host is refused with a reason naming it, and
// another host on the same port goes in.
func TestServerClashingWithAnotherGatewayOnTheSamePods(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, "team", nil)
	cl := newCluster(t, false, nil, ns)
	legacyNS := newNamespace(t, "legacy", nil)
	legacy := newGatewayObject(legacyNS, "legacy")
	legacy.Object["spec"] = map[string]any{"selector": map[string]any{"istio": cl.gwNamespace}, "servers": []any{
		map[string]any{"port": map[string]any{"number": int64(80), "protocol": "HTTP", "name": "http"}, "hosts": []any{"*/old." + ns + ".example.test"}},
	}}
	if err := c().Create(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	taken := newGS(t, ns, "taken", httpSpec(80, "old."+ns+".example.test"))
	taken = waitReady(t, taken, metav1.ConditionFalse, edgecertv1alpha1.ReasonHostConflict)
	if want := fmt.Sprintf(`host old.%s.example.test on port 80 overlaps old.%s.example.test of Gateway %s/legacy, which selects the same gateway pods (port name "http")`, ns, ns, legacyNS); readyMessage(taken) != want {
		t.Errorf("message = %q, want %q", readyMessage(taken), want)
	}
	free := newGS(t, ns, "free", httpSpec(80, "new."+ns+".example.test"))
	waitReady(t, free, metav1.ConditionTrue, edgecertv1alpha1.ReasonServerReady)
	servers, _ := cl.servers(t)
	if _, ok := servers["http-taken-"+ns]; ok {
		t.Error("the clashing server was written")
	}
	if _, ok := servers["http-free-"+ns]; !ok {
		t.Error("the free server is not in the Gateway")
	}
}
