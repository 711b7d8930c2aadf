package gatewayservice

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"sigs.k8s.io/controller-runtime/pkg/client"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/kube"
	"github.com/edgecert/edgecert/internal/metrics"
)

// The shared Gateway is the unit of work: passes that want to change one
// Gateway join a batch, the first of them waits batchWindow for the others,
// and the batch is planned as a whole (gateway.Decide over every contender)
// and written once. A burst of changes thus lands in a few writes, while a
// single change waits only the window.
//
// batchWindow was chosen by measurement (make bench, gatewayservice-500-*,
// 2 cores): 20 ms gave 500 GatewayServices in 18.0 s with 36 Gateway
// writes and a 501st in 0.195 s; 50 ms gave 13.4-13.8 s, 35-38 writes and
// 0.16-0.17 s. Without batching: 93.9 s and at least 500 writes. With
// the later work (one batch per Gateway at a time, no finalizer, the
// burst landing on a running controller), 50 ms gives 4.0-4.4 s, 15-19
// writes and 0.165-0.169 s; 100 ms gave 4.5 s, 16 writes and 0.223 s.
const batchWindow = 50 * time.Millisecond

// batches holds the open batch of each Gateway, and what each Gateway's
// last batch wrote.
type batches struct {
	mu   sync.Mutex
	open map[types.NamespacedName]*batch
	// gateways serialises the batches of one Gateway and remembers its
	// last write.
	gateways map[types.NamespacedName]*gatewayState
	// ownWrites are the resourceVersions of edgecert's latest writes to
	// each Gateway (at most ownWritesKept), so that the watch event of
	// such a write, which may come after the next batch has written
	// again, wakes nobody whose batch already knows the outcome (see
	// gatewayHandler).
	ownWrites map[types.NamespacedName][]string
	// writing is closed when the write in flight to a Gateway returns:
	// its watch event may come first.
	writing map[types.NamespacedName]chan struct{}
}

// ownWritesKept bounds the writes remembered per Gateway: far more than
// are written while one watch event travels to the cache.
const ownWritesKept = 32

// writingTo marks a write to key in flight; done, called when it has
// returned, records the resourceVersion it made ("" when it failed).
func (b *batches) writingTo(key types.NamespacedName) (done func(rv string)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.writing == nil {
		b.writing = map[types.NamespacedName]chan struct{}{}
		b.ownWrites = map[types.NamespacedName][]string{}
	}
	ch := make(chan struct{})
	b.writing[key] = ch
	return func(rv string) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if rv != "" {
			b.ownWrites[key] = append(b.ownWrites[key], rv)
			if n := len(b.ownWrites[key]); n > ownWritesKept {
				b.ownWrites[key] = slices.Delete(b.ownWrites[key], 0, n-ownWritesKept)
			}
		}
		delete(b.writing, key)
		close(ch)
	}
}

// ownWriteWait bounds how long a watch event waits for the write in
// flight that may have made it.
const ownWriteWait = 5 * time.Second

// ownWrite reports whether o is the Gateway as one of edgecert's latest
// writes to it left it; when a write to it is in flight, it waits for
// that write to return first. An update event carries the object before
// and after one write, so the whole change is then edgecert's.
func (b *batches) ownWrite(o client.Object) bool {
	key := types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}
	b.mu.Lock()
	own, ch := slices.Contains(b.ownWrites[key], o.GetResourceVersion()), b.writing[key]
	b.mu.Unlock()
	if own || ch == nil {
		return own
	}
	select {
	case <-ch:
	case <-time.After(ownWriteWait):
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Contains(b.ownWrites[key], o.GetResourceVersion())
}

// gatewayState is one Gateway's writer: one batch at a time, planned from
// the newer of the cache and the last write (the cache may not have seen
// it yet, and planning from it would only lose the race).
type gatewayState struct {
	mu      sync.Mutex
	written *unstructured.Unstructured
}

