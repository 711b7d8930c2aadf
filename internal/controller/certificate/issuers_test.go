package certificate

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/event"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
)

func TestIssuerSlotsGoToQueuedCertificatesInOrderAndWakeThem(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	r := &Reconciler{MaxConcurrentPerIssuer: 2, Now: func() time.Time { return now }}
	r.slots.Wake = make(chan event.GenericEvent, 10)
	iss := &issuerFacts{obj: &edgecertv1alpha1.ClusterIssuer{}, kind: edgecertv1alpha1.ClusterIssuerKind}
	try := func(name string) (*scope, bool) {
		cert := &edgecertv1alpha1.Certificate{}
		cert.Namespace, cert.Name = "ns", name
		s := &scope{cert: cert, iss: iss, now: now}
		return s, r.acquire(s)
	}
	woken := func() []string {
		var out []string
		for len(r.slots.Wake) > 0 {
			e := <-r.slots.Wake
			out = append(out, e.Object.GetNamespace()+"/"+e.Object.GetName())
		}
		return out
	}

	a, okA := try("a")
	b, okB := try("b")
	c, okC := try("c")
	if !okA || !okB || okC {
		t.Fatalf("a, b, c acquired %v %v %v; want the first two", okA, okB, okC)
	}
	if !c.keepStatus || !c.done || c.result.RequeueAfter != queuedRecheck {
		t.Errorf("a queued pass: keepStatus %v, done %v, requeue %s; want true, true, %s", c.keepStatus, c.done, c.result.RequeueAfter, queuedRecheck)
	}
	if _, ok := try("d"); ok {
		t.Fatal("d acquired with both slots taken")
	}
	if got := woken(); len(got) != 0 {
		t.Fatalf("woken %v before any slot freed", got)
	}

	a.release()
	if diff := cmp.Diff([]string{"ns/c"}, woken()); diff != "" {
		t.Errorf("woken after a's release (-want +got):\n%s", diff)
	}
	// The slot is kept for c: e, arriving first, and d, queued behind c,
	// do not get it.
	if _, ok := try("e"); ok {
		t.Fatal("e took the slot kept for c")
	}
	if _, ok := try("d"); ok {
		t.Fatal("d took the slot kept for c")
	}
	c2, ok := try("c")
	if !ok {
		t.Fatal("c, woken, found no slot")
	}

	// c's slot was kept for it; if c never comes, it lapses and the next
	// in the queue is woken.
	b.release()
	if diff := cmp.Diff([]string{"ns/d"}, woken()); diff != "" {
		t.Errorf("woken after b's release (-want +got):\n%s", diff)
	}
	now = now.Add(keptSlotExpiry + time.Second)
	if _, ok := try("e"); !ok {
		t.Fatal("e, first in the queue once d's kept slot lapsed, found no slot")
	}
	if got := woken(); len(got) != 0 {
		t.Errorf("woken %v: e came by itself", got)
	}
	c2.release()
	r.slots.mu.Lock()
	defer r.slots.mu.Unlock()
	if sl := r.slots.byIssuer[iss.key()]; sl == nil || sl.inUse != 1 || len(sl.queue) != 0 || len(sl.kept) != 0 {
		t.Errorf("slots after e holds one = %+v, want one in use, nothing queued or kept", sl)
	}
}
