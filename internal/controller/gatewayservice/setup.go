package gatewayservice

import (
	"context"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/gateway"
	"github.com/edgecert/edgecert/internal/kube"
)

// Field indexes on GatewayServices.
const (
	// portIndex is spec.port: only servers on one port number can share
	// hosts.
	portIndex = "spec.port"
	// portNameIndex is the rendered port name, which must be unique in a
	// Gateway.
	portNameIndex = "gatewayservice.portName"
	// blockedIndex is "true" for GatewayServices waiting on someone else
	// (a conflict, a missing Gateway).
	blockedIndex = "gatewayservice.blocked"
)

// DefaultMaxConcurrentReconciles lets a burst of GatewayServices meet in
// few Gateway batches: a pass waits batchWindow in its batch, so the
// workers, not the CPU, bound how many changes one write carries
// (make bench, 500 GatewayServices: 64 workers made 21-22 Gateway
// writes, 128 made 13).
const DefaultMaxConcurrentReconciles = 128

// Options tune the GatewayService controller.
type Options struct {
	// MaxConcurrentReconciles bounds parallel passes (default
	// DefaultMaxConcurrentReconciles). Passes that change one Gateway meet
	// in its batch and wait there together, so this also bounds a batch.
	MaxConcurrentReconciles int
	// SecretResyncPeriod is how often a GatewayService whose TLS Secret is
	// read by secretRef (or clientCASecretRef) checks it again. Those
	// Secrets belong to tenants and carry no edgecert label, so the
	// manager does not watch them (it caches only Secrets edgecert
	// labelled); a change reaches the copy within this period, or at once
	// when the GatewayService changes. Default DefaultSecretResyncPeriod.
	SecretResyncPeriod time.Duration
	// Secrets are the Secret readers the manager's controllers share
	// (kube.NewSecrets); zero: the controller's own (ClusterIssuers'
	// account keys not among those it keeps).
	Secrets kube.Secrets
}

// SetupWithManager registers the GatewayService controller and its field
// indexes. A pass runs on: a change to the GatewayService's spec,
// annotations or labels, or its deletion; its Certificate changing; its
// Secret copy being edited or deleted (not created: edgecert creates it,
// unless its GatewayService is gone); a GatewayPolicy changing (every
// GatewayService); its namespace's labels changing; someone else changing
// one of its servers in a Gateway; and, for GatewayServices blocked by a
// conflict or waiting for a Gateway, any Gateway or GatewayService change
// that may unblock them.
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	idx := mgr.GetFieldIndexer()
	for name, fn := range map[string]func(*edgecertv1alpha1.GatewayService) []string{
		portIndex: func(gs *edgecertv1alpha1.GatewayService) []string { return []string{strconv.Itoa(int(gs.Spec.Port))} },
		portNameIndex: func(gs *edgecertv1alpha1.GatewayService) []string {
			return []string{gateway.PortName(gs.Spec.Protocol, gs.Name, gs.Namespace)}
		},
		blockedIndex: func(gs *edgecertv1alpha1.GatewayService) []string {
			if c := meta.FindStatusCondition(gs.Status.Conditions, edgecertv1alpha1.ReadyCondition); c != nil && readyBlocked[c.Reason] {
				return []string{"true"}
			}
			return nil
		},
	} {
		if err := idx.IndexField(ctx, &edgecertv1alpha1.GatewayService{}, name, func(o client.Object) []string {
			return fn(o.(*edgecertv1alpha1.GatewayService))
		}); err != nil {
			return err
		}
	}
	if opts.Secrets.Cached == nil {
		opts.Secrets = kube.NewSecrets(mgr.GetCache(), mgr.GetAPIReader(), "")
	}
	r := &Reconciler{
		Client:    mgr.GetClient(),
		Cache:     mgr.GetCache(),
		APIReader: mgr.GetAPIReader(),
		Secrets:   opts.Secrets,
		Events:    mgr.GetEventRecorder("edgecert-gatewayservice"),

		SecretResyncPeriod: opts.SecretResyncPeriod,
	}
	if r.SecretResyncPeriod <= 0 {
		r.SecretResyncPeriod = DefaultSecretResyncPeriod
	}
	concurrency := opts.MaxConcurrentReconciles
	if concurrency == 0 {
		concurrency = DefaultMaxConcurrentReconciles
	}
	ns := kube.NewNamespaceMetadata()
	return ctrl.NewControllerManagedBy(mgr).
		Named("gatewayservice").
		For(&edgecertv1alpha1.GatewayService{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{}, kube.DeletionStarted))).
		Owns(&edgecertv1alpha1.Certificate{}).
		Watches(&edgecertv1alpha1.GatewayService{}, handler.EnqueueRequestsFromMapFunc(r.blocked), builder.WithPredicates(specChangedOrGone)).
		Watches(newGateway(), gatewayHandler{r: r}).
		Watches(&edgecertv1alpha1.GatewayPolicy{}, handler.EnqueueRequestsFromMapFunc(r.all)).
		Watches(ns, handler.EnqueueRequestsFromMapFunc(r.inNamespace), builder.WithPredicates(predicate.LabelChangedPredicate{}), builder.OnlyMetadata).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(copyOwner), builder.OnlyMetadata, builder.WithPredicates(r.createdOrphan())).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Complete(r)
}