// state returns key's writer.
func (b *batches) state(key types.NamespacedName) *gatewayState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gateways == nil {
		b.gateways = map[types.NamespacedName]*gatewayState{}
	}
	st, ok := b.gateways[key]
	if !ok {
		st = &gatewayState{}
		b.gateways[key] = st
	}
	return st
}

// newest is the newer of the cached Gateway and the last one written.
func (st *gatewayState) newest(cached *unstructured.Unstructured) *unstructured.Unstructured {
	if st.written == nil || st.written.GetUID() != cached.GetUID() {
		return cached
	}
	if cmp, err := resourceversion.CompareResourceVersion(cached.GetResourceVersion(), st.written.GetResourceVersion()); err == nil && cmp < 0 {
		return st.written.DeepCopy()
	}
	return cached
}

// batch is the requests that will be planned and written together.
type batch struct {
	requests []*request
	done     chan struct{}
}

// request is one pass's wish for one Gateway: its server set to desired
// (removed when nil), and, once the batch is done, the outcome.
type request struct {
	s       *scope
	desired *gateway.Server

	// result is the pass's part of the plan: its conflict, whether it had
	// a server before.
	result plan
	// rejected is the API server's refusal of this pass's server.
	rejected string
	err      error
}

// join adds req to key's open batch, opening one when there is none; the
// pass that opened it leads it.
func (b *batches) join(key types.NamespacedName, req *request) (*batch, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open == nil {
		b.open = map[types.NamespacedName]*batch{}
	}
	if bt, ok := b.open[key]; ok {
		bt.requests = append(bt.requests, req)
		return bt, false
	}
	bt := &batch{requests: []*request{req}, done: make(chan struct{})}
	b.open[key] = bt
	return bt, true
}

// seal closes key's batch to newcomers, who open the next one.
func (b *batches) seal(key types.NamespacedName, bt *batch) []*request {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open[key] == bt {
		delete(b.open, key)
	}
	return bt.requests
}

