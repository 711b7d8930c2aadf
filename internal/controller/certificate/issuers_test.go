package certificate

import (
	"testing"
	"time"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

func TestIssuerSlotsGoToWaitersInTheOrderTheyAsked(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	r := &Reconciler{MaxConcurrentPerIssuer: 2, Rand: func() float64 { return 0 }}
	iss := &issuerFacts{obj: &edgecertv1alpha1.ClusterIssuer{}, kind: edgecertv1alpha1.ClusterIssuerKind}
	pass := func(name string) *scope {
		cert := &edgecertv1alpha1.Certificate{}
		cert.Namespace, cert.Name = "ns", name
		return &scope{cert: cert, iss: iss, now: now}
	}
	try := func(name string) (*scope, bool) {
		s := pass(name)
		return s, r.acquire(s)
	}
	a, okA := try("a")
	_, okB := try("b")
	c, okC := try("c")
	if !okA || !okB || okC {
		t.Fatalf("a, b, c acquired %v %v %v; want the first two", okA, okB, okC)
	}
	if !c.keepStatus || c.result.RequeueAfter != issuerBusyRequeue || !c.done {
		t.Errorf("a pass without a slot: keepStatus %v, requeue %s, done %v; want true, %s, true", c.keepStatus, c.result.RequeueAfter, c.done, issuerBusyRequeue)
	}
	if _, ok := try("d"); ok {
		t.Fatal("d acquired with both slots taken")
	}
	a.release()
	// e asks first after the release, and waits behind c and d.
	if _, ok := try("e"); ok {
		t.Fatal("e jumped ahead of c and d")
	}
	if _, ok := try("d"); ok {
		t.Fatal("d jumped ahead of c")
	}
	if _, ok := try("c"); !ok {
		t.Fatal("c, first to wait, got no free slot")
	}
	// A waiter that stops asking gives its place up.
	now = now.Add(waiterExpiry + time.Second)
	if _, ok := try("d"); ok {
		t.Fatal("d acquired with both slots taken")
	}
	r.slots.mu.Lock()
	waiting := r.slots.byIssuer[iss.key()].waiting
	r.slots.mu.Unlock()
	if len(waiting) != 1 || waiting[0].cert != "ns/d" {
		t.Errorf("waiting = %+v, want only ns/d (e stopped asking)", waiting)
	}
}