// specChangedOrGone passes what can free a host, a port or a port name for
// a blocked GatewayService: a deletion, or a spec change.
var specChangedOrGone = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return true },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() ||
			e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
	},
}

// createdOrphan drops the create event of a copy whose GatewayService is
// in the cache: a copy appears because edgecert wrote it, in the pass that
// needed it (or, at start, when every GatewayService gets a pass anyway).
// The create event of a copy whose GatewayService is not there (at start:
// deleted while edgecert was down) wakes the pass that deletes it
// (Reconciler.gone). An edit or a deletion of a copy wakes its owner.
func (r *Reconciler) createdOrphan() predicate.Funcs {
	return predicate.Funcs{CreateFunc: func(e event.CreateEvent) bool {
		reqs := copyOwner(context.Background(), e.Object)
		if len(reqs) == 0 {
			return false
		}
		var gs edgecertv1alpha1.GatewayService
		return apierrors.IsNotFound(r.Client.Get(context.Background(), reqs[0].NamespacedName, &gs))
	}}
}

func requests(list []edgecertv1alpha1.GatewayService) []reconcile.Request {
	reqs := make([]reconcile.Request, 0, len(list))
	for i := range list {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: list[i].Namespace, Name: list[i].Name}})
	}
	return reqs
}

// blocked lists the GatewayServices waiting on someone else.
func (r *Reconciler) blocked(ctx context.Context, _ client.Object) []reconcile.Request {
	var list edgecertv1alpha1.GatewayServiceList
	if err := r.Client.List(ctx, &list, client.MatchingFields{blockedIndex: "true"}, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	return requests(list.Items)
}

// all lists every GatewayService: a policy change may move any of them.
func (r *Reconciler) all(ctx context.Context, _ client.Object) []reconcile.Request {
	var list edgecertv1alpha1.GatewayServiceList
	if err := r.Client.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	return requests(list.Items)
}

func (r *Reconciler) inNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	var list edgecertv1alpha1.GatewayServiceList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetName()), client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	return requests(list.Items)
}

// copyOwner maps a Secret copy to the GatewayService its labels name: a
// pass costs nothing when someone else labelled it, and the pass decides
// ownership by UID.
func copyOwner(_ context.Context, o client.Object) []reconcile.Request {
	l := o.GetLabels()
	if l[kube.ManagedByLabel] != kube.ManagedByValue || l[GatewayServiceNameLabel] == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: l[GatewayServiceNamespaceLabel], Name: l[GatewayServiceNameLabel]}}}
}

// gatewayHandler maps a Gateway event to the GatewayServices whose server
// in it changed (someone edited or removed it) and to the blocked ones.
// edgecert's own write wakes its writer once more, which then finds
// nothing to do.
type gatewayHandler struct{ r *Reconciler }

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (h gatewayHandler) Create(ctx context.Context, e event.CreateEvent, q queue) {
	h.enqueue(ctx, q, ownedServers(e.Object), nil)
}

func (h gatewayHandler) Delete(ctx context.Context, e event.DeleteEvent, q queue) {
	h.enqueue(ctx, q, ownedServers(e.Object), nil)
}

func (h gatewayHandler) Generic(ctx context.Context, e event.GenericEvent, q queue) {
	h.enqueue(ctx, q, ownedServers(e.Object), nil)
}

func (h gatewayHandler) Update(ctx context.Context, e event.UpdateEvent, q queue) {
	if h.r.batches.ownWrite(e.ObjectNew) {
		// edgecert's own write: every pass whose server it changed was in
		// the batch and knows the outcome. Only the blocked may now fit.
		h.enqueue(ctx, q, nil, nil)
		return
	}
	h.enqueue(ctx, q, ownedServers(e.ObjectOld), ownedServers(e.ObjectNew))
}

// enqueue wakes the owners whose server differs between old and new, and
// the blocked GatewayServices.
func (h gatewayHandler) enqueue(ctx context.Context, q queue, old, current map[string]any) {
	for key, o := range old {
		if n, ok := current[key]; !ok || !apiequality.Semantic.DeepEqual(o, n) {
			q.Add(reconcile.Request{NamespacedName: splitKey(key)})
		}
	}
	for key := range current {
		if _, ok := old[key]; !ok {
			q.Add(reconcile.Request{NamespacedName: splitKey(key)})
		}
	}
	for _, req := range h.r.blocked(ctx, nil) {
		q.Add(req)
	}
}

// ownedServers maps each GatewayService key to its raw server in the
// Gateway.
func ownedServers(o client.Object) map[string]any {
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return nil
	}
	owners, err := gateway.ParseOwners(u.GetAnnotations()[gateway.OwnersAnnotation])
	if err != nil {
		return nil
	}
	servers, _, _ := unstructured.NestedSlice(u.Object, "spec", "servers")
	out := map[string]any{}
	for _, e := range servers {
		if key, ok := owners[gateway.RawPortName(e)]; ok {
			out[key] = e
		}
	}
	return out
}
