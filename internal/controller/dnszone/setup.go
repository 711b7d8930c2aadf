package dnszone

import (
	"context"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	edgecertv1alpha1 "github.com/edgecert/edgecert/api/v1alpha1"
	"github.com/edgecert/edgecert/internal/controller/shim"
	"github.com/edgecert/edgecert/internal/ingress"
	"github.com/edgecert/edgecert/internal/kube"
)

// Options tune the DNSZone controller.
type Options struct {
	// Namespace holds the zones' provider Secrets (edgecert's namespace).
	Namespace string
	// Secrets are the shared Secret readers (kube.NewSecrets).
	Secrets kube.Secrets
	// RequireHostClaims enforces claims on route hostnames even while no
	// GatewayPolicy has claims (--require-host-claims).
	RequireHostClaims bool
}

// SetupWithManager registers the DNSZone controller. A zone's pass runs
// on a change to its spec, and on any change that may change what it
// publishes: a GatewayService's status, an Istio Gateway's spec or
// annotations, a Service's selector or load balancer, and, when the API
// server serves them, a Gateway API Gateway's spec, annotations or
// status.addresses, a route's, ListenerSet's or XListenerSet's spec or annotations, a
// Namespace's labels or a GatewayPolicy (claims); every zone is
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
	specOrAnnotations := builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))
	b := ctrl.NewControllerManagedBy(mgr).
		Named("dnszone").
		For(&edgecertv1alpha1.DNSZone{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&edgecertv1alpha1.GatewayService{}, all, builder.WithPredicates(gatewayServicePublishChanged)).
		Watches(gw, all, specOrAnnotations).
		Watches(&corev1.Service{}, all, builder.WithPredicates(serviceTargetChanged))
	api, err := servedGatewayAPI(mgr.GetRESTMapper())
	if err != nil {
		return err
	}
	api.RequireHostClaims = o.RequireHostClaims
	r.GatewayAPI = api
	if api.Gateways {
		b = b.Watches(&gatewayv1.Gateway{}, all, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, gatewayAddressesChanged)))
		for _, kind := range api.RouteKinds {
			b = b.Watches(routeObject(kind), all, specOrAnnotations)
		}
		if len(api.RouteKinds) > 0 || api.ListenerSets || api.XListenerSets {
			b = b.Watches(kube.NewNamespaceMetadata(), all, builder.WithPredicates(predicate.LabelChangedPredicate{}), builder.OnlyMetadata).
				Watches(&edgecertv1alpha1.GatewayPolicy{}, all, builder.WithPredicates(predicate.GenerationChangedPredicate{}))
		}
		if api.ListenerSets {
			b = b.Watches(&gatewayv1.ListenerSet{}, all, specOrAnnotations)
		}
		if api.XListenerSets {
			b = b.Watches(kube.NewUnstructured(shim.XListenerSetGVK, "", ""), all, specOrAnnotations)
		}
	}
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: 4}).Complete(r)
}

// servedGatewayAPI finds which Gateway API kinds the API server serves
// (shim.Served): routes and ListenerSets are read only with Gateways.
func servedGatewayAPI(mapper meta.RESTMapper) (GatewayAPI, error) {
	var out GatewayAPI
	gv := schema.GroupVersion(gatewayv1.GroupVersion)
	ok, err := shim.Served(mapper, gv.WithKind("Gateway"))
	if err != nil || !ok {
		return out, err
	}
	out.Gateways = true
	for _, kind := range []string{ingress.KindHTTPRoute, ingress.KindGRPCRoute, ingress.KindTLSRoute} {
		ok, err := shim.Served(mapper, gv.WithKind(kind))
		if err != nil {
			return out, err
		}
		if ok {
			out.RouteKinds = append(out.RouteKinds, kind)
		}
	}
	if out.ListenerSets, err = shim.Served(mapper, gv.WithKind(ingress.KindListenerSet)); err != nil {
		return out, err
	}
	out.XListenerSets, err = shim.Served(mapper, shim.XListenerSetGVK)
	return out, err
}

// routeObject is an empty object of a route kind, to watch.
func routeObject(kind string) client.Object {
	switch kind {
	case ingress.KindGRPCRoute:
		return &gatewayv1.GRPCRoute{}
	case ingress.KindTLSRoute:
		return &gatewayv1.TLSRoute{}
	}
	return &gatewayv1.HTTPRoute{}
}

// gatewayAddressesChanged passes changes of a Gateway API Gateway's
// status.addresses: its hosts' target.
var gatewayAddressesChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		a, okA := e.ObjectOld.(*gatewayv1.Gateway)
		b, okB := e.ObjectNew.(*gatewayv1.Gateway)
		if !okA || !okB {
			return true
		}
		return !reflect.DeepEqual(a.Status.Addresses, b.Status.Addresses)
	},
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