// commit sets s's server in the Gateway key to desired (nil: removes it),
// together with the other passes that want to change that Gateway now,
// and returns s's outcome.
func (r *Reconciler) commit(ctx context.Context, s *scope, key types.NamespacedName, desired *gateway.Server) (*request, error) {
	req := &request{s: s, desired: desired}
	bt, leader := r.batches.join(key, req)
	if !leader {
		select {
		case <-bt.done:
			return req, req.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	timer := time.NewTimer(batchWindow)
	select {
	case <-timer.C:
	case <-ctx.Done():
		timer.Stop()
	}
	// The batch is sealed only once the previous batch of this Gateway
	// is written: passes arriving meanwhile still join it.
	st := r.batches.state(key)
	st.mu.Lock()
	reqs := r.batches.seal(key, bt)
	r.runBatch(ctx, key, st, reqs)
	st.mu.Unlock()
	close(bt.done)
	return req, req.err
}

// runBatch plans reqs together against the cached Gateway and writes it
// once when the plan changes it. A write that loses a race plans again
// from a fresh read, once; a second loss requeues every pass. A write the
// API server refuses is retried one pass at a time, so that only the pass
// whose server it refuses is told.
func (r *Reconciler) runBatch(ctx context.Context, key types.NamespacedName, st *gatewayState, reqs []*request) {
	metrics.GatewayBatchSize.Observe(float64(len(reqs)))
	fail := func(err error) {
		for _, q := range reqs {
			q.err = err
		}
	}
	gw := newGateway()
	if err := r.Cache.Get(ctx, key, gw); err != nil {
		if apierrors.IsNotFound(err) {
			// Removals are done; additions find the Gateway gone and
			// start again.
			for _, q := range reqs {
				if q.desired != nil {
					q.err = kube.ErrConflict
				}
			}
			return
		}
		fail(fmt.Errorf("get Gateway %s: %w", key, err))
		return
	}
	gw = st.newest(gw)
	written, err := r.planAndWrite(ctx, st, gw.DeepCopy(), reqs)
	if kube.IsConflict(err) {
		fresh := newGateway()
		if err := r.APIReader.Get(ctx, key, fresh); err != nil {
			if apierrors.IsNotFound(err) {
				fail(kube.ErrConflict)
				return
			}
			fail(fmt.Errorf("get Gateway %s: %w", key, err))
			return
		}
		written, err = r.planAndWrite(ctx, st, fresh, reqs)
	}
	switch {
	case err == nil:
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsForbidden(err):
		if len(reqs) == 1 {
			reqs[0].rejected = fmt.Sprintf("Gateway %s refused the server: %s", key, err.Error())
			return
		}
		for _, q := range reqs {
			r.runBatch(ctx, key, st, []*request{q})
		}
		return
	default:
		fail(err)
		return
	}
	if written {
		r.events(gw, reqs)
	}
}

// planAndWrite plans reqs against gw and writes gw when the plan changes
// it, with gw's resourceVersion (a stale copy fails instead of
// overwriting). It records each request's part of the plan.
func (r *Reconciler) planAndWrite(ctx context.Context, st *gatewayState, gw *unstructured.Unstructured, reqs []*request) (bool, error) {
	// planBatch read both without error.
	raw, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
	owners, _ := gateway.ParseOwners(gw.GetAnnotations()[gateway.OwnersAnnotation])
	servers, newOwners, err := r.planBatch(ctx, gw, reqs)
	if err != nil {
		return false, err
	}
	if apiequality.Semantic.DeepEqual(raw, servers) && owners.String() == newOwners.String() {
		return false, nil
	}
	if err := r.writeServers(ctx, gw, servers, newOwners, reqs); err != nil {
		return false, err
	}
	st.written = gw
	return true, nil
}

// planBatch plans reqs against gw's servers, as gateway.Decide decides,
// and returns the servers and owners gw would have; each request gets its
// part of the plan.
func (r *Reconciler) planBatch(ctx context.Context, gw *unstructured.Unstructured, reqs []*request) ([]any, gateway.Owners, error) {
	raw, owners, hand, currents, err := splitServers(gw)
	if err != nil {
		return nil, nil, err
	}
	refused := map[string]*gateway.Conflict{}
	if slices.ContainsFunc(reqs, func(q *request) bool { return q.desired != nil }) {
		if refused, err = r.decide(ctx, gw, reqs, hand, currents); err != nil {
			return nil, nil, err
		}
	}
	servers, newOwners := raw, owners
	for _, q := range reqs {
		q.result = plan{hadServer: currents[q.s.key] != nil}
		if q.desired != nil && refused[q.s.key] != nil {
			q.result.conflict = refused[q.s.key]
			continue
		}
		var entry any
		if q.desired != nil {
			entry = q.desired.Entry()
		}
		// The request changes the Gateway unless its one server is
		// already there as desired (or, for a removal, it has none):
		// checked on its own entries, not on the whole list.
		own := gateway.Owned(servers, newOwners, q.s.key)
		servers, newOwners = gateway.Replace(servers, newOwners, q.s.key, entry)
		if entry == nil {
			q.result.changed = len(own) > 0
		} else {
			q.result.changed = len(own) != 1 || !apiequality.Semantic.DeepEqual(own[0], entry)
		}
	}
	return servers, newOwners, nil
}

// decide is gateway.Decide over every contender for the requests' places:
// the requests' own desired servers, the other GatewayServices that could
// clash with them (see contenders), and every server edgecert has in gw.
func (r *Reconciler) decide(ctx context.Context, gw *unstructured.Unstructured, reqs []*request, hand []gateway.Server, currents map[string]*gateway.Server) (map[string]*gateway.Conflict, error) {
	all := map[string]gateway.Contender{}
	for _, q := range reqs {
		all[q.s.key] = gateway.Contender{Key: q.s.key, Created: q.s.gs.CreationTimestamp.Time, Desired: q.desired, Current: currents[q.s.key]}
	}
	ports := map[int32]bool{}
	names := map[string]bool{}
	for _, q := range reqs {
		if q.desired == nil || ports[int32(q.desired.Port.Number)] && names[q.desired.Port.Name] {
			continue
		}
		if err := r.contenders(ctx, q.s.target.Key(), q.desired, currents, all, ports, names); err != nil {
			return nil, err
		}
	}
	neighbours, err := r.neighbours(ctx, gw)
	if err != nil {
		return nil, err
	}
	contenders := make([]gateway.Contender, 0, len(all))
	for _, c := range all {
		contenders = append(contenders, c)
	}
	return gateway.Decide(hand, neighbours, contenders), nil
}

// writeServers updates gw with servers and owners, or deletes it when
// edgecert created it and no server is left.
func (r *Reconciler) writeServers(ctx context.Context, gw *unstructured.Unstructured, servers []any, owners gateway.Owners, reqs []*request) error {
	gwKey := gw.GetNamespace() + "/" + gw.GetName()
	if len(servers) == 0 && r.createdByEdgecert(ctx, gw) {
		rv := gw.GetResourceVersion()
		if err := r.Client.Delete(ctx, gw, client.Preconditions{ResourceVersion: &rv}); err != nil {
			if apierrors.IsConflict(err) {
				return kube.ErrConflict
			}
			return client.IgnoreNotFound(err)
		}
		metrics.GatewayWrites.Inc()
		r.Events.Eventf(reqs[0].s.gs, gw, corev1.EventTypeNormal, edgecertv1alpha1.ReasonGatewayDeleted, "Reconcile", "Deleted Gateway %s, which edgecert created and which has no server left", gwKey)
		return nil
	}
	if err := unstructured.SetNestedSlice(gw.Object, servers, "spec", "servers"); err != nil {
		return err
	}
	ann := gw.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	if len(owners) == 0 {
		delete(ann, gateway.OwnersAnnotation)
	} else {
		ann[gateway.OwnersAnnotation] = owners.String()
	}
	gw.SetAnnotations(ann)
	done := r.batches.writingTo(types.NamespacedName{Namespace: gw.GetNamespace(), Name: gw.GetName()})
	err := r.Client.Update(ctx, gw, client.FieldOwner(kube.FieldManager))
	if err != nil {
		done("")
	} else {
		done(gw.GetResourceVersion())
	}
	if err != nil {
		if apierrors.IsConflict(err) {
			return kube.ErrConflict
		}
		if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsForbidden(err) {
			return err
		}
		return fmt.Errorf("update Gateway %s: %w", gwKey, err)
	}
	metrics.GatewayWrites.Inc()
	return nil
}

// events tells each GatewayService whose server the write changed, in one
// event per pass: a Secret copy written in the same pass is named in it
// (and needs no SecretCopied event), and the pass records no ServerReady
// event on top (see recordTransition). The passes of the batch wait for
// it to close before reading their scope again.
func (r *Reconciler) events(gw *unstructured.Unstructured, reqs []*request) {
	gwKey := gw.GetNamespace() + "/" + gw.GetName()
	for _, q := range reqs {
		if !q.result.changed {
			continue
		}
		s := q.s
		s.announced = true
		switch {
		case s.deleted:
			r.Events.Eventf(gw, nil, corev1.EventTypeNormal, edgecertv1alpha1.ReasonServerRemoved, "Reconcile", "Removed the server of GatewayService %s, which was deleted", s.key)
		case q.desired == nil:
			r.Events.Eventf(s.gs, gw, corev1.EventTypeNormal, edgecertv1alpha1.ReasonServerRemoved, "Reconcile", "Removed server from Gateway %s", gwKey)
		case q.result.hadServer:
			r.Events.Eventf(s.gs, gw, corev1.EventTypeNormal, edgecertv1alpha1.ReasonServerUpdated, "Reconcile", "Updated server %s in Gateway %s%s", q.desired.Port.Name, gwKey, s.takeCopyNote())
		default:
			r.Events.Eventf(s.gs, gw, corev1.EventTypeNormal, edgecertv1alpha1.ReasonServerAdded, "Reconcile", "Added server %s to Gateway %s%s", q.desired.Port.Name, gwKey, s.takeCopyNote())
		}
	}
}
