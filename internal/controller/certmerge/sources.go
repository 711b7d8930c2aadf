package certmerge

import (
	"context"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// sourceWatcher tells the CertMerge controllers when a source Secret may
// have changed, without caching Secrets edgecert has no business with.
//
// It runs one metadata-only informer per namespace that some merge is
// allowed to read and looks in, restricted by a field selector to Secrets
// of type kubernetes.io/tls, with managed fields and annotations stripped.
// It never holds Secret data: reconcilers read sources straight from the
// API server. Memory therefore grows with the TLS Secrets of the namespaces
// merges read, not with the cluster's Secrets (docs/design/2026-11-23-certmerge-secret-access.md).
type sourceWatcher struct {
	client metadata.Interface

	mu        sync.Mutex
	ctx       context.Context // set by the first Start
	interests map[interestKey][]string
	informers map[string]context.CancelFunc
	sinks     []sink
}

// interestKey identifies a merge: kind and namespace/name.
type interestKey struct {
	kind      string
	namespace string
	name      string
}

// sink is one controller's queue and how Secret events map to its requests.
type sink struct {
	queue workqueue.TypedRateLimitingInterface[reconcile.Request]
	mapFn func(ctx context.Context, namespace, name string, labels map[string]string) []reconcile.Request
}

func newSourceWatcher(c metadata.Interface) *sourceWatcher {
	return &sourceWatcher{
		client:    c,
		interests: map[interestKey][]string{},
		informers: map[string]context.CancelFunc{},
	}
}

// Source is a controller-runtime source for one controller. mapFn returns
// the merges a Secret event concerns; it is called for both the old and
// the new object of an update, so a relabelled Secret reaches the merge it
// left.
func (w *sourceWatcher) Source(mapFn func(ctx context.Context, namespace, name string, labels map[string]string) []reconcile.Request) source.Source {
	return source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.ctx == nil {
			w.ctx = ctx
		}
		w.sinks = append(w.sinks, sink{queue: q, mapFn: mapFn})
		w.syncLocked()
		return nil
	})
}

// SetInterest records the namespaces a merge reads (nil when it is gone)
// and starts or stops informers to match.
func (w *sourceWatcher) SetInterest(key interestKey, namespaces []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(namespaces) == 0 {
		delete(w.interests, key)
	} else {
		w.interests[key] = slices.Clone(namespaces)
	}
	w.syncLocked()
}

// Namespaces returns the namespaces watched now, sorted.
func (w *sourceWatcher) Namespaces() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var nss []string
	for ns := range w.informers {
		nss = append(nss, ns)
	}
	slices.Sort(nss)
	return nss
}

func (w *sourceWatcher) syncLocked() {
	if w.ctx == nil {
		return // not started: Start will sync
	}
	want := map[string]bool{}
	for _, nss := range w.interests {
		for _, ns := range nss {
			want[ns] = true
		}
	}
	for ns, cancel := range w.informers {
		if !want[ns] {
			cancel()
			delete(w.informers, ns)
		}
	}
	for ns := range want {
		if _, ok := w.informers[ns]; !ok {
			w.informers[ns] = w.startInformer(ns)
		}
	}
}

func (w *sourceWatcher) startInformer(namespace string) context.CancelFunc {
	ctx, cancel := context.WithCancel(w.ctx)
	tlsOnly := fields.OneTermEqualSelector("type", string(corev1.SecretTypeTLS)).String()
	inf := metadatainformer.NewFilteredMetadataInformer(w.client, corev1.SchemeGroupVersion.WithResource("secrets"), namespace, 0,
		toolscache.Indexers{}, func(o *metav1.ListOptions) { o.FieldSelector = tlsOnly }).Informer()
	_ = inf.SetTransform(func(obj any) (any, error) {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			m.ManagedFields = nil
			m.Annotations = nil
		}
		return obj, nil
	})
	_, _ = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { w.dispatch(ctx, obj) },
		UpdateFunc: func(oldObj, newObj any) {
			old, _ := oldObj.(*metav1.PartialObjectMetadata)
			cur, _ := newObj.(*metav1.PartialObjectMetadata)
			if old != nil && cur != nil && old.ResourceVersion == cur.ResourceVersion {
				return // a relist, not a change
			}
			w.dispatch(ctx, oldObj)
			w.dispatch(ctx, newObj)
		},
		DeleteFunc: func(obj any) { w.dispatch(ctx, obj) },
	})
	go inf.RunWithContext(ctx)
	ctrl.LoggerFrom(ctx).V(1).Info("Watching source Secrets", "namespace", namespace)
	return cancel
}

func (w *sourceWatcher) dispatch(ctx context.Context, obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return
	}
	w.mu.Lock()
	sinks := slices.Clone(w.sinks)
	w.mu.Unlock()
	for _, s := range sinks {
		for _, req := range s.mapFn(ctx, m.Namespace, m.Name, m.Labels) {
			s.queue.Add(req)
		}
	}
}
