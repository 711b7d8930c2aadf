package certmerge

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/kube"
)

// SetupWithManager registers the CertMerge and ClusterCertMerge
// controllers. They share one source watcher, so a namespace both read is
// watched once.
//
// What triggers a pass: a change to the merge's spec or its deletion; a
// change to a source Secret it selects (seen through metadata-only watches
// of the namespaces it may read); a grant in a namespace it looks in; and a
// bundle Secret deleted or edited by someone else.
func SetupWithManager(mgr ctrl.Manager) error {
	md, err := metadata.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("metadata client: %w", err)
	}
	core, err := corev1client.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return fmt.Errorf("core/v1 client: %w", err)
	}
	w := newSourceWatcher(md)
	for _, k := range []kind{certMergeKind, clusterCertMergeKind} {
		r := &Reconciler{
			Client:    mgr.GetClient(),
			APIReader: mgr.GetAPIReader(),
			Core:      core.RESTClient(),
			Events:    mgr.GetEventRecorder("edgecert-" + k.name),
			kind:      k,
			watcher:   w,
		}
		b := ctrl.NewControllerManagedBy(mgr).
			Named(k.name).
			For(k.newObject(), builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, kube.DeletionStarted))).
			Owns(&corev1.Secret{}, builder.OnlyMetadata, builder.WithPredicates(bundleTouched)).
			WatchesRawSource(w.Source(r.mapSecret))
		if k.name == certMergeKind.name {
			b = b.Watches(&edgecertv1alpha1.CertMergeGrant{}, handler.EnqueueRequestsFromMapFunc(r.mapGrant))
		}
		if err := b.Complete(r); err != nil {
			return fmt.Errorf("set up %s controller: %w", k.name, err)
		}
	}
	return nil
}

// bundleTouched passes a bundle Secret's deletion and updates. The
// manager watches Secrets' metadata only (a labelled Secret's data never
// enters it), so whether someone else edited the data is decided by the
// pass, which rewrites the bundle only when it differs; edgecert's own
// write costs one pass that finds nothing to do.
var bundleTouched = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return true },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetResourceVersion() != e.ObjectNew.GetResourceVersion()
	},
}

// mapSecret returns the merges of this kind that select a source Secret.
func (r *Reconciler) mapSecret(ctx context.Context, namespace, name string, labels map[string]string) []reconcile.Request {
	merges, err := r.kind.list(ctx, r.Client)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List merges for a Secret event", "kind", r.kind.name)
		return nil
	}
	var reqs []reconcile.Request
	for _, m := range merges {
		sel, err := selection(m)
		if err == nil && sel.Matches(namespace, name, labels) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(m)})
		}
	}
	return reqs
}

// mapGrant returns the CertMerges that look in a grant's namespace.
func (r *Reconciler) mapGrant(ctx context.Context, grant client.Object) []reconcile.Request {
	merges, err := r.kind.list(ctx, r.Client)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List merges for a grant event", "kind", r.kind.name)
		return nil
	}
	var reqs []reconcile.Request
	for _, m := range merges {
		sel, err := selection(m)
		if err == nil && slices.Contains(sel.Namespaces(), grant.GetNamespace()) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(m)})
		}
	}
	return reqs
}
