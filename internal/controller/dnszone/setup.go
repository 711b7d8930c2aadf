package dnszone

import (
	"context"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/kube"
)

// Options tune the DNSZone controller.
type Options struct {
	// Namespace holds the zones' provider Secrets (edgecert's namespace).
	Namespace string
	// Secrets are the shared Secret readers (kube.NewSecrets).
	Secrets kube.Secrets
}

// SetupWithManager registers the DNSZone controller. A zone's pass runs
// on a change to its spec, and on any change that may change what it
// publishes: a GatewayService's status, an Istio Gateway's spec or
// annotations, a Service's selector or load balancer; every zone is
// looked at (there are few) and passes triggered together share one
// list and one batch of changes. The resync period brings each zone back
// without a change, to repair drift made at the DNS service.
func SetupWithManager(mgr ctrl.Manager, o Options) error {
	secrets := o.Secrets
	if secrets.Cached == nil {
		secrets = kube.Secrets{Cached: mgr.GetClient(), Uncached: mgr.GetAPIReader()}
	}
	r := &Reconciler{
		Cache:     mgr.GetCache(),
		Client:    mgr.GetClient(),
		Secrets:   secrets,
		Namespace: o.Namespace,
		Events:    mgr.GetEventRecorder("edgecert-dnszone"),
	}
	all := handler.EnqueueRequestsFromMapFunc(r.everyZone)
	gw := kube.NewUnstructured(kube.IstioGatewayGVK, "", "")
	return ctrl.NewControllerManagedBy(mgr).
		Named("dnszone").
		For(&edgecertv1alpha1.DNSZone{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&edgecertv1alpha1.GatewayService{}, all, builder.WithPredicates(gatewayServicePublishChanged)).
		Watches(gw, all, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&corev1.Service{}, all, builder.WithPredicates(serviceTargetChanged)).
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(r)
}

// everyZone maps a source change to every DNSZone.
func (r *Reconciler) everyZone(ctx context.Context, _ client.Object) []reconcile.Request {
	var zones edgecertv1alpha1.DNSZoneList
	if err := r.Cache.List(ctx, &zones); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(zones.Items))
	for _, z := range zones.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: z.Name}})
	}
	return reqs
}

// gatewayServicePublishChanged passes creations, deletions and changes of
// what the zone reads of a GatewayService: annotations, and the status
// that says where its server is.
var gatewayServicePublishChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		a, okA := e.ObjectOld.(*edgecertv1alpha1.GatewayService)
		b, okB := e.ObjectNew.(*edgecertv1alpha1.GatewayService)
		if !okA || !okB {
			return true
		}
		return inGateway(a) != inGateway(b) || a.Status.Gateway != b.Status.Gateway ||
			!reflect.DeepEqual(a.Status.Hosts, b.Status.Hosts) || !reflect.DeepEqual(a.Annotations, b.Annotations)
	},
}

// serviceTargetChanged passes creations, deletions and changes of a
// Service's pod selector or load balancer addresses.
var serviceTargetChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		a, okA := e.ObjectOld.(*corev1.Service)
		b, okB := e.ObjectNew.(*corev1.Service)
		if !okA || !okB {
			return true
		}
		return !reflect.DeepEqual(a.Spec.Selector, b.Spec.Selector) || !reflect.DeepEqual(a.Status.LoadBalancer, b.Status.LoadBalancer)
	},
}
